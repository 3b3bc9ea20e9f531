package fakeregistry

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// issueExampleYAML is the minimum config from issue 2, verbatim.
const issueExampleYAML = `images:
- ref: team/app:v1
  config: {User: "1000", Labels: {maintainer: me}}
- ref: private/app:v1
  auth: {type: basic, username: alice, password: s3cret}
- ref: token/app:v1
  auth: {type: bearer, username: alice, password: s3cret}
- ref: denied/app:v1
  fault: {status: 403}
- ref: slow/app:v1
  fault: {delay: 2s}
- ref: flaky/app:v1
  fault: {status: 500, times: 2}
`

func TestParseConfigIssueSample(t *testing.T) {
	got, err := ParseConfig("example.yaml", []byte(issueExampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, issueExample) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, issueExample)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top-level field", "imagez: []\n",
			`cfg.yaml:1:1: imagez: unknown field "imagez"; want one of: challenge, hosts, images, ping, repositories, signingKeys, storageHost, tls`},
		{"unknown image field", "images:\n- ref: a/b:v1\n  tags: [x]\n",
			`cfg.yaml:3:3: images[0].tags: unknown field "tags"; want one of: annotations, attestations, auth, config, configFile, fault, format, layerMediaType, layers, malformed, mediaType, missing, platformConfigFiles, platforms, ref, signatures`},
		{"status not an integer", "images:\n- ref: a/b:v1\n  fault: {status: forbidden}\n",
			`cfg.yaml:3:19: images[0].fault.status: want an integer, got "forbidden"`},
		{"bad duration", "images:\n- ref: a/b:v1\n  fault: {delay: 2 seconds}\n",
			`cfg.yaml:3:18: images[0].fault.delay: want a duration such as "2s" or "500ms", got "2 seconds"`},
		{"images not a list", "images: {ref: a/b:v1}\n",
			`cfg.yaml:1:9: images: want a list, got a mapping`},
		{"duplicate key", "images:\n- ref: a/b:v1\n  ref: a/b:v2\n",
			`cfg.yaml:3:3: images[0].ref: duplicate key "ref"`},
		{"ref without tag (validation, located)", "images:\n- ref: team/app\n",
			`cfg.yaml:2:8: images[0].ref: want "repository:tag" such as team/app:v1, got "team/app" (no tag)`},
		{"status out of range", "images:\n- ref: a/b:v1\n  fault:\n    status: 200\n",
			`cfg.yaml:4:13: images[0].fault.status: want an HTTP error status (400-599) such as 403, 429, 500 or 503, got 200`},
		{"auth type", "images:\n- ref: a/b:v1\n  auth: {type: digest, username: u, password: p}\n",
			`cfg.yaml:3:16: images[0].auth.type: want "basic" or "bearer", got "digest"`},
		{"fault that does nothing", "repositories:\n- name: a/b\n  fault: {times: 2}\n",
			`cfg.yaml:3:10: repositories[0].fault: a fault needs a status, a delay or corrupt`},
		{"ping fault on an image", "images:\n- ref: a/b:v1\n  fault: {delay: 1s, on: ping}\n",
			`cfg.yaml:3:26: images[0].fault.on: GET /v2/ names no repository; put a ping fault under the top-level ping: key`},
		{"missing with content", "images:\n- ref: a/b:v1\n  missing: true\n  layers: [10]\n",
			`cfg.yaml:3:12: images[0].missing: a missing tag has no content, but layers set`},
		{"malformed value", "images:\n- ref: a/b:v1\n  malformed: yes\n",
			`cfg.yaml:3:14: images[0].malformed: want "json" or "mediatype", got "yes"`},
		{"bad created", "images:\n- ref: a/b:v1\n  config: {created: yesterday}\n",
			`cfg.yaml:3:21: images[0].config.created: want an RFC 3339 time such as 2024-01-02T03:04:05Z, got "yesterday"`},
		{"duplicate ref", "images:\n- ref: a/b:v1\n- ref: a/b:v1\n",
			`cfg.yaml:3:8: images[1].ref: duplicate of images[0].ref "a/b:v1"`},
		{"bad platform", "images:\n- ref: a/b:v1\n  platforms: [linux]\n",
			`cfg.yaml:3:15: images[0].platforms[0]: want "os/architecture[/variant]" such as linux/arm64, got "linux"`},
		{"malformed index", "images:\n- ref: a/b:v1\n  platforms: [linux/amd64]\n  malformed: json\n",
			`cfg.yaml:4:14: images[0].malformed: a malformed manifest is a single-platform image; remove platforms`},
		{"tls not a bool", "tls: maybe\n",
			`cfg.yaml:1:6: tls: want true or false, got "maybe"`},
		{"host with a scheme", "hosts: [https://ghcr.io]\n",
			`cfg.yaml:1:9: hosts[0]: want a registry host name such as ghcr.io or registry.example:5000 (no scheme or path), got "https://ghcr.io"`},
		{"host that is an address", "hosts: [10.0.0.1]\n",
			`cfg.yaml:1:9: hosts[0]: want a registry host name such as ghcr.io or registry.example:5000, got the IP address "10.0.0.1" (an address is reached directly, not by name; use a second registry's ${REGISTRY_<name>})`},
		{"host without a dot", "hosts: [nginx]\n",
			`cfg.yaml:1:9: hosts[0]: want a registry host name such as ghcr.io or registry.example:5000, got "nginx" (a name without a dot is read as a repository, not a registry)`},
		{"local host", "hosts: [registry.local]\n",
			`cfg.yaml:1:9: hosts[0]: want a registry host name such as ghcr.io or registry.example:5000, got "registry.local", which clients reach over plain HTTP and never through a proxy`},
		{"host with a bad port", "hosts: [ghcr.io:99999]\n",
			`cfg.yaml:1:9: hosts[0]: want a registry host name such as ghcr.io or registry.example:5000, got "ghcr.io:99999" (port "99999" is not 1-65535)`},
		{"host in upper case", "hosts: [GHCR.io]\n",
			`cfg.yaml:1:9: hosts[0]: want a registry host name such as ghcr.io or registry.example:5000, got "GHCR.io" (label "GHCR": lower-case letters, digits and '-')`},
		{"Docker Hub twice", "hosts: [docker.io, index.docker.io]\n",
			`cfg.yaml:1:20: hosts[1]: duplicate of hosts[0] (both are index.docker.io)`},
		{"Docker Hub twice, one with its port", "hosts: [docker.io:443, index.docker.io]\n",
			`cfg.yaml:1:24: hosts[1]: duplicate of hosts[0] (both are index.docker.io)`},
		{"not YAML", "images: [\n", "cfg.yaml: yaml: line 1: did not find expected node content"},
		// Found by FuzzParseConfig (testdata/fuzz/FuzzParseConfig): these
		// validated, then Start failed to encode the JSON.
		{"configFile key not a string", "images:\n- ref: a/b:v1\n  configFile:\n    history:\n    - {1: created}\n",
			`cfg.yaml:5:7: images[0].configFile.history[0]: want a string key, got 1 (JSON object keys are strings; quote it)`},
		{"configFile NaN", "images:\n- ref: a/b:v1\n  configFile: {size: .nan}\n",
			`cfg.yaml:3:22: images[0].configFile.size: want a JSON number, got NaN (JSON has no NaN or infinity)`},
		{"platformConfigFiles null key", "images:\n- ref: a/b:v1\n  platforms: [linux/amd64]\n  platformConfigFiles:\n    linux/amd64: {config: {Labels: {null: x}}}\n",
			`cfg.yaml:5:36: images[0].platformConfigFiles.linux/amd64.config.Labels: want a string key, got null (JSON object keys are strings; quote it)`},
		// Found in review: every key a string, but tagged.
		{"configFile tagged key", "images:\n- ref: a/b:v1\n  configFile: {config: {!t a: 1}}\n",
			`cfg.yaml:3:24: images[0].configFile.config: want a JSON object, got a mapping whose keys carry YAML tags; remove the tags`},
		{"predicate infinity", "signingKeys: [k]\nimages:\n- ref: a/b:v1\n  attestations:\n  - {key: k, predicateType: x, predicate: {n: -.inf}}\n",
			`cfg.yaml:5:47: images[0].attestations[0].predicate.n: want a JSON number, got -Inf (JSON has no NaN or infinity)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig("cfg.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if err.Error() != c.want {
				t.Errorf("\n got %q\nwant %q", err, c.want)
			}
		})
	}
}

func TestParseConfigAllFields(t *testing.T) {
	src := `tls: true
ping: {delay: 100ms, on: ping}
repositories:
- name: team/app
  auth: {type: bearer, username: bob, password: pw, tokenTTL: 1m, emptyBody: true}
  fault: {status: 503, times: 1, on: all}
images:
- ref: team/app:v1
  config:
    User: "1000"
    Env: [A=1]
    Labels: {a: b}
    Volumes: [/data]
    Entrypoint: [/bin/app]
    Cmd: [serve]
    WorkingDir: /srv
    created: "2024-01-02T03:04:05Z"
    os: linux
    architecture: arm64
  annotations: {org.example/x: "y"}
  layers: [100, 200]
  fault: {status: 500, body: boom, delay: 10ms, on: blobs}
- ref: team/app:idx
  platforms: [linux/amd64, linux/arm64/v8]
- ref: team/app:bad
  malformed: mediatype
- ref: team/app:gone
  missing: true
  auth: {type: basic, username: u, password: p}
`
	cfg, err := ParseConfig("all.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TLS || time.Duration(cfg.Ping.Delay) != 100*time.Millisecond || cfg.Repositories[0].Auth.TokenTTL != Duration(time.Minute) ||
		cfg.Images[0].Config.Architecture != "arm64" || cfg.Images[0].Layers[1] != 200 || cfg.Images[0].Fault.Body != "boom" ||
		cfg.Images[1].Platforms[1] != "linux/arm64/v8" || !cfg.Images[3].Missing || cfg.Images[0].Config.Volumes[0] != "/data" {
		t.Errorf("decoded %+v", cfg)
	}
}

func TestLoadConfigNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(path, []byte("images:\n- ref: a/b:v1\n  fault: {status: 99}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":3:19: images[0].fault.status:") {
		t.Errorf("error %v, want it to start with %s:3:19", err, path)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("error %v, want the missing file named", err)
	}
}

func TestConfigUnmarshalYAML(t *testing.T) {
	// A scenario file embedding a registry config gets strict decoding.
	var doc struct {
		Registry Config `yaml:"registry"`
	}
	if err := yaml.Unmarshal([]byte("registry:\n  "+strings.ReplaceAll(issueExampleYAML, "\n", "\n  ")), &doc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Registry, issueExample) {
		t.Errorf("decoded %+v", doc.Registry)
	}
	err := yaml.Unmarshal([]byte("registry:\n  images:\n  - ref: a/b:v1\n    nope: 1\n"), &doc)
	if err == nil || err.Error() != `config:4:5: images[0].nope: unknown field "nope"; want one of: annotations, attestations, auth, config, configFile, fault, format, layerMediaType, layers, malformed, mediaType, missing, platformConfigFiles, platforms, ref, signatures` {
		t.Errorf("error %v", err)
	}
}
