package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Spec is one expectation: a file x binding x result row x resource.
type Spec struct {
	// Name is <file>/<binding>/<policy>/<rule>/<resource>.
	Name     string
	File     *File
	Binding  *Binding
	Row      *Row
	Resource string
	// Labels are Ginkgo labels, "key:value", sorted.
	Labels []string
	// Requires are the capabilities the spec needs, sorted.
	Requires []string
}

// EvalKey names the evaluation the spec's result comes from.
func (s *Spec) EvalKey() string { return EvalKey(s.File, s.Binding) }

// EvalKey names one evaluation: a file under one binding.
func EvalKey(f *File, b *Binding) string { return f.Name + "/" + b.Name }

// Where is the row's location, for failure messages.
func (s *Spec) Where() string { return fmt.Sprintf("%s:%d", s.File.Path, s.Row.line) }

// Specs expands files into specs, in file order.
func Specs(files []*File) []*Spec {
	var out []*Spec
	for _, f := range files {
		for bi := range f.Bindings {
			b := &f.Bindings[bi]
			catch := f.CatchMode(b)
			for ri := range f.Results {
				if r := &f.Results[ri]; r.AppliesTo(b.Name) {
					out = append(out, rowSpecs(f, b, catch, r)...)
				}
			}
		}
	}
	return out
}

// rowSpecs is one spec per resource of row r under binding b; they share
// the row's labels and requirements.
func rowSpecs(f *File, b *Binding, catch string, r *Row) []*Spec {
	labels := map[string]string{}
	ruleType := f.RuleType(r.Policy, r.Rule)
	if ruleType != "" {
		labels["rule"] = ruleType
	}
	for _, m := range []map[string]string{f.Metadata.Labels, {"catch": catch}, b.Labels, r.Labels} {
		for k, v := range m {
			labels[k] = v
		}
	}
	var req []string
	for _, rs := range [][]string{f.Requires, b.Requires, r.Requires} {
		req = append(req, rs...)
	}
	if catch != CatchAbsent {
		req = append(req, CapCatchError)
	}
	if r.PatchedResource != nil && ruleType == RuleVerifyImages {
		req = append(req, CapVerifyImagesPatch)
	}
	slices.Sort(req)
	req = slices.Compact(req)
	out := make([]*Spec, 0, len(r.Resources))
	for _, res := range r.Resources {
		out = append(out, &Spec{
			Name:     strings.Join([]string{f.Name, b.Name, r.Policy, r.Rule, res}, "/"),
			File:     f,
			Binding:  b,
			Row:      r,
			Resource: res,
			Labels:   labelList(labels),
			Requires: req,
		})
	}
	return out
}

func labelList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+":"+v)
	}
	sort.Strings(out)
	return out
}
