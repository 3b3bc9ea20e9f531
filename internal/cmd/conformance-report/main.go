// Command conformance-report writes the reports that read results files or
// scenarios (internal/conformance writes them all): the conformance matrix,
// the behaviour-change report between two results files, the error-string
// catalogue.
//
//	conformance-report matrix ARTIFACTS-DIR
//	conformance-report compare -a A.json -a-name NAME -b B.json -b-name NAME [-o compare.md] [-fail-on-change]
//	conformance-report catalogue [-o docs/error-strings.md] [-check] scenarios [dir...]
//	conformance-report migration -results results-inprocess.json [-o migration.md] scenarios [dir...]
//	conformance-report verdict -checkout DIR -commit SHA -subject TEXT -harness SHA -command CMD \
//	    -pinned results-inprocess.json -site 'NAME=results.json' ... [-not-run 'NAME=build.log'] -o verdict.md
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/mutants"
	"github.com/imagectx/conformance/internal/scenario"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "conformance-report:", err)
		if errors.Is(err, errChanged) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: matrix, compare, catalogue, migration or verdict")
	}
	switch args[0] {
	case "matrix":
		return matrix(args[1:], stdout)
	case "compare":
		return compare(args[1:], stdout)
	case "catalogue":
		return catalogue(args[1:], stdout)
	case "migration":
		return migration(args[1:], stdout)
	case "verdict":
		return verdict(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q; want matrix, compare, catalogue, migration or verdict", args[0])
}

func matrix(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("matrix: want the folder of the results files (results-<engine>.json)")
	}
	return conformance.WriteMatrixFiles(stdout, fs.Arg(0), nil)
}

func migration(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migration", flag.ContinueOnError)
	results := fs.String("results", "", "the results file of a run that had both languages: results-<engine>.json")
	out := fs.String("o", "", "write the report to this file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *results == "" || fs.NArg() == 0 {
		return fmt.Errorf("migration: want -results results-<engine>.json and the scenario folders")
	}
	rf, err := conformance.ReadResults(*results)
	if err != nil {
		return fmt.Errorf("migration: %w (make conformance writes it)", err)
	}
	files, err := scenario.LoadDirs(fs.Args()...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := conformance.WriteMigration(&buf, files, rf); err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "migration report: %s\n", *out)
		return nil
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

func catalogue(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("catalogue", flag.ContinueOnError)
	out := fs.String("o", "", "write the catalogue to this file (default stdout)")
	check := fs.Bool("check", false, "fail when the file given with -o differs from what the scenarios produce")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("catalogue: want scenario folders")
	}
	files, err := scenario.LoadDirs(fs.Args()...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := conformance.WriteCatalogue(&buf, files); err != nil {
		return err
	}
	switch {
	case *check:
		if *out == "" {
			return fmt.Errorf("catalogue -check needs -o <file>")
		}
		have, err := os.ReadFile(*out)
		if err != nil {
			return fmt.Errorf("%s: %w (run make catalogue)", *out, err)
		}
		if !bytes.Equal(have, buf.Bytes()) {
			return fmt.Errorf("%s is stale: the scenarios changed; run make catalogue and commit it", *out)
		}
		fmt.Fprintf(stdout, "%s is current\n", *out)
		return nil
	case *out != "":
		return os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

// errChanged is compare's error under -fail-on-change when a case differs.
var errChanged = errors.New("cases differ (-fail-on-change)")

func compare(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	aFile := fs.String("a", "", "results of run A: results-<engine>.json")
	bFile := fs.String("b", "", "results of run B: results-<engine>.json")
	aName := fs.String("a-name", "A", "name of run A in the report")
	bName := fs.String("b-name", "B", "name of run B in the report")
	out := fs.String("o", "compare.md", "Markdown report to write")
	failOnChange := fs.Bool("fail-on-change", false, "fail when a case differs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *aFile == "" || *bFile == "" {
		return fmt.Errorf("compare: both -a and -b are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("compare: unexpected arguments %v", fs.Args())
	}
	a, err := conformance.LoadCompareRun(*aName, *aFile)
	if err != nil {
		return err
	}
	b, err := conformance.LoadCompareRun(*bName, *bFile)
	if err != nil {
		return err
	}
	changes := conformance.Diff(a, b)
	var buf bytes.Buffer
	if err := conformance.WriteCompare(&buf, a, b, changes); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(stdout, "compare: %d of %d/%d cases differ between %s and %s; report: %s\n",
		len(changes), len(a.Cases), len(b.Cases), a.Name, b.Name, *out)
	if *failOnChange && len(changes) > 0 {
		return errChanged
	}
	return nil
}

// siteFlags collects repeated NAME=PATH flags in order.
type siteFlags []string

func (s *siteFlags) String() string     { return strings.Join(*s, ", ") }
func (s *siteFlags) Set(v string) error { *s = append(*s, v); return nil }

func verdict(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verdict", flag.ContinueOnError)
	var v conformance.Verdict
	fs.StringVar(&v.Checkout, "checkout", "", "the Kyverno checkout judged")
	fs.StringVar(&v.Commit, "commit", "", "its commit")
	fs.StringVar(&v.Subject, "subject", "", "its commit subject")
	fs.StringVar(&v.Harness, "harness", "", "this repository's commit")
	fs.StringVar(&v.Command, "command", "", "the command that produced the verdict")
	pinned := fs.String("pinned", "", "results-inprocess.json of the pinned release")
	branch := fs.String("branch", "", "which -site holds the checkout's in-process results (compared with -pinned)")
	out := fs.String("o", "", "the verdict to write (Markdown)")
	power := fs.String("mutants", "", "the last make mutants report (mutants.json): the verdict names its kill rate")
	var sites, notRun siteFlags
	fs.Var(&sites, "site", "NAME=results-<engine>.json, once per site, in report order")
	fs.Var(&notRun, "not-run", "NAME=log: a site that could not run; the log's last lines say why")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if v.Commit == "" || *out == "" || len(sites)+len(notRun) == 0 {
		return fmt.Errorf("verdict: want -commit, -o and at least one -site or -not-run")
	}
	for _, s := range sites {
		name, path, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("verdict: -site %q: want NAME=results.json", s)
		}
		rf, err := conformance.ReadResults(path)
		if err != nil {
			return fmt.Errorf("verdict: site %s: %w", name, err)
		}
		v.Sites = append(v.Sites, conformance.VerdictSite{Name: name, Results: rf})
		if name == *branch {
			v.Branch = rf
		}
	}
	for _, s := range notRun {
		name, path, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("verdict: -not-run %q: want NAME=log", s)
		}
		log, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("verdict: site %s: %w", name, err)
		}
		v.Sites = append(v.Sites, conformance.VerdictSite{Name: name, NotRun: lastLines(string(log), 6)})
	}
	if *power != "" {
		rep, err := mutants.ReadReport(*power)
		if err != nil {
			return fmt.Errorf("verdict: -mutants: %w", err)
		}
		v.Power, v.PowerFile = &rep, *power
	}
	if *pinned != "" {
		rf, err := conformance.ReadResults(*pinned)
		if err != nil {
			return fmt.Errorf("verdict: -pinned: %w", err)
		}
		v.Pinned = rf
	}
	var buf bytes.Buffer
	if err := conformance.WriteVerdict(&buf, v); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("verdict: %w", err)
	}
	fmt.Fprintf(stdout, "verdict: %s\n", *out)
	return nil
}

// lastLines are the last n non-empty lines of s, joined by " / ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
