package reference

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/kyvernocli"
	"github.com/imagectx/conformance/fakeregistry"
)

// TestAgainstKyvernoCLI runs the cases of this package that do not need
// catchError through a real Kyverno v1.19.1 CLI and the reference engine,
// and requires identical statuses and messages. It needs the CLI
// (KYVERNO_CLI or `make kyverno-cli`) and is opt-in: KYVERNO_DIFF=1.
func TestAgainstKyvernoCLI(t *testing.T) {
	if os.Getenv("KYVERNO_DIFF") != "1" {
		t.Skip("set KYVERNO_DIFF=1 (and build the CLI with make kyverno-cli) to compare with Kyverno")
	}
	cli, err := kyvernocli.New()
	if err != nil {
		t.Skipf("no Kyverno CLI: %v", err)
	}
	cfg := faultRegistry()
	cfg.Images = append(cfg.Images, fakeregistry.Image{Ref: "bad/json:v1", Malformed: "json"})
	reg := startRegistry(t, cfg)
	R := reg.Addr()
	noAutogen := func(p string) string {
		return strings.Replace(p, "metadata:\n  name: ", "metadata:\n  annotations:\n    pod-policies.kyverno.io/autogen-controllers: none\n  name: ", 1)
	}
	type diffCase struct {
		name, policy, resource string
	}
	registries := map[string]engine.RegistryConfig{}
	cases := []diffCase{
		{"issue present", issue(), podYAML(R + "/test/app:v1")},
		{"issue root", issue(), podYAML(R + "/test/rootapp:v1")},
		{"issue index", issue(), podYAML(R + "/test/multi:v1")},
		{"issue tag missing", issue(), podYAML(R + "/test/app:gone")},
		{"issue repo missing", issue(), podYAML(R + "/nope/app:v1")},
		{"issue 401", issue(), podYAML(R + "/auth401/app:v1")},
		{"issue 401 empty", issue(), podYAML(R + "/auth401empty/app:v1")},
		{"issue 403", issue(), podYAML(R + "/forbidden/app:v1")},
		{"issue malformed", issue(), podYAML(R + "/bad/json:v1")},
		{"issue invalid ref", issue(), podYAML("nginx:::bad")},
		{"issue empty ref", issue(), podYAML("")},
		{"issue empty containers", issue(), podYAML()},
		{"failed key absent", strings.Replace(issue(), "{{ imageData.resolvedImage || '' }}", "{{ imageData.failed }}", 1), podYAML(R + "/test/app:v1")},
		{"keys of imageData", strings.Replace(issue("jmesPath: 'keys(@)'"), "{{ imageData.resolvedImage || '' }}", "{{ length(imageData) }}", 1), podYAML(R + "/test/app:v1")},
		{"deny site", denyRootPolicy, podYAML(R + "/nope/app:v1")},
		{"pattern site", patternPolicy, podYAML(R + "/nope/app:v1")},
		{"pattern pass", patternPolicy, strings.Replace(podYAML(R+"/test/app:v1"), "name: test-pod", "name: test/app", 1)},
		{"foreach site", fill(foreachDenyPolicy, "IR", ""), podYAML(R+"/test/app:v1", R+"/nope/app:v1")},
		{"foreach pass", fill(foreachDenyPolicy, "IR", ""), podYAML(R+"/test/app:v1", R+"/test/multi:v1")},
		{"unreferenced", unreferencedPolicy, podYAML(R + "/nope/app:v1")},
		{"connection refused", issue(), podYAML(refused(t, reg) + "/test/app:v1")},
		{"message only", strings.Replace(strings.Replace(unreferencedPolicy, "value: forbidden-name", "value: test-pod", 1), `message: "bad name"`, `message: "registry {{ imageData.registry }}"`, 1), podYAML(R + "/nope/app:v1")},
		{"digest missing", issue(), podYAML(R + "/test/app@" + zeroDigest)},
		{"namespaced policy", strings.Replace(strings.Replace(issue(), "kind: ClusterPolicy", "kind: Policy", 1), "  name: verify-image\n", "  name: verify-image\n  namespace: default\n", 1), podYAML(R + "/test/app:v1")},
		{"namespaced policy elsewhere", strings.Replace(strings.Replace(issue(), "kind: ClusterPolicy", "kind: Policy", 1), "  name: verify-image\n", "  name: verify-image\n  namespace: other\n", 1), podYAML(R + "/test/app:v1")},
		{"policy without namespace", strings.Replace(issue(), "kind: ClusterPolicy", "kind: Policy", 1), podYAML(R + "/test/app:v1")},
		{"policy without namespace, pod elsewhere", strings.Replace(issue(), "kind: ClusterPolicy", "kind: Policy", 1), strings.Replace(podYAML(R+"/test/app:v1"), "namespace: default", "namespace: other", 1)},
		{"pod without namespace", strings.Replace(unreferencedPolicy, `message: "bad name"`, `message: "ns={{ request.namespace }} op={{ request.operation }}"`, 1), strings.Replace(strings.Replace(podYAML(R+"/test/app:v1"), "  namespace: default\n", "", 1), "name: test-pod", "name: forbidden-name", 1)},
		{"splice JSON", strings.Replace(denyRootPolicy, `"image {{ request.object.spec.containers[0].image }} runs as root"`, `"config {{ imageData.configData.config }} labels {{ request.object.metadata.labels }} n={{ length(imageData.manifest.layers) }}"`, 1), podYAML(R + "/test/rootapp:v1")},
	}
	for _, tc := range []struct{ name, pre, msg, body string }{
		{"elementIndex", "", "container {{ elementIndex }} ({{ element.name }}) uses latest",
			"      foreach:\n      - list: request.object.spec.containers\n        deny:\n          conditions:\n            all:\n            - key: \"{{ element.image }}\"\n              operator: Equals\n              value: \"*:latest\"\n"},
		{"foreach pattern", "", "no latest", "      foreach:\n      - list: request.object.spec.containers\n        pattern:\n          image: \"!*:latest\"\n"},
		{"nested foreach", "", "port {{ element1.containerPort }} of {{ element0.name }}",
			"      foreach:\n      - list: request.object.spec.containers\n        foreach:\n        - list: element.ports\n          deny:\n            conditions:\n              any:\n              - key: \"{{ element.containerPort }}\"\n                operator: GreaterThan\n                value: 1024\n"},
		{"missing list", "", "x", "      foreach:\n      - list: request.object.spec.initContainers\n        deny: {}\n"},
		{"precondition messages", "    preconditions:\n      all:\n      - key: \"{{ request.object.metadata.name }}\"\n        operator: Equals\n        value: other\n        message: not other\n", "x", "      deny: {}\n"},
		{"deny condition messages", "", "", "      deny:\n        conditions:\n          any:\n          - key: \"{{ request.object.metadata.name }}\"\n            operator: AnyIn\n            value: [web, db]\n            message: name is reserved\n"},
		{"rule and condition messages", "", "denied {{ request.object.metadata.name }}",
			"      deny:\n        conditions:\n          all:\n          - key: \"{{ length(request.object.spec.containers) }}\"\n            operator: GreaterThanOrEquals\n            value: 2\n            message: too many\n"},
		{"pattern with message", "", "latest is not allowed", "      pattern:\n        spec:\n          containers:\n          - image: \"!*:latest\"\n"},
		{"anyPattern", "", "", "      anyPattern:\n      - spec:\n          containers:\n          - image: \"!*:latest\"\n      - metadata:\n          name: \"allowed-*\"\n"},
		{"variable entry", "    context:\n    - name: nm\n      variable:\n        value: \"{{ request.object.spec.containers[].name }}\"\n        jmesPath: \"join(',', @)\"\n", "names {{ nm }}",
			"      deny:\n        conditions:\n          any:\n          - key: \"{{ nm }}\"\n            operator: Equals\n            value: \"a,*\"\n"},
		{"variable default", "    context:\n    - name: nm\n      variable:\n        jmesPath: request.object.metadata.labels.team\n        default: none\n", "team {{ nm }}",
			"      deny:\n        conditions:\n          any:\n          - key: \"{{ nm }}\"\n            operator: Equals\n            value: none\n"},
		{"images", "", "", "      deny:\n        conditions:\n          any:\n          - key: \"{{ images }}\"\n            operator: Equals\n            value: x\n            message: \"{{ images }}\"\n"},
		{"images registries", "", "", "      deny:\n        conditions:\n          any:\n          - key: \"{{ images.containers.*.registry }}\"\n            operator: AnyIn\n            value: [docker.io]\n            message: \"{{ images.containers.b.referenceWithTag }} {{ images.initContainers || 'none' }}\"\n"},
		{"undefined variable", "", "", "      deny:\n        conditions:\n          any:\n          - key: \"{{ imageDta.x }}\"\n            operator: Equals\n            value: x\n"},
		{"invalid jmespath in variable", "", "", "      deny:\n        conditions:\n          any:\n          - key: \"{{ request.object.[ }}\"\n            operator: Equals\n            value: x\n"},
		{"user info in background", "", "{{ request.userInfo.username }}", "      deny: {}\n"},
		{"variable in match", "", "", "      deny: {}\n    exclude:\n      any:\n      - resources:\n          names: [\"{{ request.object.metadata.name }}\"]\n"},
		{"variable nil", "    context:\n    - name: nm\n      variable:\n        jmesPath: request.object.metadata.labels.team\n", "x",
			"      deny:\n        conditions:\n          any:\n          - key: \"{{ nm }}\"\n            operator: Equals\n            value: none\n"},
	} {
		cases = append(cases, diffCase{"flow " + tc.name, fill(foreachBase, "PRE", tc.pre, "MSG", tc.msg, "BODY", tc.body), twoContainers})
	}

	for _, typ := range []string{"basic", "bearer"} {
		ar := authRegistry(t, typ)
		right := engine.RegistryConfig{Credentials: []engine.Credential{{Registry: ar.Addr(), Username: "robot", Password: "s3cret-for-tests"}}}
		wrong := engine.RegistryConfig{Credentials: []engine.Credential{{Registry: ar.Addr(), Username: "robot", Password: "wrong-password"}}}
		cases = append(cases,
			diffCase{typ + " anonymous", issue(), podYAML(ar.Addr() + "/test/app:v1")},
			diffCase{typ + " right credentials", issue(), podYAML(ar.Addr() + "/test/app:v1")},
			diffCase{typ + " wrong credentials", issue(), podYAML(ar.Addr() + "/test/app:v1")},
		)
		registries[typ+" right credentials"] = right
		registries[typ+" wrong credentials"] = wrong
	}
	badImage := strings.Replace(twoContainers, "busybox:latest", "nginx:::bad", 1)
	imagesPolicy := fill(foreachBase, "PRE", "", "MSG", "", "BODY", "      deny:\n        conditions:\n          any:\n          - key: \"{{ images.containers.a.name }}\"\n            operator: Equals\n            value: nginx\n            message: \"{{ images.containers.b }}\"\n")
	cases = append(cases,
		diffCase{"images bad image", imagesPolicy, badImage},
		diffCase{"images digest and port", imagesPolicy, strings.Replace(twoContainers, "busybox:latest", "localhost:5000/team/app@"+zeroDigest, 1)},
		diffCase{"images tag and digest", imagesPolicy, strings.Replace(twoContainers, "busybox:latest", "ghcr.io/team/sub/app:v1@"+zeroDigest, 1)},
	)
	ref := New()
	eagerCLI, err := kyvernocli.New(kyvernocli.WithEnv("FLAG_ENABLE_DEFERRED_LOADING", "false"))
	if err != nil {
		t.Fatal(err)
	}
	eager := New(WithDeferredLoading(false))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type pair struct {
		name string
		cli  engine.Engine
		ref  *Engine
	}
	var runs []diffCase
	engines := map[string]pair{}
	for _, tc := range cases {
		runs = append(runs, tc)
		engines[tc.name] = pair{"deferred", cli, ref}
	}
	for _, tc := range []diffCase{
		{"eager unreferenced", unreferencedPolicy, podYAML(R + "/nope/app:v1")},
		{"eager issue", issue(), podYAML(R + "/test/app:gone")},
		{"eager present", issue(), podYAML(R + "/test/app:v1")},
	} {
		runs = append(runs, tc)
		engines[tc.name] = pair{"eager", eagerCLI, eager}
	}
	for _, tc := range runs {
		cli, ref := engines[tc.name].cli, engines[tc.name].ref
		t.Run(tc.name, func(t *testing.T) {
			req := engine.Request{
				Policies:  []engine.Document{{File: "policy.yaml", Data: []byte(noAutogen(tc.policy))}},
				Resources: []engine.Document{{File: "resource.yaml", Data: []byte(tc.resource)}},
				Registry:  registries[tc.name],
			}
			want, err := cli.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("kyverno: %v", err)
			}
			got, err := ref.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			if len(want) != len(got) {
				t.Fatalf("kyverno gave %d results, reference %d\nkyverno:   %v\nreference: %v", len(want), len(got), want, got)
			}
			for i := range want {
				if want[i].Status != got[i].Status || want[i].Message != got[i].Message {
					t.Errorf("\nkyverno:   %s: %s\nreference: %s: %s", want[i].Status, want[i].Message, got[i].Status, got[i].Message)
				}
			}
		})
	}
}
