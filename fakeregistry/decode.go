package fakeregistry

import (
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/imagectx/conformance/yamlkit/strictyaml"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
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
// files that embed a registry config (scenario files): errors are
// *FieldError with the line of the node that is wrong (a Validate problem
// at its field's node, or the nearest parent written).
func DecodeConfigNode(name string, node *yaml.Node) (Config, error) {
	node = yamlpath.Resolve(node)
	d := &strictyaml.Decoder{File: name}
	var cfg Config
	if err := d.Decode(node, &cfg, ""); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		var located []error
		for _, e := range unjoin(err) {
			var fe *FieldError
			if errors.As(e, &fe) {
				at, _, _ := yamlpath.Find(node, fe.Field)
				located = append(located, d.Errorf(at, fe.Field, "%s", fe.Msg))
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
