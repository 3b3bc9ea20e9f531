package fakeregistry_test

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagectx/conformance/fakeregistry"
)

// TestImageModel pulls the image shapes real registries serve besides the
// default: per-platform configs in an index, another layer media type, a
// manifest media type of the scenario's choice.
func TestImageModel(t *testing.T) {
	srv := startConfig(t, fakeregistry.Config{Images: []fakeregistry.Image{
		{
			Ref: "team/app:multi", Config: fakeregistry.ImageConfig{User: "1000"},
			Platforms:           []string{"linux/amd64", "linux/arm64/v8"},
			PlatformConfigFiles: map[string]map[string]any{"linux/arm64/v8": {"config": map[string]any{"User": "2000"}}},
		},
		{Ref: "team/app:zstd", Layers: []int64{10, 0}, LayerMediaType: "application/vnd.oci.image.layer.v1.tar+zstd"},
		{Ref: "team/app:artifact", MediaType: "application/vnd.oci.artifact.manifest.v1+json"},
		{Ref: "team/app:empty"},
	}})
	get := func(tag string, opts ...remote.Option) *remote.Descriptor {
		t.Helper()
		return getDescriptor(t, srv, "team/app:"+tag, opts...)
	}
	user := func(d *remote.Descriptor) string {
		t.Helper()
		img, err := d.Image()
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		return cf.Config.User
	}
	// go-containerregistry (and so Kyverno) picks linux/amd64 by default.
	if got := user(get("multi")); got != "1000" {
		t.Errorf("multi, default platform: User %q, want 1000", got)
	}
	arm := v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	if got := user(get("multi", remote.WithPlatform(arm))); got != "2000" {
		t.Errorf("multi, linux/arm64/v8: User %q, want 2000", got)
	}

	img, err := get("zstd").Image()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 2 || m.Layers[0].MediaType != types.OCILayerZStd || m.Layers[1].MediaType != types.OCILayerZStd {
		t.Errorf("zstd layers: %v", m.Layers)
	}

	// An empty layer list is the default (layers: []), as for a scratch image.
	img, err = get("empty").Image()
	if err != nil {
		t.Fatal(err)
	}
	if m, err := img.Manifest(); err != nil || m.Layers == nil || len(m.Layers) != 0 {
		t.Errorf("empty: layers %v, %v; want []", m.Layers, err)
	}

	d := get("artifact")
	if d.MediaType != "application/vnd.oci.artifact.manifest.v1+json" {
		t.Errorf("artifact media type %s", d.MediaType)
	}
	// go-containerregistry reads a manifest of a media type it does not
	// know as an image (some registries send wrong Content-Types), so the
	// lookup succeeds and the policy sees the type in imageData.manifest.
	img, err = d.Image()
	if err != nil {
		t.Fatalf("artifact Image(): %v", err)
	}
	if m, err := img.Manifest(); err != nil || m.MediaType != "application/vnd.oci.artifact.manifest.v1+json" {
		t.Errorf("artifact manifest media type %v, %v", m.MediaType, err)
	}
}

func TestImageModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		img  fakeregistry.Image
		want string
	}{
		{"platform config of no platform", fakeregistry.Image{Ref: "a/b:v1", Platforms: []string{"linux/amd64"}, PlatformConfigFiles: map[string]map[string]any{"linux/arm64": {}}},
			`fakeregistry config: images[0].platformConfigFiles.linux/arm64: want one of platforms [linux/amd64], got "linux/arm64"`},
		{"bad media type", fakeregistry.Image{Ref: "a/b:v1", Layers: []int64{1}, LayerMediaType: "zstd"},
			`fakeregistry config: images[0].layerMediaType: want a media type "type/subtype" such as application/vnd.oci.image.layer.v1.tar+zstd, got "zstd"`},
		{"media type twice", fakeregistry.Image{Ref: "a/b:v1", MediaType: "text/plain", Malformed: "mediatype"},
			`fakeregistry config: images[0].mediaType: malformed: mediatype sets the media type already; remove one`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := fakeregistry.Start(fakeregistry.Config{Images: []fakeregistry.Image{tc.img}})
			if err == nil {
				srv.Close()
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}
