package scenario

import "github.com/imagectx/conformance/yamlkit/strictyaml"

// LoadError is a refused scenario file: where, which field, what was
// expected (the project's one field-at-a-line error).
type LoadError = strictyaml.FieldError

// decoder is the project's strict YAML decoder, named for this file.
type decoder = strictyaml.Decoder
