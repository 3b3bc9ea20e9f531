package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/policykind"
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
	Requires []engine.Capability
	// Siblings are the rows expecting a result for the spec's policy, rule
	// and resource under its binding, in file order, Row among them (nil
	// for a row expecting none): the engine must report exactly
	// len(Siblings) results, each matched by a row of its own.
	Siblings []*Row
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
			// Rows expecting results for one policy, rule and resource
			// (more than one for a verifyImages rule); the second and
			// later are named <spec>#2 and so on.
			siblings, seen := map[string][]*Row{}, map[string]int{}
			for ri := range f.Results {
				if r := &f.Results[ri]; r.AppliesTo(b.Name) && r.Result.Result() {
					for _, res := range r.Resources {
						siblings[specName(f, b, r, res)] = append(siblings[specName(f, b, r, res)], r)
					}
				}
			}
			for ri := range f.Results {
				if r := &f.Results[ri]; r.AppliesTo(b.Name) {
					for _, s := range rowSpecs(f, b, catch, r) {
						base := s.Name
						s.Siblings = siblings[base]
						if seen[base]++; seen[base] > 1 {
							s.Name = fmt.Sprintf("%s#%d", base, seen[base])
						}
						out = append(out, s)
					}
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
		labels["rule"] = string(ruleType)
	}
	kind := f.kinds[r.Policy]
	labels["lang"] = string(kind.Language)
	labels["policy"] = kind.Name
	for _, m := range []map[string]string{f.Metadata.Labels, {"catch": catch}, b.Labels, r.Labels} {
		for k, v := range m {
			labels[k] = v
		}
	}
	labels["decision"] = strconv.Itoa(int(decide(labels)))
	var req []engine.Capability
	for _, rs := range [][]engine.Capability{f.Requires, b.Requires, r.Requires} {
		req = append(req, rs...)
	}
	if catch != CatchAbsent {
		req = append(req, engine.CapCatchError)
	}
	if r.Result == ExpectAnswerOnly {
		// An admission answer alone.
		req = append(req, engine.CapAdmission)
	}
	if kind.Language == policykind.CEL {
		req = append(req, engine.CapCELImageData)
	}
	if r.PatchedResource != nil {
		req = append(req, engine.CapPatchedResource)
		if ruleType == policykind.RuleVerifyImages {
			req = append(req, engine.CapVerifyImagesPatch)
		}
	}
	if len(f.Registry.Secrets) > 0 {
		// The engine must resolve them, whether or not the file says so
		// (an engine without a Secret lister cannot take the batch).
		req = append(req, engine.CapSecrets)
	}
	if len(f.ConfigMaps) > 0 {
		req = append(req, engine.CapConfigMaps)
	}
	if f.Registry.ImageVerifyCacheEnabled {
		req = append(req, engine.CapImageVerifyCache)
	}
	if len(f.Registry.ImagePullSecrets) > 0 {
		req = append(req, engine.CapImagePullSecrets)
	}
	if len(f.APICallResponses) > 0 {
		req = append(req, engine.CapAPICallResponses)
	}
	if r.Result == ExpectPanic {
		req = append(req, engine.CapEnginePanic)
	}
	slices.Sort(req)
	req = slices.Compact(req)
	out := make([]*Spec, 0, len(r.Resources))
	for _, res := range r.Resources {
		out = append(out, &Spec{
			Name:     specName(f, b, r, res),
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

// specName is <file>/<binding>/<policy>/<rule>/<resource>.
func specName(f *File, b *Binding, r *Row, res string) string {
	return strings.Join([]string{f.Name, b.Name, r.Policy, r.Rule, res}, "/")
}

func labelList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+":"+v)
	}
	sort.Strings(out)
	return out
}
