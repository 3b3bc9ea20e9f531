package fakeregistry_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/imagectx/conformance/fakeregistry"
)

// TestManifestFormats pulls each Image.Format through go-containerregistry:
// Docker schema 2 manifests, manifest lists and configs carry Docker's media
// types and read like OCI ones; a schema 1 manifest is served, and refused
// by the client when it reads the image.
func TestManifestFormats(t *testing.T) {
	srv := startConfig(t, fakeregistry.Config{Images: []fakeregistry.Image{
		{Ref: "team/app:docker", Format: "docker", Config: fakeregistry.ImageConfig{User: "1000"}, Layers: []int64{10}},
		{Ref: "team/app:docker-list", Format: "docker", Platforms: []string{"linux/amd64", "linux/arm64"}},
		{Ref: "team/app:old", Format: "schema1", Config: fakeregistry.ImageConfig{User: "root"}},
	}})
	get := func(tag string) *remote.Descriptor { return getDescriptor(t, srv, "team/app:"+tag) }
	d := get("docker")
	if d.MediaType != types.DockerManifestSchema2 {
		t.Errorf("docker manifest media type %s", d.MediaType)
	}
	img, err := d.Image()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.DockerConfigJSON || len(m.Layers) != 1 || m.Layers[0].MediaType != types.DockerLayer {
		t.Errorf("docker manifest: config %s, layers %v", m.Config.MediaType, m.Layers)
	}
	if cf, err := img.ConfigFile(); err != nil || cf.Config.User != "1000" {
		t.Errorf("docker config: %v, %v", cf, err)
	}
	if d := get("docker-list"); d.MediaType != types.DockerManifestList {
		t.Errorf("docker list media type %s", d.MediaType)
	}
	old := get("old")
	if old.MediaType != types.DockerManifestSchema1Signed {
		t.Errorf("schema 1 media type %s", old.MediaType)
	}
	// go-containerregistry refuses schema 1 when asked for the image; the
	// message ends with a link to its issue 377.
	_, err = old.Image()
	want := `unsupported MediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws", see `
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "/issues/377") {
		t.Errorf("schema 1 Image() err = %v, want %q...issues/377", err, want)
	}
	if err := (fakeregistry.Config{Images: []fakeregistry.Image{{Ref: "a/b:v1", Format: "v3"}}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), `images[0].format: want "oci" (default), "docker" or "schema1", got "v3"`) {
		t.Errorf("format v3: %v", err)
	}
}

// Every enumerated field names its values (the types' Values) when given
// another, the default first where there is one.
func TestValidateEnumerations(t *testing.T) {
	cfg := fakeregistry.Config{
		Images: []fakeregistry.Image{{Ref: "a/b:v1", Malformed: "xml"}},
		Repositories: []fakeregistry.Repository{
			{Name: "a/c", Auth: &fakeregistry.Auth{Type: "digest", Username: "u", Password: "p"}},
			{Name: "a/d", Fault: &fakeregistry.Fault{Corrupt: "shuffle", On: "tags"}},
		},
	}
	err := cfg.Validate()
	for _, want := range []string{
		`images[0].malformed: want "json" or "mediatype", got "xml"`,
		`repositories[0].auth.type: want "basic" or "bearer", got "digest"`,
		`repositories[1].fault.corrupt: want "truncate", "reset" or "digest", got "shuffle"`,
		`repositories[1].fault.on: want "manifests" (default), "blobs" or "all", got "tags"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validation lacks %q:\n%v", want, err)
		}
	}
}
