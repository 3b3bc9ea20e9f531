package scenario

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/docs"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// publishedSchema is docs/scenario.schema.json compiled, once per process
// (read-only after that).
var publishedSchema = sync.OnceValues(func() (*jsv.Schema, error) {
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(docs.ScenarioSchema()))
	if err != nil {
		return nil, fmt.Errorf("docs/scenario.schema.json: %w", err)
	}
	c := jsv.NewCompiler()
	if err := c.AddResource(docs.ScenarioSchemaID, doc); err != nil {
		return nil, fmt.Errorf("docs/scenario.schema.json: %w", err)
	}
	s, err := c.Compile(docs.ScenarioSchemaID)
	if err != nil {
		return nil, fmt.Errorf("docs/scenario.schema.json does not compile: %w", err)
	}
	return s, nil
})

// maxSchemaErrors bounds how many schema mistakes one file reports.
const maxSchemaErrors = 10

// checkSchema validates a file the loader's own checks took against the
// published schema (docs/scenario.schema.json), so a file is never taken
// that the schema editors use refuses. Each mistake is a *LoadError at its
// line: the field and the schema's message. A mistake here and not in the
// loader's own checks means the published schema is stale (make schema).
func checkSchema(d *decoder, root *yaml.Node) error {
	s, err := publishedSchema()
	if err != nil {
		return err
	}
	var v any
	if err := root.Decode(&v); err != nil {
		return d.Errorf(root, "", "%v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return d.Errorf(root, "", "not representable as JSON, as the schema reads it: %v", err)
	}
	inst, err := jsv.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return d.Errorf(root, "", "%v", err)
	}
	err = s.Validate(inst)
	var ve *jsv.ValidationError
	if err == nil {
		return nil
	} else if !errors.As(err, &ve) {
		return d.Errorf(root, "", "schema: %v", err)
	}
	p := message.NewPrinter(language.English)
	var errs []error
	for _, leaf := range schemaLeaves(ve) {
		if len(errs) == maxSchemaErrors {
			break
		}
		n, field := schemaNode(root, leaf.InstanceLocation)
		errs = append(errs, d.Errorf(n, field, "refused by the published schema (docs/scenario.schema.json; run make schema if the format changed): %s", leaf.ErrorKind.LocalizedString(p)))
	}
	return errors.Join(errs...)
}

// schemaLeaves are the innermost errors of e: the ones that say what is
// wrong where.
func schemaLeaves(e *jsv.ValidationError) []*jsv.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsv.ValidationError{e}
	}
	var out []*jsv.ValidationError
	for _, c := range e.Causes {
		out = append(out, schemaLeaves(c)...)
	}
	return out
}

// schemaNode finds the node of a JSON pointer's tokens under root (the
// deepest that exists) and names its field as the loader does
// ("results[3].message").
func schemaNode(root *yaml.Node, tokens []string) (*yaml.Node, string) {
	n, field := root, ""
	for _, tok := range tokens {
		r := yamlpath.Resolve(n)
		if r != nil && r.Kind == yaml.SequenceNode {
			i, err := strconv.Atoi(tok)
			if err != nil || i >= len(r.Content) {
				break
			}
			n, field = r.Content[i], field+"["+tok+"]"
			continue
		}
		child := yamlpath.Child(n, tok)
		if child == nil {
			break
		}
		n = child
		if field == "" {
			field = tok
		} else {
			field += "." + tok
		}
	}
	return n, strings.TrimPrefix(field, ".")
}
