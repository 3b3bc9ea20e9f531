package kyvernocli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

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

// patchedKey names one policy's patched resource: the policy's name and
// the resource's namespace, kind and name as the CLI prints them.
type patchedKey struct {
	Policy    string
	Namespace string
	Kind      string
	Name      string
}

// applyOutput is everything the driver reads from one `apply` run's stdout.
type applyOutput struct {
	Reports []cliReport
	Skipped []skippedPolicy
	// Patched holds the resource as each mutate policy left it ("policy P
	// applied to NS/KIND/NAME:" then the YAML, then "---"). The CLI prints
	// nothing of the kind for verifyImages policies.
	Patched map[patchedKey]map[string]any
	// Other holds the lines that are neither a report nor a skip list
	// (deprecation warnings and the like), kept for error messages.
	Other []string
}

var diagnosticLine = regexp.MustCompile(`^\d+\. (.*)$`)

// appliedLine starts a mutated resource block (v1.19.1 processor's
// printOutput: "policy %s applied to %s/%s/%s:" with namespace, kind, name).
var appliedLine = regexp.MustCompile(`^policy (\S+) applied to ([^/\s]*)/([^/\s]+)/([^/\s]+):$`)

// mutationDone is printed after each mutated resource, with no line break
// after it: the next output (the JSON report) continues the same line.
const mutationDone = "Mutation has been applied successfully."

// generationDone follows a generated resource (processGenerateResponse).
const generationDone = "Generation completed successfully."

// parseApplyOutput reads `kubectl-kyverno apply -p --output-format json`
// stdout. json.Marshal writes each report on one line; any other line
// (warnings printed ahead of the JSON, the "---" between reports, the
// skipped-policy block) is classified, never fed to the JSON decoder.
func parseApplyOutput(stdout []byte) (applyOutput, error) {
	out := applyOutput{Patched: map[patchedKey]map[string]any{}}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	section := ""
	lineNo := 0
	// A mutated resource block: its key, where it starts, its YAML lines.
	var block *patchedKey
	blockLine := 0
	var blockYAML strings.Builder
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if block != nil {
			// The CLI ends the block with a bare "---" line; an indented
			// "---" is part of the YAML (a block scalar).
			if strings.TrimRight(line, " \r") != "---" {
				blockYAML.WriteString(line + "\n")
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(blockYAML.String()), &obj); err != nil {
				return out, fmt.Errorf("stdout line %d: the resource policy %s patched: %w", blockLine, block.Policy, err)
			}
			if _, dup := out.Patched[*block]; dup {
				return out, fmt.Errorf("stdout line %d: policy %s patched %s/%s/%s twice", blockLine, block.Policy, block.Namespace, block.Kind, block.Name)
			}
			if len(obj) == 0 {
				// A mutate rule that errors leaves an empty resource ("{}").
				obj = nil
			}
			out.Patched[*block] = obj
			block = nil
			blockYAML.Reset()
			continue
		}
		trimmed := strings.TrimSpace(line)
		// The JSON report follows the mutation notice on the same line.
		if rest, ok := strings.CutPrefix(trimmed, mutationDone); ok {
			trimmed = strings.TrimSpace(rest)
		}
		switch {
		case trimmed == "" || trimmed == "---" || trimmed == "Mutation:":
			continue
		case appliedLine.MatchString(trimmed):
			m := appliedLine.FindStringSubmatch(trimmed)
			block = &patchedKey{Policy: m[1], Namespace: m[2], Kind: m[3], Name: m[4]}
			blockLine = lineNo
		case strings.HasPrefix(trimmed, generationDone) || trimmed == "Generate:":
			// Generated resources come in the same blocks as mutated ones
			// and would pass for a policy's patched resource: refuse.
			return out, fmt.Errorf("stdout line %d: the CLI printed generated resources (a generate rule), which this driver does not read", lineNo)
		case trimmed == "patched targets:":
			// mutateExisting targets: no scenario asks for them; refuse
			// rather than drop them unread.
			return out, fmt.Errorf("stdout line %d: the CLI printed patched targets (mutateExisting), which this driver does not read", lineNo)
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
	if block != nil {
		return out, fmt.Errorf("stdout line %d: the resource policy %s patched has no closing ---", blockLine, block.Policy)
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
					PatchedResource: o.Patched[patchedKey{
						Policy: policy, Namespace: res.Namespace, Kind: res.Kind, Name: res.Name,
					}],
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
