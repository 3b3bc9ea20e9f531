package reference

import (
	"testing"

	"github.com/imagectx/conformance/engine"
)

const denyRootPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image-config
spec:
  rules:
  - name: check-image
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
    validate:
      failureAction: Enforce
      message: "image {{ request.object.spec.containers[0].image }} runs as root"
      deny:
        conditions:
          any:
          - key: "{{ imageData.configData.config.User || 'root' }}"
            operator: Equals
            value: "root"
`

func TestSmoke(t *testing.T) {
	reg := startRegistry(t, standardImages())
	e := New()
	R := reg.Addr()
	expect(t, one(t, evaluate(t, e, denyRootPolicy, podYAML(R+"/test/app:v1"), evalOpts{})), engine.StatusPass, "validation rule 'check-image' passed.")
	expect(t, one(t, evaluate(t, e, denyRootPolicy, podYAML(R+"/test/rootapp:v1"), evalOpts{})), engine.StatusFail, "image "+R+"/test/rootapp:v1 runs as root")
	ref := R + "/nope/app:v1"
	expect(t, one(t, evaluate(t, e, denyRootPolicy, podYAML(ref), evalOpts{})), engine.StatusError,
		"failed to check deny conditions: failed to substitute variables in condition key: failed to resolve imageData.configData.config.User || 'root' at path : "+
			chain(ref, "GET http://"+R+"/v2/nope/app/manifests/v1: NAME_UNKNOWN: Unknown name"))
}
