package mutants

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	kyvernoModule = "github.com/kyverno/kyverno"
	selfModule    = "github.com/imagectx/conformance"
)

// DefaultFiles are Kyverno v1.19.1's files on the imageRegistry path: the
// image-data loader, the registry client adapter, the registry client and
// context loader factories, deferred loading, and the image verification
// code the verifyImages rules call.
var DefaultFiles = []string{
	"pkg/engine/context/loaders/imagedata.go",
	"pkg/engine/adapters/rclient.go",
	"pkg/engine/factories/registryclientfactory.go",
	"pkg/engine/factories/contextloaderfactory.go",
	"pkg/engine/context/deferred.go",
	"pkg/engine/internal/imageverifier.go",
	"pkg/engine/handlers/validation/validate_image.go",
}

// ContractFiles are this project's contract packages: the catchError
// context loader (decisions 1-5 of docs/contract.md) and the strip that
// hands Kyverno policies without the field.
var ContractFiles = []string{
	"engine/inprocess/catcherror/loader.go",
	"engine/inprocess/catcherror/strip.go",
}

// source is one code base the run mutates.
type source struct {
	module   string
	checkout string // git work tree the mutants are committed to
	dir      string // where make runs
	files    []string
	kyverno  bool // linked as KYVERNO_SRC
	commit   string
	spec     string
	all      []Mutant
}

// Options are one mutation run's settings (imagectx mutants' flags).
type Options struct {
	// Root is this repository's root: its .cache/mutants holds the clones,
	// the per-mutant results and the lock; its HEAD is the specification.
	Root string
	// Src is the Kyverno git checkout to mutate ("": a copy of the pinned
	// module, made once).
	Src string
	// Files are Kyverno's files to mutate, relative to the checkout
	// (DefaultFiles; none: nil); Contract this project's (ContractFiles).
	Files, Contract []string
	// N judges a seeded sample of N covered mutants (0: all); Seed seeds it.
	N    int
	Seed uint64
	// Timeout bounds each command per mutant.
	Timeout time.Duration
	// Out is the folder for md and json.
	Out string
	// Uncovered judges mutants on lines the suite does not execute too;
	// LivedOnly only those whose last result is lived; ReportOnly none
	// (the report from the results judged so far).
	Uncovered, LivedOnly, ReportOnly bool
	// Jobs is how many mutants are judged side by side (at least 1).
	Jobs int
}

// RunSession measures the kill rate, for two sources in one run:
//
//   - Kyverno's files on the image-data and verifyImages path: each mutant
//     is applied to a Kyverno checkout as a commit of its own, the suite is
//     relinked with that checkout (make suite-bin KYVERNO_SRC=...) and run
//     in process (make conformance);
//   - this project's contract packages (the catchError loader): each mutant
//     is applied to a clone of this repository at HEAD, whose suite is
//     built and run the same way.
//
// Before judging, the suite is built once per source with coverage of the
// mutated packages and run unmutated (it must pass); only mutants on lines
// it executed are judged, Jobs at a time, each worker with clones of its
// own under .cache/mutants/worker-N (a clone of this repository at HEAD, so
// the committed specification judges, and of the Kyverno checkout).
//
// Without Src it copies the pinned Kyverno module into
// .cache/mutants/kyverno-<version> once, as a git repository. Results are
// cached per mutant in .cache/mutants/results-<source>.json, so a run that
// stops resumes: a killed result stands, a lived one is judged again when
// the specification (a digest of what decides a judgement) differs, unless
// internal/mutants/equivalent.yaml lists it.
//
// It generates the mutants of each source, keeps those on covered lines,
// judges a sample Jobs at a time (resuming from the cache) and writes the
// report to Out. Progress goes to stdout. Errors: another run holds the lock, a
// source that is not a git checkout, the unmutated suite failing, or a
// mutant that could not be judged (the report is still written).
func RunSession(ctx context.Context, o Options, stdout io.Writer) error {
	root := o.Root
	// One run at a time: runs share the clones and the caches.
	if err := os.MkdirAll(filepath.Join(root, ".cache", "mutants"), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(root, ".cache", "mutants", "run.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another make mutants runs in %s (it holds .cache/mutants/run.lock): %w", root, err)
	}
	if o.Jobs < 1 {
		return fmt.Errorf("Jobs %d: want at least 1", o.Jobs)
	}
	head, err := gitIn(ctx, root, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if dirty, _ := gitIn(ctx, root, "status", "--porcelain", "--untracked-files=no"); dirty != "" {
		fmt.Fprintf(stdout, "==> mutants: judged by the committed specification at %s (uncommitted changes are not in the clones)\n", head[:12])
	}
	spec, err := specification(ctx, root, head)
	if err != nil {
		return err
	}
	// Both sources are judged by the committed specification, built and
	// run in a clone of this repository at HEAD: edits made while a run
	// goes on are not what it measures.
	clone, err := cloneAt(ctx, root, workerDir(root, 0, "imagectx"), head)
	if err != nil {
		return err
	}
	var sources []*source
	if len(o.Files) > 0 {
		if o.Src == "" {
			if o.Src, err = pinnedCopy(ctx, root, stdout); err != nil {
				return err
			}
		}
		sources = append(sources, &source{module: kyvernoModule, checkout: o.Src, dir: clone, files: o.Files, kyverno: true, spec: spec})
	}
	if len(o.Contract) > 0 {
		sources = append(sources, &source{module: selfModule, checkout: clone, dir: clone, files: o.Contract, spec: spec})
	}
	if len(sources) == 0 {
		return errors.New("no Kyverno files and no contract files: nothing to mutate")
	}
	var all, covered []Mutant
	for _, s := range sources {
		if s.commit, err = gitIn(ctx, s.checkout, "rev-parse", "HEAD"); err != nil {
			return fmt.Errorf("%s: want a git checkout: %w", s.checkout, err)
		}
		for _, f := range s.files {
			data, err := os.ReadFile(filepath.Join(s.checkout, f))
			if err != nil {
				return fmt.Errorf("mutants of %s: %w", s.module, err)
			}
			ms, err := Generate(s.module, f, data)
			if err != nil {
				return err
			}
			s.all = append(s.all, ms...)
		}
		all = append(all, s.all...)
		kept := s.all
		if !o.Uncovered {
			// The coverage build instruments the packages anew: minutes.
			cov, err := coverage(ctx, stdout, root, s, max(o.Timeout, 30*time.Minute))
			if err != nil {
				return err
			}
			kept, _ = cov.Filter(s.all)
		}
		fmt.Fprintf(stdout, "==> mutants: %s at %s: %d mutants in %d files, %d on covered lines\n", s.module, s.commit[:12], len(s.all), len(s.files), len(kept))
		covered = append(covered, kept...)
	}
	caches := map[string]*Cache{}
	for _, s := range sources {
		if caches[s.module], err = OpenCache(filepath.Join(root, ".cache", "mutants", "results-"+path.Base(s.module)+".json")); err != nil {
			return err
		}
	}
	equivalents, err := LoadEquivalents(filepath.Join(root, EquivalentsFile))
	if err != nil {
		return err
	}
	sample := Sample(covered, o.N, o.Seed)
	if o.LivedOnly {
		var lived []Mutant
		for _, m := range sample {
			if caches[m.Module].Survives(m, equivalents) {
				lived = append(lived, m)
			}
		}
		sample = lived
	}
	if o.ReportOnly {
		fmt.Fprintf(stdout, "==> mutants: reporting on %d covered mutants from the results judged so far\n", len(covered))
	} else {
		fmt.Fprintf(stdout, "==> mutants: judging %d of %d covered mutants, %d side by side (each: relink the suite with the mutant, then run it in process; about a minute, 30 s per mutant with 2 workers on 2 cores)\n", len(sample), len(covered), o.Jobs)
	}
	// Mutants in a seeded order across the sources, so a run that stops
	// early has measured each source in proportion; -j workers, each with
	// clones of its own (worker 0 has the ones the coverage ran in).
	var names []string
	for _, s := range sources {
		names = append(names, s.module+" at "+s.commit[:12])
	}
	workers := make([]map[string]*Runner, o.Jobs)
	if o.ReportOnly {
		workers = nil
	}
	for w := range workers {
		if workers[w], err = workerRunners(ctx, root, w, head, sources, caches, o.Timeout); err != nil {
			return err
		}
	}
	order := Shuffle(sample, o.Seed)
	results := make([]Result, len(order))
	judged := make([]bool, len(order))
	next := make(chan int)
	var mu sync.Mutex
	var runErr error
	done := 0
	var wg sync.WaitGroup
	for _, runners := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := order[i]
				// A survivor shown equivalent is not judged again: the
				// claim is about the code, not the specification.
				if res, ok := caches[m.Module].Any(m); ok && res.Status == Lived && equivalents.Lists(m) {
					mu.Lock()
					results[i], judged[i] = res, true
					done++
					mu.Unlock()
					continue
				}
				res, err := runners[m.Module].Run(ctx, []Mutant{m})
				mu.Lock()
				if err != nil {
					runErr = errors.Join(runErr, err)
				} else {
					results[i], judged[i] = res[0], true
					done++
					fmt.Fprintf(stdout, "mutants: %d/%d %s %s (%.0f s) %s\n", done, len(order), m.ID, res[0].Status, res[0].Seconds, m.Diff())
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range order {
		if o.ReportOnly {
			break
		}
		mu.Lock()
		stop := runErr != nil
		mu.Unlock()
		if stop {
			break
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	// A run that stopped early (or -report) reports what earlier runs
	// judged too: a lived result of an older specification counts as lived
	// (the rate is then a lower bound; its Spec says which judged it).
	var kept []Result
	for i, ok := range judged {
		if ok {
			kept = append(kept, results[i])
		} else if res, cached := caches[order[i].Module].Any(order[i]); cached {
			kept = append(kept, res)
		}
	}
	results = kept
	if runErr == nil {
		runErr = ctx.Err()
	}
	if err := equivalents.Mark(results); err != nil {
		return err
	}
	rep := NewReport(strings.Join(names, "; ")+"; specification "+spec+" (this project at "+head[:12]+")", len(all), len(covered), results, time.Now())
	for _, res := range results {
		if res.Status == Lived && res.Equivalent == "" && res.Spec != spec {
			rep.OlderSpec++
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(*os.File) error{
		"mutants.md":   func(f *os.File) error { return rep.WriteMarkdown(f) },
		"mutants.json": func(f *os.File) error { return rep.WriteJSON(f) },
	} {
		f, err := os.Create(filepath.Join(o.Out, name))
		if err != nil {
			return err
		}
		if err := errors.Join(write(f), f.Close()); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "==> mutants: %d judged: killed %d, lived %d, equivalent %d, not viable %d, timed out %d; kill rate %.1f %%",
		len(results), rep.Total.Killed, rep.Total.Lived, rep.Total.Equivalent, rep.Total.NotViable, rep.Total.TimedOut, rep.Total.KillRate())
	for _, m := range slices.Sorted(func(yield func(string) bool) {
		for k := range rep.Modules {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(stdout, " (%s %.1f %%)", path.Base(m), rep.Modules[m].KillRate())
	}
	fmt.Fprintf(stdout, "; report %s\n", filepath.Join(o.Out, "mutants.md"))
	return runErr
}

// workerDir is worker w's clone of name ("imagectx" or "kyverno").
func workerDir(root string, w int, name string) string {
	return filepath.Join(root, ".cache", "mutants", fmt.Sprintf("worker-%d", w), name)
}

// workerRunners are worker w's runners, one per source: a clone of this
// repository at head where the suites build and run (and the contract's
// mutants are committed) and, for Kyverno, a clone of the checkout at its
// commit (worker 0 mutates the checkout itself).
func workerRunners(ctx context.Context, root string, w int, head string, sources []*source, caches map[string]*Cache, timeout time.Duration) (map[string]*Runner, error) {
	clone, err := cloneAt(ctx, root, workerDir(root, w, "imagectx"), head)
	if err != nil {
		return nil, err
	}
	out := map[string]*Runner{}
	for _, s := range sources {
		checkout := clone
		if s.kyverno {
			checkout = s.checkout
			if w > 0 {
				if checkout, err = cloneAt(ctx, s.checkout, workerDir(root, w, "kyverno"), s.commit); err != nil {
					return nil, err
				}
			}
		}
		out[s.module] = runner(clone, checkout, s.kyverno, caches[s.module], s.spec, timeout)
	}
	return out, nil
}

// runner judges mutants committed to checkout: build the suite in dir
// (a clone of this repository) with the mutant, run it in process.
func runner(dir, checkout string, kyverno bool, cache *Cache, spec string, timeout time.Duration) *Runner {
	build := []string{"make", "--no-print-directory", "suite-bin"}
	judge := []string{"make", "--no-print-directory", "conformance", "ARTIFACTS={artifacts}", "ENGINE=inprocess"}
	if kyverno {
		build = append(build, "KYVERNO_SRC={src}")
		judge = append(judge, "KYVERNO_SRC={src}")
	}
	return &Runner{
		Checkout:    checkout,
		Dir:         dir,
		Build:       build,
		Judge:       judge,
		Timeout:     timeout,
		Cache:       cache,
		Spec:        spec,
		ResultsFile: "results-inprocess.json",
		Cleanup: func(c string) {
			if !kyverno {
				return
			}
			// The suite binary and go.work of a mutant commit are used once.
			short := c[:12]
			os.Remove(filepath.Join(dir, ".cache", "bin", "conformance-src-"+short+".test"))
			os.Remove(filepath.Join(dir, ".cache", "kyverno-src", short+".go.work"))
		},
	}
}

// coverage builds the suite of s with coverage of the mutated packages and
// runs it unmutated (cached per source commit and specification). Errors:
// the build fails, or the unmutated suite fails (every mutant would count
// as killed).
func coverage(ctx context.Context, stdout io.Writer, root string, s *source, timeout time.Duration) (Coverage, error) {
	var pkgs []string
	for _, f := range s.files {
		if p := path.Join(s.module, path.Dir(f)); !slices.Contains(pkgs, p) {
			pkgs = append(pkgs, p)
		}
	}
	cacheDir := filepath.Join(root, ".cache", "mutants")
	key := sha256.Sum256([]byte(s.commit + "|" + s.spec + "|" + strings.Join(pkgs, ",")))
	profile := filepath.Join(cacheDir, "coverage-"+path.Base(s.module)+"-"+hex.EncodeToString(key[:6])+".out")
	if f, err := os.Open(profile); err == nil {
		defer f.Close()
		return ParseCoverage(f)
	}
	bin := filepath.Join(cacheDir, "conformance-cover-"+path.Base(s.module)+".test")
	fmt.Fprintf(stdout, "==> mutants: building the suite with coverage of %s and running it unmutated (once per commit; minutes)\n", strings.Join(pkgs, ", "))
	build := []string{"make", "--no-print-directory", "suite-cover", "COVERPKG=" + strings.Join(pkgs, ","), "COVER_BIN=" + bin}
	if s.kyverno {
		build = append(build, "KYVERNO_SRC="+s.checkout)
	}
	artifacts, err := os.MkdirTemp("", "mutants-coverage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(artifacts)
	if out, err := Command(ctx, s.dir, timeout, nil, build...); err != nil {
		return nil, fmt.Errorf("coverage build of %s: %w\n%s", s.module, err, out)
	}
	tmp := profile + ".tmp"
	env := []string{"ENGINE=inprocess", "ARTIFACTS=" + artifacts}
	if out, err := Command(ctx, s.dir, timeout, env, bin, "-test.coverprofile="+tmp); err != nil {
		return nil, fmt.Errorf("the unmutated suite of %s fails, so every mutant would count as killed: %w\n%s", s.module, err, tail(out))
	}
	if err := os.Rename(tmp, profile); err != nil {
		return nil, err
	}
	f, err := os.Open(profile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseCoverage(f)
}

// specPaths are what decides a judgement: the scenarios, the engines and
// the suite that runs them (make conformance is imagectx run), the fake
// registry, the published schema the loader validates with, the module's
// dependencies. Other documentation, the equivalents list and this
// package are not.
var specPaths = []string{"scenarios", "engine", "suites", "fakeregistry", "internal/run", "internal/judge", "internal/results", "internal/report", "internal/scenario", "internal/cmd/imagectx", "docs/docs.go", "docs/scenario.schema.json", "yamlkit", "go.mod", "go.sum", "Makefile"}

// specification names the specification at commit: a digest of the git
// objects of specPaths (so a commit that changes only documentation keeps
// the lived results of the one before).
func specification(ctx context.Context, root, commit string) (string, error) {
	var b strings.Builder
	for _, p := range specPaths {
		id, err := gitIn(ctx, root, "rev-parse", commit+":"+p)
		if err != nil {
			return "", fmt.Errorf("the specification at %s: %w", commit[:12], err)
		}
		b.WriteString(p + " " + id + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return "spec-" + hex.EncodeToString(sum[:6]), nil
}

// cloneAt makes dst a clone of the git repository from (once; objects
// shared) and checks out commit there, detached. The clones live in
// .cache/mutants: mutants are committed there, never in from.
func cloneAt(ctx context.Context, from, dst, commit string) (string, error) {
	// --shared: the clone reads from's objects, so any commit of from
	// checks out without a fetch.
	if _, err := os.Stat(filepath.Join(dst, ".git")); err != nil {
		if _, err := gitIn(ctx, from, "clone", "-q", "--shared", "--no-checkout", from, dst); err != nil {
			return "", err
		}
	}
	if _, err := gitIn(ctx, dst, "checkout", "-q", "--force", "--detach", commit); err != nil {
		return "", err
	}
	return dst, nil
}

// pinnedCopy copies the pinned Kyverno module into .cache/mutants as a git
// repository (once) and returns its path.
func pinnedCopy(ctx context.Context, root string, stdout io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", kyvernoModule)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", kyvernoModule, err)
	}
	modDir := strings.TrimSpace(string(out))
	dir, version, _ := strings.Cut(modDir, " ")
	dst := filepath.Join(root, ".cache", "mutants", "kyverno-"+version)
	if _, err := os.Stat(filepath.Join(dst, ".git")); err == nil {
		return dst, nil
	}
	fmt.Fprintf(stdout, "==> mutants: copying %s to %s (once; its first suite build takes minutes)\n", dir, dst)
	if err := copyTree(dir, dst); err != nil {
		return "", err
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=mutants", "-c", "user.email=mutants@imagectx.invalid", "commit", "-q", "-m", "kyverno " + version}} {
		if _, err := gitIn(ctx, dst, args...); err != nil {
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

// gitIn runs git in dir and returns its output without the final newline.
func gitIn(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git -C %s %s: %w: %s", dir, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}
