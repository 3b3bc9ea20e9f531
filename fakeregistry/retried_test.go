package fakeregistry_test

import (
	"testing"

	"github.com/imagectx/conformance/fakeregistry"
)

// Retried follows go-containerregistry's default retry statuses.
func TestFaultRetried(t *testing.T) {
	for status, want := range map[int]bool{0: false, 401: false, 403: false, 404: false, 408: true, 429: true, 500: true, 501: false, 503: true, 504: true} {
		if got := (&fakeregistry.Fault{Status: status}).Retried(); got != want {
			t.Errorf("status %d: Retried %t, want %t", status, got, want)
		}
	}
	var none *fakeregistry.Fault
	if none.Retried() {
		t.Error("a nil fault is retried")
	}
}
