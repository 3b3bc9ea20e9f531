package fakeregistry_test

import (
	"encoding/json"
	"testing"

	"github.com/imagectx/conformance/fakeregistry"
)

// TestConfigFileMergePatch reads configs written with configFile back
// through go-containerregistry: extra top-level keys and history are
// served, objects merge, null removes a key, and an image without
// configFile keeps its digest (the patch is applied only when given).
func TestConfigFileMergePatch(t *testing.T) {
	srv := startConfig(t, fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "team/app:plain", Config: fakeregistry.ImageConfig{User: "1000"}},
		{Ref: "team/app:buildkit", Config: fakeregistry.ImageConfig{User: "1000"}, ConfigFile: map[string]any{
			"moby.buildkit.buildinfo.v1": "eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ==",
			"history":                    []any{map[string]any{"created_by": "RUN make", "empty_layer": true}},
			"config":                     map[string]any{"StopSignal": "SIGTERM"},
		}},
		{Ref: "team/app:bare", ConfigFile: map[string]any{"rootfs": nil, "created": nil}},
	}})
	raw := func(tag string) map[string]any {
		img, err := getDescriptor(t, srv, "team/app:"+tag).Image()
		if err != nil {
			t.Fatal(err)
		}
		b, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	bk := raw("buildkit")
	if bk["moby.buildkit.buildinfo.v1"] != "eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ==" || bk["history"] == nil {
		t.Errorf("extra keys not served: %v", bk)
	}
	cfg, _ := bk["config"].(map[string]any)
	if cfg["User"] != "1000" || cfg["StopSignal"] != "SIGTERM" {
		t.Errorf("config not merged: %v", cfg)
	}
	bare := raw("bare")
	if _, ok := bare["rootfs"]; ok {
		t.Errorf("rootfs: null did not remove it: %v", bare)
	}
	// The plain image's digest is the one every scenario relies on.
	if d, _ := srv.Digest("team/app:plain"); d != "sha256:d2a158174c1e881ee2b98d15574da88a9105a06506e313d6aaef3d0125604aa4" {
		t.Errorf("plain image digest changed: %s", d)
	}
	if err := (fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "a/b:v1", Missing: true, ConfigFile: map[string]any{"x": 1}}}}).Validate(); err == nil {
		t.Error("configFile on a missing tag: want an error")
	}
}
