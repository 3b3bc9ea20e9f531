package scenario

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/fakeregistry"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/imagectx/conformance/engine/policykind"
	"github.com/imagectx/conformance/yamlkit/strictyaml"
	"github.com/imagectx/conformance/yamlkit/yamlpath"
)

// APIVersion and Kind every scenario file declares.
const (
	APIVersion = "conformance.imagectx.io/v1alpha1"
	Kind       = "Test"
)

// DefaultDeadline bounds an evaluation when the file sets none; it leaves
// room for go-containerregistry's retries (about 4-5 s for a 5xx) on a
// loaded machine (-race, parallel builds). Only a hung engine waits for it.
const DefaultDeadline = 30 * time.Second

// DataDir is the folder name skipped when loading a directory: policy and
// resource files shared by scenarios live there.
const DataDir = "files"

// Dirs is the project's scenarios folder (root/scenarios) followed by the
// folders of list, a SCENARIOS value (colon-separated, as
// filepath.SplitList splits it; relative paths are taken from root).
// Errors name the entry that is not a folder.
func Dirs(root, list string) ([]string, error) {
	dirs := []string{filepath.Join(root, "scenarios")}
	for _, d := range filepath.SplitList(list) {
		if d == "" {
			continue
		}
		abs := d
		if !filepath.IsAbs(d) {
			abs = filepath.Join(root, d)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("SCENARIOS entry %q: want a folder of scenario files (relative to %s)", d, root)
		}
		dirs = append(dirs, abs)
	}
	return dirs, nil
}

// LoadDirs loads every scenario file (*.yaml, outside folders named
// "files") under each directory. Names are relative to their directory,
// so two directories must not hold the same relative name.
func LoadDirs(dirs ...string) ([]*File, error) {
	var files []*File
	seen := map[string]string{}
	for _, dir := range dirs {
		var paths []string
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() {
				if e.Name() == DataDir || (strings.HasPrefix(e.Name(), ".") && path != dir) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".yaml") {
				paths = append(paths, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scenario folder %s: %w", dir, err)
		}
		sort.Strings(paths)
		for _, p := range paths {
			rel, _ := filepath.Rel(dir, p)
			name := filepath.ToSlash(strings.TrimSuffix(rel, ".yaml"))
			if other, dup := seen[name]; dup {
				return nil, fmt.Errorf("%s: scenario name %q is also used by %s", p, name, other)
			}
			seen[name] = p
			f, err := LoadFile(p, name)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	return files, nil
}

// LoadFile reads and checks one scenario file; name is its spec-name prefix.
func LoadFile(path, name string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return Parse(path, name, b)
}

// Parse checks one scenario file's bytes.
func Parse(path, name string, data []byte) (*File, error) {
	d := &decoder{File: path}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &LoadError{File: path, Msg: fmt.Sprintf("not valid YAML: %v", err)}
	}
	n := yamlpath.Resolve(&root)
	if n == nil {
		return nil, &LoadError{File: path, Msg: "empty file; want a Test"}
	}
	f := &File{Path: path, Name: name}
	if err := d.Decode(n, f, ""); err != nil {
		return nil, err
	}
	if err := f.check(d, n); err != nil {
		return nil, err
	}
	if err := checkSchema(d, n); err != nil {
		return nil, err
	}
	return f, nil
}

var (
	labelPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	namePart  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	varName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// at finds the node of a field path (keys and list indexes) for error lines.
func at(n *yaml.Node, path ...any) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch k := p.(type) {
		case string:
			n = yamlpath.Child(n, k)
		case int:
			n = yamlpath.Resolve(n)
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return nil
			}
			n = yamlpath.Resolve(n.Content[k])
		}
	}
	return n
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n == nil {
		return fallback
	}
	return n
}

func keyNode(n *yaml.Node, key string) *yaml.Node {
	n = yamlpath.Resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

func checkLabels(d *decoder, n *yaml.Node, field string, labels map[string]string) error {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !labelPart.MatchString(k) || !labelPart.MatchString(labels[k]) {
			return d.Errorf(keyNode(n, k), strictyaml.Join(field, k), "want a label key and value of letters, digits, '.', '_' or '-' (they become Ginkgo labels %q), got %q: %q", "key:value", k, labels[k])
		}
		if k == "decision" || k == "catch" {
			return d.Errorf(keyNode(n, k), strictyaml.Join(field, k), "the label %q is the loader's own (it says what each spec tests); remove it", k)
		}
		if k == "site" && !Site(labels[k]).Known() {
			return d.Errorf(orNode(at(n, k), n), strictyaml.Join(field, k), "unknown site %q; want one of %s (scenario.Sites declares them: where the image data is first used)", labels[k], strings.Join(SiteNames(), ", "))
		}
	}
	return nil
}

func checkRequires(d *decoder, n *yaml.Node, field string, req []engine.Capability) error {
	known := engine.KnownCapabilities()
	for i, r := range req {
		if !slices.Contains(known, r) {
			names := make([]string, len(known))
			for j, c := range known {
				names[j] = string(c)
			}
			return d.Errorf(at(n, i), fmt.Sprintf("%s[%d]", field, i), "unknown capability %q; want one of %s", r, strings.Join(names, ", "))
		}
	}
	return nil
}

// fileCheck is the validation of one scenario file: the decoder and root
// node for errors with lines, and what earlier steps found for later ones.
type fileCheck struct {
	f    *File
	d    *decoder
	root *yaml.Node
	// known are the variable names a ${...} may use.
	known map[string]bool
	// resources are the file's resources by name.
	resources map[string]Doc
	// bindingNames are the bindings' names.
	bindingNames map[string]bool
}

// checkStep is one part of a file's validation and the steps whose
// findings it reads.
type checkStep struct {
	name  string
	needs []string
	run   func() error
}

// check validates the file, in the order the format reads: header,
// variables, documents, bindings, inputs, registry, results. A file with
// several mistakes gets all of them in one error (errors.Join, in file
// order): every step runs whose inputs passed; a step whose input failed
// is left out, so one mistake is not reported again as its consequences.
// A wrong header (apiVersion, kind) ends the check: the file is not read
// as a scenario.
func (f *File) check(d *decoder, root *yaml.Node) error {
	c := &fileCheck{f: f, d: d, root: root}
	if err := c.header(); err != nil {
		return err
	}
	failed := map[string]bool{}
	var errs []error
	for _, st := range []checkStep{
		{"vars", nil, c.vars},
		{"documents", []string{"vars"}, c.documents},
		{"bindings", []string{"documents"}, c.bindings},
		{"configMaps", []string{"vars"}, c.configMaps},
		{"apiCallResponses", []string{"vars"}, c.apiCallResponses},
		{"namespaces", nil, c.namespaces},
		{"registry", nil, c.registry},
		{"notRunBy", nil, c.notRunBy},
		{"results", []string{"documents", "bindings"}, c.results},
	} {
		if slices.ContainsFunc(st.needs, func(n string) bool { return failed[n] }) {
			failed[st.name] = true
			continue
		}
		if err := st.run(); err != nil {
			failed[st.name] = true
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// varsIn refuses a ${NAME} under n that is not a known variable.
func (c *fileCheck) varsIn(n *yaml.Node, field string) error {
	used := map[string]*yaml.Node{}
	usedVars(n, used)
	for _, name := range sortedKeys(used) {
		if !c.known[name] {
			return c.d.Errorf(used[name], field, "unknown variable ${%s}; want one of %s", name, strings.Join(sortedKeys(c.known), ", "))
		}
	}
	return nil
}

// header checks apiVersion, kind, labels and requires.
func (c *fileCheck) header() error {
	f, d, root := c.f, c.d, c.root
	if f.APIVersion != APIVersion {
		return d.Errorf(orNode(at(root, "apiVersion"), root), "apiVersion", "want %q, got %q", APIVersion, f.APIVersion)
	}
	if f.Kind != Kind {
		return d.Errorf(orNode(at(root, "kind"), root), "kind", "want %q, got %q", Kind, f.Kind)
	}
	if err := checkLabels(d, at(root, "metadata", "labels"), "metadata.labels", f.Metadata.Labels); err != nil {
		return err
	}
	if err := checkRequires(d, at(root, "requires"), "requires", f.Requires); err != nil {
		return err
	}
	if f.Translates != "" {
		target := filepath.Join(filepath.Dir(f.Path), filepath.FromSlash(f.Translates))
		if _, err := os.Stat(target); err != nil {
			return d.Errorf(at(root, "translates"), "translates", "want the path of the scenario file this one translates, relative to this file: %v", err)
		}
		scenarioRoot := strings.TrimSuffix(f.Path, filepath.FromSlash(f.Name)+".yaml")
		rel, err := filepath.Rel(scenarioRoot, target)
		if err != nil || strings.HasPrefix(rel, "..") || !strings.HasSuffix(rel, ".yaml") {
			return d.Errorf(at(root, "translates"), "translates", "want a .yaml scenario file in the same scenario folder, got %q", f.Translates)
		}
		f.TranslatesName = strings.TrimSuffix(filepath.ToSlash(rel), ".yaml")
	}
	return nil
}

// vars checks variable names (no shadowing of built-ins) and collects
// every name a ${...} may use.
func (c *fileCheck) vars() error {
	f, d, root := c.f, c.d, c.root
	checkVarsIn := c.varsIn
	known := map[string]bool{}
	c.known = known
	for _, v := range builtinVars {
		known[v] = true
	}
	for _, m := range f.RegistryModels() {
		for _, k := range m.Config.SigningKeys {
			known[VarPublicKeyPrefix+k] = true
		}
		if m.Name != "" {
			known[VarRegistryPrefix+m.Name] = true
		}
	}
	for k := range f.Vars {
		if !varName.MatchString(k) {
			return d.Errorf(keyNode(at(root, "vars"), k), "vars."+k, "want a variable name of letters, digits and '_'")
		}
		if slices.Contains(builtinVars, k) || strings.HasPrefix(k, VarPublicKeyPrefix) || strings.HasPrefix(k, VarRegistryPrefix) {
			return d.Errorf(keyNode(at(root, "vars"), k), "vars."+k, "%s is built in (REGISTRY, REFUSED, REGISTRY_<registries[].name> and PUBLIC_KEY_<signing key> are set per run); choose another name", k)
		}
		known[k] = true
	}
	if err := checkVarsIn(at(root, "vars"), "vars"); err != nil {
		return err
	}
	return nil
}

// documents checks the policies and the resources (kinds, unique names,
// variables) and records the policies' rules.
func (c *fileCheck) documents() error {
	f, d, root := c.f, c.d, c.root
	checkVarsIn := c.varsIn
	if len(f.Policies) == 0 {
		return d.Errorf(root, "policies", "want at least one policy")
	}
	if len(f.Resources) == 0 {
		return d.Errorf(root, "resources", "want at least one resource")
	}
	f.rules, f.ruleTypes, f.kinds = map[string][]string{}, map[string]map[string]policykind.RuleType{}, map[string]policykind.Kind{}
	rules := f.rules
	for i, ds := range f.Policies {
		for _, doc := range ds.Docs {
			kind, ok := policykind.Lookup(doc.APIVersion, doc.Kind)
			if !ok {
				return d.Errorf(at(root, "policies", i), fmt.Sprintf("policies[%d]", i), "%s: want one of the policy kinds %s, got apiVersion %q kind %q",
					doc.Source, strings.Join(policykind.Names(), ", "), doc.APIVersion, doc.Kind)
			}
			if _, dup := rules[doc.Name]; dup {
				return d.Errorf(at(root, "policies", i), fmt.Sprintf("policies[%d]", i), "%s: policy %q is given twice", doc.Source, doc.Name)
			}
			rules[doc.Name] = kind.Rules(doc.Node)
			f.ruleTypes[doc.Name] = kind.RuleTypes(doc.Node)
			f.kinds[doc.Name] = kind
			if err := checkVarsIn(doc.Node, fmt.Sprintf("policies[%d]", i)); err != nil {
				return err
			}
		}
	}
	resources := map[string]Doc{}
	c.resources = resources
	for i, ds := range f.Resources {
		for _, doc := range ds.Docs {
			if _, dup := resources[doc.Name]; dup {
				return d.Errorf(at(root, "resources", i), fmt.Sprintf("resources[%d]", i), "%s: a resource named %q is given twice (names must be unique in a file; they name specs)", doc.Source, doc.Name)
			}
			resources[doc.Name] = doc
			if err := checkVarsIn(doc.Node, fmt.Sprintf("resources[%d]", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bindings checks binding names, operations and labels, and that
// placeholders and values agree.
func (c *fileCheck) bindings() error {
	f, d, root := c.f, c.d, c.root
	used := map[string]int{}
	for _, ds := range append(append([]Documents{}, f.Policies...), f.Resources...) {
		for _, doc := range ds.Docs {
			placeholders(doc.Node, used)
		}
	}
	if len(f.Bindings) == 0 {
		if len(used) > 0 {
			return d.Errorf(root, "bindings", "placeholders such as ($%s) are used but no binding sets them", sortedKeys(used)[0])
		}
		f.Bindings = []Binding{{Name: "default"}}
	}
	set := map[string]bool{}
	names := map[string]bool{}
	c.bindingNames = names
	for i := range f.Bindings {
		b := &f.Bindings[i]
		bn := at(root, "bindings", i)
		field := fmt.Sprintf("bindings[%d]", i)
		if bn != nil {
			b.line = bn.Line
		}
		if !namePart.MatchString(b.Name) {
			return d.Errorf(bn, field+".name", "want a name of letters, digits, '.', '_' or '-', got %q", b.Name)
		}
		if names[b.Name] {
			return d.Errorf(bn, field+".name", "binding %q is given twice", b.Name)
		}
		names[b.Name] = true
		for k := range b.Values {
			if _, ok := used[k]; !ok {
				return d.Errorf(keyNode(at(bn, "values"), k), field+".values."+k, "no policy or resource has the placeholder ($%s)", k)
			}
			set[k] = true
		}
		switch b.Operation {
		case "", "CREATE", "UPDATE", "DELETE":
		default:
			return d.Errorf(at(bn, "operation"), field+".operation", "want CREATE, UPDATE or DELETE, got %q", b.Operation)
		}
		if b.CatchError != nil {
			if !policiesHaveImageRegistry(f.Policies) {
				return d.Errorf(at(bn, "catchError"), field+".catchError", "no policy has an imageRegistry context entry to set it on")
			}
		}
		if err := checkLabels(d, at(bn, "labels"), field+".labels", b.Labels); err != nil {
			return err
		}
		if err := checkRequires(d, at(bn, "requires"), field+".requires", b.Requires); err != nil {
			return err
		}
	}
	for name, line := range used {
		if !set[name] {
			return &LoadError{File: d.File, Line: line, Field: "bindings", Msg: fmt.Sprintf("placeholder ($%s) is set by no binding (a binding that leaves it out removes the key; at least one must set it)", name)}
		}
	}
	return nil
}

// configMaps checks the ConfigMaps: kind, no placeholders, one per
// namespace and name.
func (c *fileCheck) configMaps() error {
	f, d, root := c.f, c.d, c.root
	checkVarsIn := c.varsIn
	cmSeen := map[string]string{}
	for i, ds := range f.ConfigMaps {
		for _, doc := range ds.Docs {
			field := fmt.Sprintf("configMaps[%d]", i)
			if doc.Kind != "ConfigMap" {
				return d.Errorf(at(root, "configMaps", i), field, "%s: want kind ConfigMap, got %q", doc.Source, doc.Kind)
			}
			ph := map[string]int{}
			placeholders(doc.Node, ph)
			if names := sortedKeys(ph); len(names) > 0 {
				return &LoadError{File: d.File, Line: ph[names[0]], Field: field, Msg: fmt.Sprintf("placeholder ($%s): bindings do not apply to configMaps", names[0])}
			}
			ns := doc.NS
			if ns == "" {
				// Kyverno looks a configMap entry up in "default" when it
				// names no namespace; so does a ConfigMap without one.
				ns = "default"
			}
			key := ns + "/" + doc.Name
			if prev, dup := cmSeen[key]; dup {
				return d.Errorf(at(root, "configMaps", i), field, "%s: ConfigMap %s is also given at %s", doc.Source, key, prev)
			}
			cmSeen[key] = doc.Source
			if err := checkVarsIn(doc.Node, field); err != nil {
				return err
			}
		}
	}
	return nil
}

// apiCallResponses checks the API answers as kubectl-kyverno test does:
// exactly one of url (an absolute http or https URL) and urlPath (an
// absolute path), method GET, POST or none, one answer per method and URL.
func (c *fileCheck) apiCallResponses() error {
	f, d, root := c.f, c.d, c.root
	seen := map[string]int{}
	for i := range f.APICallResponses {
		r := &f.APICallResponses[i]
		n := at(root, "apiCallResponses", i)
		field := fmt.Sprintf("apiCallResponses[%d]", i)
		if n != nil {
			r.line = n.Line
		}
		switch {
		case (r.URL == "") == (r.URLPath == ""):
			return d.Errorf(n, field, "want exactly one of url (an apiCall's service.url) and urlPath (its urlPath)")
		case r.URL != "":
			u, err := url.Parse(r.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				return d.Errorf(at(n, "url"), field+".url", "want an absolute http or https URL, got %q", r.URL)
			}
		case !strings.HasPrefix(r.URLPath, "/"):
			return d.Errorf(at(n, "urlPath"), field+".urlPath", "want an absolute path such as /api/v1/namespaces, got %q", r.URLPath)
		}
		method := strings.ToUpper(r.Method)
		if method != "" && method != "GET" && method != "POST" {
			return d.Errorf(at(n, "method"), field+".method", "want GET, POST or none (any method), got %q", r.Method)
		}
		var body any
		if err := json.Unmarshal(r.Response.Body, &body); err != nil || body == nil {
			return d.Errorf(orNode(at(n, "response", "body"), orNode(at(n, "response"), n)), field+".response.body",
				"want the response body, a JSON object (kubectl-kyverno test requires one)")
		}
		if _, ok := body.(map[string]any); !ok {
			return d.Errorf(at(n, "response", "body"), field+".response.body", "want a JSON object (kubectl-kyverno test's response body), got %s", r.Response.Body)
		}
		if sc := r.Response.StatusCode; sc != 0 && (sc < 100 || sc > 599) {
			return d.Errorf(at(n, "response", "statusCode"), field+".response.statusCode", "want an HTTP status code (100-599; none means 200), got %d", sc)
		}
		key := method + " " + r.URL + r.URLPath
		if prev, dup := seen[key]; dup {
			return d.Errorf(n, field, "%s %s is already answered by apiCallResponses[%d]", cmp.Or(method, "any method"), r.URL+r.URLPath, prev)
		}
		seen[key] = i
		if err := c.varsIn(n, field); err != nil {
			return err
		}
	}
	return nil
}

// namespaces checks the Namespaces' names and labels.
func (c *fileCheck) namespaces() error {
	f, d, root := c.f, c.d, c.root
	nsSeen := map[string]int{}
	for i, ns := range f.Namespaces {
		nn := at(root, "namespaces", i)
		field := fmt.Sprintf("namespaces[%d]", i)
		if ns.Name == "" {
			return d.Errorf(nn, field+".name", "want the Namespace's name")
		}
		if j, dup := nsSeen[ns.Name]; dup {
			return d.Errorf(at(nn, "name"), field+".name", "Namespace %q is also given as namespaces[%d]", ns.Name, j)
		}
		nsSeen[ns.Name] = i
		if errs := validation.IsDNS1123Label(ns.Name); len(errs) > 0 {
			return d.Errorf(at(nn, "name"), field+".name", "want a Namespace name: %s", strings.Join(errs, "; "))
		}
		for _, k := range sortedKeys(ns.Labels) {
			errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(ns.Labels[k])...)
			if len(errs) > 0 {
				return d.Errorf(keyNode(at(nn, "labels"), k), field+".labels."+k, "want a Kubernetes label: %s", strings.Join(errs, "; "))
			}
		}
	}
	return nil
}

// registry checks the engine's side of the registry and every registry
// model.
func (c *fileCheck) registry() error {
	f, d, root := c.f, c.d, c.root
	rn := at(root, "registry")
	for i, c := range f.Registry.Credentials {
		if c.Username == "" {
			return d.Errorf(at(rn, "credentials", i), fmt.Sprintf("registry.credentials[%d].username", i), "want a username")
		}
	}
	for name, cs := range f.Registry.Secrets {
		for i, c := range cs {
			if c.Username == "" {
				return d.Errorf(at(rn, "secrets", name, i), fmt.Sprintf("registry.secrets.%s[%d].username", name, i), "want a username")
			}
		}
	}
	for i, ref := range f.Registry.ImagePullSecrets {
		ns, name, found := strings.Cut(strings.TrimPrefix(ref, "/"), "/")
		if !found {
			ns, name = "kyverno", ns
		}
		errs := append(validation.IsDNS1123Label(ns), validation.IsDNS1123Subdomain(name)...)
		if len(errs) > 0 {
			return d.Errorf(at(rn, "imagePullSecrets", i), fmt.Sprintf("registry.imagePullSecrets[%d]", i),
				"want a Secret as Kyverno's --imagePullSecrets names one, \"name\" (in Kyverno's namespace) or \"namespace/name\", got %q: %s", ref, strings.Join(errs, "; "))
		}
	}
	if f.Registry.Deadline < 0 {
		return d.Errorf(at(rn, "deadline"), "registry.deadline", "want a positive duration")
	}
	if f.Registry.TrustCA && len(f.Registry.Hosts) > 0 {
		return d.Errorf(at(rn, "trustCA"), "registry.trustCA", "a registry with hosts is always trusted, as a public registry's certificate is; remove trustCA")
	}
	if f.Registry.TrustCA && !f.Registry.TLS {
		return d.Errorf(at(rn, "trustCA"), "registry.trustCA", "only makes sense with tls: true")
	}
	if err := checkRegistryModels(d, root, f); err != nil {
		return err
	}
	return nil
}

// results checks the rows against the policies, resources and bindings.
func (c *fileCheck) results() error {
	if len(c.f.Results) == 0 {
		return c.d.Errorf(c.root, "results", "want at least one expected result")
	}
	specNames := map[string][]int{}
	var errs []error
	for i := range c.f.Results {
		// Rows are independent: each one's mistakes are reported.
		if err := c.row(i, specNames); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.panics()
}

// notRunBy checks that every engine it names has a reason, and notes
// where each name is written (CheckEngines checks the names against the
// engines a suite can open).
func (c *fileCheck) notRunBy() error {
	n := at(c.root, "notRunBy")
	c.f.notRunByAt = map[string]*yaml.Node{}
	for _, name := range sortedKeys(c.f.NotRunBy) {
		c.f.notRunByAt[name] = orNode(keyNode(n, name), n)
		if strings.TrimSpace(c.f.NotRunBy[name]) == "" {
			return c.d.Errorf(orNode(at(n, name), n), "notRunBy."+name, "want the reason the engine does not run the file")
		}
	}
	return nil
}

// panics checks that a binding with a row expecting a panic has no row
// expecting anything else: a panic ends the whole evaluation, so no other
// result of that binding exists.
func (c *fileCheck) panics() error {
	for _, b := range c.f.Bindings {
		panicRow, otherRow := -1, -1
		for i := range c.f.Results {
			r := &c.f.Results[i]
			if !r.AppliesTo(b.Name) {
				continue
			}
			if r.Result == ExpectPanic {
				panicRow = i
			} else if otherRow < 0 {
				otherRow = i
			}
		}
		if panicRow >= 0 && otherRow >= 0 {
			return c.d.Errorf(at(c.root, "results", otherRow), fmt.Sprintf("results[%d]", otherRow),
				"binding %q expects a panic at results[%d], which ends the whole evaluation; move this row to another binding (bindings:) or another file", b.Name, panicRow)
		}
	}
	return nil
}

// admission checks a row's admission check (field is the row's).
func (c *fileCheck) admission(r *Row, rn *yaml.Node, field string) error {
	d, a := c.d, r.Admission
	an := at(rn, "admission")
	if a.Allowed == nil {
		return d.Errorf(an, field+".admission.allowed", "want true or false: whether the API server stores the resource")
	}
	if *a.Allowed && a.Message != nil {
		return d.Errorf(at(an, "message"), field+".admission.message", "an allowed resource has no error message; remove message or set allowed: false")
	}
	if !*a.Allowed && a.Annotations != nil {
		return d.Errorf(at(an, "annotations"), field+".admission.annotations", "a denied resource is not stored and has no annotations; remove annotations or set allowed: true")
	}
	if !*a.Allowed && a.Message == nil {
		return d.Errorf(an, field+".admission.message", "want the API server's error text for a denied resource")
	}
	if r.Result == ExpectNone {
		return d.Errorf(an, field+".admission", "a row with result none cannot check an admission answer; give the rule's result or none")
	}
	if err := c.varsIn(an, field+".admission"); err != nil {
		return err
	}
	return nil
}

// row checks results[i] against the policies, resources and bindings;
// specNames collects the rows of each spec name, since a row with result
// none or an admission answer alone must be the only one for its spec.
func (c *fileCheck) row(i int, specNames map[string][]int) error {
	f, d, root := c.f, c.d, c.root
	checkVarsIn := c.varsIn
	rules := c.f.rules
	resources := c.resources
	names := c.bindingNames
	r := &f.Results[i]
	rn := at(root, "results", i)
	field := fmt.Sprintf("results[%d]", i)
	if rn != nil {
		r.line = rn.Line
	}
	rs, ok := rules[r.Policy]
	if !ok {
		return d.Errorf(at(rn, "policy"), field+".policy", "want one of the file's policies (%s), got %q", strings.Join(sortedKeys(rules), ", "), r.Policy)
	}
	if kind := f.kinds[r.Policy]; kind.Language == policykind.CEL {
		if !slices.Contains(rs, r.Rule) {
			return d.Errorf(at(rn, "rule"), field+".rule", "want a rule name Kyverno reports for a %s (%q: the policy's result; %s), got %q",
				kind.Name, rs[0], strings.Join(rs[1:], ", "), r.Rule)
		}
		if len(r.Context) > 0 {
			return d.Errorf(at(rn, "context"), field+".context", "a %s has no context entries to check (image data is read with image.GetMetadata)", kind.Name)
		}
	} else if _, ok := engine.AutogenRule(r.Rule, rs); !ok {
		return d.Errorf(at(rn, "rule"), field+".rule", "want a rule of policy %s (%s, or autogen-<rule> and autogen-cronjob-<rule> for the rules Kyverno generates for Pod controllers), got %q", r.Policy, strings.Join(rs, ", "), r.Rule)
	}
	if len(r.Resources) == 0 {
		return d.Errorf(rn, field+".resources", "want at least one resource name")
	}
	for j, res := range r.Resources {
		name := res
		if k := strings.LastIndex(res, "/"); k >= 0 {
			name = res[k+1:]
		}
		doc, ok := resources[name]
		if !ok {
			return d.Errorf(at(rn, "resources", j), fmt.Sprintf("%s.resources[%d]", field, j), "want one of the file's resources (%s), got %q", strings.Join(sortedKeys(resources), ", "), res)
		}
		if ns, _, found := strings.Cut(res, "/"); found && ns != doc.NS {
			return d.Errorf(at(rn, "resources", j), fmt.Sprintf("%s.resources[%d]", field, j), "resource %s is in namespace %q, not %q", name, doc.NS, ns)
		}
		if r.Kind != "" && r.Kind != doc.Kind {
			return d.Errorf(at(rn, "kind"), field+".kind", "resource %s is a %s, not a %s", name, doc.Kind, r.Kind)
		}
		r.Resources[j] = name
	}
	for j, b := range r.Bindings {
		if !names[b] {
			return d.Errorf(at(rn, "bindings", j), fmt.Sprintf("%s.bindings[%d]", field, j), "want one of the file's bindings (%s), got %q", strings.Join(sortedKeys(names), ", "), b)
		}
	}
	if r.Result == ExpectAnswerOnly && r.Admission != nil {
		// An admission answer alone: the rule's result is not
		// asserted (e.g. the API server gave up on the webhook).
	} else if !slices.Contains(KnownExpected(), r.Result) {
		var known []string
		for _, e := range KnownExpected() {
			known = append(known, string(e))
		}
		return d.Errorf(at(rn, "result"), field+".result", "want one of %s (or no result with an admission check), got %q", strings.Join(known, ", "), r.Result)
	}
	if r.Admission != nil {
		if err := c.admission(r, rn, field); err != nil {
			return err
		}
	}
	if rc := r.Requests; rc != nil {
		served := f.ServedHosts()
		for _, list := range []struct {
			key  string
			refs []string
		}{{"never", rc.Never}, {"seen", rc.Seen}} {
			for j, ref := range list.refs {
				host, _, ok := RefHost(ref)
				if !ok {
					continue
				}
				if _, err := fakeregistry.RegistryHost(host); err != nil || !slices.Contains(served, mustHost(host)) {
					return d.Errorf(at(rn, "requests", list.key, j), fmt.Sprintf("%s.requests.%s[%d]", field, list.key, j),
						"%q names the registry host %s, which no registry of the file serves (hosts: %s); write repository[:tag] for the first registry", ref, host, strings.Join(served, ", "))
				}
			}
		}
	}
	if r.Result == ExpectNone && (r.Message != nil || len(r.Context) > 0 || r.PatchedResource != nil) {
		return d.Errorf(rn, field, "result none (no result at all) cannot have a message, context or patchedResource")
	}
	if r.Result == ExpectPanic && (len(r.Context) > 0 || r.PatchedResource != nil || r.Admission != nil) {
		return d.Errorf(rn, field, "result panic (the engine crashed; message is the panic value) cannot have context, patchedResource or admission")
	}
	if p := r.PatchedResource; p != nil {
		if t := f.RuleType(r.Policy, r.Rule); !t.Patches() {
			kind := "a " + string(t)
			if t == "" {
				kind = "not a validate, mutate, verifyImages or generate"
			}
			return d.Errorf(at(rn, "patchedResource"), field+".patchedResource", "rule %s of policy %s is %s rule; only mutate and verifyImages rules patch a resource", r.Rule, r.Policy, kind)
		}
		if err := checkVarsIn(p.node, field+".patchedResource"); err != nil {
			return err
		}
	}
	if err := checkRequires(d, at(rn, "requires"), field+".requires", r.Requires); err != nil {
		return err
	}
	if err := checkLabels(d, at(rn, "labels"), field+".labels", r.Labels); err != nil {
		return err
	}
	if err := checkVarsIn(at(rn, "message"), field+".message"); err != nil {
		return err
	}
	if err := checkVarsIn(at(rn, "context"), field+".context"); err != nil {
		return err
	}
	for _, b := range f.Bindings {
		if !r.AppliesTo(b.Name) {
			continue
		}
		for _, res := range r.Resources {
			// A rule may report more than once on a resource (a
			// verifyImages rule: its verification, then its digest and
			// required checks), so a key may have several rows, but
			// "none" excludes any other.
			sn := specName(f, &b, r, res)
			for _, prev := range specNames[sn] {
				if p := &f.Results[prev]; p.Result == ExpectNone || r.Result == ExpectNone || p.Result == ExpectAnswerOnly || r.Result == ExpectAnswerOnly {
					return d.Errorf(rn, field, "spec %s is already expected by results[%d]; a row with result none (no result at all) or without a result (an admission answer alone) excludes any other row for the same policy, rule, resource and binding", sn, prev)
				}
			}
			specNames[sn] = append(specNames[sn], i)
		}
	}
	return nil
}

// nodeAtPath finds "images[0].fault.delay" under n, or the deepest node
// on the way, for error lines.
func nodeAtPath(n *yaml.Node, path string) *yaml.Node {
	deepest, _, _ := yamlpath.Find(n, path)
	return deepest
}

// AppliesTo reports whether the row holds for the binding.
func (r *Row) AppliesTo(binding string) bool {
	return len(r.Bindings) == 0 || slices.Contains(r.Bindings, binding)
}

// Line is where the row starts in its file.
func (r *Row) Line() int { return r.line }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RenderConfigMaps returns the file's ConfigMaps with vars expanded.
func (f *File) RenderConfigMaps(vars Vars) ([]engine.Document, error) {
	var out []engine.Document
	for _, ds := range f.ConfigMaps {
		for _, doc := range ds.Docs {
			data, err := doc.render(nil, vars)
			if err != nil {
				return nil, err
			}
			out = append(out, engine.Document{File: doc.Source, Data: data})
		}
	}
	return out, nil
}

// RenderAPICallResponses returns the file's API answers with vars
// expanded in their URLs and bodies.
func (f *File) RenderAPICallResponses(vars Vars) ([]engine.APICallResponse, error) {
	var out []engine.APICallResponse
	for i, r := range f.APICallResponses {
		a := engine.APICallResponse{URL: vars.Expand(r.URL), URLPath: vars.Expand(r.URLPath), Method: strings.ToUpper(r.Method),
			StatusCode: r.Response.StatusCode}
		if len(r.Response.Body) > 0 {
			var body any
			if err := json.Unmarshal(r.Response.Body, &body); err != nil {
				return nil, fmt.Errorf("%s:%d: apiCallResponses[%d].response.body: %w", f.Path, r.line, i, err)
			}
			data, err := json.Marshal(expandAny(body, vars))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: apiCallResponses[%d].response.body: %w", f.Path, r.line, i, err)
			}
			a.Body = data
		}
		out = append(out, a)
	}
	return out, nil
}

// Render returns the policies and resources for one binding with vars
// expanded, as the engine receives them.
func (f *File) Render(b *Binding, vars Vars) (policies, resources []engine.Document, err error) {
	for _, ds := range f.Policies {
		for _, doc := range ds.Docs {
			out, err := doc.render(b, vars)
			if err != nil {
				return nil, nil, err
			}
			policies = append(policies, engine.Document{File: doc.Source, Data: out})
		}
	}
	for _, ds := range f.Resources {
		for _, doc := range ds.Docs {
			out, err := doc.render(b, vars)
			if err != nil {
				return nil, nil, err
			}
			resources = append(resources, engine.Document{File: doc.Source, Data: out})
		}
	}
	return policies, resources, nil
}

// UsesCatchError reports whether the binding's policies carry a catchError
// key (set by the binding or written in the policy), which engines without
// the feature cannot run faithfully.
func (f *File) UsesCatchError(b *Binding) bool { return f.CatchMode(b) != CatchAbsent }

// How a binding's policies set catchError; the value of the spec label "catch".
const (
	CatchAbsent = "absent" // no catchError key anywhere
	CatchOff    = "off"    // catchError keys, none of them true
	CatchOn     = "on"     // at least one catchError: true
)

// CatchMode says how the binding's policies set catchError: the binding's
// own value when it sets one, else what the policies have written.
func (f *File) CatchMode(b *Binding) string {
	switch {
	case b.CatchError != nil && *b.CatchError:
		return CatchOn
	case b.CatchError != nil:
		return CatchOff
	}
	mode := CatchAbsent
	for _, ds := range f.Policies {
		for _, doc := range ds.Docs {
			n := bind(deepCopy(doc.Node), b.Values)
			if hasKey(n, "catchError", isTrue) {
				return CatchOn
			}
			if hasKey(n, "catchError", nil) {
				mode = CatchOff
			}
		}
	}
	return mode
}

func isTrue(v *yaml.Node) bool {
	var on bool
	return v.Kind == yaml.ScalarNode && v.Decode(&on) == nil && on
}

// Deadline is the evaluation's client deadline.
func (f *File) Deadline() time.Duration {
	if f.Registry.Deadline == 0 {
		return DefaultDeadline
	}
	return time.Duration(f.Registry.Deadline)
}

// checkRegistryModels validates every fake registry of the file at its
// lines: the model itself, registries[].name, and what must be unique
// across registries (a host, a signing key, since ${PUBLIC_KEY_<key>} is
// one variable).
func checkRegistryModels(d *decoder, root *yaml.Node, f *File) error {
	names := map[string]int{}
	hosts := map[string]string{}
	keys := map[string]string{}
	for i, m := range f.RegistryModels() {
		var n *yaml.Node
		if i == 0 {
			n = at(root, "registry")
		} else {
			n = at(root, "registries", i-1)
			if !registryName.MatchString(m.Name) {
				return d.Errorf(orNode(at(n, "name"), n), m.Field+".name", "want a registry name of letters, digits and '_' starting with a letter (it makes ${REGISTRY_<name>}), got %q", m.Name)
			}
			if j, dup := names[m.Name]; dup {
				return d.Errorf(at(n, "name"), m.Field+".name", "duplicate of registries[%d].name %q", j, m.Name)
			}
			names[m.Name] = i - 1
		}
		// The registry model is served as written: a ${VAR} in an
		// attestation's predicate would be served literally (the address
		// is known only once the registry runs).
		for j, img := range m.Config.Images {
			for k := range img.Attestations {
				pn := at(n, "images", j, "attestations", k, "predicate")
				used := map[string]*yaml.Node{}
				usedVars(pn, used)
				if names := sortedKeys(used); len(names) > 0 {
					return d.Errorf(used[names[0]], fmt.Sprintf("%s.images[%d].attestations[%d].predicate", m.Field, j, k),
						"${%s}: variables are not expanded in the registry model; write the value", names[0])
				}
			}
		}
		if err := m.Config.Validate(); err != nil {
			// Report the fake registry's first complaint at its line.
			var fe *fakeregistry.FieldError
			if errors.As(err, &fe) {
				return d.Errorf(nodeAtPath(n, fe.Field), m.Field+"."+fe.Field, "%s", fe.Msg)
			}
			return d.Errorf(n, m.Field, "%v", err)
		}
		for j, h := range m.Config.Hosts {
			norm, _ := fakeregistry.RegistryHost(h) // Validate checked it
			if other, dup := hosts[norm]; dup {
				return d.Errorf(at(n, "hosts", j), fmt.Sprintf("%s.hosts[%d]", m.Field, j), "%s is served by %s already; a host has one registry", norm, other)
			}
			hosts[norm] = m.Field
		}
		for j, k := range m.Config.SigningKeys {
			if other, dup := keys[k]; dup {
				return d.Errorf(at(n, "signingKeys", j), fmt.Sprintf("%s.signingKeys[%d]", m.Field, j), "%s is a signing key of %s already; ${PUBLIC_KEY_%s} names one key, choose another name", k, other, k)
			}
			keys[k] = m.Field
		}
	}
	for i, m := range f.RegistryModels() {
		if m.Config.StorageHost == "" {
			continue
		}
		storage := mustHost(m.Config.StorageHost)
		if other, ok := hosts[storage]; ok && other != m.Field {
			n := at(root, "registry")
			if i > 0 {
				n = at(root, "registries", i-1)
			}
			return d.Errorf(at(n, "storageHost"), m.Field+".storageHost", "%s is a host of %s, which would answer the redirected blobs with 404; list it in this registry's hosts to serve them, or choose a host no registry serves to have it refused", storage, other)
		}
	}
	return nil
}

// RefHost splits a requests-check ref into its registry host and the rest
// when its first path component is a host (it has a '.' or ':', Docker's
// rule), e.g. "ghcr.io/team/app:v1"; ok is false for "team/app:v1".
func RefHost(ref string) (host, rest string, ok bool) {
	first, rest, found := strings.Cut(ref, "/")
	if !found || !strings.ContainsAny(first, ".:") {
		return "", ref, false
	}
	return first, rest, true
}

// ServedHosts are the public host names the file's registries serve, as
// clients name them ("index.docker.io" for "docker.io"); none for a file
// whose registries are reached by address only.
func (f *File) ServedHosts() []string {
	var out []string
	for _, m := range f.RegistryModels() {
		out = append(out, m.Config.RegistryHosts()...)
	}
	return out
}

// mustHost is RegistryHost for a host already checked.
func mustHost(h string) string {
	n, _ := fakeregistry.RegistryHost(h)
	return n
}

// registryName keeps registries[].name usable in a variable name.
var registryName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// RegistryConfig is the fake registry's model for this file.
func (f *File) RegistryConfig() fakeregistry.Config { return f.Registry.Config }

// policiesHaveImageRegistry reports whether any policy document has an
// imageRegistry context entry (a binding's catchError needs one).
func policiesHaveImageRegistry(policies []Documents) bool {
	for _, ds := range policies {
		for _, doc := range ds.Docs {
			if hasImageRegistry(doc.Node) {
				return true
			}
		}
	}
	return false
}

// ChecksAdmission reports whether a row checks the API server's answer:
// such a file is about admission and runs there with its policies as
// written.
func (f *File) ChecksAdmission() bool {
	return slices.ContainsFunc(f.Results, func(r Row) bool { return r.Admission != nil })
}
