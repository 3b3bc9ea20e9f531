package reference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is a decoding error that names where the bad input is: the
// file, the line in it, and the field path inside the document
// (spec.rules[0].context[0].imageRegistry.catchErrror).
type FieldError struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// nodeDecoder is implemented by types that decode themselves from a YAML
// node (union types such as preconditions, which are a list or an object).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string) error
}

// decoder walks a YAML node tree into Go values, strictly: a key that the
// target struct does not declare (by its json tag) is an error naming its
// path and line.
type decoder struct {
	file string
	// int64s keeps YAML integers as int64, as Kubernetes' unstructured
	// objects (and so Kyverno's request.object) hold them; otherwise numbers
	// are float64, as after Kyverno's JSON decoding of policy fields.
	int64s bool
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &FieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// splitDocuments parses multi-document YAML into its non-empty documents.
func splitDocuments(file string, data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: invalid YAML: %w", file, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		docs = append(docs, root)
	}
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!str":
		return "a string"
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a " + strings.TrimPrefix(n.Tag, "!!")
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

var nodeDecoderType = reflect.TypeOf((*nodeDecoder)(nil)).Elem()

// yaml11Bools are the plain scalars YAML 1.1 reads as booleans. Kubernetes
// and Kyverno read YAML with sigs.k8s.io/yaml (YAML 1.1), so `name: n` is
// false there, while YAML 1.2 (yaml.v3) reads a string.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// yaml11Bool reports whether n is a plain scalar that YAML 1.1 reads as a
// boolean, and which.
func yaml11Bool(n *yaml.Node) (value, ok bool) {
	if n.Kind != yaml.ScalarNode || n.Style != 0 || n.Tag != "!!str" {
		return false, false
	}
	value, ok = yaml11Bools[n.Value]
	return value, ok
}

// decode fills v (addressable) from n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	n = resolveAlias(n)
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		return v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
	}
	isNull := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	switch v.Kind() {
	case reflect.Pointer:
		if isNull {
			v.SetZero()
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Interface:
		val, err := d.toValue(n, path)
		if err != nil {
			return err
		}
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
		return nil
	case reflect.Struct:
		if isNull {
			return nil
		}
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		if isNull {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return d.errorf(n, path, "expected a list, got %s", kindName(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.decode(item, s.Index(i), indexPath(path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if isNull {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, path, "expected an object, got %s", kindName(n))
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolveAlias(n.Content[i]), n.Content[i+1]
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				return d.errorf(k, joinPath(path, k.Value), "duplicate key")
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(val, elem, joinPath(path, k.Value)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
		v.Set(m)
		return nil
	case reflect.String:
		if b, ok := yaml11Bool(n); ok {
			return d.errorf(n, path, "expected a string, got a boolean (YAML 1.1, as Kubernetes reads it, makes %s %v; quote it)", n.Value, b)
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			return d.errorf(n, path, "expected a string, got %s", kindName(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		if b, ok := yaml11Bool(n); ok {
			v.SetBool(b)
			return nil
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return d.errorf(n, path, "expected a boolean, got %s", kindName(n))
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return d.errorf(n, path, "expected a boolean: %v", err)
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return d.errorf(n, path, "expected an integer, got %s", kindName(n))
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			return d.errorf(n, path, "expected an integer: %v", err)
		}
		if v.OverflowInt(i) {
			return d.errorf(n, path, "integer %d does not fit in %s", i, v.Type())
		}
		v.SetInt(i)
		return nil
	}
	return d.errorf(n, path, "cannot decode into %s", v.Type())
}

// reflectValue is the settable value a pointer points to, what decode fills.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, path, "expected an object, got %s", kindName(n))
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		fpath := joinPath(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			return d.errorf(k, fpath, "unknown field")
		}
		if seen[k.Value] {
			return d.errorf(k, fpath, "duplicate field")
		}
		seen[k.Value] = true
		if err := d.decode(val, v.Field(idx), fpath); err != nil {
			return err
		}
	}
	return nil
}

// structFields maps json names to field indexes; fields tagged "-" are
// internal.
func structFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		m[name] = i
	}
	return m
}

// toValue converts a node into a JSON-like value (map[string]any, []any,
// string, float64, bool, nil), the shape Kyverno's engine works on after a
// JSON round trip.
func (d *decoder) toValue(n *yaml.Node, path string) (any, error) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolveAlias(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return nil, d.errorf(k, path, "object keys must be strings, got %s", kindName(k))
			}
			if _, dup := m[k.Value]; dup {
				return nil, d.errorf(k, joinPath(path, k.Value), "duplicate key")
			}
			val, err := d.toValue(n.Content[i+1], joinPath(path, k.Value))
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, item := range n.Content {
			val, err := d.toValue(item, indexPath(path, i))
			if err != nil {
				return nil, err
			}
			l[i] = val
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, d.errorf(n, path, "invalid boolean: %v", err)
			}
			return b, nil
		case "!!int", "!!float":
			if n.Tag == "!!int" && d.int64s {
				var i int64
				if err := n.Decode(&i); err == nil {
					return i, nil
				}
			}
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, d.errorf(n, path, "invalid number: %v", err)
			}
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, d.errorf(n, path, "number %s cannot be represented in JSON", n.Value)
			}
			return f, nil
		case "!!str", "!!timestamp", "!!binary":
			if b, ok := yaml11Bool(n); ok {
				return b, nil
			}
			return n.Value, nil
		}
		return nil, d.errorf(n, path, "unsupported YAML tag %s", n.Tag)
	}
	return nil, d.errorf(n, path, "unsupported YAML node")
}

// jsonRoundTrip normalises a Go value to JSON-like types (numbers become
// float64), as Kyverno does before JMESPath sees data.
func jsonRoundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}
