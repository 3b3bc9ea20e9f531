package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// local runs etcd, kube-apiserver and Kyverno's admission and reports
// controllers as host processes bound to 127.0.0.1. There is no scheduler,
// kubelet or controller-manager: Pods stay Pending and namespaces never
// finish deleting, but admission, policy status and reports are real.
type local struct {
	o     Options
	dir   string
	procs *Processes
}

func newLocal(o Options) *local { return &local{o: o} }

func (l *local) Name() string { return "local" }

func (l *local) Start(ctx context.Context) (*Cluster, error) {
	b := l.o.Binaries
	for name, path := range map[string]string{"kyverno": b.Kyverno, "reports-controller": b.ReportsController, "Kyverno install manifest": l.o.KyvernoManifest} {
		if path == "" {
			return nil, fmt.Errorf("local provider: no %s given", name)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("local provider: %s: %w", name, err)
		}
	}
	start := time.Now()
	cp, err := l.startControlPlane(ctx)
	if err != nil {
		return nil, err
	}
	cfg, kcPath, kcBytes, version := cp.cfg, cp.kubeconfigPath, cp.kubeconfig, cp.version
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	webhookPort, crMetrics, admissionMetrics, reportsMetrics := ports[0], ports[1], ports[2], ports[3]

	if err := applyManifest(ctx, cfg, l.o.KyvernoManifest); err != nil {
		return nil, fmt.Errorf("install Kyverno resources: %w", err)
	}
	if err := aggregateClusterRoles(ctx, cfg); err != nil {
		return nil, fmt.Errorf("install Kyverno resources: %w", err)
	}
	logf(l.o.Log, "Kyverno resources applied from %s (%s)", l.o.KyvernoManifest, since(start))

	// Kyverno reads these from its Deployment's env in a cluster.
	env := func(sa string) []string {
		return append([]string{
			"KYVERNO_NAMESPACE=kyverno", "KYVERNO_SERVICEACCOUNT_NAME=" + sa, "KYVERNO_DEPLOYMENT=" + sa,
			"KYVERNO_POD_NAME=" + sa + "-host", "INIT_CONFIG=kyverno", "METRICS_CONFIG=kyverno-metrics",
			"KYVERNO_SVC=kyverno-svc",
		}, l.o.ControllerEnv...)
	}
	// The metrics server starts even with --disableMetrics, on all
	// interfaces by default: bind it to loopback on a free port. The image
	// verification cache is off (Kyverno's default is on) so a verifyImages
	// result is the verifier's message, not "verified from cache" when an
	// earlier scan happened to verify the same image.
	common := func(metricsPort int) []string {
		return []string{"--kubeconfig=" + kcPath, "--disableMetrics=true", "--metricsHost=127.0.0.1", "--metricsPort=" + strconv.Itoa(metricsPort),
			"--loggingFormat=text", "--disableLogColor=true", "--v=2", "--enableDeferredLoading=true", ImageVerifyCacheOff}
	}
	admission, err := l.procs.Start("kyverno", b.Kyverno, append(common(admissionMetrics),
		fmt.Sprintf("--serverIP=127.0.0.1:%d", webhookPort),
		"--webhookServerHost=127.0.0.1", "--webhookServerPort="+strconv.Itoa(webhookPort),
		"--webhookTimeout="+strconv.Itoa(l.o.WebhookTimeoutSeconds),
		"--backgroundServiceAccountName=system:serviceaccount:kyverno:kyverno-background-controller",
		"--reportsServiceAccountName=system:serviceaccount:kyverno:kyverno-reports-controller",
		"--caSecretName=kyverno-svc.kyverno.svc.kyverno-tls-ca",
		"--tlsSecretName=kyverno-svc.kyverno.svc.kyverno-tls-pair",
		"--controllerRuntimeMetricsAddress="+fmt.Sprintf("127.0.0.1:%d", crMetrics),
		"--admissionReports=true", "--autoUpdateWebhooks=true",
		"--omitEvents=PolicyApplied,PolicySkipped",
	), env("kyverno-admission-controller"))
	if err != nil {
		return nil, err
	}
	reports, err := l.procs.Start("reports-controller", b.ReportsController, append(common(reportsMetrics),
		"--admissionReports=true", "--aggregateReports=true", "--policyReports=true",
		"--backgroundScan=true", "--backgroundScanWorkers=2",
		"--omitEvents=PolicyApplied,PolicySkipped",
	), env("kyverno-reports-controller"))
	if err != nil {
		return nil, err
	}
	if err := waitKyverno(ctx, cfg, admission, reports); err != nil {
		return nil, err
	}
	logf(l.o.Log, "Kyverno admission controller (pid %d, webhooks on 127.0.0.1:%d) and reports controller (pid %d) ready (%s)", admission.PID, webhookPort, reports.PID, since(start))
	return &Cluster{Provider: "local", Kubeconfig: kcBytes, ServerVersion: version, RegistryHost: "127.0.0.1", WebhookTimeoutSeconds: l.o.WebhookTimeoutSeconds}, nil
}

func (l *local) Stop(ctx context.Context) error {
	var errs []error
	if l.procs != nil {
		errs = append(errs, l.procs.StopAll(ctx))
	}
	if l.dir != "" {
		if err := os.RemoveAll(l.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", l.dir, err))
		}
		l.dir = ""
	}
	return errors.Join(errs...)
}

func (l *local) CollectLogs(_ context.Context, dir string) error {
	if l.dir == "" {
		return nil
	}
	logs, err := filepath.Glob(filepath.Join(l.dir, "logs", "*.log"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, src := range logs {
		errs = append(errs, copyFile(src, filepath.Join(dir, filepath.Base(src))))
	}
	return errors.Join(errs...)
}

func kubeconfig(host string, pki *apiserverPKI) *clientcmdapi.Config {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: pki.CAPEM}
	kc.AuthInfos["e2e-admin"] = &clientcmdapi.AuthInfo{Token: pki.AdminToken}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e-admin"}
	kc.CurrentContext = "e2e"
	return kc
}

func serverVersion(cfg *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return v.GitVersion, nil
}

// waitHTTP polls url until the body contains want, failing early when proc
// exits.
func waitHTTP(ctx context.Context, proc *Process, url, want string, client *http.Client, timeout time.Duration) error {
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if done, werr := proc.Exited(); done {
			return false, fmt.Errorf("%s exited (%v); log tail:\n%s", proc.Name, werr, proc.Tail(2000))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		return strings.Contains(string(b), want), nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready at %s (last answer: %s): %w", proc.Name, url, last, err)
	}
	return nil
}

func waitAPIServer(ctx context.Context, proc *Process, cfg *rest.Config) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if done, werr := proc.Exited(); done {
			return false, fmt.Errorf("kube-apiserver exited (%v); log tail:\n%s", werr, proc.Tail(3000))
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		return string(body) == "ok", nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready (last: %s): %w", last, err)
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// controlPlane is a running etcd + kube-apiserver.
type controlPlane struct {
	cfg            *rest.Config
	kubeconfig     []byte
	kubeconfigPath string
	version        string
}

// startControlPlane starts etcd and kube-apiserver in a new temporary folder
// and returns once the API server is ready.
func (l *local) startControlPlane(ctx context.Context) (*controlPlane, error) {
	b := l.o.Binaries
	for name, path := range map[string]string{"etcd": b.Etcd, "kube-apiserver": b.KubeAPIServer} {
		if path == "" {
			return nil, fmt.Errorf("local provider: no %s given", name)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("local provider: %s: %w", name, err)
		}
	}
	dir, err := os.MkdirTemp(l.o.WorkDir, "imagectx-e2e-local-")
	if err != nil {
		return nil, fmt.Errorf("local provider: temp dir: %w", err)
	}
	l.dir = dir
	l.procs = NewProcesses(filepath.Join(dir, "logs"), l.o.PIDFile)
	start := time.Now()

	pki, err := writeAPIServerPKI(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, fmt.Errorf("local provider: certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := l.procs.Start("etcd", b.Etcd, []string{
		"--name=e2e", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL,
		// Throwaway data: skip fsync, it is most of etcd's latency here.
		"--unsafe-no-fsync",
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, etcd, etcdURL+"/health", `"health":"true"`, nil, time.Minute); err != nil {
		return nil, err
	}
	logf(l.o.Log, "etcd ready at %s (pid %d, %s)", etcdURL, etcd.PID, since(start))

	apiserver, err := l.procs.Start("kube-apiserver", b.KubeAPIServer, []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + pki.ServingCert, "--tls-private-key-file=" + pki.ServingKey,
		"--client-ca-file=" + pki.CACert, "--token-auth-file=" + pki.TokenFile,
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + pki.SAPublicKey,
		"--service-account-signing-key-file=" + pki.SAPrivateKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		// No controller-manager creates each namespace's "default"
		// ServiceAccount, so the ServiceAccount admission plugin would
		// reject every Pod; nothing here depends on it.
		"--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}, nil)
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	cfg := &rest.Config{Host: host, BearerToken: pki.AdminToken, TLSClientConfig: rest.TLSClientConfig{CAData: pki.CAPEM}, QPS: 100, Burst: 200}
	if err := waitAPIServer(ctx, apiserver, cfg); err != nil {
		return nil, err
	}
	kc := kubeconfig(host, pki)
	kcBytes, err := clientcmd.Write(*kc)
	if err != nil {
		return nil, err
	}
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kcBytes, 0o600); err != nil {
		return nil, err
	}
	version, err := serverVersion(cfg)
	if err != nil {
		return nil, err
	}
	logf(l.o.Log, "kube-apiserver %s ready at %s (pid %d, %s)", version, host, apiserver.PID, since(start))
	return &controlPlane{cfg: cfg, kubeconfig: kcBytes, kubeconfigPath: kcPath, version: version}, nil
}
