package mutants

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Status is what a mutant came to.
type Status string

const (
	// Killed: the judging command failed on the mutant (a spec caught it).
	Killed Status = "killed"
	// Lived: the judging command passed on the mutant.
	Lived Status = "lived"
	// NotViable: the mutant does not build.
	NotViable Status = "not viable"
	// TimedOut: a command ran past the timeout.
	TimedOut Status = "timed out"
)

// Result is one judged mutant.
type Result struct {
	Mutant  Mutant  `json:"mutant"`
	Status  Status  `json:"status"`
	Seconds float64 `json:"seconds"`
	// Spec names the specification that judged it (this project's commit).
	Spec string `json:"spec,omitempty"`
	// KilledBy are the scenario files with failing specs (from the judging
	// run's results file, when it writes one).
	KilledBy []string `json:"killedBy,omitempty"`
	// KilledSpecs counts the failing specs.
	KilledSpecs int `json:"killedSpecs,omitempty"`
	// Detail is the last lines of the failing command's output.
	Detail string `json:"detail,omitempty"`
	// Equivalent is why a lived mutant cannot be killed (from the
	// equivalents file, see Equivalents); "" for every other.
	Equivalent string `json:"equivalent,omitempty"`
}

// Runner applies mutants to Checkout, a git work tree, one commit each, and
// judges them with Build then Judge, run in Dir; in their arguments
// "{src}" is the checkout and "{artifacts}" a folder of the mutant's own.
// They run without the caller's MAKEFLAGS (a make that started this run
// would pass its command-line variables down and override theirs).
type Runner struct {
	Checkout string
	Dir      string
	Build    []string
	Judge    []string
	// Timeout bounds each command (0: none).
	Timeout time.Duration
	// Cache holds the results a run resumes from (nil: none); runners
	// working side by side share one.
	Cache *Cache
	// Spec names the specification the judge runs (this project's commit;
	// see Cache.Get).
	Spec string
	// ResultsFile is the judging run's results file name in ARTIFACTS
	// (read for KilledBy; "" : none).
	ResultsFile string
	// Cleanup runs after each mutant with its commit (e.g. to delete the
	// suite binary built for it).
	Cleanup func(commit string)
	Log     io.Writer
}

// Sample returns n mutants of all, chosen with seed (the same n and seed
// give the same sample); n <= 0 or n >= len(all) returns all.
func Sample(all []Mutant, n int, seed uint64) []Mutant {
	if n <= 0 || n >= len(all) {
		return all
	}
	r := rand.New(rand.NewPCG(seed, seed))
	idx := r.Perm(len(all))[:n]
	slices.Sort(idx)
	out := make([]Mutant, 0, n)
	for _, i := range idx {
		out = append(out, all[i])
	}
	return out
}

// Shuffle returns ms in an order chosen with seed (the same seed gives the
// same order); ms is left as it is.
func Shuffle(ms []Mutant, seed uint64) []Mutant {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]Mutant, len(ms))
	for i, j := range r.Perm(len(ms)) {
		out[i] = ms[j]
	}
	return out
}

// Run judges every mutant not in the cache (see Spec) and returns every
// result, cached ones included, in the mutants' order. The checkout is left at the commit
// it was at. Errors: the checkout is not a clean git work tree, a mutant
// does not apply, the cache cannot be written.
func (r *Runner) Run(ctx context.Context, mutants []Mutant) ([]Result, error) {
	base, err := r.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("mutants: checkout %s: %w", r.Checkout, err)
	}
	if status, err := r.git(ctx, "status", "--porcelain", "--untracked-files=no"); err != nil || status != "" {
		return nil, fmt.Errorf("mutants: checkout %s has uncommitted changes (%s%v); commit or reset them", r.Checkout, status, err)
	}
	defer r.git(context.WithoutCancel(ctx), "checkout", "-q", "--detach", base) //nolint:errcheck // best effort, reported by the next run
	var out []Result
	for i, m := range mutants {
		if res, ok := r.Cache.Get(m, r.Spec); ok {
			out = append(out, res)
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		start := time.Now()
		res, err := r.one(ctx, base, m)
		if err != nil {
			return out, err
		}
		res.Seconds, res.Spec = time.Since(start).Seconds(), r.Spec
		fmt.Fprintf(r.log(), "mutants: %d/%d %s %s (%.0f s) %s\n", i+1, len(mutants), m.ID, res.Status, res.Seconds, m.Diff())
		if err := r.Cache.Put(res); err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

func (r *Runner) log() io.Writer {
	if r.Log == nil {
		return io.Discard
	}
	return r.Log
}

// one applies m on base as a commit, builds and judges it.
func (r *Runner) one(ctx context.Context, base string, m Mutant) (Result, error) {
	res := Result{Mutant: m}
	if _, err := r.git(ctx, "checkout", "-q", "--detach", base); err != nil {
		return res, err
	}
	path := filepath.Join(r.Checkout, m.File)
	src, err := os.ReadFile(path)
	if err != nil {
		return res, fmt.Errorf("mutants: %w", err)
	}
	mutated, err := m.Apply(src)
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		return res, fmt.Errorf("mutants: %w", err)
	}
	if _, err := r.git(ctx, "-c", "user.name=mutants", "-c", "user.email=mutants@imagectx.invalid", "commit", "-q", "-a", "-m", "mutant "+m.ID+": "+m.Diff()); err != nil {
		return res, err
	}
	commit, err := r.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return res, err
	}
	if r.Cleanup != nil {
		defer r.Cleanup(commit)
	}
	artifacts, err := os.MkdirTemp("", "mutant-"+m.ID+"-")
	if err != nil {
		return res, fmt.Errorf("mutants: %w", err)
	}
	defer os.RemoveAll(artifacts)
	if len(r.Build) > 0 {
		out, err := r.command(ctx, r.Build, artifacts)
		switch {
		case ctx.Err() != nil:
			return res, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			res.Status, res.Detail = TimedOut, tail(out)
			return res, nil
		case err != nil:
			res.Status, res.Detail = NotViable, tail(out)
			return res, nil
		}
	}
	out, err := r.command(ctx, r.Judge, artifacts)
	switch {
	case ctx.Err() != nil:
		return res, ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		res.Status, res.Detail = TimedOut, tail(out)
	case err != nil:
		res.Status, res.Detail = Killed, tail(out)
		res.KilledBy, res.KilledSpecs = failingFiles(filepath.Join(artifacts, r.ResultsFile), r.ResultsFile != "")
	default:
		res.Status = Lived
	}
	return res, nil
}

// command runs argv in r.Dir with "{src}" and "{artifacts}" replaced.
func (r *Runner) command(ctx context.Context, argv []string, artifacts string) ([]byte, error) {
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.NewReplacer("{src}", r.Checkout, "{artifacts}", artifacts).Replace(a)
	}
	return Command(ctx, r.Dir, r.Timeout, nil, args...)
}

// Command runs argv in dir, the environment plus env, without the
// caller's make flags (a make that started this run would pass its
// command-line variables down and override the command's), in a process
// group of its own killed by its id when timeout (0: none) passes; the
// error is then context.DeadlineExceeded (context.Canceled when ctx ends
// first). It returns stdout and stderr.
func Command(ctx context.Context, dir string, timeout time.Duration, env []string, argv ...string) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL"
	}), env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		// context.DeadlineExceeded for the timeout, context.Canceled when
		// the caller stopped.
		return buf.Bytes(), ctx.Err()
	}
	return buf.Bytes(), err
}

func (r *Runner) git(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", r.Checkout}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

// tail is the last lines of a command's output.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// failingFiles are the files of the failing specs in a results file
// (this project's results JSON), and how many specs failed; nil when there
// is none.
func failingFiles(path string, want bool) ([]string, int) {
	if !want {
		return nil, 0
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0
	}
	var rf struct {
		Specs []struct {
			File    string `json:"file"`
			Outcome string `json:"outcome"`
		} `json:"specs"`
	}
	if json.Unmarshal(data, &rf) != nil {
		return nil, 0
	}
	var out []string
	n := 0
	for _, s := range rf.Specs {
		if s.Outcome != "fail" {
			continue
		}
		n++
		if !slices.Contains(out, s.File) {
			out = append(out, s.File)
		}
	}
	slices.Sort(out)
	return out, n
}

// Cache is the judged mutants by ID, kept in a JSON file so a run
// resumes; safe for concurrent use.
type Cache struct {
	mu      sync.Mutex
	path    string
	results map[string]Result
}

// OpenCache reads the cache at path (a missing file is empty; "" keeps
// nothing on disk). Errors: the file is not a cache.
func OpenCache(path string) (*Cache, error) {
	c := &Cache{path: path, results: map[string]Result{}}
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mutants: cache: %w", err)
	}
	if err := json.Unmarshal(data, &c.results); err != nil {
		return nil, fmt.Errorf("mutants: cache %s: %w (delete it to start over)", path, err)
	}
	return c, nil
}

// Get returns m's cached result when it still stands for spec: a killed
// or not viable result stands whatever judged it (the specification only
// grows), a lived or timed-out one only for the same spec.
func (c *Cache) Get(m Mutant, spec string) (Result, bool) {
	if c == nil {
		return Result{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	res, ok := c.results[m.ID]
	if !ok || res.Mutant != m || (res.Spec != spec && res.Status != Killed && res.Status != NotViable) {
		return Result{}, false
	}
	return res, true
}

// Any returns m's cached result whatever specification judged it.
func (c *Cache) Any(m Mutant) (Result, bool) {
	if c == nil {
		return Result{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	res, ok := c.results[m.ID]
	return res, ok && res.Mutant == m
}

// Survives reports whether m's cached result, whatever specification
// judged it, is lived and eq does not list m as equivalent: the mutants
// MUTANTS_LIVED=1 judges again after new scenarios.
func (c *Cache) Survives(m Mutant, eq Equivalents) bool {
	res, ok := c.Any(m)
	return ok && res.Status == Lived && !eq.Lists(m)
}

// Put records res and writes the file.
func (c *Cache) Put(res Result) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results[res.Mutant.ID] = res
	if c.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(c.results, "", "  ")
	if err != nil {
		return fmt.Errorf("mutants: cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("mutants: cache: %w", err)
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("mutants: cache: %w", err)
	}
	return os.Rename(tmp, c.path)
}
