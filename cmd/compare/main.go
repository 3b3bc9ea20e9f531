// Command compare writes a behaviour-change report between two suite runs:
// every case whose state or message differs, side by side, and the totals.
//
//	go run ./cmd/compare -a A.json -a-name reference -b B.json -b-name kyverno-v1.19.1 -o compare.md
//
// `make compare A=... B=...` runs the suite twice and calls it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	aFile := fs.String("a", "", "results of run A: a suite's results-<engine>.json, or a Ginkgo JSON report")
	bFile := fs.String("b", "", "results of run B: a suite's results-<engine>.json, or a Ginkgo JSON report")
	aName := fs.String("a-name", "A", "name of run A in the report")
	bName := fs.String("b-name", "B", "name of run B in the report")
	out := fs.String("o", "compare.md", "Markdown report to write")
	failOnChange := fs.Bool("fail-on-change", false, "exit 2 when a case differs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *aFile == "" || *bFile == "" {
		return fmt.Errorf("both -a and -b are required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	a, err := loadRun(*aName, *aFile)
	if err != nil {
		return err
	}
	b, err := loadRun(*bName, *bFile)
	if err != nil {
		return err
	}
	changes := diff(a, b)
	var buf bytes.Buffer
	if err := writeMarkdown(&buf, a, b, changes); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Printf("compare: %d of %d/%d cases differ between %s and %s; report: %s\n",
		len(changes), len(a.Outcomes), len(b.Outcomes), a.Name, b.Name, *out)
	if *failOnChange && len(changes) > 0 {
		os.Exit(2)
	}
	return nil
}
