package fakeregistry

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfig feeds registry configs, real and broken, to ParseConfig:
// bad input is an error that names the file, never a panic; a config that
// parses validates again and builds every image's manifests and blobs (what
// Start seeds the registry with, without the server, TLS or signing keys).
//
//	go test -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 60s ./fakeregistry
func FuzzParseConfig(f *testing.F) {
	paths, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed config in testdata: %v", err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"images: [{ref: 'a/b:c', platforms: [linux/amd64, linux/arm64/v8], platformConfigFiles: {linux/amd64: {os: x}}}]",
		"images: [{ref: 'a/b:c', configFile: {rootfs: null, config: {User: 7}}}]",
		"images: [{ref: 'a/b:c', malformed: json, layers: [1, 2]}]",
		"images: [{ref: 'a/b:c', format: schema1}]",
		"images: [{ref: 'a/b:c', signatures: [k], attestations: [{key: k, predicateType: x, predicate: {a: 1}}]}]\nsigningKeys: [k]",
		"hosts: [docker.io, 'ghcr.io:443']\nstorageHost: storage.example\nchallenge: {type: bearer, realm: 'https://ghcr.io/token'}\nrepositories: [{name: a/b, auth: {type: bearer, username: u, password: p}}]",
		"ping: {status: 503, times: 1}",
		"images: [{ref: 'a/b:c'}, {ref: 'a/b:c'}]",
		"images: {}",
		"images: [{ref: 'a/b:c', fault: {delay: 1x}}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		cfg, err := ParseConfig(name, data)
		if err != nil {
			msg := err.Error()
			if strings.TrimSpace(msg) == "" {
				t.Fatalf("ParseConfig error %#v has no text", err)
			}
			for _, e := range unjoin(err) {
				if !strings.Contains(e.Error(), name) {
					t.Errorf("error %q does not name the file %s", e, name)
				}
				var fe *FieldError
				if errors.As(e, &fe) && fe.File != name {
					t.Errorf("error %q names the file %q, want %s", e, fe.File, name)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config that Validate refuses: %v", err)
		}
		_ = cfg.RegistryHosts()
		for i, img := range cfg.Images {
			if img.Missing {
				continue
			}
			if _, err := buildImage(i, img); err != nil {
				t.Errorf("images[%d]: ParseConfig accepted an image that cannot be built: %v", i, err)
			}
			for j, a := range img.Attestations {
				if _, err := json.Marshal(a.Predicate); err != nil {
					t.Errorf("images[%d].attestations[%d]: ParseConfig accepted a predicate that is not JSON: %v", i, j, err)
				}
			}
		}
	})
}
