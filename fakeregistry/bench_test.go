package fakeregistry

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// BenchmarkManifestGet compares GET /v2/team/app/manifests/v1 through the
// fault layer (a config with auth and faults on other repositories, so every
// lookup runs) with go-containerregistry's bare handler seeded with the same
// manifest, in process (handler cost only) and over loopback HTTP.
//
//	go test -run x -bench . ./fakeregistry
func BenchmarkManifestGet(b *testing.B) {
	s, bare, bareURL := fakeAndBareRegistries(b)
	const path = "/v2/team/app/manifests/v1"
	handlers := []struct {
		name string
		h    http.Handler
		url  string
	}{
		{"ggcr", bare, bareURL},
		{"fakeregistry", s, "http://" + s.Addr()},
	}
	for _, h := range handlers {
		b.Run("handler/"+h.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
	for _, h := range handlers {
		b.Run("http/"+h.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(h.url + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// fakeAndBareRegistries starts the fault layer for issueExample and, for
// comparison, go-containerregistry's bare handler seeded with the same
// images and served like Start serves (see serveLikeServer). Both are
// closed when the benchmark ends.
func fakeAndBareRegistries(b *testing.B) (s *Server, bare http.Handler, bareURL string) {
	b.Helper()
	s, err := Start(issueExample)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	bare = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	st, err := newState(issueExample, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.seed(bare); err != nil {
		b.Fatal(err)
	}
	return s, bare, serveLikeServer(b, bare)
}

// BenchmarkManifestGetInterleaved alternates GETs through ggcr's bare
// handler and through the fault layer (swapping which goes first), so both
// see the same machine load: this machine is shared and its load swings by
// tens of percent within seconds. Time is summed per batch of 64 GETs each;
// the reported overhead is the median over batches, which a load spike in
// a few batches does not move.
func BenchmarkManifestGetInterleaved(b *testing.B) {
	s, bare, bareURL := fakeAndBareRegistries(b)
	const path = "/v2/team/app/manifests/v1"

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	inProcess := func(h http.Handler) func() int {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		return func() int {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
	}
	overHTTP := func(url string) func() int {
		return func() int {
			resp, err := client.Get(url + path)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	for _, mode := range []struct {
		name        string
		bare, fault func() int
	}{
		{"handler", inProcess(bare), inProcess(s)},
		{"http", overHTTP(bareURL), overHTTP("http://" + s.Addr())},
	} {
		b.Run(mode.name, func(b *testing.B) {
			const batch = 64
			var bareNs, faultNs, batchBare, batchFault time.Duration
			var ratios []float64
			i := 0
			timed := func(get func() int, acc, batchAcc *time.Duration) {
				t0 := time.Now()
				code := get()
				d := time.Since(t0)
				*acc += d
				*batchAcc += d
				if code != http.StatusOK {
					b.Fatalf("status %d", code)
				}
			}
			for b.Loop() {
				if i%2 == 0 {
					timed(mode.bare, &bareNs, &batchBare)
					timed(mode.fault, &faultNs, &batchFault)
				} else {
					timed(mode.fault, &faultNs, &batchFault)
					timed(mode.bare, &bareNs, &batchBare)
				}
				if i++; i%batch == 0 {
					ratios = append(ratios, float64(batchFault)/float64(batchBare))
					batchBare, batchFault = 0, 0
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(bareNs.Nanoseconds())/n, "ggcr-ns/get")
			b.ReportMetric(float64(faultNs.Nanoseconds())/n, "fault-ns/get")
			if len(ratios) > 0 {
				sort.Float64s(ratios)
				b.ReportMetric(100*(ratios[len(ratios)/2]-1), "median-overhead-%")
			}
		})
	}
}

// serveLikeServer serves h the way Start serves the fault layer (a plain
// http.Server on 127.0.0.1:0), so the HTTP figures compare handlers only.
func serveLikeServer(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	b.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}
