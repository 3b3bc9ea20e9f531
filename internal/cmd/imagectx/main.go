// Command imagectx is the harness's one command: it runs the suites (one
// engine by name, admission included), the comparisons and verdicts that
// take several runs and the mutation measurement, and writes the reports
// that read results files or scenarios (internal/report writes them all, from internal/results).
// The make targets are aliases for it.
//
//	imagectx run [-engine inprocess] [-artifacts DIR] [-label-filter F] [-suite-bin PATH] [-provider local] [GINKGO-FLAGS...]
//	imagectx report -format matrix|catalogue|migration|compare [-results FILE]... [-o FILE] [scenarios...]
//	imagectx matrix ARTIFACTS-DIR
//	imagectx catalogue [-o docs/error-strings.md] [-check] scenarios [dir...]
//	imagectx migration -results results-inprocess.json [-o migration.md] scenarios [dir...]
//	imagectx compare [-artifacts DIR] [-o compare.md] [-fail-on-change] A B
//	imagectx verdict -kyverno-src DIR [-artifacts DIR] [-o verdict.md]
//	imagectx schema [-o docs/scenario.schema.json] [-fields docs/scenario-fields.md] [-check]
//	imagectx figures [-check] [-record ARTIFACTS-DIR -note TEXT]
//	imagectx e2e [-provider local] [-artifacts DIR] [-label-filter F] [GINKGO-FLAGS...]
//	imagectx e2e-build [-provider local] [-dry-run]
//	imagectx mutants [-src DIR] [-files a.go,...] [-contract c.go,...] [-n N] [-seed S] [-j 2] [-timeout 4m] [-o DIR] [-lived] [-report]
//
// A compare side is an engine name (inprocess, kyverno; admission and
// background-scan run make e2e), the path of a kubectl-kyverno binary, or
// a results file (results-<engine>.json) of an earlier run.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "imagectx:", err)
		switch {
		case errors.Is(err, errChanged):
			os.Exit(2)
		case errors.Is(err, errUsage):
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// commands are the subcommands, by name.
var commands = []struct {
	name string
	run  func(args []string, stdout io.Writer) error
}{
	{"run", runCmd},
	{"report", reportCmd},
	{"matrix", matrixCmd},
	{"catalogue", catalogueCmd},
	{"migration", migrationCmd},
	{"compare", compareCmd},
	{"verdict", verdictCmd},
	{"schema", schemaCmd},
	{"figures", figuresCmd},
	{"e2e", e2eCmd},
	{"e2e-build", e2eBuildCmd},
	{"mutants", mutantsCmd},
}

func commandNames() string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// errUsage marks a command line the command cannot take.
var errUsage = errors.New("usage")

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: %s: %w", commandNames(), errUsage)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout)
		}
	}
	return fmt.Errorf("unknown command %q; want %s: %w", args[0], commandNames(), errUsage)
}
