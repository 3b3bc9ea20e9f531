package reference_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/reference"
	"github.com/imagectx/conformance/fakeregistry"
)

// Evaluate a policy with an imageRegistry context entry (catchError on)
// against two Pods: one whose image exists, one whose tag is missing.
func Example() {
	reg, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "team/app:v1", Config: fakeregistry.ImageConfig{User: "1000"}},
	}})
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	policy := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image
spec:
  rules:
  - name: not-root
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
        catchError: true
    preconditions:
      all:
      - key: "{{ imageData.failed }}"
        operator: Equals
        value: false
    validate:
      failureAction: Enforce
      message: "{{ imageData.image }} runs as root"
      deny:
        conditions:
          any:
          - key: "{{ imageData.configData.config.User || 'root' }}"
            operator: Equals
            value: root
`
	pod := func(name, image string) engine.Document {
		return engine.Document{File: name + ".yaml", Data: []byte(`apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: default
spec:
  containers:
  - name: app
    image: ` + image + "\n")}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := reference.New().Evaluate(ctx, engine.Request{
		Policies:  []engine.Document{{File: "policy.yaml", Data: []byte(policy)}},
		Resources: []engine.Document{pod("present", reg.Addr()+"/team/app:v1"), pod("gone", reg.Addr()+"/team/app:v2")},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Println(r.Resource.Name, r.Status, r.Message)
		data := r.Context["imageData"].(map[string]any)
		fmt.Printf("  failed=%v errorMessage=%q\n", data["failed"], strings.ReplaceAll(data["errorMessage"].(string), reg.Addr(), "${REGISTRY}"))
	}
	// Output:
	// present pass validation rule 'not-root' passed.
	//   failed=false errorMessage=""
	// gone skip preconditions not met
	//   failed=true errorMessage="failed to fetch image descriptor: ${REGISTRY}/team/app:v2, error: failed to fetch image descriptor: ${REGISTRY}/team/app:v2, error: failed to fetch image reference: ${REGISTRY}/team/app:v2, error: GET http://${REGISTRY}/v2/team/app/manifests/v2: MANIFEST_UNKNOWN: Unknown manifest"
}
