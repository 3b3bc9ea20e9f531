package scenario

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// PatchedResource is a row's expected patched resource (kyverno test's
// patchedResource): the whole object as the rule's policy must leave it,
// written inline or as a path to a YAML file (relative to the scenario
// file) holding exactly one object. ${VARS} are expanded in its strings.
type PatchedResource struct {
	Source string // where it was written, "file.yaml:12"
	Object map[string]any

	node *yaml.Node
}

func (p *PatchedResource) DecodeNode(d *decoder, n *yaml.Node, field string) error {
	var docs Documents
	if err := docs.DecodeNode(d, n, field); err != nil {
		return err
	}
	if len(docs.Docs) != 1 {
		return d.Errorf(n, field, "want one object, got %d documents", len(docs.Docs))
	}
	doc := docs.Docs[0]
	var obj map[string]any
	if err := doc.Node.Decode(&obj); err != nil {
		return d.Errorf(n, field, "%s: %v", doc.Source, err)
	}
	norm, ok := normalize(obj).(map[string]any)
	if !ok {
		return d.Errorf(n, field, "%s: want a Kubernetes object (a mapping)", doc.Source)
	}
	p.Source, p.Object, p.node = doc.Source, norm, doc.Node
	return nil
}

// Match compares got (the engine's patched resource) with the expected
// object after expanding vars; on a difference it names the first few
// JSON paths that differ, with both values.
func (p *PatchedResource) Match(got map[string]any, vars Vars) (bool, string) {
	want := expandAny(p.Object, vars)
	if got == nil {
		return false, fmt.Sprintf("want the patched resource of %s, got none", p.Source)
	}
	var diffs []string
	diffValues("", want, normalize(got), &diffs)
	if len(diffs) == 0 {
		return true, ""
	}
	const show = 5
	more := ""
	if len(diffs) > show {
		more = fmt.Sprintf(" (and %d more)", len(diffs)-show)
		diffs = diffs[:show]
	}
	return false, fmt.Sprintf("patched resource differs from %s at %s%s", p.Source, strings.Join(diffs, "; "), more)
}

// diffValues appends "path: want X, got Y" for every leaf where a and b
// differ (JSON-like values, as normalize returns them).
func diffValues(path string, want, got any, out *[]string) {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, win := wm[k]
			gv, gin := gm[k]
			p := path + "." + k
			switch {
			case !gin:
				*out = append(*out, fmt.Sprintf("%s: want %s, got absent", p, render(wv)))
			case !win:
				*out = append(*out, fmt.Sprintf("%s: want absent, got %s", p, render(gv)))
			default:
				diffValues(p, wv, gv, out)
			}
		}
		return
	}
	wl, wok := want.([]any)
	gl, gok := got.([]any)
	if wok && gok && len(wl) == len(gl) {
		for i := range wl {
			diffValues(fmt.Sprintf("%s[%d]", path, i), wl[i], gl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		if path == "" {
			path = "."
		}
		*out = append(*out, fmt.Sprintf("%s: want %s, got %s", path, render(want), render(got)))
	}
}
