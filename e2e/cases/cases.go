// Package cases loads the e2e admission cases (e2e/testdata/admission.yaml):
// the faults a fake registry produces, the rule result Kyverno gives for each,
// and the texts the API server returns, and expands them into the matrix of
// failureAction x failurePolicy x catchError the suite runs.
package cases

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/imagectx/conformance/fakeregistry"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// File is admission.yaml.
type File struct {
	Texts  Texts   `json:"texts"`
	Faults []Fault `json:"faults"`
}

// Texts are the API server's and Kyverno's envelopes around a rule message.
type Texts struct {
	Denied         string `json:"denied"`
	Warning        string `json:"warning"`
	WebhookTimeout string `json:"webhookTimeout"` // regular expression
	UnknownField   string `json:"unknownField"`
}

// Fault is one registry situation and the rule result it gives.
type Fault struct {
	Name     string              `json:"name"`
	Image    string              `json:"image"` // repository:tag in the fake registry
	Registry fakeregistry.Config `json:"registry"`
	// Slow: the registry stalls beyond the webhook timeout.
	Slow bool `json:"slow,omitempty"`
	// Result and Message: the rule without catchError.
	Result  string `json:"result"`
	Message string `json:"message"`
	// Caught: the rule with catchError: true.
	Caught Outcome `json:"caught"`
	// Background: also run as a background scan.
	Background bool `json:"background,omitempty"`
}

// Outcome is a rule result and message.
type Outcome struct {
	Result  string `json:"result"`
	Message string `json:"message"`
}

var results = map[string]bool{"pass": true, "fail": true, "error": true, "skip": true, "warn": true}

// Load reads path, substituting vars (${NAME}) first, and rejects unknown
// fields and missing values with the file, line and field.
func Load(path string, vars map[string]string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := substitute(string(raw), vars)
	var f File
	if err := yaml.UnmarshalStrict([]byte(text), &f); err != nil {
		return nil, fmt.Errorf("%s%s: %w", path, lineOf(text, err), err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

func (f *File) validate() error {
	var errs []error
	if f.Texts.Denied == "" || f.Texts.Warning == "" || f.Texts.WebhookTimeout == "" || f.Texts.UnknownField == "" {
		errs = append(errs, errors.New("texts: want denied, warning, webhookTimeout and unknownField"))
	}
	if _, err := regexp.Compile(f.Texts.WebhookTimeout); err != nil {
		errs = append(errs, fmt.Errorf("texts.webhookTimeout: %w", err))
	}
	if len(f.Faults) == 0 {
		errs = append(errs, errors.New("faults: want at least one"))
	}
	seen := map[string]bool{}
	for i, c := range f.Faults {
		at := fmt.Sprintf("faults[%d] (%s)", i, c.Name)
		if c.Name == "" || seen[c.Name] {
			errs = append(errs, fmt.Errorf("%s: want a unique name", at))
		}
		seen[c.Name] = true
		if c.Image == "" {
			errs = append(errs, fmt.Errorf("%s.image: want repository:tag", at))
		}
		if !results[c.Result] || !results[c.Caught.Result] {
			errs = append(errs, fmt.Errorf("%s: result and caught.result: want pass, fail, error, skip or warn, got %q and %q", at, c.Result, c.Caught.Result))
		}
		if c.Message == "" || c.Caught.Message == "" {
			errs = append(errs, fmt.Errorf("%s: message and caught.message: want the rule message", at))
		}
		if err := c.Registry.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s.registry: %w", at, err))
		}
	}
	return errors.Join(errs...)
}

// substitute replaces ${NAME} for every NAME in vars; other ${...} stay for
// later (per-spec) substitution.
func substitute(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	return s
}

// Expand fills the per-spec placeholders of s.
func Expand(s string, vars map[string]string) string { return substitute(s, vars) }

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// lineOf finds the line of the field an UnmarshalStrict error names, by
// looking the key up in the YAML node tree; "" when it cannot tell.
func lineOf(text string, err error) string {
	m := unknownField.FindStringSubmatch(err.Error())
	if m == nil {
		return ""
	}
	parts := strings.Split(m[1], ".")
	key := parts[len(parts)-1]
	var root yamlv3.Node
	if yamlv3.NewDecoder(bytes.NewReader([]byte(text))).Decode(&root) != nil {
		return ""
	}
	if line := findKey(&root, key); line > 0 {
		return fmt.Sprintf(":%d", line)
	}
	return ""
}

func findKey(n *yamlv3.Node, key string) int {
	if n.Kind == yamlv3.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if l := findKey(c, key); l > 0 {
			return l
		}
	}
	return 0
}
