package pattern

import (
	"encoding/json"
	"testing"
)

func BenchmarkValidate(b *testing.B) {
	var resource, pattern any
	if err := json.Unmarshal([]byte(pod), &resource); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"metadata": {"labels": {"team-*": "?*"}}, "spec": {"containers": [{"(name)": "?*", "image": "!*:latest | nginx:*", "resources": {"limits": {"memory": "<=4Gi"}}}]}}`), &pattern); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Validate(resource, pattern)
	}
}
