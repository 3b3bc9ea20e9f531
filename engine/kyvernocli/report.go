package kyvernocli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/imagectx/conformance/engine"
)

// cliReport is the part of an openreports.io/v1alpha1 ClusterReport or
// PolicyReport that `apply -p --output-format json` prints and the driver
// reads.
type cliReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Results []cliResult `json:"results"`
}

type cliResult struct {
	Policy    string        `json:"policy"`
	Rule      string        `json:"rule"`
	Result    string        `json:"result"`
	Message   string        `json:"message"`
	Resources []cliResource `json:"resources"`
}

type cliResource struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// skippedPolicy is a policy the CLI loaded but rejected in validation,
// listed under "Policies Skipped:" or "Invalid Policies:".
type skippedPolicy struct {
	Name   string
	Reason string
}

// applyOutput is everything the driver reads from one `apply` run's stdout.
type applyOutput struct {
	Reports []cliReport
	Skipped []skippedPolicy
	// Other holds the lines that are neither a report nor a skip list
	// (deprecation warnings and the like), kept for error messages.
	Other []string
}

var diagnosticLine = regexp.MustCompile(`^\d+\. (.*)$`)

// parseApplyOutput reads `kubectl-kyverno apply -p --output-format json`
// stdout. json.Marshal writes each report on one line; any other line
// (warnings printed ahead of the JSON, the "---" between reports, the
// skipped-policy block) is classified, never fed to the JSON decoder.
func parseApplyOutput(stdout []byte) (applyOutput, error) {
	var out applyOutput
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	section := ""
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || trimmed == "---":
			continue
		case strings.HasPrefix(trimmed, "{"):
			var r cliReport
			if err := json.Unmarshal([]byte(trimmed), &r); err != nil {
				return out, fmt.Errorf("stdout line %d: report JSON: %w", lineNo, err)
			}
			if r.Kind != "ClusterReport" && r.Kind != "PolicyReport" && r.Kind != "Report" {
				return out, fmt.Errorf("stdout line %d: expected a ClusterReport or PolicyReport, got kind %q", lineNo, r.Kind)
			}
			out.Reports = append(out.Reports, r)
			section = ""
		case strings.Trim(trimmed, "-") == "" && len(trimmed) > 10:
			// divider around the skipped/invalid policy lists
			section = ""
		case trimmed == "Policies Skipped:" || trimmed == "Invalid Policies:":
			section = trimmed
		case section != "" && diagnosticLine.MatchString(trimmed):
			body := diagnosticLine.FindStringSubmatch(trimmed)[1]
			name, reason, _ := strings.Cut(body, ": ")
			out.Skipped = append(out.Skipped, skippedPolicy{Name: name, Reason: reason})
		default:
			out.Other = append(out.Other, line)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading stdout: %w", err)
	}
	return out, nil
}

// results converts the reports' entries to engine results. Policy names of
// namespaced policies come as "namespace/name"; the result carries the name.
func (o applyOutput) results() ([]engine.Result, error) {
	var results []engine.Result
	for _, rep := range o.Reports {
		for i, r := range rep.Results {
			status, err := parseStatus(r.Result)
			if err != nil {
				return nil, fmt.Errorf("report %s result %d (policy %s, rule %s): %w", rep.Metadata.Name, i, r.Policy, r.Rule, err)
			}
			policy := r.Policy
			if _, name, ok := strings.Cut(policy, "/"); ok {
				policy = name
			}
			if len(r.Resources) == 0 {
				return nil, fmt.Errorf("report %s result %d (policy %s, rule %s): no resources[] entry", rep.Metadata.Name, i, r.Policy, r.Rule)
			}
			for _, res := range r.Resources {
				results = append(results, engine.Result{
					Policy:   policy,
					Rule:     r.Rule,
					Resource: engine.ResourceID{Kind: res.Kind, Namespace: res.Namespace, Name: res.Name},
					Status:   status,
					Message:  r.Message,
				})
			}
		}
	}
	return results, nil
}

func parseStatus(s string) (engine.Status, error) {
	switch st := engine.Status(s); st {
	case engine.StatusPass, engine.StatusFail, engine.StatusWarn, engine.StatusSkip, engine.StatusError:
		return st, nil
	}
	return "", fmt.Errorf("unknown result %q, expected pass, fail, warn, skip or error", s)
}
