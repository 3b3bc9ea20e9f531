package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
)

// valid is a small correct scenario; the error cases below each break one
// thing in it.
const valid = `apiVersion: conformance.imagectx.io/v1alpha1
kind: Test
metadata:
  name: t
  labels: {fault: missing}
vars:
  IMAGE: "${REGISTRY}/team/app:gone"
bindings:
- name: catch-absent
- name: catch-true
  catchError: true
policies:
- apiVersion: kyverno.io/v1
  kind: ClusterPolicy
  metadata: {name: p}
  spec:
    rules:
    - name: r
      context:
      - name: imageData
        imageRegistry:
          reference: "{{ request.object.spec.containers[0].image }}"
resources:
- apiVersion: v1
  kind: Pod
  metadata: {name: app, namespace: default}
  spec:
    containers:
    - {name: app, image: "${IMAGE}"}
registry:
  images:
  - ref: team/app:v1
  deadline: 2s
results:
- policy: p
  rule: r
  resources: [default/app]
  result: error
  message: {contains: MANIFEST_UNKNOWN}
  labels: {site: deny}
`

func TestParseValid(t *testing.T) {
	f, err := Parse("t.yaml", "t", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	specs := Specs([]*File{f})
	if len(specs) != 2 {
		t.Fatalf("got %d specs, want 2", len(specs))
	}
	if specs[0].Name != "t/catch-absent/p/r/app" || specs[1].Name != "t/catch-true/p/r/app" {
		t.Errorf("names %q, %q", specs[0].Name, specs[1].Name)
	}
	if got := strings.Join(specs[1].Labels, ","); got != "catch:on,decision:2,fault:missing,lang:jmespath,policy:ClusterPolicy,site:deny" {
		t.Errorf("labels %s", got)
	}
	if got := strings.Join(specs[0].Labels, ","); got != "catch:absent,decision:1,fault:missing,lang:jmespath,policy:ClusterPolicy,site:deny" {
		t.Errorf("labels %s", got)
	}
	if len(specs[0].Requires) != 0 || fmt.Sprint(specs[1].Requires) != "[catchError]" {
		t.Errorf("requires %v / %v", specs[0].Requires, specs[1].Requires)
	}
	if f.Deadline().String() != "2s" {
		t.Errorf("deadline %s", f.Deadline())
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string // substrings of the error
	}{
		{"unknown top-level field", "kind: Test\n", "kind: Test\nfoo: 1\n",
			[]string{"t.yaml:3:1: foo: unknown field \"foo\"; want one of: apiCallResponses, apiVersion, bindings"}},
		{"wrong kind", "kind: Test\n", "kind: Suite\n", []string{"t.yaml:2:7: kind: want \"Test\", got \"Suite\""}},
		{"wrong type", "  catchError: true\n", "  catchError: yes-please\n",
			[]string{"t.yaml:11:15: bindings[1].catchError: want true or false, got \"yes-please\""}},
		{"unknown result field", "  result: error\n", "  result: error\n  reslt: pass\n",
			[]string{"results[0].reslt: unknown field \"reslt\"; want one of:"}},
		{"bad result value", "  result: error\n", "  result: failed\n",
			[]string{"t.yaml:38:11: results[0].result: want one of pass, fail, warn, skip, error, none, panic (or no result with an admission check), got \"failed\""}},
		{"unknown policy", "- policy: p\n", "- policy: q\n",
			[]string{"results[0].policy: want one of the file's policies (p), got \"q\""}},
		{"unknown rule", "  rule: r\n", "  rule: x\n", []string{"results[0].rule: want a rule of policy p (r, or autogen-<rule> and autogen-cronjob-<rule> for the rules Kyverno generates for Pod controllers), got \"x\""}},
		{"unknown resource", "  resources: [default/app]\n", "  resources: [default/nope]\n",
			[]string{"results[0].resources[0]: want one of the file's resources (app), got \"default/nope\""}},
		{"wrong namespace", "  resources: [default/app]\n", "  resources: [other/app]\n",
			[]string{"resource app is in namespace \"default\", not \"other\""}},
		{"unknown binding in row", "  labels: {site: deny}\n", "  labels: {site: deny}\n  bindings: [nope]\n",
			[]string{"results[0].bindings[0]: want one of the file's bindings (catch-absent, catch-true), got \"nope\""}},
		{"bad matcher", "message: {contains: MANIFEST_UNKNOWN}", "message: {startsWith: x}",
			[]string{"results[0].message.startsWith: unknown matcher; want one of exact, contains, regex"}},
		{"bad regex", "message: {contains: MANIFEST_UNKNOWN}", "message: {regex: '(['}",
			[]string{"results[0].message.regex: want a Go regular expression"}},
		{"unknown variable", "image: \"${IMAGE}\"", "image: \"${IMAGES}\"",
			[]string{"t.yaml:29:26: resources[0]: unknown variable ${IMAGES}; want one of IMAGE, REFUSED, REGISTRY"}},
		{"not a variable name", "image: \"${IMAGE}\"", "image: \"${DIGEST:team/app:v1}\"",
			[]string{"t.yaml:29:26: resources[0]: unknown variable ${DIGEST:team/app:v1}; want one of IMAGE, REFUSED, REGISTRY"}},
		{"shadowed built-in", "  IMAGE: ", "  REGISTRY: x\n  IMAGE: ", []string{"vars.REGISTRY: REGISTRY is built in"}},
		{"bad duration", "deadline: 2s", "deadline: soon", []string{"registry.deadline: want a duration such as \"2s\""}},
		{"registry model refused", "  - ref: team/app:v1\n", "  - ref: Team/App:v1\n", []string{"t.yaml:32:10: registry.images[0].ref: want a repository name"}},
		{"unknown registry field", "  deadline: 2s\n", "  deadline: 2s\n  trusted: true\n",
			[]string{"registry.trusted: unknown field \"trusted\"; want one of: challenge, credentials, deadline, hosts, imagePullSecrets, imageVerifyCacheEnabled, images, ping, repositories, secrets, signingKeys, storageHost, tls, trustCA"}},
		{"registry name", "  deadline: 2s\n", "  deadline: 2s\nregistries:\n- name: 2nd\n", []string{"t.yaml:35:9: registries[0].name: want a registry name of letters, digits and '_' starting with a letter (it makes ${REGISTRY_<name>}), got \"2nd\""}},
		{"registry name twice", "  deadline: 2s\n", "  deadline: 2s\nregistries:\n- name: ghcr\n- name: ghcr\n", []string{"t.yaml:36:9: registries[1].name: duplicate of registries[0].name \"ghcr\""}},
		{"host served twice", "  deadline: 2s\n", "  deadline: 2s\n  hosts: [ghcr.io]\nregistries:\n- name: ghcr\n  hosts: [ghcr.io]\n",
			[]string{"t.yaml:37:11: registries[0].hosts[0]: ghcr.io is served by registry already; a host has one registry"}},
		{"registry model of registries[]", "  deadline: 2s\n", "  deadline: 2s\nregistries:\n- name: hub\n  hosts: [localhost]\n",
			[]string{"t.yaml:36:11: registries[0].hosts[0]: want a registry host name such as ghcr.io or registry.example:5000, got \"localhost\", which clients reach over plain HTTP and never through a proxy"}},
		{"registry variable shadowed", "  IMAGE: ", "  REGISTRY_ghcr: x\n  IMAGE: ", []string{"vars.REGISTRY_ghcr: REGISTRY_ghcr is built in"}},
		{"unknown registry variable", "image: \"${IMAGE}\"", "image: \"${REGISTRY_ghcr}/a:b\"",
			[]string{"unknown variable ${REGISTRY_ghcr}; want one of IMAGE, REFUSED, REGISTRY"}},
		{"trustCA with hosts", "  deadline: 2s\n", "  deadline: 2s\n  hosts: [ghcr.io]\n  trustCA: true\n",
			[]string{"registry.trustCA: a registry with hosts is always trusted, as a public registry's certificate is; remove trustCA"}},
		{"storage host of another registry", "  deadline: 2s\n", "  deadline: 2s\n  hosts: [ghcr.io]\nregistries:\n- name: hub\n  hosts: [docker.io]\n  storageHost: ghcr.io\n",
			[]string{"registries[0].storageHost: ghcr.io is a host of registry, which would answer the redirected blobs with 404"}},
		{"requests check naming an unserved host", "  result: error\n", "  result: error\n  requests: {seen: [quay.io/team/app]}\n",
			[]string{`results[0].requests.seen[0]: "quay.io/team/app" names the registry host quay.io, which no registry of the file serves (hosts: ); write repository[:tag] for the first registry`}},
		{"trustCA without tls", "  deadline: 2s\n", "  deadline: 2s\n  trustCA: true\n", []string{"registry.trustCA: only makes sense with tls: true"}},
		{"unknown capability", "  result: error\n", "  result: error\n  requires: [teleport]\n",
			[]string{"results[0].requires[0]: unknown capability \"teleport\"; want one of catchError, context, admission, clientDeadline, secrets, verifyImagesPatch, patchedResource, configMaps, celImageData, enginePanic, apiCallResponses, imagePullSecrets, imageVerifyCache"}},
		{"apiCall answer without url", "registry:\n", "apiCallResponses:\n- {method: GET, response: {body: {}}}\nregistry:\n",
			[]string{"t.yaml:31:3: apiCallResponses[0]: want exactly one of url (an apiCall's service.url) and urlPath (its urlPath)"}},
		{"apiCall answer with a relative url", "registry:\n", "apiCallResponses:\n- {url: allowlist/v1, response: {body: {}}}\nregistry:\n",
			[]string{"t.yaml:31:9: apiCallResponses[0].url: want an absolute http or https URL, got \"allowlist/v1\""}},
		{"apiCall answer method", "registry:\n", "apiCallResponses:\n- {urlPath: /api/v1/pods, method: PUT, response: {body: {}}}\nregistry:\n",
			[]string{"apiCallResponses[0].method: want GET, POST or none (any method), got \"PUT\""}},
		{"apiCall answer without body", "registry:\n", "apiCallResponses:\n- {urlPath: /api/v1/pods, response: {statusCode: 200}}\nregistry:\n",
			[]string{"apiCallResponses[0].response.body: want the response body, a JSON object (kubectl-kyverno test requires one)"}},
		{"apiCall answer body not an object", "registry:\n", "apiCallResponses:\n- {urlPath: /api/v1/pods, response: {body: [1]}}\nregistry:\n",
			[]string{"apiCallResponses[0].response.body: want a JSON object (kubectl-kyverno test's response body), got [1]"}},
		{"apiCall answer twice", "registry:\n", "apiCallResponses:\n- {urlPath: /api/v1/pods, method: get, response: {body: {}}}\n- {urlPath: /api/v1/pods, method: GET, response: {body: {a: 1}}}\nregistry:\n",
			[]string{"t.yaml:32:3: apiCallResponses[1]: GET /api/v1/pods is already answered by apiCallResponses[0]"}},
		{"imagePullSecrets flag value", "  deadline: 2s\n", "  deadline: 2s\n  imagePullSecrets: [team/a/b]\n",
			[]string{"registry.imagePullSecrets[0]: want a Secret as Kyverno's --imagePullSecrets names one, \"name\" (in Kyverno's namespace) or \"namespace/name\", got \"team/a/b\""}},
		{"panic with context", "  result: error\n  message: {contains: MANIFEST_UNKNOWN}\n", "  result: panic\n  context: {imageData.failed: true}\n",
			[]string{"t.yaml:35:3: results[0]: result panic (the engine crashed; message is the panic value) cannot have context, patchedResource or admission"}},
		{"panic beside another result", "  labels: {site: deny}\n", "  labels: {site: deny}\n  bindings: [catch-absent]\n- policy: p\n  rule: r\n  resources: [app]\n  result: panic\n",
			[]string{"t.yaml:35:3: results[0]: binding \"catch-absent\" expects a panic at results[1], which ends the whole evaluation; move this row to another binding (bindings:) or another file"}},
		{"bad label", "labels: {site: deny}", "labels: {site: \"a b\"}", []string{"results[0].labels.site: want a label key and value"}},
		{"unknown site", "labels: {site: deny}", "labels: {site: dney}", []string{`results[0].labels.site: unknown site "dney"; want one of cel-audit-annotation, `}},
		{"reserved label", "labels: {site: deny}", "labels: {site: deny, decision: \"2\"}", []string{`results[0].labels.decision: the label "decision" is the loader's own`}},
		{"duplicate binding", "- name: catch-true\n", "- name: catch-absent\n", []string{"bindings[1].name: binding \"catch-absent\" is given twice"}},
		{"placeholder without binding", "      - name: imageData\n", "      - name: ($entry)\n",
			[]string{"placeholder ($entry) is set by no binding"}},
		{"binding value without placeholder", "  catchError: true\n", "  catchError: true\n  values: {mode: Audit}\n",
			[]string{"bindings[1].values.mode: no policy or resource has the placeholder ($mode)"}},
		{"policy kind", "  kind: ClusterPolicy\n", "  kind: ValidatingPolicy\n", []string{"policies[0]: t.yaml:13: want one of the policy kinds kyverno.io ClusterPolicy, kyverno.io Policy, policies.kyverno.io ValidatingPolicy", `got apiVersion "kyverno.io/v1" kind "ValidatingPolicy"`}},
		{"none beside another row", "  labels: {site: deny}\n", "  labels: {site: deny}\n- policy: p\n  rule: r\n  resources: [app]\n  result: none\n",
			[]string{"results[1]: spec t/catch-absent/p/r/app is already expected by results[0]; a row with result none"}},
		{"none with message", "  result: error\n", "  result: none\n", []string{"result none (no result at all) cannot have a message, context or patchedResource"}},
		{"context check", "  labels: {site: deny}\n", "  labels: {site: deny}\n  context:\n    imageData.failed: {absent: false}\n",
			[]string{"results[0].context.imageData.failed.absent: want true"}},
		{"catchError without imageRegistry", "        imageRegistry:\n          reference: \"{{ request.object.spec.containers[0].image }}\"\n", "        variable: {value: x}\n",
			[]string{"t.yaml:11:15: bindings[1].catchError: no policy has an imageRegistry context entry to set it on"}},
		{"password not a string, not echoed", "  deadline: 2s\n", "  deadline: 2s\n  credentials: [{username: u, password: 8675309}]\n",
			[]string{"registry.credentials[0].password: want a string, got a number"}},
		{"not yaml", "kind: Test\n", "kind: [Test\n", []string{"t.yaml: not valid YAML"}},
		{"configMap kind", "registry:\n", "configMaps:\n- {apiVersion: v1, kind: Secret, metadata: {name: s, namespace: kyverno}}\nregistry:\n",
			[]string{"t.yaml:31:3: configMaps[0]: t.yaml:31: want kind ConfigMap, got \"Secret\""}},
		{"configMap placeholder", "registry:\n", "configMaps:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {k: ($mode)}}\nregistry:\n",
			[]string{"t.yaml:31: configMaps[0]: placeholder ($mode): bindings do not apply to configMaps"}},
		{"configMap twice", "registry:\n", "configMaps:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}}\nregistry:\n",
			[]string{"configMaps[1]: t.yaml:32: ConfigMap default/c is also given at t.yaml:31"}},
		{"variable in a predicate", "  images:\n  - ref: team/app:v1\n", "  signingKeys: [k]\n  images:\n  - ref: team/app:v1\n    attestations: [{key: k, predicateType: x, predicate: {image: \"${IMAGE}\"}}]\n",
			[]string{"registry.images[0].attestations[0].predicate: ${IMAGE}: variables are not expanded in the registry model"}},
		{"bad operation", "  catchError: true\n", "  catchError: true\n  operation: PATCH\n",
			[]string{"bindings[1].operation: want CREATE, UPDATE or DELETE, got \"PATCH\""}},
		{"namespace named twice", "registry:\n", "namespaces:\n- {name: team, labels: {a: b}}\n- {name: team}\nregistry:\n",
			[]string{"t.yaml:32:10: namespaces[1].name: Namespace \"team\" is also given as namespaces[0]"}},
		{"admission without allowed", "  message: {contains: MANIFEST_UNKNOWN}\n", "  message: {contains: MANIFEST_UNKNOWN}\n  admission: {warnings: [w]}\n",
			[]string{"results[0].admission.allowed: want true or false"}},
		{"admission denied without message", "  message: {contains: MANIFEST_UNKNOWN}\n", "  message: {contains: MANIFEST_UNKNOWN}\n  admission: {allowed: false}\n",
			[]string{"results[0].admission.message: want the API server's error text for a denied resource"}},
		{"admission allowed with message", "  message: {contains: MANIFEST_UNKNOWN}\n", "  message: {contains: MANIFEST_UNKNOWN}\n  admission: {allowed: true, message: denied}\n",
			[]string{"results[0].admission.message: an allowed resource has no error message"}},
		{"admission unknown variable", "  message: {contains: MANIFEST_UNKNOWN}\n", "  message: {contains: MANIFEST_UNKNOWN}\n  admission: {allowed: true, warnings: [\"${NOPE}\"]}\n",
			[]string{"results[0].admission", "NOPE"}},
		{"admission field misspelt", "  message: {contains: MANIFEST_UNKNOWN}\n", "  message: {contains: MANIFEST_UNKNOWN}\n  admission: {allowed: true, warning: [w]}\n",
			[]string{"unknown field \"warning\""}},
		{"no result without admission", "  result: error\n", "",
			[]string{"results[0].result: want one of pass, fail, warn, skip, error, none, panic (or no result with an admission check), got \"\""}},
		{"namespace label", "registry:\n", "namespaces:\n- {name: team, labels: {imagectx.io/verify: \"a b\"}}\nregistry:\n",
			[]string{"namespaces[0].labels.imagectx.io/verify: want a Kubernetes label"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(valid, tc.old) {
				t.Fatalf("test bug: %q not in the valid scenario", tc.old)
			}
			src := strings.Replace(valid, tc.old, tc.new, 1)
			_, err := Parse("t.yaml", "t", []byte(src))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "8675309") {
				t.Errorf("error quotes the password: %q", err)
			}
		})
	}
}

func TestRenderBindings(t *testing.T) {
	src := strings.Replace(valid, "bindings:\n- name: catch-absent\n- name: catch-true\n  catchError: true\n",
		"bindings:\n- name: catch-absent\n- name: audit\n  values: {action: Audit}\n", 1)
	src = strings.Replace(src, "    - name: r\n", "    - name: r\n      validate:\n        failureAction: ($action)\n", 1)
	f, err := Parse("t.yaml", "t", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	vars := Vars{VarRegistry: "127.0.0.1:5000", VarRefused: "127.0.0.1:1", "IMAGE": "${REGISTRY}/team/app:gone"}
	pol, res, err := f.Render(&f.Bindings[0], vars)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(pol[0].Data), "failureAction") {
		t.Errorf("absent binding kept the key:\n%s", pol[0].Data)
	}
	if !strings.Contains(string(res[0].Data), `image: "127.0.0.1:5000/team/app:gone"`) {
		t.Errorf("vars not expanded:\n%s", res[0].Data)
	}
	pol, _, err = f.Render(&f.Bindings[1], vars)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pol[0].Data), "failureAction: Audit") {
		t.Errorf("placeholder not set:\n%s", pol[0].Data)
	}

	// catchError is written into every imageRegistry entry, also in foreach.
	g, err := Parse("t.yaml", "t", []byte(strings.Replace(valid, "    - name: r\n",
		"    - name: r\n      validate:\n        foreach:\n        - context:\n          - name: x\n            imageRegistry: {reference: a}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	pol, _, err = g.Render(&g.Bindings[1], vars)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(pol[0].Data), "catchError: true"); n != 2 {
		t.Errorf("catchError set %d times, want 2:\n%s", n, pol[0].Data)
	}
	if !g.UsesCatchError(&g.Bindings[1]) || g.UsesCatchError(&g.Bindings[0]) {
		t.Error("UsesCatchError wrong")
	}
}

func TestLoadDirsFiles(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "a", DataDir), 0o755))
	pol := "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: p}\nspec:\n  rules:\n  - name: r\n"
	must(os.WriteFile(filepath.Join(dir, "a", DataDir, "p.yaml"), []byte(pol), 0o644))
	src := strings.Replace(valid, "policies:\n- apiVersion: kyverno.io/v1\n  kind: ClusterPolicy\n  metadata: {name: p}\n  spec:\n    rules:\n    - name: r\n      context:\n      - name: imageData\n        imageRegistry:\n          reference: \"{{ request.object.spec.containers[0].image }}\"\n",
		"policies:\n- files/p.yaml\n", 1)
	src = strings.Replace(src, "- name: catch-true\n  catchError: true\n", "", 1)
	must(os.WriteFile(filepath.Join(dir, "a", "case.yaml"), []byte(src), 0o644))
	files, err := LoadDirs(dir)
	must(err)
	if len(files) != 1 || files[0].Name != "a/case" {
		t.Fatalf("loaded %d files (%v), want a/case only (files/ is data)", len(files), files)
	}
	if files[0].Policies[0].Docs[0].Name != "p" {
		t.Errorf("policy from file not loaded")
	}

	// A bad file in a second folder is reported with its path.
	other := t.TempDir()
	must(os.WriteFile(filepath.Join(other, "bad.yaml"), []byte("kind: Test\n"), 0o644))
	_, err = LoadDirs(dir, other)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(other, "bad.yaml")+":1:1: apiVersion: want") {
		t.Errorf("error %v", err)
	}
}

// A file whose policies carry catchError as written (no binding sets it) is
// labelled by what they say: catch:on when any entry is true, else catch:off.
func TestCatchLabelOfWrittenCatchError(t *testing.T) {
	for _, tc := range []struct{ written, label string }{
		{"true", "catch:on"},
		{"false", "catch:off"},
	} {
		src := strings.Replace(valid, "- name: catch-true\n  catchError: true\n", "", 1)
		src = strings.Replace(src, `          reference: "{{ request.object.spec.containers[0].image }}"`,
			`          reference: "{{ request.object.spec.containers[0].image }}"`+"\n          catchError: "+tc.written, 1)
		f, err := Parse("t.yaml", "t", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		specs := Specs([]*File{f})
		if len(specs) != 1 {
			t.Fatalf("written %s: %d specs, want 1", tc.written, len(specs))
		}
		if !slices.Contains(specs[0].Labels, tc.label) || !slices.Contains(specs[0].Requires, engine.CapCatchError) {
			t.Errorf("written %s: labels %v, requires %v; want %s and %s", tc.written, specs[0].Labels, specs[0].Requires, tc.label, engine.CapCatchError)
		}
	}
}

func TestExactMismatchPointsAtTheDifference(t *testing.T) {
	want := strings.Repeat("a", 100) + "MANIFEST_UNKNOWN" + strings.Repeat("z", 100)
	got := strings.Repeat("a", 100) + "NAME_UNKNOWN" + strings.Repeat("z", 100)
	m := Matcher{Exact: &want}
	ok, desc, err := m.Match(got, Vars{})
	if err != nil || ok {
		t.Fatalf("Match = %v, %v", ok, err)
	}
	if !strings.Contains(desc, `first difference at byte 100: want …"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaMANIFEST_UNKNOWNzzzzzzzzzzzzzzzzzzzzzzzz"…, got …"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaNAME_UNKNOWNzzzzzzzzzzzzzzzzzzzzzzzzzzzz"…`) {
		t.Errorf("desc = %s", desc)
	}
}

// A file with several mistakes gets all of them in one error, in file
// order; a step that reads a failed one's findings is left out rather
// than reporting the same mistake again.
func TestParseReportsEveryMistake(t *testing.T) {
	src := strings.NewReplacer(
		"image: \"${IMAGE}\"", "image: \"${IMAGES}\"",
		"  deadline: 2s\n", "  deadline: 2s\n  credentials: [{password: x}]\n",
	).Replace(valid)
	_, err := Parse("t.yaml", "t", []byte(src))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"t.yaml:29:26: resources[0]: unknown variable ${IMAGES}",
		"registry.credentials[0].username: want a username",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "results[0]") {
		t.Errorf("the rows are checked although the documents they name failed:\n%s", msg)
	}

	// Decoding: two unknown fields and a wrong type, all reported.
	decode := strings.NewReplacer(
		"kind: Test\n", "kind: Test\nfoo: 1\n",
		"  catchError: true\n", "  catchError: yes-please\n",
		"  result: error\n", "  result: error\n  reslt: pass\n",
	).Replace(valid)
	_, err = Parse("t.yaml", "t", []byte(decode))
	for _, want := range []string{`t.yaml:3:1: foo: unknown field "foo"`, `bindings[1].catchError: want true or false, got "yes-please"`, `results[0].reslt: unknown field "reslt"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decoding: error lacks %q:\n%v", want, err)
		}
	}

	// Two rows with mistakes: both reported.
	rows := strings.Replace(valid, "results:\n- policy: p\n", "results:\n- policy: q\n  rule: r\n  resources: [default/app]\n  result: error\n- policy: z\n", 1)
	_, err = Parse("t.yaml", "t", []byte(rows))
	if err == nil || !strings.Contains(err.Error(), `results[0].policy: want one of the file's policies (p), got "q"`) ||
		!strings.Contains(err.Error(), `results[1].policy: want one of the file's policies (p), got "z"`) {
		t.Errorf("two bad rows: %v", err)
	}
}

// notRunBy gives each engine a reason; CheckEngines refuses a name the
// suite cannot open, at its line.
func TestParseNotRunBy(t *testing.T) {
	typo, err := Parse("t.yaml", "t", []byte(strings.Replace(valid, "kind: Test\n", "kind: Test\nnotRunBy:\n  admision: slow\n  kyverno: no CEL\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	known := []string{"admission", "inprocess", "kyverno"}
	err = CheckEngines([]*File{typo}, known)
	if want := `t.yaml:4:3: notRunBy.admision: unknown engine "admision"; want one of admission, inprocess, kyverno`; err == nil || err.Error() != want {
		t.Errorf("CheckEngines: %v, want %q", err, want)
	}
	for _, tc := range []struct{ block, want string }{
		{"notRunBy:\n  admission: \"\"\n", "t.yaml:4:14: notRunBy.admission: want the reason the engine does not run the file"},
	} {
		_, err := Parse("t.yaml", "t", []byte(strings.Replace(valid, "kind: Test\n", "kind: Test\n"+tc.block, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.block, err, tc.want)
		}
	}
	f, err := Parse("t.yaml", "t", []byte(strings.Replace(valid, "kind: Test\n", "kind: Test\nnotRunBy: {background-scan: the Pods exist first}\n", 1)))
	if err != nil || f.NotRunBy["background-scan"] != "the Pods exist first" {
		t.Errorf("valid notRunBy: %v, %v", err, f.NotRunBy)
	}
}
