package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var addrLine = regexp.MustCompile(`^127\.0\.0\.1:[0-9]+$`)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func pull(t *testing.T, ref string, opts ...remote.Option) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(r, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return err
	}
	img, err := desc.Image()
	if err != nil {
		return err
	}
	_, err = img.ConfigFile()
	return err
}

// startRun runs the command in the background until cancel; stdout is
// read line by line, done gets run's error.
func startRun(args ...string) (stdout *bufio.Reader, stderr *syncBuffer, cancel context.CancelFunc, done chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	stderr = &syncBuffer{}
	done = make(chan error, 1)
	go func() {
		done <- run(ctx, args, stdoutW, stderr)
		stdoutW.Close()
	}()
	return bufio.NewReader(stdoutR), stderr, cancel, done
}

func TestRun(t *testing.T) {
	stdout, stderr, cancel, done := startRun("--config", "../../testdata/every-fault.yaml")
	defer cancel()
	line, err := stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v (stderr: %s)", err, stderr.String())
	}
	addr := strings.TrimSpace(line)
	if !addrLine.MatchString(addr) {
		t.Fatalf("first stdout line %q, want 127.0.0.1:PORT", line)
	}
	if err := pull(t, addr+"/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	if err := pull(t, addr+"/private/app:v1", remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "alice", Password: "s3cret"}))); err != nil {
		t.Fatal(err)
	}
	err = pull(t, addr+"/denied/app:v1")
	if want := "GET http://" + addr + "/v2/denied/app/manifests/v1: DENIED: requested access to the resource is denied"; err == nil || err.Error() != want {
		t.Errorf("denied: %v, want %s", err, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	logs := stderr.String()
	for _, want := range []string{"GET /v2/team/app/manifests/v1 200", "GET /v2/private/app/manifests/v1 200", "credentials=true", "fault=status 403", "shutting down"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "s3cret") || strings.Contains(logs, "YWxpY2U6czNjcmV0") {
		t.Errorf("log leaks the password:\n%s", logs)
	}
}

// TestRunWritesPublicKeys: --public-keys-out writes <dir>/<key>.pub for
// each signing key before the address is printed.
func TestRunWritesPublicKeys(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "signed.yaml")
	if err := os.WriteFile(cfg, []byte("signingKeys: [signer]\nimages:\n- ref: team/app:v1\n  signatures: [signer]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfg, "--public-keys-out", dir, "--quiet"}, stdout, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for stdout.String() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "signer.pub"))
	if err != nil || !strings.HasPrefix(string(pem), "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("signer.pub: %q, %v", pem, err)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("images:\n- ref: team/app:v1\n  fault: {status: teapot}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--config is required"},
		{[]string{"--config", bad}, bad + `:3:19: images[0].fault.status: want an integer, got "teapot"`},
		{[]string{"--config", "../../testdata/every-fault.yaml", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"--config", "../../testdata/every-fault.yaml", "--ca-out", "x.pem"}, "--ca-out needs tls: true or hosts"},
		{[]string{"--config", "../../testdata/every-fault.yaml", "--tls-host", "registry.test"}, "--tls-host needs tls: true"},
		{[]string{"--config", "../../testdata/every-fault.yaml", "--public-keys-out", "."}, "--public-keys-out needs signingKeys"},
	} {
		err := run(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestBinarySIGTERM builds the command, runs it as a process, pulls from
// it and stops it with SIGTERM, as cmd users and the e2e suites do.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "fakeregistry")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--config", "../../testdata/issue-example.yaml")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// Stop the process by its PID if the test failed before SIGTERM.
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the address: %v (stderr: %s)", err, stderr.String())
	}
	addr := strings.TrimSpace(line)
	if !addrLine.MatchString(addr) {
		t.Fatalf("first stdout line %q", line)
	}
	if err := pull(t, addr+"/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after SIGTERM")
	}
	if !strings.Contains(stderr.String(), "GET /v2/team/app/manifests/v1 200") {
		t.Errorf("log:\n%s", stderr.String())
	}
}

// TestRunProxy: --proxy-listen prints the proxy URL on a second stdout
// line, through which ghcr.io/team/app:v1 is the fake's.
func TestRunProxy(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ghcr.yaml")
	if err := os.WriteFile(cfg, []byte("hosts: [ghcr.io]\nimages:\n- ref: team/app:v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	out, stderr, cancel, done := startRun("--config", cfg, "--ca-out", caFile, "--proxy-listen", "127.0.0.1:0", "--quiet")
	defer cancel()
	var lines []string
	for range 2 {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("stdout: %v (stderr: %s)", err, stderr.String())
		}
		lines = append(lines, strings.TrimSpace(line))
	}
	if !strings.HasPrefix(lines[1], "http://127.0.0.1:") {
		t.Fatalf("second stdout line %q, want the proxy URL", lines[1])
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	proxyURL, _ := url.Parse(lines[1])
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if err := pull(t, "ghcr.io/team/app:v1", remote.WithTransport(tr)); err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "proxy for ghcr.io at "+lines[1]) {
		t.Errorf("stderr lacks the proxy line:\n%s", stderr.String())
	}
}
