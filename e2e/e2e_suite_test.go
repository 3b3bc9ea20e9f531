package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/e2e/cluster"
)

// Environment (see README.md): PROVIDER, E2E_REQUIRED, REQUIRE_CATCHERROR,
// ARTIFACTS, E2E_PIDFILE, ETCD, KUBE_APISERVER, KYVERNO, KYVERNO_REPORTS,
// KYVERNO_MANIFEST, KYVERNO_SRC, KUBECONFIG, E2E_WEBHOOK_TIMEOUT.

func TestE2E(t *testing.T) {
	if os.Getenv("PROVIDER") == "" {
		// Keeps `go test ./...` from building and starting a cluster.
		t.Skip("the e2e suite starts a cluster: run make e2e, or set PROVIDER=local|kind|existing")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e")
}

// suiteState is what the first Ginkgo process hands to all of them.
type suiteState struct {
	Cluster *cluster.Cluster `json:"cluster,omitempty"`
	// Unavailable: the provider cannot run here (reason).
	Unavailable string `json:"unavailable,omitempty"`
	// FailedMarker is a file a failing spec creates, so that the first
	// process collects the component logs at the end.
	FailedMarker string `json:"failedMarker"`
	// ProxyURL and ProxyCA are the registry proxy and the CA the
	// controllers were started with (local provider), "" and nil when none.
	ProxyURL string `json:"proxyURL,omitempty"`
	ProxyCA  []byte `json:"proxyCA,omitempty"`
}

var (
	provider cluster.Provider // first process only
	// publicHosts serves public registry host names to the controllers
	// (local provider, first process only: the specs that use it are
	// Serial, so they run there).
	publicHosts *hostedRegistries
	state       suiteState
	env         *testEnv
	workDir     string // first process only
)

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	name := os.Getenv("PROVIDER")
	var err error
	workDir, err = os.MkdirTemp("", "imagectx-e2e-suite-")
	Expect(err).NotTo(HaveOccurred())
	st := suiteState{FailedMarker: filepath.Join(workDir, "spec-failed")}
	opts := []cluster.Option{
		cluster.WithWorkDir(workDir),
		cluster.WithPIDFile(pidFile()),
		cluster.WithLog(GinkgoWriter),
		cluster.WithKubeconfig(os.Getenv("KUBECONFIG")),
	}
	timeout, err := webhookTimeoutSeconds()
	Expect(err).NotTo(HaveOccurred())
	opts = append(opts, cluster.WithWebhookTimeout(timeout))
	if name != "existing" {
		manifest, err := resolve(ctx, "KYVERNO_MANIFEST", "e2e/hack/build-kyverno.sh", "manifest")
		Expect(err).NotTo(HaveOccurred())
		opts = append(opts, cluster.WithKyvernoManifest(manifest))
	}
	if name == "local" {
		publicHosts, err = startHostedRegistries(workDir)
		Expect(err).NotTo(HaveOccurred())
		opts = append(opts, cluster.WithControllerEnv(publicHosts.controllerEnv()...))
		st.ProxyURL, st.ProxyCA = publicHosts.proxy.URL(), publicHosts.ca.CertPEM()
		var b cluster.Binaries
		for _, r := range []struct {
			dst         *string
			env, script string
			arg         string
		}{
			{&b.Etcd, "ETCD", "tools/etcd/build.sh", ""},
			{&b.KubeAPIServer, "KUBE_APISERVER", "tools/kube-apiserver/build.sh", ""},
			{&b.Kyverno, "KYVERNO", "e2e/hack/build-kyverno.sh", "kyverno"},
			{&b.ReportsController, "KYVERNO_REPORTS", "e2e/hack/build-kyverno.sh", "reports-controller"},
		} {
			*r.dst, err = resolve(ctx, r.env, r.script, r.arg)
			Expect(err).NotTo(HaveOccurred())
		}
		opts = append(opts, cluster.WithBinaries(b))
	}
	provider, err = cluster.New(name, opts...)
	Expect(err).NotTo(HaveOccurred())
	start := time.Now()
	c, err := provider.Start(ctx)
	if u, ok := cluster.IsUnavailable(err); ok {
		st.Unavailable = u.Reason
	} else if err != nil {
		collectLogs(ctx)
		Fail(fmt.Sprintf("start the %s cluster: %v", name, err))
	} else {
		st.Cluster = c
		AddReportEntry("cluster", fmt.Sprintf("%s, kube-apiserver %s, ready in %s", name, c.ServerVersion, time.Since(start).Round(time.Second)))
	}
	b, err := json.Marshal(st)
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(ctx SpecContext, b []byte) {
	Expect(json.Unmarshal(b, &state)).To(Succeed())
	if state.Cluster != nil {
		var err error
		env, err = newTestEnv(ctx, state.Cluster, state)
		Expect(err).NotTo(HaveOccurred())
	}
}, NodeTimeout(45*time.Minute))

// SynchronizedAfterSuite runs also after a failed spec and after an
// interrupt (Ginkgo runs cleanup nodes on the first SIGINT/SIGTERM).
var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if provider == nil {
		return
	}
	if _, err := os.Stat(state.FailedMarker); err == nil {
		collectLogs(ctx)
	}
	stopErr := provider.Stop(ctx)
	if publicHosts != nil {
		stopErr = errors.Join(stopErr, publicHosts.close())
	}
	// Read the PID file before removing workDir: without E2E_PIDFILE it
	// lives there, and a missing file reads as "nothing alive".
	alive, aliveErr := cluster.Alive(pidFile())
	if workDir != "" {
		os.RemoveAll(workDir)
	}
	Expect(stopErr).NotTo(HaveOccurred(), "stop the cluster")
	Expect(aliveErr).NotTo(HaveOccurred())
	Expect(alive).To(BeEmpty(), "processes still running after teardown (pid name)")
}, NodeTimeout(3*time.Minute))

// Every spec needs the cluster; without one it is skipped with the reason,
// or failed when E2E_REQUIRED=1.
var _ = BeforeEach(func() {
	if state.Unavailable == "" {
		return
	}
	if os.Getenv("E2E_REQUIRED") == "1" {
		Fail("E2E_REQUIRED=1 but " + state.Unavailable)
	}
	Skip(state.Unavailable)
})

var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() && state.FailedMarker != "" {
		os.WriteFile(state.FailedMarker, nil, 0o644)
	}
})

func collectLogs(ctx context.Context) {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" || provider == nil {
		return
	}
	dst := filepath.Join(dir, "logs")
	if err := provider.CollectLogs(ctx, dst); err != nil {
		fmt.Fprintf(GinkgoWriter, "collect logs: %v\n", err)
		return
	}
	fmt.Fprintf(GinkgoWriter, "component logs copied to %s\n", dst)
}

func pidFile() string {
	if p := os.Getenv("E2E_PIDFILE"); p != "" {
		return p
	}
	return filepath.Join(workDir, "pids")
}

// webhookTimeoutSeconds is Kyverno's --webhookTimeout: E2E_WEBHOOK_TIMEOUT,
// default 5 (scenarios/admission/webhook-timeout.yaml's registry takes
// 8 s, so it must stay below that).
func webhookTimeoutSeconds() (int, error) {
	s := os.Getenv("E2E_WEBHOOK_TIMEOUT")
	if s == "" {
		return 5, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("E2E_WEBHOOK_TIMEOUT=%q: want whole seconds, at least 1", s)
	}
	return n, nil
}

// resolve returns $envName when set, else runs the repository's build
// script, which prints the (cached) binary's path.
func resolve(ctx context.Context, envName, script, arg string) (string, error) {
	if p := os.Getenv(envName); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envName, p, err)
		}
		return p, nil
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	args := []string{}
	if arg != "" {
		args = append(args, arg)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, script), args...)
	cmd.Stderr = GinkgoWriter
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s (set %s to skip the build): %w", script, arg, envName, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}
