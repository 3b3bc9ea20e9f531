package doclinks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryLinksResolve: every relative link of every Markdown file
// in the repository resolves on a clone (no link into ../shared or other
// folders a clone does not have).
func TestRepositoryLinksResolve(t *testing.T) {
	broken, err := Check("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range broken {
		t.Error(b)
	}
}

func TestCheckFindsBrokenLinks(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.md"), []byte("see [b](b.md), [gone](gone.md#x), [out](../x.md), [web](https://example.test/), [anchor](#top)\n```\n[fenced](nope.md)\n```\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	broken, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range broken {
		got = append(got, b.String())
	}
	want := "a.md:1: link gone.md#x does not resolve\na.md:1: link ../x.md (outside the repository) does not resolve"
	if strings.Join(got, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}
