package reference

import (
	"gopkg.in/yaml.v3"
)

// decodeResources reads every Kubernetes object of a (multi-document) YAML
// file; a kind List contributes its items. Objects become unstructured
// values as Kubernetes decodes them (integers int64, other numbers
// float64), the form Kyverno puts at request.object and matches patterns on.
func decodeResources(file string, data []byte) ([]*resource, error) {
	docs, err := splitDocuments(file, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: file, int64s: true}
	var out []*resource
	for _, doc := range docs {
		if doc.Kind != yaml.MappingNode {
			return nil, d.errorf(doc, "", "expected a Kubernetes object, got %s", kindName(doc))
		}
		v, err := d.toValue(doc, "")
		if err != nil {
			return nil, err
		}
		obj := v.(map[string]any)
		if obj["kind"] == "List" {
			items, _ := obj["items"].([]any)
			itemsNode := childNode(doc, "items")
			for i, it := range items {
				n := doc
				if itemsNode != nil && i < len(itemsNode.Content) {
					n = itemsNode.Content[i]
				}
				m, ok := it.(map[string]any)
				if !ok {
					return nil, d.errorf(n, indexPath("items", i), "expected a Kubernetes object")
				}
				r, err := newResource(d, n, m, indexPath("items", i))
				if err != nil {
					return nil, err
				}
				out = append(out, r)
			}
			continue
		}
		r, err := newResource(d, doc, obj, "")
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func newResource(d *decoder, n *yaml.Node, obj map[string]any, path string) (*resource, error) {
	r := &resource{object: obj}
	var ok bool
	if r.apiVersion, ok = obj["apiVersion"].(string); !ok || r.apiVersion == "" {
		return nil, d.errorf(n, joinPath(path, "apiVersion"), "required (a string)")
	}
	if r.kind, ok = obj["kind"].(string); !ok || r.kind == "" {
		return nil, d.errorf(n, joinPath(path, "kind"), "required (a string)")
	}
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return nil, d.errorf(n, joinPath(path, "metadata"), "required (an object)")
	}
	r.name, _ = meta["name"].(string)
	if r.name == "" {
		r.name, _ = meta["generateName"].(string)
	}
	if r.name == "" {
		return nil, d.errorf(n, joinPath(path, "metadata.name"), "required (a string)")
	}
	r.namespace, _ = meta["namespace"].(string)
	// As the Kyverno CLI reads resources: a namespaced object without a
	// namespace is in "default", and null label/annotation/data maps are
	// empty maps.
	if r.namespace == "" && !clusterScoped(r.group(), r.kind) {
		r.namespace = "default"
		meta["namespace"] = "default"
	}
	normalizeNilMaps(obj)
	r.labels = stringMap(meta["labels"])
	r.annots = stringMap(meta["annotations"])
	return r, nil
}

func stringMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		if s, ok := val.(string); ok {
			out[k] = s
		}
	}
	return out
}

// clusterScopedKinds are the built-in Kubernetes kinds without a namespace,
// by API group ("" is the core group).
var clusterScopedKinds = map[string][]string{
	"":                             {"Namespace", "Node", "PersistentVolume", "ComponentStatus"},
	"rbac.authorization.k8s.io":    {"ClusterRole", "ClusterRoleBinding"},
	"storage.k8s.io":               {"StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "VolumeAttributesClass"},
	"apiextensions.k8s.io":         {"CustomResourceDefinition"},
	"admissionregistration.k8s.io": {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"},
	"scheduling.k8s.io":            {"PriorityClass"},
	"node.k8s.io":                  {"RuntimeClass"},
	"apiregistration.k8s.io":       {"APIService"},
	"certificates.k8s.io":          {"CertificateSigningRequest", "ClusterTrustBundle"},
	"networking.k8s.io":            {"IngressClass", "IPAddress", "ServiceCIDR"},
	"flowcontrol.apiserver.k8s.io": {"FlowSchema", "PriorityLevelConfiguration"},
	"resource.k8s.io":              {"DeviceClass"},
	"authentication.k8s.io":        {"TokenReview", "SelfSubjectReview"},
	"authorization.k8s.io":         {"SubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview"},
}

func clusterScoped(group, kind string) bool {
	for _, k := range clusterScopedKinds[group] {
		if k == kind {
			return true
		}
	}
	return false
}

// normalizeNilMaps turns null values of well-known map fields into empty
// maps, everywhere in the object.
func normalizeNilMaps(obj map[string]any) {
	for k, v := range obj {
		switch t := v.(type) {
		case nil:
			switch k {
			case "annotations", "labels", "matchLabels", "nodeSelector", "data", "stringData":
				obj[k] = map[string]any{}
			}
		case map[string]any:
			normalizeNilMaps(t)
		case []any:
			for _, item := range t {
				if m, ok := item.(map[string]any); ok {
					normalizeNilMaps(m)
				}
			}
		}
	}
}
