package cluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestLocalControlPlane starts the real etcd and kube-apiserver, applies
// Kyverno's install manifest, and checks that Stop leaves no process and no
// folder behind. It needs the built binaries: ETCD, KUBE_APISERVER and
// KYVERNO_MANIFEST (make e2e-build prints where they are).
func TestLocalControlPlane(t *testing.T) {
	etcd, apiserver, manifest := os.Getenv("ETCD"), os.Getenv("KUBE_APISERVER"), os.Getenv("KYVERNO_MANIFEST")
	if etcd == "" || apiserver == "" || manifest == "" {
		t.Skip("set ETCD, KUBE_APISERVER and KYVERNO_MANIFEST to run the control plane")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	pids := filepath.Join(work, "pids")
	l := newLocal(Options{WorkDir: work, PIDFile: pids, Binaries: Binaries{Etcd: etcd, KubeAPIServer: apiserver}, Log: testWriter{t}})
	defer l.Stop(context.Background())
	cp, err := l.startControlPlane(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.version == "" || cp.version[0] != 'v' || cp.version == "v0.0.0-master+$Format:%H$" {
		t.Errorf("server version %q: want the ldflags version", cp.version)
	}
	start := time.Now()
	if err := applyManifest(ctx, cp.cfg, manifest); err != nil {
		t.Fatal(err)
	}
	t.Logf("manifest applied in %s", time.Since(start).Round(time.Millisecond))
	cs, err := kubernetes.NewForConfig(cp.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("kyverno").Get(ctx, "kyverno", metav1.GetOptions{}); err != nil {
		t.Errorf("Kyverno's ConfigMap after apply: %v", err)
	}
	dir := l.dir
	if err := l.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if alive, err := Alive(pids); err != nil || len(alive) != 0 {
		t.Errorf("after Stop: still running %v (%v)", alive, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Stop: %s still exists (%v)", dir, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
