package engines

import (
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/admission"
)

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		name, want, wantErr string
	}{
		{name: "", want: "inprocess"},
		{name: "inprocess", want: "inprocess"},
		{name: "nope", wantErr: `unknown engine "nope"; want one of: `},
	} {
		eng, err := Open(tc.name)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open(%q) error = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.name, err)
		}
		if eng.Name() != tc.want {
			t.Errorf("Open(%q).Name() = %q, want %q", tc.name, eng.Name(), tc.want)
		}
	}
}

// The cluster engines open by name only when given a cluster; each gets
// its process from its name (admission.New does not connect yet).
func TestOpenClusterEngines(t *testing.T) {
	for _, name := range []string{admission.NameAdmission, admission.NameBackgroundScan} {
		if _, err := Open(name); !errors.Is(err, ErrNeedsCluster) {
			t.Errorf("Open(%q) without a cluster: %v, want ErrNeedsCluster", name, err)
		}
		cfg := &rest.Config{Host: "http://127.0.0.1:1"}
		eng, err := Open(name, WithCluster(cfg, admission.Options{WebhookTimeout: 5 * time.Second, Process: admission.ProcessAdmission}))
		if err != nil {
			t.Fatalf("Open(%q): %v", name, err)
		}
		if eng.Name() != name {
			t.Errorf("Open(%q).Name() = %q", name, eng.Name())
		}
		if _, ok := eng.(engine.AdmissionEngine); !ok {
			t.Errorf("Open(%q) is not an engine.AdmissionEngine", name)
		}
	}
	if _, err := Open(admission.NameAdmission, WithCluster(&rest.Config{Host: "http://127.0.0.1:1"}, admission.Options{})); err == nil || !strings.Contains(err.Error(), "WebhookTimeout") {
		t.Errorf("Open(admission) without the webhook timeout: %v, want the driver's error", err)
	}
}
