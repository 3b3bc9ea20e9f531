// Package schema generates the JSON Schema of the scenario format
// (internal/scenario's File and the fake registry's model it embeds) from
// the Go types the loader decodes into, with their doc comments as
// descriptions. It is published as docs/scenario.schema.json for editors
// (yaml-language-server), and the loader validates every file against
// that published copy (package docs embeds it). The loader also checks
// what a schema cannot say (that a row names one of the file's policies,
// that a variable is defined, that a registry model is consistent).
package schema

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/imagectx/conformance/docs"
	"github.com/imagectx/conformance/fakeregistry"
	"github.com/imagectx/conformance/internal/scenario"
)

// module is this repository's module path: doc comments are looked up by
// import path.
const module = "github.com/imagectx/conformance"

// ID is the schema's $id: its place in the repository (the loader
// compiles the published copy under the same name).
const ID = docs.ScenarioSchemaID

// Reflect builds the schema of scenario.File, with the doc comments of
// internal/scenario and fakeregistry as descriptions. Comments are looked
// up by import path from source paths relative to the working directory,
// so it must be the repository root. Errors: it is not, or the source
// cannot be parsed.
func Reflect() (*jsonschema.Schema, error) {
	if _, err := os.Stat(filepath.Join("internal", "scenario", "types.go")); err != nil {
		return nil, fmt.Errorf("schema: run from the repository root (the doc comments are read from internal/scenario): %w", err)
	}
	r := &jsonschema.Reflector{
		// The loader decides what is required (a row needs a policy, a
		// binding does not need values); the schema only says what is
		// known, as the loader refuses unknown fields.
		RequiredFromJSONSchemaTags: true,
		Mapper:                     mapType,
	}
	for _, pkg := range []string{"internal/scenario", "fakeregistry"} {
		if err := r.AddGoComments(module, pkg); err != nil {
			return nil, fmt.Errorf("schema: read the doc comments of %s: %w", pkg, err)
		}
	}
	s := r.Reflect(&scenario.File{})
	s.ID = ID
	s.Title = "imagectx conformance scenario (" + scenario.APIVersion + ", kind " + scenario.Kind + ")"
	s.Description = "One scenario file: policies, resources, the fake registry's state and the expected results. Generated from internal/scenario's Go types by `make schema`; scenarios/README.md explains each field."
	return s, nil
}

// JSON is s as published: indented, ending in a newline.
func JSON(s *jsonschema.Schema) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	return append(b, '\n'), nil
}

// mapType gives the schema of the types the loader decodes by hand (their
// DecodeNode methods say what they take) and the enums of the typed
// vocabulary; nil: reflect the type.
func mapType(t reflect.Type) *jsonschema.Schema {
	// An enumerated type of the model (fakeregistry's formats, faults and
	// auth types, engine.Capability, scenario.Expected) lists its values:
	// a new value, or a new such type, needs nothing here.
	if t.Implements(reflect.TypeFor[enumerated]()) {
		var values []any
		for _, v := range reflect.Zero(t).Interface().(enumerated).Values() {
			values = append(values, v)
		}
		return &jsonschema.Schema{Type: "string", Enum: values}
	}
	str := func(desc string) *jsonschema.Schema { return &jsonschema.Schema{Type: "string", Description: desc} }
	object := func(desc string) *jsonschema.Schema {
		return &jsonschema.Schema{Type: "object", Description: desc}
	}
	switch t {
	case reflect.TypeFor[scenario.Documents](), reflect.TypeFor[scenario.PatchedResource]():
		return &jsonschema.Schema{
			Description: "A YAML file (path relative to the scenario file; it may hold several --- documents) or an inline Kubernetes object.",
			OneOf:       []*jsonschema.Schema{str("path of a YAML file, relative to the scenario file"), object("an inline Kubernetes object")},
		}
	case reflect.TypeFor[scenario.Matcher]():
		return matcher()
	case reflect.TypeFor[scenario.ContextChecks]():
		return &jsonschema.Schema{
			Type:                 "object",
			Description:          "Expected rule context: dotted keys (imageData.failed) and their checks, in order.",
			AdditionalProperties: valueCheck(),
		}
	case reflect.TypeFor[scenario.Value]():
		return &jsonschema.Schema{Description: "Any YAML value the binding substitutes for the placeholder."}
	case reflect.TypeFor[fakeregistry.Duration]():
		return &jsonschema.Schema{Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, Description: `A Go duration, e.g. "2s" or "500ms".`}
	case reflect.TypeFor[json.RawMessage]():
		return object("a JSON object")
	}
	return nil
}

// matcher is a string (exact) or a mapping with exactly one of exact,
// contains (a string or a list), regex.
func matcher() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("exact", &jsonschema.Schema{Type: "string"})
	props.Set("contains", &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "array", Items: &jsonschema.Schema{Type: "string"}}}})
	props.Set("regex", &jsonschema.Schema{Type: "string", Description: "a Go regular expression"})
	return &jsonschema.Schema{
		Description: "A string check: a plain string is exact; else exactly one of exact, contains (every string must occur), regex.",
		OneOf: []*jsonschema.Schema{
			{Type: "string"},
			{Type: "object", Properties: props, AdditionalProperties: jsonschema.FalseSchema, MinProperties: ptr(1), MaxProperties: ptr(1)},
		},
	}
}

// valueCheck is a scalar (equals) or a mapping with exactly one check.
func valueCheck() *jsonschema.Schema {
	props := jsonschema.NewProperties()
	props.Set("equals", &jsonschema.Schema{Description: "deep JSON equality"})
	props.Set("exact", &jsonschema.Schema{Type: "string"})
	props.Set("contains", &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "string"}, {Type: "array", Items: &jsonschema.Schema{Type: "string"}}}})
	props.Set("regex", &jsonschema.Schema{Type: "string"})
	props.Set("absent", &jsonschema.Schema{Const: true, Description: "the key must not exist"})
	props.Set("present", &jsonschema.Schema{Const: true, Description: "the key must exist"})
	props.Set("keys", &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{Type: "string"}, Description: "the value is a mapping with exactly these keys"})
	return &jsonschema.Schema{
		OneOf: []*jsonschema.Schema{
			{Type: "string"}, {Type: "number"}, {Type: "boolean"}, {Type: "null"},
			{Type: "object", Properties: props, AdditionalProperties: jsonschema.FalseSchema, MinProperties: ptr(1), MaxProperties: ptr(1)},
		},
	}
}

func ptr(n uint64) *uint64 { return &n }

// enumerated is a string type with a fixed set of values.
type enumerated interface{ Values() []string }
