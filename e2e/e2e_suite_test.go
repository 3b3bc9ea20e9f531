package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/imagectx/conformance/e2e/cluster"
	"github.com/imagectx/conformance/engine/engines"
	"github.com/imagectx/conformance/internal/judge"
	"github.com/imagectx/conformance/internal/run"
	"github.com/imagectx/conformance/internal/scenario"
)

// Environment (see README.md): PROVIDER, E2E_REQUIRED, REQUIRE_CATCHERROR,
// ARTIFACTS, E2E_PIDFILE, E2E_CONCURRENCY, ETCD, KUBE_APISERVER, KYVERNO,
// KYVERNO_REPORTS, KYVERNO_MANIFEST, KYVERNO_SRC, KUBECONFIG,
// E2E_WEBHOOK_TIMEOUT, SCENARIOS.

// TestE2E runs the suite in one process: the cluster starts once, every
// evaluation the run's filters keep starts as soon as it is up (at most
// E2E_CONCURRENCY at a time: they mostly wait for webhooks and
// PolicyReports), and each Ginkgo spec waits for its own and checks it.
func TestE2E(t *testing.T) {
	if os.Getenv("PROVIDER") == "" {
		// Keeps `go test ./...` from building and starting a cluster.
		t.Skip("the e2e suite starts a cluster: run make e2e, or set PROVIDER=local|kind|existing")
	}
	RegisterFailHandler(Fail)
	suiteConfig, reporterConfig := GinkgoConfiguration()
	if suiteConfig.ParallelTotal > 1 {
		t.Fatal("run the e2e suite in one process (without -p or --procs): its evaluations run concurrently in it (E2E_CONCURRENCY)")
	}
	s, err := newSuite()
	if err != nil {
		t.Fatal(err)
	}
	s.declare()
	s.willRun = willRun(PreviewSpecs("e2e", suiteConfig))
	RunSpecs(t, "e2e", suiteConfig, reporterConfig)
}

// suite is one run of the e2e suite: its settings, the cluster and the
// engines once started, the evaluations and the records of the specs.
type suite struct {
	files       []*scenario.File
	concurrency int
	opts        judge.Options
	workDir     string
	provider    cluster.Provider
	// hosts serves public registry host names to the controllers (local
	// provider only; nil otherwise).
	hosts *hostedRegistries
	// unavailable is why the provider cannot run here ("" when it can).
	unavailable string
	env         *testEnv
	evals       *run.Evaluations
	// willRun are the Ginkgo specs the run's filters keep (full text).
	willRun map[string]bool
	records recordBook
	failed  atomic.Bool
	// log gets the engines' and the registry proxy's progress lines
	// (API server warnings, refused tunnels): $ARTIFACTS/e2e-engines.log.
	// Evaluations run concurrently, so Ginkgo's per-spec output would mix
	// them up.
	log *os.File
}

func newSuite() (*suite, error) {
	s := &suite{evals: run.NewEvaluations(), concurrency: 8}
	// The suite runs in e2e/; make passes SCENARIOS relative to the root.
	dirs, err := scenario.Dirs("..", os.Getenv("SCENARIOS"))
	if err != nil {
		return nil, err
	}
	if s.files, err = scenario.LoadDirs(dirs...); err != nil {
		return nil, fmt.Errorf("load scenarios: %w", err)
	}
	if err := scenario.CheckEngines(s.files, engines.Names()); err != nil {
		return nil, fmt.Errorf("load scenarios: %w", err)
	}
	if s.opts, err = judge.OptionsFromEnv(os.Getenv); err != nil {
		return nil, err
	}
	if v := os.Getenv("E2E_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("E2E_CONCURRENCY=%q: want the number of evaluations at once, at least 1", v)
		}
		s.concurrency = n
	}
	return s, nil
}

// willRun are the specs of a preview that will run (full text).
func willRun(preview Report) map[string]bool {
	out := map[string]bool{}
	for _, sr := range preview.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt && sr.State != types.SpecStateSkipped && sr.State != types.SpecStatePending {
			out[sr.FullText()] = true
		}
	}
	return out
}

func (s *suite) declare() {
	BeforeSuite(s.start, NodeTimeout(45*time.Minute))
	// AfterSuite runs also after a failed spec and after an interrupt
	// (Ginkgo runs cleanup nodes on the first SIGINT/SIGTERM).
	AfterSuite(s.stop, NodeTimeout(3*time.Minute))
	// Every spec needs the cluster; without one it is skipped with the
	// reason, or failed when E2E_REQUIRED=1.
	BeforeEach(func() {
		if s.unavailable == "" {
			return
		}
		if os.Getenv("E2E_REQUIRED") == "1" {
			Fail("E2E_REQUIRED=1 but " + s.unavailable)
		}
		Skip(s.unavailable)
	})
	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			s.failed.Store(true)
		}
	})
	s.declareScenarios()
	ReportAfterSuite("results files", s.writeResults)
}

// start starts the cluster, the engines and the evaluations of the specs
// that will run.
func (s *suite) start(ctx SpecContext) {
	name := os.Getenv("PROVIDER")
	var err error
	s.workDir, err = os.MkdirTemp("", "imagectx-e2e-suite-")
	Expect(err).NotTo(HaveOccurred())
	logPath := filepath.Join(s.workDir, "e2e-engines.log")
	if dir := os.Getenv("ARTIFACTS"); dir != "" {
		logPath = filepath.Join(dir, "e2e-engines.log")
	}
	s.log, err = os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("engine log", logPath)
	opts := []cluster.Option{
		cluster.WithWorkDir(s.workDir),
		cluster.WithPIDFile(s.pidFile()),
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
		s.hosts, err = startHostedRegistries(s.workDir, s.log)
		Expect(err).NotTo(HaveOccurred())
		opts = append(opts, cluster.WithControllerEnv(s.hosts.controllerEnv()...))
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
	s.provider, err = cluster.New(name, opts...)
	Expect(err).NotTo(HaveOccurred())
	begin := time.Now()
	c, err := s.provider.Start(ctx)
	if u, ok := cluster.IsUnavailable(err); ok {
		s.unavailable = u.Reason
		return
	}
	if err != nil {
		s.collectLogs(ctx)
		Fail(fmt.Sprintf("start the %s cluster: %v", name, err))
	}
	AddReportEntry("cluster", fmt.Sprintf("%s, kube-apiserver %s, ready in %s", name, c.ServerVersion, time.Since(begin).Round(time.Second)))
	s.env, err = newTestEnv(ctx, c, s.hosts, s.log)
	Expect(err).NotTo(HaveOccurred())
	s.prefetch()
}

// stop stops every process the suite started, by PID, and fails when one
// is left.
func (s *suite) stop(ctx SpecContext) {
	if s.provider == nil {
		return
	}
	if s.failed.Load() {
		s.collectLogs(ctx)
	}
	stopErr := s.provider.Stop(ctx)
	if s.hosts != nil {
		stopErr = errors.Join(stopErr, s.hosts.close())
	}
	if s.log != nil {
		stopErr = errors.Join(stopErr, s.log.Close())
	}
	// Read the PID file before removing workDir: without E2E_PIDFILE it
	// lives there, and a missing file reads as "nothing alive".
	alive, aliveErr := cluster.Alive(s.pidFile())
	if s.workDir != "" {
		os.RemoveAll(s.workDir)
	}
	Expect(stopErr).NotTo(HaveOccurred(), "stop the cluster")
	Expect(aliveErr).NotTo(HaveOccurred())
	Expect(alive).To(BeEmpty(), "processes still running after teardown (pid name)")
}

func (s *suite) collectLogs(ctx context.Context) {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" || s.provider == nil {
		return
	}
	dst := filepath.Join(dir, "logs")
	if err := s.provider.CollectLogs(ctx, dst); err != nil {
		fmt.Fprintf(GinkgoWriter, "collect logs: %v\n", err)
		return
	}
	fmt.Fprintf(GinkgoWriter, "component logs copied to %s\n", dst)
}

func (s *suite) pidFile() string {
	if p := os.Getenv("E2E_PIDFILE"); p != "" {
		return p
	}
	return filepath.Join(s.workDir, "pids")
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
