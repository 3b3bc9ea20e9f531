package kyvernocli

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/modfile"
)

// pinExceptions are the modules the CLI's build module (tools/kyverno,
// Kyverno's own requirements) may pin differently from this module, each
// with the reason; the in-process engine links this module's version.
var pinExceptions = map[string]string{
	"go.yaml.in/yaml/v3": "this module's Gomega (the suites' matchers) requires v3.0.5; the CLI keeps Kyverno v1.19.1's v3.0.4",
}

// TestOnePin: the Kyverno CLI (tools/kyverno/go.mod) and the in-process
// engine (go.mod) are the same Kyverno: the same kyverno/kyverno version,
// the same replace directives, and the same version of every module both
// require, but for pinExceptions. It fails naming each difference, and an
// exception that no longer differs.
func TestOnePin(t *testing.T) {
	main := readModFile(t, filepath.Join("..", "..", "go.mod"))
	cli := readModFile(t, filepath.Join("..", "..", "tools", "kyverno", "go.mod"))
	mainReq, cliReq := requirements(main), requirements(cli)
	if mainReq["github.com/kyverno/kyverno"] == "" || mainReq["github.com/kyverno/kyverno"] != cliReq["github.com/kyverno/kyverno"] {
		t.Errorf("github.com/kyverno/kyverno: go.mod %q, tools/kyverno/go.mod %q; want the same release", mainReq["github.com/kyverno/kyverno"], cliReq["github.com/kyverno/kyverno"])
	}
	shared := 0
	for path, v := range mainReq {
		cv, ok := cliReq[path]
		if !ok {
			continue
		}
		shared++
		_, excepted := pinExceptions[path]
		switch {
		case v != cv && !excepted:
			t.Errorf("%s: go.mod %s, tools/kyverno/go.mod %s; the CLI and the in-process engine would link different code (align them, or add it to pinExceptions with the reason)", path, v, cv)
		case v == cv && excepted:
			t.Errorf("%s: both pin %s; remove it from pinExceptions", path, v)
		}
	}
	if shared < 100 {
		t.Errorf("only %d modules required by both; want Kyverno's requirements in both files", shared)
	}
	replaces := func(f *modfile.File) map[string]string {
		out := map[string]string{}
		for _, r := range f.Replace {
			out[r.Old.Path+"@"+r.Old.Version] = r.New.Path + "@" + r.New.Version
		}
		return out
	}
	mainRep, cliRep := replaces(main), replaces(cli)
	for old, nw := range cliRep {
		if mainRep[old] != nw {
			t.Errorf("replace %s => %s in tools/kyverno/go.mod, go.mod has %q", old, nw, mainRep[old])
		}
	}
	for old, nw := range mainRep {
		if cliRep[old] != nw {
			t.Errorf("replace %s => %s in go.mod, tools/kyverno/go.mod has %q", old, nw, cliRep[old])
		}
	}
}

func readModFile(t *testing.T, path string) *modfile.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(path, data, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func requirements(f *modfile.File) map[string]string {
	out := map[string]string{}
	for _, r := range f.Require {
		out[r.Mod.Path] = r.Mod.Version
	}
	return out
}
