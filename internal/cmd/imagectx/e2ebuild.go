package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
)

// e2eBuildCmd (imagectx e2e-build, make e2e-build and e2e-plan) builds,
// or finds current in .cache/bin, what make e2e needs for a provider: for
// local etcd, kube-apiserver and Kyverno's admission and reports
// controllers (the pinned module, or KYVERNO_SRC's checkout); for local
// and kind the install manifest that goes with them; nothing for
// existing. Each build script says why it builds; -dry-run only says what
// it would build.
func e2eBuildCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("e2e-build", flag.ContinueOnError)
	provider := fs.String("provider", "local", "the cluster provider: local, kind or existing")
	dryRun := fs.Bool("dry-run", false, "say what would be built, build nothing")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("e2e-build: %w: %w", err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("e2e-build: unexpected arguments %q: %w", fs.Args(), errUsage)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	return e2eBuild(context.Background(), stdout, root, *provider, *dryRun)
}

// e2eBuild runs the build scripts a provider needs, from root.
func e2eBuild(ctx context.Context, out io.Writer, root, provider string, dryRun bool) error {
	var builds [][]string
	switch provider {
	case "local":
		builds = [][]string{
			{"tools/etcd/build.sh"}, {"tools/kube-apiserver/build.sh"},
			{"e2e/hack/build-kyverno.sh", "kyverno"}, {"e2e/hack/build-kyverno.sh", "reports-controller"},
			{"e2e/hack/build-kyverno.sh", "manifest"},
		}
	case "kind":
		builds = [][]string{{"e2e/hack/build-kyverno.sh", "manifest"}}
	case "existing":
	default:
		return fmt.Errorf("e2e-build: -provider %q: want local, kind or existing: %w", provider, errUsage)
	}
	if dryRun {
		if provider == "local" {
			fmt.Fprintf(out, "e2e: PROVIDER=%s; binaries are cached in .cache/bin and built only when missing:\n", provider)
		} else {
			fmt.Fprintf(out, "e2e: nothing to build for PROVIDER=%s (Kyverno runs in the cluster)\n", provider)
		}
	}
	for _, b := range builds {
		argv := b
		if dryRun {
			argv = append(append([]string{}, b...), "--dry-run")
		}
		if err := buildStep(ctx, out, root, argv, dryRun); err != nil {
			return err
		}
	}
	return nil
}

// buildStep runs one build script. Its stdout (the path it built or
// found) is dropped; its stderr is progress, shown without the lines
// that only say a binary is current (unless dryRun, which shows all).
func buildStep(ctx context.Context, out io.Writer, root string, argv []string, dryRun bool) error {
	cmd := exec.CommandContext(ctx, filepath.Join(root, argv[0]), argv[1:]...)
	cmd.Dir = root
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("e2e-build: %s: %w", argv[0], err)
	}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); dryRun || !strings.Contains(line, ": current (") {
			fmt.Fprintln(out, line)
		}
	}
	readErr := sc.Err()
	if readErr != nil {
		// Keep the script from blocking on a full pipe.
		_, _ = io.Copy(out, stderr)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("e2e-build: %s: %w", strings.Join(argv, " "), err)
	}
	if readErr != nil {
		return fmt.Errorf("e2e-build: %s: reading its output: %w", strings.Join(argv, " "), readErr)
	}
	return nil
}
