package fakeregistry

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkFaultLayerAlone is the fault layer's own cost per manifest GET
// (route, lookups, auth and fault checks, request record): the registry
// behind it is replaced by a handler that only answers 200. The figure
// includes httptest.NewRecorder, as the other handler benchmarks do.
func BenchmarkFaultLayerAlone(b *testing.B) {
	s, err := Start(issueExample)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.registry = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest(http.MethodGet, "/v2/team/app/manifests/v1", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRecorderAlone is the httptest.NewRecorder share of the figures.
func BenchmarkRecorderAlone(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest(http.MethodGet, "/v2/team/app/manifests/v1", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
