package fakeregistry

import (
	"context"
	"flag"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind. It also
// lets the parallel subtests (5xx and 429 cases that mostly wait about 4 s
// for ggcr's retry backoff) all run at once: -parallel defaults to
// GOMAXPROCS, which on a 2-core machine would run them two by two.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "32")
	}
	goleak.VerifyTestMain(m)
}

func TestCloseFreesPortAndGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := Start(issueExample)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if _, err := s.RefusedAddr(); err != nil {
		t.Fatal(err)
	}
	// A pull that completes, and one left stalled on a one-minute delay:
	// Close must end the stalled handler rather than wait a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pull(ctx, addr+"/team/app:v1"); err != nil {
		t.Fatal(err)
	}
	stalled := make(chan error, 1)
	slow, err := Start(Config{Images: []Image{{Ref: "slow/app:v1", Fault: &Fault{Delay: Duration(time.Minute)}}}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := pull(ctx, slow.Addr()+"/slow/app:v1")
		stalled <- err
	}()
	waitForSleeper(t, slow)
	start := time.Now()
	if err := slow.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s with a stalled handler, want it to end the handler", d)
	}
	if err := <-stalled; err == nil {
		t.Error("pull from a closed registry succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s still taken after Close: %v", addr, err)
	}
	ln.Close()
}

// waitForSleeper waits until a handler is inside a fault delay.
func waitForSleeper(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.sleeping.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no request reached the delay")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDigestsAreDeterministic(t *testing.T) {
	cfg := Config{Images: []Image{
		img("team/app:v1"),
		{Ref: "team/app:v2", Config: ImageConfig{User: "1000", Env: []string{"A=1"}, Labels: map[string]string{"maintainer": "me"},
			Volumes: []string{"/data"}, Created: "2024-01-02T03:04:05Z"}, Annotations: map[string]string{"org.example/team": "a"}, Layers: []int64{1024, 5 << 20}},
		{Ref: "multi/app:v1", Platforms: []string{"linux/amd64", "linux/arm64"}},
	}}
	got := map[string]string{}
	for run := 0; run < 2; run++ {
		s, err := Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range cfg.Images {
			d, err := s.Digest(im.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := got[im.Ref]; ok && prev != d {
				t.Errorf("%s: digest %s on run 1, %s on run 2", im.Ref, prev, d)
			}
			got[im.Ref] = d
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Fixed values: they must not change between runs, machines or Go
	// versions; scenarios pull by these digests.
	want := map[string]string{
		"team/app:v1":  "sha256:c5c3090c78a69c23565353b874b43eda3ad7c4cfcb855e839f3908ac5a11a9e6",
		"team/app:v2":  "sha256:bde192d941e6d33be63ff09af3d35c57aee2344226cf6def0425acd67f2841d1",
		"multi/app:v1": "sha256:7863d89ec1a350c0f53f23abb010fbb11c3c30ea9e1bdb642b8599e63ffb4df6",
	}
	for ref, d := range want {
		if got[ref] != d {
			t.Errorf("Digest(%s) = %s, want %s", ref, got[ref], d)
		}
	}
}
