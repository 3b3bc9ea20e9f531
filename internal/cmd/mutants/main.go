// Command mutants measures how many broken Kyverno builds the
// specification catches (package internal/mutants): it makes single-point
// mutants of Kyverno's files on the image-data path, applies each to a
// Kyverno checkout as a commit of its own, builds the suite with that
// checkout linked (make suite-bin KYVERNO_SRC=...) and runs it in process
// (make conformance), and writes mutants.md and mutants.json.
//
//	mutants [-src DIR] [-files a.go,b.go] [-n N] [-seed S] [-timeout 10m] [-o ARTIFACTS]
//
// Without -src (or KYVERNO_SRC) it copies the pinned Kyverno module into
// .cache/mutants/kyverno-<version> once, as a git repository. Results are
// cached per mutant in .cache/mutants/results-<commit>.json, so a run that
// stops resumes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/imagectx/conformance/internal/mutants"
)

// defaultFiles are Kyverno v1.19.1's files on the imageRegistry path: the
// image-data loader, the registry client adapter, the registry client and
// context loader factories, deferred loading.
var defaultFiles = []string{
	"pkg/engine/context/loaders/imagedata.go",
	"pkg/engine/adapters/rclient.go",
	"pkg/engine/factories/registryclientfactory.go",
	"pkg/engine/factories/contextloaderfactory.go",
	"pkg/engine/context/deferred.go",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fl := flag.NewFlagSet("mutants", flag.ContinueOnError)
	src := fl.String("src", os.Getenv("KYVERNO_SRC"), "Kyverno git checkout to mutate (default: a copy of the pinned module)")
	files := fl.String("files", strings.Join(defaultFiles, ","), "files to mutate, relative to the checkout, comma-separated")
	n := fl.Int("n", 0, "judge a sample of N mutants (0: all)")
	seed := fl.Uint64("seed", 1, "the sample's seed")
	timeout := fl.Duration("timeout", 10*time.Minute, "bound on each command per mutant")
	out := fl.String("o", "_artifacts", "folder for mutants.md and mutants.json")
	if err := fl.Parse(args); err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if *src == "" {
		if *src, err = pinnedCopy(ctx, root); err != nil {
			return err
		}
	}
	commit, err := gitOut(ctx, *src, "rev-parse", "HEAD")
	if err != nil {
		return fmt.Errorf("-src %s: want a git checkout: %w", *src, err)
	}
	var all []mutants.Mutant
	for _, f := range strings.Split(*files, ",") {
		data, err := os.ReadFile(filepath.Join(*src, f))
		if err != nil {
			return fmt.Errorf("-files: %w", err)
		}
		ms, err := mutants.Generate(f, data)
		if err != nil {
			return err
		}
		all = append(all, ms...)
	}
	sample := mutants.Sample(all, *n, *seed)
	fmt.Printf("==> mutants: %d generated in %d files of %s at %s; judging %d (each: relink the suite with the mutant, about 15 s warm, then run it in process, about 25 s)\n",
		len(all), len(strings.Split(*files, ",")), *src, commit[:12], len(sample))
	r := &mutants.Runner{
		Checkout:    *src,
		Dir:         root,
		Build:       []string{"make", "--no-print-directory", "suite-bin", "KYVERNO_SRC={src}"},
		Judge:       []string{"make", "--no-print-directory", "conformance", "KYVERNO_SRC={src}", "ARTIFACTS={artifacts}", "ENGINE=inprocess"},
		Timeout:     *timeout,
		Cache:       filepath.Join(root, ".cache", "mutants", "results-"+commit[:12]+".json"),
		ResultsFile: "results-inprocess.json",
		Cleanup: func(c string) {
			// The suite binary and go.work of a mutant commit are used once.
			short := c[:12]
			os.Remove(filepath.Join(root, ".cache", "bin", "conformance-src-"+short+".test"))
			os.Remove(filepath.Join(root, ".cache", "kyverno-src", short+".go.work"))
		},
		Log: os.Stdout,
	}
	results, runErr := r.Run(ctx, sample)
	rep := mutants.NewReport(*src+" at "+commit, len(all), results, time.Now())
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(*os.File) error{
		"mutants.md":   func(f *os.File) error { return rep.WriteMarkdown(f) },
		"mutants.json": func(f *os.File) error { return rep.WriteJSON(f) },
	} {
		f, err := os.Create(filepath.Join(*out, name))
		if err != nil {
			return err
		}
		if err := errors.Join(write(f), f.Close()); err != nil {
			return err
		}
	}
	fmt.Printf("==> mutants: %d judged: killed %d, lived %d, not viable %d, timed out %d; kill rate %.1f %%; report %s\n",
		len(results), rep.Total.Killed, rep.Total.Lived, rep.Total.NotViable, rep.Total.TimedOut, rep.Total.KillRate(), filepath.Join(*out, "mutants.md"))
	return runErr
}

// pinnedCopy copies the pinned Kyverno module into .cache/mutants as a git
// repository (once) and returns its path.
func pinnedCopy(ctx context.Context, root string) (string, error) {
	modDir, err := gitlessOut(ctx, root, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "github.com/kyverno/kyverno")
	if err != nil {
		return "", err
	}
	dir, version, _ := strings.Cut(modDir, " ")
	dst := filepath.Join(root, ".cache", "mutants", "kyverno-"+version)
	if _, err := os.Stat(filepath.Join(dst, ".git")); err == nil {
		return dst, nil
	}
	fmt.Printf("==> mutants: copying %s to %s (once; its first suite build takes minutes)\n", dir, dst)
	if err := copyTree(dir, dst); err != nil {
		return "", err
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=mutants", "-c", "user.email=mutants@imagectx.invalid", "commit", "-q", "-m", "kyverno " + version}} {
		if _, err := gitOut(ctx, dst, args...); err != nil {
			return "", err
		}
	}
	return dst, nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func gitOut(ctx context.Context, dir string, args ...string) (string, error) {
	return gitlessOut(ctx, dir, "git", args...)
}

func gitlessOut(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}
