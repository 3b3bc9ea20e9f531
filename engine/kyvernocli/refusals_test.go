package kyvernocli

import (
	"context"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
)

// TestEvaluateRefusesWhatApplyCannotTake: inputs kubectl-kyverno apply has
// no way to take are refused by name, never dropped (issue 20); the
// capability each names is unsupported in Capabilities.
func TestEvaluateRefusesWhatApplyCannotTake(t *testing.T) {
	pol := []engine.Document{{File: "p.yaml", Data: []byte("kind: ClusterPolicy")}}
	for _, tc := range []struct {
		name string
		req  engine.Request
		want string
	}{
		{"apiCallResponses", engine.Request{Policies: pol, APICallResponses: []engine.APICallResponse{{URLPath: "/api/v1/pods"}}},
			`takes no apiCallResponses (kubectl-kyverno test does); check Capabilities().Unsupported["apiCallResponses"]`},
		{"imagePullSecrets", engine.Request{Policies: pol, Registry: engine.RegistryConfig{ImagePullSecrets: []string{"global"}}},
			`has no --imagePullSecrets flag and no Secret lister; check Capabilities().Unsupported["imagePullSecrets"]`},
		{"imageVerifyCacheEnabled", engine.Request{Policies: pol, Registry: engine.RegistryConfig{ImageVerifyCacheEnabled: true}},
			`always runs Kyverno's disabled image verify cache; check Capabilities().Unsupported["imageVerifyCache"]`},
		{"secrets", engine.Request{Policies: pol, Registry: engine.RegistryConfig{Secrets: map[string][]engine.Credential{"regcred": nil}}},
			`ignores imageRegistryCredentials.secrets; check Capabilities().Unsupported["secrets"]`},
	} {
		_, err := (&Engine{}).Evaluate(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
