package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/imagectx/conformance/internal/conformance"
	"github.com/imagectx/conformance/internal/scenario"
)

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

