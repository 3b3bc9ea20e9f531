package fakeregistry

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LoadConfig reads and strictly decodes a YAML config file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("fakeregistry config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig strictly decodes a YAML config and validates it. name is used
// in errors, which read "name:line:column: field.path: what was expected".
// Unknown fields, wrong types and duplicate keys are errors.
func ParseConfig(name string, data []byte) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind == 0 { // empty file: a registry with nothing in it
		return Config{}, nil
	}
	cfg, err := DecodeConfigNode(name, &doc)
	if err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// DecodeConfigNode decodes and validates a Config from a YAML node, for
// files that embed a registry config (scenario files): errors carry the
// line of the node that is wrong.
func DecodeConfigNode(name string, node *yaml.Node) (Config, error) {
	if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
		node = node.Content[0]
	}
	d := &decoder{name: name, lines: map[string]*yaml.Node{}}
	var cfg Config
	d.decode(node, reflect.ValueOf(&cfg).Elem(), "")
	if len(d.errs) > 0 {
		return Config{}, errors.Join(d.errs...)
	}
	if err := cfg.Validate(); err != nil {
		// Locate each field error at its node (or the nearest parent).
		var located []error
		for _, e := range unjoin(err) {
			var fe *FieldError
			if errors.As(e, &fe) {
				located = append(located, d.at(d.nearest(fe.Path), fe.Path, "%s", fe.Msg))
				continue
			}
			located = append(located, fmt.Errorf("%s: %w", name, e))
		}
		return Config{}, errors.Join(located...)
	}
	return cfg, nil
}

// UnmarshalYAML lets yaml.v3 users decode a Config strictly, with lines.
func (c *Config) UnmarshalYAML(node *yaml.Node) error {
	cfg, err := DecodeConfigNode("config", node)
	if err != nil {
		return err
	}
	*c = cfg
	return nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// decoder walks yaml.Node trees into the config structs by their json tags.
type decoder struct {
	name  string
	errs  []error
	lines map[string]*yaml.Node // field path -> node, for validation errors
}

func (d *decoder) at(n *yaml.Node, path, format string, args ...any) error {
	loc := d.name
	if n != nil {
		loc = fmt.Sprintf("%s:%d:%d", d.name, n.Line, n.Column)
	}
	if path == "" {
		path = "(top level)"
	}
	return fmt.Errorf("%s: %s: %s", loc, path, fmt.Sprintf(format, args...))
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, d.at(n, path, format, args...))
}

// nearest finds the node of path or of its closest recorded parent.
func (d *decoder) nearest(path string) *yaml.Node {
	for p := path; ; {
		if n, ok := d.lines[p]; ok {
			return n
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return d.lines[""]
		}
		p = p[:i]
	}
}

var durationType = reflect.TypeOf(Duration(0))

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.lines[path] = n
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a duration such as \"2s\" or \"500ms\", got %s", kindName(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(n, path, "want a duration such as \"2s\" or \"500ms\", got %q", n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "want a mapping of names to strings, got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := path + "." + k.Value
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.fail(k, kp, "duplicate key %q", k.Value)
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, kp)
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "want true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.fail(n, path, "want an integer, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	default:
		d.fail(n, path, "cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := map[string]int{}
	var names []string
	for i := 0; i < v.NumField(); i++ {
		tag := strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping with the fields %s, got %s", strings.Join(names, ", "), kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kp := k.Value
		if path != "" {
			kp = path + "." + k.Value
		}
		idx, ok := fields[k.Value]
		if !ok {
			sorted := append([]string(nil), names...)
			sort.Strings(sorted)
			d.fail(k, kp, "unknown field %q; want one of %s", k.Value, strings.Join(sorted, ", "))
			continue
		}
		if seen[k.Value] {
			d.fail(k, kp, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		d.decode(val, v.Field(idx), kp)
	}
}
