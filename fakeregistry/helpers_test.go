package fakeregistry_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagectx/conformance/fakeregistry"
)

// startConfig serves cfg on a fake registry for the rest of the test.
func startConfig(t *testing.T, cfg fakeregistry.Config) *fakeregistry.Server {
	t.Helper()
	srv, err := fakeregistry.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// getDescriptor fetches repoTag ("team/app:v1") from srv as
// go-containerregistry does (remote.Get), failing the test on an error.
func getDescriptor(t *testing.T, srv *fakeregistry.Server, repoTag string, opts ...remote.Option) *remote.Descriptor {
	t.Helper()
	ref, err := name.ParseReference(srv.Addr() + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
