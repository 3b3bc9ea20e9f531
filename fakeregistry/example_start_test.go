package fakeregistry_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagectx/conformance/fakeregistry"
)

// The README's Go example, compiled and run.
func ExampleStart() {
	cfg, err := fakeregistry.ParseConfig("inline", []byte(`
images:
- ref: team/app:v1
  config: {User: "1000"}
- ref: denied/app:v1
  fault: {status: 403}
`))
	if err != nil {
		panic(err)
	}
	reg, err := fakeregistry.Start(cfg) // 127.0.0.1 with a free port
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	digest, _ := reg.Digest("team/app:v1") // the same on every run and machine
	fmt.Println(digest)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ref, err := name.ParseReference(reg.Addr() + "/denied/app:v1")
	if err != nil {
		panic(err)
	}
	_, err = remote.Get(ref, remote.WithContext(ctx))
	fmt.Println(strings.ReplaceAll(err.Error(), reg.Addr(), "${REGISTRY}"))
	fmt.Println(reg.Requested("denied/app:v1"), reg.Requested("team/app:v1"))
	// Output:
	// sha256:d2a158174c1e881ee2b98d15574da88a9105a06506e313d6aaef3d0125604aa4
	// GET http://${REGISTRY}/v2/denied/app/manifests/v1: DENIED: requested access to the resource is denied
	// true false
}
