package scenario

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// Built-in variables, set per evaluation.
const (
	VarRegistry = "REGISTRY" // the fake registry's host:port
	VarRefused  = "REFUSED"  // a loopback host:port where nothing listens
)

var builtinVars = []string{VarRegistry, VarRefused}

// Vars are ${NAME} substitutions: the built-ins plus the file's vars.
type Vars map[string]string

// VarPublicKeyPrefix + a registry.signingKeys name is the variable holding
// that key's PEM-encoded public key (e.g. ${PUBLIC_KEY_signer}).
const VarPublicKeyPrefix = "PUBLIC_KEY_"

// VarRegistryPrefix + a registries[].name is the variable holding that
// registry's 127.0.0.1:PORT.
const VarRegistryPrefix = "REGISTRY_"

// Substitutions are the file's vars with the built-ins set: REGISTRY to
// registry (the fake registry's host:port), REFUSED to refused and
// PUBLIC_KEY_<name> to each signing key's PEM from publicKeys, and
// REGISTRY_<name> to each of registries (registries[].name to its
// host:port). Keys and registries left out stay unexpanded, as the
// catalogue shows them.
func (f *File) Substitutions(registry, refused string, publicKeys map[string][]byte, registries map[string]string) Vars {
	v := Vars{VarRegistry: registry, VarRefused: refused}
	for name, addr := range registries {
		v[VarRegistryPrefix+name] = addr
	}
	for k, pem := range publicKeys {
		v[VarPublicKeyPrefix+k] = string(pem)
	}
	for k, val := range f.Vars {
		v[k] = val
	}
	return v
}

// Expand replaces ${NAME} (repeatedly, so vars may use vars).
func (v Vars) Expand(s string) string {
	for i := 0; i < 8 && strings.Contains(s, "${"); i++ {
		next := varPattern.ReplaceAllStringFunc(s, func(m string) string {
			if val, ok := v[m[2:len(m)-1]]; ok {
				return val
			}
			return m
		})
		if next == s {
			break
		}
		s = next
	}
	return s
}

// ExpandQuoted expands vars with their values regex-quoted.
func (v Vars) ExpandQuoted(s string) string {
	return varPattern.ReplaceAllStringFunc(s, func(m string) string {
		if _, ok := v[m[2:len(m)-1]]; ok {
			return regexp.QuoteMeta(v.Expand(m))
		}
		return m
	})
}

var placeholderPattern = regexp.MustCompile(`^\(\$([A-Za-z_][A-Za-z0-9_]*)\)$`)

func placeholderName(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		return "", false
	}
	m := placeholderPattern.FindStringSubmatch(n.Value)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// placeholders lists the ($name) placeholders used in n, with lines.
func placeholders(n *yaml.Node, out map[string]int) {
	if name, ok := placeholderName(n); ok {
		if _, seen := out[name]; !seen {
			out[name] = n.Line
		}
		return
	}
	for _, c := range n.Content {
		placeholders(c, out)
	}
}

// hasImageRegistry reports whether n holds an imageRegistry context entry.
func hasImageRegistry(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "imageRegistry" && yamlpath.Resolve(n.Content[i+1]).Kind == yaml.MappingNode {
				return true
			}
		}
	}
	for _, c := range n.Content {
		if hasImageRegistry(c) {
			return true
		}
	}
	return false
}

// hasKey reports whether any mapping in n has key.
func hasKey(n *yaml.Node, key string, match func(value *yaml.Node) bool) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key && (match == nil || match(n.Content[i+1])) {
				return true
			}
		}
	}
	for _, c := range n.Content {
		if hasKey(c, key, match) {
			return true
		}
	}
	return false
}

func deepCopy(n *yaml.Node) *yaml.Node {
	n = yamlpath.Resolve(n)
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = deepCopy(x)
	}
	return &c
}

// bind substitutes placeholders with the binding's values and drops the
// ones it does not set, together with their key or list item.
func bind(n *yaml.Node, values map[string]Value) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		out := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if name, ok := placeholderName(v); ok {
				val, set := values[name]
				if !set {
					continue
				}
				v = deepCopy(val.Node)
			} else {
				v = bind(v, values)
			}
			out = append(out, k, v)
		}
		n.Content = out
	case yaml.SequenceNode:
		out := n.Content[:0:0]
		for _, item := range n.Content {
			if name, ok := placeholderName(item); ok {
				val, set := values[name]
				if !set {
					continue
				}
				out = append(out, deepCopy(val.Node))
				continue
			}
			out = append(out, bind(item, values))
		}
		n.Content = out
	}
	return n
}

// setCatchError writes catchError into every imageRegistry mapping.
func setCatchError(n *yaml.Node, value bool) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != "imageRegistry" {
				continue
			}
			ir := yamlpath.Resolve(n.Content[i+1])
			if ir.Kind != yaml.MappingNode {
				continue
			}
			val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(value)}
			replaced := false
			for j := 0; j+1 < len(ir.Content); j += 2 {
				if ir.Content[j].Value == "catchError" {
					ir.Content[j+1] = val
					replaced = true
				}
			}
			if !replaced {
				ir.Content = append(ir.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "catchError"}, val)
			}
		}
	}
	for _, c := range n.Content {
		setCatchError(c, value)
	}
}

// expandVars expands ${NAME} in every string scalar (keys included).
func expandVars(n *yaml.Node, vars Vars) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = vars.Expand(n.Value)
	}
	for _, c := range n.Content {
		expandVars(c, vars)
	}
}

// anyVarPattern is every ${...}, valid name or not: "${DIGEST:team/app:v1}"
// does not match varPattern, so it would be left in the output unexpanded.
var anyVarPattern = regexp.MustCompile(`\$\{([^}]*)\}`)

// usedVars collects ${...} references in n's scalars, names that are not
// variable names included (they are unknown variables to the caller).
func usedVars(n *yaml.Node, out map[string]*yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		for _, m := range anyVarPattern.FindAllStringSubmatch(n.Value, -1) {
			if _, ok := out[m[1]]; !ok {
				out[m[1]] = n
			}
		}
	}
	for _, c := range n.Content {
		usedVars(c, out)
	}
}

// render produces the document bytes for one binding and variable set.
func (doc Doc) render(b *Binding, vars Vars) ([]byte, error) {
	n := deepCopy(doc.Node)
	if b != nil {
		n = bind(n, b.Values)
		if b.CatchError != nil {
			setCatchError(n, *b.CatchError)
		}
	}
	expandVars(n, vars)
	// A document written in flow style ("- {apiVersion: v1, kind: Pod}")
	// would render starting with "{", which Kyverno's resource loader takes
	// for JSON and refuses; the top level is written in block style.
	n.Style &^= yaml.FlowStyle
	out, err := yaml.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", doc.Source, err)
	}
	return out, nil
}

// fieldPathPattern finds Kubernetes-style field paths in an engine's error
// ("spec.rules[0].context[0].imageRegistry.catchErr").
var fieldPathPattern = regexp.MustCompile(`\.?((?:[A-Za-z_$][\w$-]*)(?:\[\d+\])*(?:\.[A-Za-z_$][\w$-]*(?:\[\d+\])*)+)`)

// Relocate rewrites positions an engine gives inside a rendered document
// ("t.yaml:12:3:7", the document that starts on line 12, line 3 of the
// copy the engine received) into the line and column the user wrote
// ("t.yaml:36:9"): the node of the first field path in msg that the
// document has, else the document's first line. Text without such a
// position is returned unchanged.
func (f *File) Relocate(msg string) string {
	var docs []Doc
	for _, group := range [][]Documents{f.Policies, f.Resources, f.ConfigMaps} {
		for _, ds := range group {
			docs = append(docs, ds.Docs...)
		}
	}
	for _, doc := range docs {
		pos := regexp.MustCompile(regexp.QuoteMeta(doc.Source) + `:\d+(?::\d+)?`)
		if !pos.MatchString(msg) {
			continue
		}
		file, line, _ := strings.Cut(doc.Source, ":")
		at := file + ":" + line
		for _, m := range fieldPathPattern.FindAllStringSubmatch(msg, -1) {
			if _, name, found := yamlpath.Find(doc.Node, m[1]); found && name != nil {
				at = fmt.Sprintf("%s:%d:%d", file, name.Line, name.Column)
				break
			}
		}
		msg = pos.ReplaceAllLiteralString(msg, at)
	}
	return msg
}
