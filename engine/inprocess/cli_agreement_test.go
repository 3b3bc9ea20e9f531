package inprocess

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/kyvernocli"
	"github.com/imagectx/conformance/fakeregistry"
)

// Policies beyond the scenarios' validate rules, each run through the real
// Kyverno v1.19.1 CLI and this engine: the results (rule names, statuses,
// messages) must be identical.
const (
	// No autogen annotation: Kyverno adds autogen-check for the Deployment.
	autogenPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: autogen-user
spec:
  background: false
  rules:
  - name: check
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
    validate:
      failureAction: Audit
      message: "image runs as root"
      deny:
        conditions:
          any:
          - key: "{{ imageData.configData.config.User || 'root' }}"
            operator: Equals
            value: root
`
	// verifyImages with a key nobody signed with: the image has no signature.
	verifyPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-signature
  annotations:
    pod-policies.kyverno.io/autogen-controllers: none
spec:
  background: false
  webhookTimeoutSeconds: 30
  rules:
  - name: verify
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - imageReferences: ["REGISTRY/*"]
      failureAction: Audit
      mutateDigest: false
      verifyDigest: false
      attestors:
      - entries:
        - keys:
            publicKeys: |-
PUBLICKEY
            rekor:
              ignoreTlog: true
            ctlog:
              ignoreSCT: true
`
	// Refused by Kyverno's policy validation: a variable of the admission
	// request in a background policy.
	invalidPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: refused
  annotations:
    pod-policies.kyverno.io/autogen-controllers: none
spec:
  background: true
  rules:
  - name: check
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Audit
      message: "{{ request.userInfo.username }}"
      deny: {}
`
)

func deployment(image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: "` + image + `"
`
}

func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))), "\n") {
		b.WriteString("              " + l + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// TestAgreesWithTheCLI needs the v1.19.1 CLI (`make kyverno-cli`, which
// .ci/run builds before `make test`); without it the test says so and skips.
func TestAgreesWithTheCLI(t *testing.T) {
	cli, err := kyvernocli.New()
	if err != nil {
		t.Skipf("no Kyverno CLI to compare with (make kyverno-cli): %v", err)
	}
	reg := startRegistry(t, fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
		{Ref: "team/rootapp:v1"},
	}})
	R := reg.Addr()
	for _, tc := range []struct {
		name, policy string
		resources    []string
	}{
		{"autogen", autogenPolicy, []string{deployment(R + "/team/app:v1"), strings.Replace(deployment(R+"/team/rootapp:v1"), "name: web\n  namespace", "name: root\n  namespace", 1), pod(R + "/team/app:gone")}},
		{"verifyImages", strings.Replace(strings.Replace(verifyPolicy, "REGISTRY", R, 1), "PUBLICKEY", publicKeyPEM(t), 1), []string{pod(R + "/team/app:v1")}},
		{"refused", invalidPolicy, []string{pod(R + "/team/app:v1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := engine.Request{Policies: []engine.Document{{File: tc.name + ".yaml", Data: []byte(tc.policy)}}}
			for i, r := range tc.resources {
				req.Resources = append(req.Resources, engine.Document{File: fmt.Sprintf("r%d.yaml", i), Data: []byte(r)})
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			want, err := cli.Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("CLI: %v", err)
			}
			got, err := New().Evaluate(ctx, req)
			if err != nil {
				t.Fatalf("in process: %v", err)
			}
			if len(want) == 0 {
				t.Fatal("the CLI reported no result; the case proves nothing")
			}
			if fmt.Sprint(strip(got)) != fmt.Sprint(strip(want)) {
				t.Errorf("in process:\n%s\nCLI:\n%s", lines(got), lines(want))
			}
		})
	}
}

// strip drops what only the in-process engine reports (the rule context).
func strip(rs []engine.Result) []engine.Result {
	out := make([]engine.Result, len(rs))
	for i, r := range rs {
		r.Context = nil
		out[i] = r
	}
	return out
}

func lines(rs []engine.Result) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("  " + r.String() + "\n")
	}
	return b.String()
}
