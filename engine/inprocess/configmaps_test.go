package inprocess

import (
	"context"
	"strings"
	"testing"

	"github.com/imagectx/conformance/engine"
)

func TestConfigMaps(t *testing.T) {
	if cms, err := loadConfigMaps(nil); err != nil || cms != nil {
		t.Fatalf("no documents: %v, %v; want nil (no resolver, as kubectl-kyverno apply)", cms, err)
	}
	cms, err := loadConfigMaps([]engine.Document{{File: "s.yaml:3", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: kyverno}\ndata: {k: v}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(context.Background(), "kyverno", "a")
	if err != nil || cm.Data["k"] != "v" {
		t.Errorf("Get(kyverno, a) = %v, %v", cm, err)
	}
	if _, err := cms.Get(context.Background(), "default", "a"); err == nil || err.Error() != `configmaps "a" not found` {
		t.Errorf("Get(default, a) err = %v, want the API server's NotFound", err)
	}
	// A ConfigMap without a namespace is "default"'s, where Kyverno looks
	// when a configMap entry names none.
	cms, err = loadConfigMaps([]engine.Document{{File: "s.yaml:9", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(context.Background(), "default", "b"); err != nil {
		t.Errorf("Get(default, b): %v", err)
	}
	for _, tc := range []struct{ data, want string }{
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n", "s.yaml:3: want apiVersion v1, kind ConfigMap and metadata.name, got v1 Secret"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatum: {}\n", `s.yaml:3: error unmarshaling JSON: while decoding JSON: json: unknown field "datum"`},
	} {
		_, err := loadConfigMaps([]engine.Document{{File: "s.yaml:3", Data: []byte(tc.data)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want containing %q", err, tc.want)
		}
	}
}
