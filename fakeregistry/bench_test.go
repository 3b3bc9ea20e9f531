package fakeregistry

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
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
	s, err := Start(issueExample)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bare := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	st, err := newState(issueExample)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.seed(bare); err != nil {
		b.Fatal(err)
	}
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()

	const path = "/v2/team/app/manifests/v1"
	handlers := []struct {
		name string
		h    http.Handler
		url  string
	}{
		{"ggcr", bare, bareSrv.URL},
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

// BenchmarkManifestGetInterleaved alternates one GET through ggcr's bare
// handler and one through the fault layer in every iteration, so both see
// the same machine load (this machine is shared), and reports each one's
// mean time and the fault layer's overhead in percent.
func BenchmarkManifestGetInterleaved(b *testing.B) {
	s, err := Start(issueExample)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bare := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	st, err := newState(issueExample)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.seed(bare); err != nil {
		b.Fatal(err)
	}
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()
	const path = "/v2/team/app/manifests/v1"

	report := func(b *testing.B, bareNs, faultNs time.Duration) {
		n := float64(b.N)
		b.ReportMetric(float64(bareNs.Nanoseconds())/n, "ggcr-ns/get")
		b.ReportMetric(float64(faultNs.Nanoseconds())/n, "fault-ns/get")
		b.ReportMetric(100*(float64(faultNs)/float64(bareNs)-1), "overhead-%")
	}
	b.Run("handler", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		var bareNs, faultNs time.Duration
		for b.Loop() {
			for _, h := range []struct {
				h   http.Handler
				acc *time.Duration
			}{{bare, &bareNs}, {s, &faultNs}} {
				rec := httptest.NewRecorder()
				t0 := time.Now()
				h.h.ServeHTTP(rec, req)
				*h.acc += time.Since(t0)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		}
		report(b, bareNs, faultNs)
	})
	b.Run("http", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		var bareNs, faultNs time.Duration
		for b.Loop() {
			for _, h := range []struct {
				url string
				acc *time.Duration
			}{{bareSrv.URL, &bareNs}, {"http://" + s.Addr(), &faultNs}} {
				t0 := time.Now()
				resp, err := client.Get(h.url + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				*h.acc += time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		}
		report(b, bareNs, faultNs)
	})
}
