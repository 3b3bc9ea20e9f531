package kyvernocli

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/imagectx/conformance/engine"
)

// The probe applies two policies to one Pod whose image cannot be parsed,
// so no network is used. The baseline has no catchError and must be
// applied (its rule errors); the probe sets catchError and, on a build
// that has the feature, fails with the caught flag in its message.
const (
	probeBaselinePolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: imagectx-probe-baseline
  annotations:
    pod-policies.kyverno.io/autogen-controllers: none
spec:
  background: false
  rules:
  - name: baseline
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
    validate:
      message: "baseline={{ imageData.registry }}"
      deny:
        conditions:
          any:
          - key: "{{ imageData.registry }}"
            operator: Equals
            value: never
`
	probeCatchErrorPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: imagectx-probe-catcherror
  annotations:
    pod-policies.kyverno.io/autogen-controllers: none
spec:
  background: false
  rules:
  - name: probe
    match:
      any:
      - resources:
          kinds: [Pod]
    context:
    - name: imageData
      imageRegistry:
        reference: "{{ request.object.spec.containers[0].image }}"
        catchError: true
    validate:
      message: "caught={{ imageData.failed }}"
      deny:
        conditions:
          any:
          - key: "{{ imageData.failed }}"
            operator: Equals
            value: true
`
	probePod = `apiVersion: v1
kind: Pod
metadata:
  name: imagectx-probe
  namespace: default
spec:
  containers:
  - name: app
    image: "Bad Image!!:x"
`
	probeCaughtMessage = "caught=true"

	// probeCELPolicy reads image.GetMetadata for the probe Pod's image on
	// a closed loopback port: a CLI whose CEL image data reaches the
	// registry reports "connection refused"; v1.19.1 without --cluster
	// answers from its fake context provider (processor.NewContextProvider,
	// isFake = !Cluster) and reports probeCELFakeMessage.
	probeCELPolicy = `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: imagectx-probe-cel
spec:
  validationActions: [Audit]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  validations:
  - expression: image.GetMetadata(object.spec.containers[0].image).resolvedImage != ''
`
	probeCELPod = `apiVersion: v1
kind: Pod
metadata:
  name: imagectx-probe-cel
  namespace: default
spec:
  containers:
  - name: app
    image: 127.0.0.1:1/imagectx/probe:v1
`
	probeCELFakeMessage = "not found in the context"
	probeCELReached     = "connection refused"
)

var (
	versionLine  = regexp.MustCompile(`(?m)^Version:\s*(\S+)`)
	applyingLine = regexp.MustCompile(`Applying (\d+) policy rule\(s\) to (\d+) resource\(s\)`)
	summaryLine  = regexp.MustCompile(`pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)`)
)

// parseVersion reads `kubectl-kyverno version` output.
func parseVersion(stdout []byte) (string, error) {
	m := versionLine.FindSubmatch(stdout)
	if m == nil {
		return "", fmt.Errorf("version output has no 'Version:' line: %q", strings.TrimSpace(string(stdout)))
	}
	return string(m[1]), nil
}

// applySummary is what `apply` without -p prints: the rule count and the
// result totals.
type applySummary struct {
	Rules, Resources              int
	Pass, Fail, Warn, Error, Skip int
}

func parseApplySummary(stdout []byte) (applySummary, error) {
	var s applySummary
	a := applyingLine.FindSubmatch(stdout)
	if a == nil {
		return s, fmt.Errorf("no 'Applying N policy rule(s)' line in: %q", strings.TrimSpace(string(stdout)))
	}
	t := summaryLine.FindSubmatch(stdout)
	if t == nil {
		return s, fmt.Errorf("no 'pass: N, fail: N, ...' line in: %q", strings.TrimSpace(string(stdout)))
	}
	n := func(b []byte) int { v, _ := strconv.Atoi(string(b)); return v }
	s.Rules, s.Resources = n(a[1]), n(a[2])
	s.Pass, s.Fail, s.Warn, s.Error, s.Skip = n(t[1]), n(t[2]), n(t[3]), n(t[4]), n(t[5])
	return s, nil
}

// judgeCatchError decides from the probe run whether the build has the
// feature; when not, the reason says what the build did.
func judgeCatchError(version string, s applySummary, stdout []byte, dropReason string) (bool, string) {
	switch {
	case s.Rules == 0:
		return false, fmt.Sprintf("kubectl-kyverno %s applied 0 policy rule(s): it does not load even a policy without catchError", version)
	case s.Rules == 1:
		reason := fmt.Sprintf("kubectl-kyverno %s does not know imageRegistry.catchError: it silently drops a policy that sets it (exit 0, 1 of 2 probe rules applied", version)
		if dropReason != "" {
			// Keep the loader's verdict, without the probe's file name.
			if i := strings.Index(dropReason, "failed to parse document ("); i >= 0 && strings.HasSuffix(dropReason, ")") {
				dropReason = dropReason[i+len("failed to parse document (") : len(dropReason)-1]
			}
			reason += "; -v 3 logs: " + dropReason
		}
		return false, reason + ")"
	case s.Fail == 1 && strings.Contains(string(stdout), probeCaughtMessage):
		return true, ""
	default:
		return false, fmt.Sprintf("kubectl-kyverno %s loads imageRegistry.catchError but does not catch a failed lookup (pass %d, fail %d, error %d; expected the probe to fail with %q)",
			version, s.Pass, s.Fail, s.Error, probeCaughtMessage)
	}
}

// binaryKey identifies the binary's current content cheaply, so a rebuilt
// binary at the same path is probed again.
func binaryKey(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano()), nil
}

// Capabilities implements engine.Engine: `version`, then one probe run.
// The answer is cached for the binary's identity.
func (e *Engine) Capabilities(ctx context.Context) (engine.Capabilities, error) {
	key, err := binaryKey(e.bin)
	if err != nil {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: %w", err)
	}
	e.capMu.Lock()
	defer e.capMu.Unlock()
	if e.capKey == key {
		return e.capCache, nil
	}
	caps, err := e.probe(ctx)
	if err != nil {
		return engine.Capabilities{}, err
	}
	e.capKey, e.capCache = key, caps
	return caps, nil
}

func (e *Engine) probe(ctx context.Context) (engine.Capabilities, error) {
	ctx, release, err := e.slot(ctx)
	if err != nil {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: waiting for a process slot: %w", err)
	}
	defer release()
	wd, err := newWorkdir(e.tmpDir)
	if err != nil {
		return engine.Capabilities{}, err
	}
	defer wd.Remove()
	env, err := wd.env(engine.RegistryConfig{}, e.env)
	if err != nil {
		return engine.Capabilities{}, err
	}

	ver, err := runCLI(ctx, e.bin, []string{"version"}, env, wd.path("tmp"))
	if err != nil {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: %w", err)
	}
	if ver.ExitCode != 0 {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: %s version exited %d\n%s", e.bin, ver.ExitCode, stderrSummary(ver.Stderr))
	}
	version, err := parseVersion(ver.Stdout)
	if err != nil {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: %s: %w", e.bin, err)
	}

	baseline, err := wd.writeFile([]byte(probeBaselinePolicy), "policies", "baseline.yaml")
	if err != nil {
		return engine.Capabilities{}, err
	}
	probe, err := wd.writeFile([]byte(probeCatchErrorPolicy), "policies", "catcherror.yaml")
	if err != nil {
		return engine.Capabilities{}, err
	}
	pod, err := wd.writeFile([]byte(probePod), "resources", "pod.yaml")
	if err != nil {
		return engine.Capabilities{}, err
	}
	run, err := runCLI(ctx, e.bin, []string{"apply", baseline, probe, "--resource", pod, "--registry", "--remove-color", "-v=3"}, env, wd.path("tmp"))
	if err != nil {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: catchError probe: %w", err)
	}
	summary, err := parseApplySummary(run.Stdout)
	if err != nil {
		return engine.Capabilities{}, fmt.Errorf("kyvernocli: catchError probe (exit %d): %w\n%s", run.ExitCode, err, stderrSummary(run.Stderr))
	}
	dropReason := ""
	probeDoc := policyDoc{yamlDoc: yamlDoc{File: "catchError probe policy", Line: 1}, Name: "imagectx-probe-catcherror", Path: probe}
	if dropped, err := droppedPolicies(run.Stderr, []policyDoc{probeDoc}); err == nil && len(dropped) == 1 {
		dropReason = dropped[0].reason
	}
	catchErr, reason := judgeCatchError(version, summary, run.Stdout, dropReason)

	caps := engine.Capabilities{
		Version: version,
		Unsupported: map[engine.Capability]string{
			engine.CapContext:   "kubectl-kyverno apply reports rule status and message, not the loaded context",
			engine.CapAdmission: "kubectl-kyverno apply evaluates in process; no API server admission request",
			engine.CapSecrets:   "kubectl-kyverno apply has no secret lister: imageRegistryCredentials.secrets are not read",
			engine.CapClientDeadline: "kubectl-kyverno applies no registry timeout; the driver can only stop the whole run " +
				"when the context ends, so no rule reports 'context deadline exceeded'",
			engine.CapVerifyImagesPatch: "kubectl-kyverno apply prints the resources mutate policies patched, " +
				"not those of verifyImages policies",
			engine.CapImagePullSecrets: "kubectl-kyverno apply has no --imagePullSecrets flag (a controller's) and no Secret lister",
			engine.CapImageVerifyCache: "kubectl-kyverno always runs Kyverno's disabled image verify cache " +
				"(no --imageVerifyCacheEnabled flag, a controller's)",
			engine.CapAPICallResponses: "kubectl-kyverno apply takes no apiCallResponses (kubectl-kyverno test does); " +
				"its apiCall entries get the fake client holding the given resources",
		},
	}
	if !catchErr {
		caps.Unsupported[engine.CapCatchError] = reason
	}
	if reason, err := e.probeCEL(ctx, wd, env, version); err != nil {
		return engine.Capabilities{}, err
	} else if reason != "" {
		caps.Unsupported[engine.CapCELImageData] = reason
	}
	return caps, nil
}

// probeCEL applies probeCELPolicy with --registry and says why the build's
// CEL image data cannot be specified here ("" when its lookups reach the
// registry).
func (e *Engine) probeCEL(ctx context.Context, wd *workdir, env []string, version string) (string, error) {
	pol, err := wd.writeFile([]byte(probeCELPolicy), "policies", "cel.yaml")
	if err != nil {
		return "", err
	}
	pod, err := wd.writeFile([]byte(probeCELPod), "resources", "cel-pod.yaml")
	if err != nil {
		return "", err
	}
	run, err := runCLI(ctx, e.bin, []string{"apply", pol, "--resource", pod, "--registry", "--policy-report", "--output-format", "json", "--remove-color"},
		env, wd.path("tmp"))
	if err != nil {
		return "", fmt.Errorf("kyvernocli: CEL image-data probe: %w", err)
	}
	var messages []string
	if out, err := parseApplyOutput(run.Stdout); err == nil {
		for _, rep := range out.Reports {
			for _, r := range rep.Results {
				messages = append(messages, r.Message)
			}
		}
	}
	return judgeCEL(version, run.ExitCode, messages, append(run.Stdout, run.Stderr...)), nil
}

// judgeCEL decides from the CEL probe's result messages (and, failing
// those, its whole output) whether image.GetMetadata reached the registry.
func judgeCEL(version string, exitCode int, messages []string, output []byte) string {
	for _, m := range messages {
		switch {
		case strings.Contains(m, probeCELReached):
			return ""
		case strings.Contains(m, probeCELFakeMessage):
			return fmt.Sprintf("kubectl-kyverno %s apply --registry answers image.GetMetadata from a fake CEL context without --cluster "+
				"(processor.NewContextProvider, isFake = !Cluster), never from the registry; the probe's result: %q", version, m)
		}
	}
	return fmt.Sprintf("kubectl-kyverno %s: the CEL image-data probe neither reached the registry nor named its fake context (exit %d): %q",
		version, exitCode, strings.TrimSpace(stderrSummary(output)))
}
