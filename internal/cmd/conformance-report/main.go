// Command conformance-report prints the conformance matrix from results
// files and generates or checks the error-string catalogue.
//
//	conformance-report matrix [-o file.md] results-*.json
//	conformance-report catalogue [-o docs/error-strings.md] [-check] scenarios [dir...]
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

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "conformance-report:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want a command: matrix or catalogue")
	}
	switch args[0] {
	case "matrix":
		return matrix(args[1:], stdout)
	case "catalogue":
		return catalogue(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q; want matrix or catalogue", args[0])
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
