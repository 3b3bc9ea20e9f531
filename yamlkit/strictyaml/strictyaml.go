// Package strictyaml decodes the YAML files the project reads (scenario
// files, fakeregistry configs) into Go values by their json tags, strictly:
// an unknown field, a wrong type or a duplicate key is a *FieldError that
// names the file, the line and column, the field path and what was
// expected. It is the one decoder and the one error type for a field at a
// line in the project.
package strictyaml

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// FieldError is one refused field: where (File, and Line and Column from 1,
// 0 when unknown), which field (a dotted path such as
// "registry.images[0].fault.delay"; empty for the file as a whole) and
// what was expected. It reads "file:line:column: field: msg".
type FieldError struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *FieldError) Error() string {
	loc := e.File
	switch {
	case loc == "" && e.Field == "":
		return e.Msg
	case loc == "":
		return e.Field + ": " + e.Msg
	case e.Line > 0 && e.Column > 0:
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	case e.Line > 0:
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// NodeDecoder lets a type decode itself from a YAML node with the
// decoder's error reporting (a matcher, embedded documents, any value).
type NodeDecoder interface {
	DecodeNode(d *Decoder, n *yaml.Node, field string) error
}

// Decoder decodes YAML nodes into Go values by their json tags (embedded
// structs flattened, as encoding/json does), refusing unknown fields, wrong
// types and duplicate keys with file, line and field. Types that implement
// NodeDecoder decode themselves; types that implement json.Unmarshaler get
// the node as JSON. It stops at the first error.
type Decoder struct {
	// File names the file in errors.
	File string
}

// Errorf is a *FieldError at n (nil: no line) for field.
func (d *Decoder) Errorf(n *yaml.Node, field, format string, args ...any) error {
	e := &FieldError{File: d.File, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Join is the field path of key under field.
func Join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// Describe names what a node is, for "want X, got Y" messages.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return Describe(n.Alias)
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "boolean " + n.Value
		case "!!int", "!!float":
			return "number " + n.Value
		default:
			return strconv.Quote(n.Value)
		}
	}
	return "an empty document"
}

// describeType is describe without the value, for secrets.
func describeType(n *yaml.Node) string {
	switch n.Tag {
	case "!!null":
		return "null"
	case "!!bool":
		return "a boolean"
	case "!!int", "!!float":
		return "a number"
	}
	return "a non-string value"
}

// isSecretField is true for a credential's password, whose value an error
// message must not quote (it ends up in test logs).
func isSecretField(field string) bool {
	return field == "password" || strings.HasSuffix(field, ".password")
}

var (
	nodeDecoderType    = reflect.TypeOf((*NodeDecoder)(nil)).Elem()
	jsonUnmarshalerTyp = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
)

// Decode fills v (a non-nil pointer) from n; field is the path of n in
// errors ("" for the top level).
func (d *Decoder) Decode(n *yaml.Node, v any, field string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return d.Errorf(n, field, "internal: decode into %T, want a non-nil pointer", v)
	}
	return d.decode(n, rv.Elem(), field)
}

func (d *Decoder) decode(n *yaml.Node, v reflect.Value, field string) error {
	n = yamlpath.Resolve(n)
	if v.Kind() == reflect.Pointer && v.Type().Implements(nodeDecoderType) {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return v.Interface().(NodeDecoder).DecodeNode(d, n, field)
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		return v.Addr().Interface().(NodeDecoder).DecodeNode(d, n, field)
	}
	if v.CanAddr() && v.Addr().Type().Implements(jsonUnmarshalerTyp) {
		var raw any
		if err := n.Decode(&raw); err != nil {
			return d.Errorf(n, field, "%v", err)
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return d.Errorf(n, field, "%v", err)
		}
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
			return d.Errorf(n, field, "%v", err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), field)
	case reflect.Struct:
		return d.decodeStruct(n, v, field)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.Errorf(n, field, "want a list, got %s", Describe(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		var errs []error
		for i, item := range n.Content {
			if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i)); err != nil {
				errs = append(errs, err)
			}
		}
		v.Set(s)
		return joined(errs)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.Errorf(n, field, "want a mapping, got %s", Describe(n))
		}
		if v.Type().Key().Kind() != reflect.String {
			return d.Errorf(n, field, "internal: map key must be a string")
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		var errs []error
		for i := 0; i < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				errs = append(errs, d.Errorf(k, field, "want a string key, got %s", Describe(k)))
				continue
			}
			if m.MapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key())).IsValid() {
				errs = append(errs, d.Errorf(k, Join(field, k.Value), "duplicate key %q", k.Value))
				continue
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(val, elem, Join(field, k.Value)); err != nil {
				errs = append(errs, err)
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
		}
		v.Set(m)
		return joined(errs)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			got := Describe(n)
			if isSecretField(field) && n.Kind == yaml.ScalarNode {
				got = describeType(n) // never echo a password
			}
			return d.Errorf(n, field, "want a string, got %s", got)
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return d.Errorf(n, field, "want true or false, got %s", Describe(n))
		}
		b, _ := strconv.ParseBool(n.Value)
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return d.Errorf(n, field, "want an integer, got %s", Describe(n))
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			return d.Errorf(n, field, "want an integer: %v", err)
		}
		v.SetInt(i)
		return nil
	case reflect.Interface:
		var raw any
		if err := n.Decode(&raw); err != nil {
			return d.Errorf(n, field, "%v", err)
		}
		if raw != nil {
			v.Set(reflect.ValueOf(raw))
		}
		return nil
	}
	return d.Errorf(n, field, "internal: cannot decode into %s", v.Type())
}

type fieldInfo struct {
	index []int
	name  string
}

func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			// Embedded structs are flattened, as encoding/json does.
			for _, inner := range structFields(f.Type) {
				inner.index = append(append([]int{}, f.Index...), inner.index...)
				out = append(out, inner)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, fieldInfo{index: f.Index, name: name})
	}
	return out
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) error {
	if n.Kind != yaml.MappingNode {
		return d.Errorf(n, field, "want a mapping, got %s", Describe(n))
	}
	fields := structFields(v.Type())
	byName := map[string]fieldInfo{}
	var names []string
	for _, f := range fields {
		byName[f.name] = f
		names = append(names, f.name)
	}
	sort.Strings(names)
	// Every field is decoded, so a mapping with several mistakes gets all
	// of them (errors.Join, in the order written).
	seen := map[string]bool{}
	var errs []error
	for i := 0; i < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, d.Errorf(k, field, "want a field name, got %s", Describe(k)))
			continue
		}
		f, ok := byName[k.Value]
		if !ok {
			errs = append(errs, d.Errorf(k, Join(field, k.Value), "unknown field %q; want one of: %s", k.Value, strings.Join(names, ", ")))
			continue
		}
		if seen[k.Value] {
			errs = append(errs, d.Errorf(k, Join(field, k.Value), "duplicate key %q", k.Value))
			continue
		}
		seen[k.Value] = true
		if err := d.decode(val, v.FieldByIndex(f.index), Join(field, k.Value)); err != nil {
			errs = append(errs, err)
		}
	}
	return joined(errs)
}

// joined is the one error of errs as it is (a *FieldError), or all of them
// joined (errors.Join, one per line), or nil.
func joined(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
