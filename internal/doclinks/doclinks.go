// Package doclinks finds the relative links of the project's Markdown files
// that do not resolve inside the repository, so the documentation stands on
// its own on a fresh clone (issue 12). Its test runs over the whole tree.
package doclinks

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// linkPattern matches a Markdown inline link target: [text](target).
var linkPattern = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Broken is one link that does not resolve: File:Line names it, Target is
// as written.
type Broken struct {
	File   string
	Line   int
	Target string
}

func (b Broken) String() string {
	return fmt.Sprintf("%s:%d: link %s does not resolve", b.File, b.Line, b.Target)
}

// Check walks root for *.md files (skipping dot folders, _artifacts and
// .cache) and returns every relative link whose file or folder is missing,
// or that leaves root. URLs (scheme://, mailto:) and in-page anchors are not
// checked. Errors are I/O errors only.
func Check(root string) ([]Broken, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var out []Broken
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "_artifacts") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".md") {
			return nil
		}
		broken, err := checkFile(root, path)
		out = append(out, broken...)
		return err
	})
	return out, err
}

func checkFile(root, path string) ([]Broken, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rel, _ := filepath.Rel(root, path)
	var out []Broken
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	inFence := false
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		for _, m := range linkPattern.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			abs := filepath.Clean(filepath.Join(filepath.Dir(path), target))
			if !strings.HasPrefix(abs, root+string(filepath.Separator)) && abs != root {
				out = append(out, Broken{File: rel, Line: line, Target: m[1] + " (outside the repository)"})
				continue
			}
			if _, err := os.Stat(abs); err != nil {
				out = append(out, Broken{File: rel, Line: line, Target: m[1]})
			}
		}
	}
	return out, sc.Err()
}
