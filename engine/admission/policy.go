package admission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/imagectx/conformance/engine"
	"github.com/imagectx/conformance/engine/policykind"
)

// Kyverno's webhook configurations (Kyverno v1.19.1 pkg/config:
// ValidatingWebhookConfigurationName, MutatingWebhookConfigurationName)
// and the webhooks in them, one per failurePolicy:
// validate.kyverno.svc-fail, validate.kyverno.svc-ignore, mutate.kyverno.svc-*.
const (
	validatingWebhookConfig = "kyverno-resource-validating-webhook-cfg"
	mutatingWebhookConfig   = "kyverno-resource-mutating-webhook-cfg"
)

// servedVersion is the version of both policy groups the engine creates
// and reads (v1.19.1 serves policies.kyverno.io v1, stores v1beta1).
const servedVersion = "v1"

// celGroupVersion is policies.kyverno.io at servedVersion.
var celGroupVersion = schema.GroupVersion{Group: "policies.kyverno.io", Version: servedVersion}

// createdKind is the kind of obj, a namespaced kind the engine creates
// (its resource and webhooks come from engine/policykind).
func createdKind(obj *unstructured.Unstructured) (policykind.Kind, error) {
	k, ok := policykind.Lookup(obj.GetAPIVersion(), obj.GetKind())
	if !ok || k.Namespaced != k.Name {
		return policykind.Kind{}, fmt.Errorf("the admission engine creates no %s", obj.GetKind())
	}
	return k, nil
}

// gvr is the resource of a kind at servedVersion.
func gvr(k policykind.Kind) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.Group, Version: servedVersion, Resource: k.Resource}
}

// document is one decoded object of a batch and the file it came from.
type document struct {
	file string
	obj  *unstructured.Unstructured
}

// decodeAll splits every document into its YAML objects.
func decodeAll(docs []engine.Document) ([]document, error) {
	var out []document
	for _, d := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(d.Data), 4096)
		for {
			obj := &unstructured.Unstructured{}
			err := dec.Decode(&obj.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("admission: %s: %w", d.File, err)
			}
			if len(obj.Object) == 0 {
				continue
			}
			out = append(out, document{file: d.File, obj: obj})
		}
	}
	return out, nil
}

// CreatePolicy creates a namespaced Policy with strict field validation
// (as kubectl does: an unknown field is an error, not dropped), waits
// until Kyverno marks it Ready and the webhooks that serve its rules (of
// its failurePolicy) cover Pods, and returns the function that deletes it.
// When it returns an error the policy is deleted again.
func (e *Engine) CreatePolicy(ctx context.Context, obj *unstructured.Unstructured) (func(context.Context) error, error) {
	ns := obj.GetNamespace()
	kind, err := createdKind(obj)
	if err != nil {
		return nil, err
	}
	if _, err := e.dyn.Resource(gvr(kind)).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		return nil, err
	}
	del := func(ctx context.Context) error {
		err := e.dyn.Resource(gvr(kind)).Namespace(ns).Delete(ctx, obj.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete policy %s/%s: %w", ns, obj.GetName(), err)
		}
		return nil
	}
	if err := e.waitServed(ctx, obj); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return nil, errors.Join(err, del(cctx))
	}
	return del, nil
}

// waitServed waits (one minute at most) until the policy is Ready and
// every webhook serving its rules covers Pods: validate rules and
// verifyImages rules that check something in their validate pass are
// served by validate.kyverno.svc-<failurePolicy> (needsValidating), mutate
// and verifyImages rules by mutate.kyverno.svc-<failurePolicy>.
func (e *Engine) waitServed(ctx context.Context, obj *unstructured.Unstructured) error {
	fp, _, _ := unstructured.NestedString(obj.Object, "spec", "failurePolicy")
	if fp == "" {
		fp = "Fail" // Kyverno's default
	}
	fp = strings.ToLower(fp)
	deadline := time.Now().Add(time.Minute)
	var last error
	for {
		last = e.served(ctx, obj, fp)
		if last == nil {
			return nil
		}
		var wrong wrongTimeout
		if errors.As(last, &wrong) || time.Now().After(deadline) {
			return fmt.Errorf("policy %s/%s not served: %w", obj.GetNamespace(), obj.GetName(), last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("policy %s/%s not served: %w (%v)", obj.GetNamespace(), obj.GetName(), ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// wrongTimeout: a webhook's timeout is not the one the engine was told;
// waiting does not help.
type wrongTimeout struct{ msg string }

func (w wrongTimeout) Error() string { return w.msg }

func (e *Engine) served(ctx context.Context, obj *unstructured.Unstructured, fp string) error {
	kind, err := createdKind(obj)
	if err != nil {
		return err
	}
	p, err := e.dyn.Resource(gvr(kind)).Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if kind.Language == policykind.CEL {
		return e.servedCEL(ctx, p, kind, fp)
	}
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	ready := slices.ContainsFunc(conds, func(c any) bool {
		m, _ := c.(map[string]any)
		return m["type"] == "Ready" && m["status"] == "True"
	})
	if !ready {
		return fmt.Errorf("no Ready condition yet: %v", conds)
	}
	// The webhooks Kyverno v1.19.1 registers the policy in
	// (pkg/controllers/webhook), read from the stored policy, whose
	// defaults the API server has filled in.
	for _, h := range []struct {
		mutating bool
		prefix   string
		needed   bool
	}{{false, "validate.kyverno.svc-", needsValidating(p)}, {true, "mutate.kyverno.svc-", hasRule(p, "mutate", "verifyImages")}} {
		if !h.needed {
			continue
		}
		hooks, err := e.webhooks(ctx, h.mutating)
		if err != nil {
			return err
		}
		if err := e.coversPods(hooks, h.prefix+fp); err != nil {
			return err
		}
	}
	return nil
}

// needsValidating: Kyverno registers a kyverno.io policy in its validating
// webhook for a validate rule, or for a verifyImages rule whose validate
// pass checks something: an entry with verifyDigest or required (both
// true by default; HasVerifyImageChecks). A verifyImages rule with both
// false is served by the mutating webhook alone.
func needsValidating(p *unstructured.Unstructured) bool {
	rules, _, _ := unstructured.NestedSlice(p.Object, "spec", "rules")
	for _, r := range rules {
		m, _ := r.(map[string]any)
		if m["validate"] != nil {
			return true
		}
		entries, _ := m["verifyImages"].([]any)
		for _, e := range entries {
			iv, _ := e.(map[string]any)
			for _, flag := range []string{"verifyDigest", "required"} {
				if v, set := iv[flag].(bool); v || !set {
					return true
				}
			}
		}
	}
	return false
}

// servedCEL is served for a policies.kyverno.io policy: its status says
// ready (status.conditionStatus.ready) and a webhook of each of its kind's
// prefixes, for its failurePolicy, covers Pods. Its timeout is not the
// engine's: Kyverno v1.19.1 gives these webhooks the policy's
// webhookConfiguration.timeoutSeconds or 10 s, not --webhookTimeout.
func (e *Engine) servedCEL(ctx context.Context, p *unstructured.Unstructured, kind policykind.Kind, fp string) error {
	if ready, _, _ := unstructured.NestedBool(p.Object, "status", "conditionStatus", "ready"); !ready {
		status, _, _ := unstructured.NestedMap(p.Object, "status")
		return fmt.Errorf("not ready yet: status %v", status)
	}
	for _, h := range kind.Webhooks {
		hooks, err := e.webhooks(ctx, h.Mutating)
		if err != nil {
			return err
		}
		covered := slices.ContainsFunc(hooks, func(w webhook) bool {
			return strings.HasPrefix(w.name, h.Prefix+fp) && slices.ContainsFunc(w.rules, func(r admissionregistrationv1.RuleWithOperations) bool {
				return slices.Contains(r.Resources, "pods")
			})
		})
		if !covered {
			var names []string
			for _, w := range hooks {
				names = append(names, w.name)
			}
			return fmt.Errorf("no webhook %s* covering pods yet (have %v)", h.Prefix+fp, names)
		}
	}
	return nil
}

// webhooks are the webhooks of Kyverno's validating or mutating webhook
// configuration for resources.
func (e *Engine) webhooks(ctx context.Context, mutating bool) ([]webhook, error) {
	var hooks []webhook
	if mutating {
		mwc, err := e.cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, mutatingWebhookConfig, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		for _, w := range mwc.Webhooks {
			hooks = append(hooks, webhook{w.Name, w.Rules, w.TimeoutSeconds})
		}
		return hooks, nil
	}
	vwc, err := e.cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, validatingWebhookConfig, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	for _, w := range vwc.Webhooks {
		hooks = append(hooks, webhook{w.Name, w.Rules, w.TimeoutSeconds})
	}
	return hooks, nil
}

// webhook is what a validating and a mutating webhook share for the wait.
type webhook struct {
	name    string
	rules   []admissionregistrationv1.RuleWithOperations
	timeout *int32
}

// coversPods is nil once the webhook named want exists, one of its rules
// covers Pods, and its timeout is the engine's.
func (e *Engine) coversPods(hooks []webhook, want string) error {
	var names []string
	for _, w := range hooks {
		names = append(names, w.name)
		if w.name != want {
			continue
		}
		if !slices.ContainsFunc(w.rules, func(r admissionregistrationv1.RuleWithOperations) bool { return slices.Contains(r.Resources, "pods") }) {
			return fmt.Errorf("webhook %s does not cover pods yet", want)
		}
		if w.timeout == nil || time.Duration(*w.timeout)*time.Second != e.opts.WebhookTimeout {
			return wrongTimeout{fmt.Sprintf("webhook %s has timeoutSeconds %v, the engine was told %s", want, deref(w.timeout), e.opts.WebhookTimeout)}
		}
		return nil
	}
	return fmt.Errorf("no webhook %s yet (have %v)", want, names)
}

func deref(p *int32) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// hasRule reports whether a policy has a rule of one of the types.
func hasRule(obj *unstructured.Unstructured, types ...string) bool {
	rules, _, _ := unstructured.NestedSlice(obj.Object, "spec", "rules")
	for _, r := range rules {
		m, _ := r.(map[string]any)
		for _, t := range types {
			if m[t] != nil {
				return true
			}
		}
	}
	return false
}
