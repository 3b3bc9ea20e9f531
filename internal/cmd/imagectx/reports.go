package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagectx/conformance/internal/report"
	"github.com/imagectx/conformance/internal/report/compare"
	"github.com/imagectx/conformance/internal/report/matrix"
	"github.com/imagectx/conformance/internal/results"
	"github.com/imagectx/conformance/internal/scenario"
	"github.com/imagectx/conformance/internal/scenario/schema"
)

func matrixCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("matrix: want the folder of the results files (results-<engine>.json)")
	}
	return matrix.WriteFiles(stdout, fs.Arg(0), nil)
}

// reportCmd writes any report format (report.Formats) from results files
// and scenario folders: the formats that need nothing else (matrix,
// catalogue, migration, compare of two results files) without a command
// of their own.
func reportCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	format := fs.String("format", "", fmt.Sprintf("the report: one of %v", report.Formats()))
	var resultsFiles multiFlag
	fs.Var(&resultsFiles, "results", "a results file (results-<engine>.json); repeat it for several")
	out := fs.String("o", "", "write the report to this file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("report: %w: %w", err, errUsage)
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("report: -format: %w: %w", err, errUsage)
	}
	var in report.Input
	if f == report.Compare && len(resultsFiles) == 2 {
		// Each side named by its file, as imagectx compare names them.
		var sides [2]compare.Run
		for i, p := range resultsFiles {
			if sides[i], err = compare.Load(p, p); err != nil {
				return fmt.Errorf("report: %w", err)
			}
		}
		in.A, in.B = &sides[0], &sides[1]
		resultsFiles = nil
	}
	for _, p := range resultsFiles {
		rf, err := results.Read(p)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		in.Results = append(in.Results, rf)
	}
	if fs.NArg() > 0 {
		if in.Scenarios, err = scenario.LoadDirs(fs.Args()...); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := report.Save(&buf, f, in); err != nil {
		return err
	}
	return writeReport(stdout, *out, string(f)+" report", buf.Bytes())
}

// writeReport writes data to out (its folder made first) and says so, or
// to stdout when out is "".
func writeReport(stdout io.Writer, out, what string, data []byte) error {
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("write the %s: %w", what, err)
	}
	fmt.Fprintf(stdout, "%s: %s\n", what, out)
	return nil
}

// multiFlag is a flag given any number of times.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func migrationCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migration", flag.ContinueOnError)
	resultsFile := fs.String("results", "", "the results file of a run that had both languages: results-<engine>.json")
	out := fs.String("o", "", "write the report to this file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *resultsFile == "" || fs.NArg() == 0 {
		return fmt.Errorf("migration: want -results results-<engine>.json and the scenario folders")
	}
	rf, err := results.Read(*resultsFile)
	if err != nil {
		return fmt.Errorf("migration: %w (make conformance writes it)", err)
	}
	files, err := scenario.LoadDirs(fs.Args()...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Save(&buf, report.Migration, report.Input{Scenarios: files, Results: []*results.File{rf}}); err != nil {
		return err
	}
	return writeReport(stdout, *out, "migration report", buf.Bytes())
}

func catalogueCmd(args []string, stdout io.Writer) error {
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
	if err := report.Save(&buf, report.Catalogue, report.Input{Scenarios: files}); err != nil {
		return err
	}
	return writeOrCheck(stdout, *out, *check, buf.Bytes(), "make catalogue")
}

// writeOrCheck writes data to out (stdout when out is ""), or with check
// fails when out differs from it, naming the command that regenerates it.
func writeOrCheck(stdout io.Writer, out string, check bool, data []byte, regenerate string) error {
	switch {
	case check:
		if out == "" {
			return fmt.Errorf("-check needs -o <file>: %w", errUsage)
		}
		have, err := os.ReadFile(out)
		if err != nil {
			return fmt.Errorf("%s: %w (run %s)", out, err, regenerate)
		}
		if !bytes.Equal(have, data) {
			return fmt.Errorf("%s is stale: run %s and commit it", out, regenerate)
		}
		fmt.Fprintf(stdout, "%s is current\n", out)
		return nil
	case out != "":
		return os.WriteFile(out, data, 0o644)
	}
	_, err := stdout.Write(data)
	return err
}

// schemaCmd writes the scenario format's JSON Schema and, with -fields,
// its field-by-field Markdown, both generated from its Go types
// (internal/scenario/schema); -check fails when a file differs.
func schemaCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	out := fs.String("o", "", "write the schema to this file (default stdout)")
	fields := fs.String("fields", "", "also write the field-by-field Markdown to this file")
	check := fs.Bool("check", false, "fail when a file given with -o or -fields differs from what the types produce")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("schema: %w: %w", err, errUsage)
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	s, err := schema.Reflect()
	if err != nil {
		return err
	}
	b, err := schema.JSON(s)
	if err != nil {
		return err
	}
	if err := writeOrCheck(stdout, *out, *check, b, "make schema"); err != nil || *fields == "" {
		return err
	}
	md := schema.Markdown(s)
	return writeOrCheck(stdout, *fields, *check, md, "make schema")
}
