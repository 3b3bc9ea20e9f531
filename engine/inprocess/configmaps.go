package inprocess

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/yaml"

	"github.com/imagectx/conformance/engine"
)

// configMaps resolves configMap context entries from the ConfigMaps a
// request gives (engine.Request.ConfigMaps), the way Kyverno's client-based
// resolver answers from a cluster: a ConfigMap not given is the API
// server's NotFound (`configmaps "name" not found`).
type configMaps map[string]*corev1.ConfigMap // "namespace/name"

// loadConfigMaps decodes the documents; each must be a v1 ConfigMap with a
// name (errors name the document's file). No documents is nil: no resolver.
func loadConfigMaps(docs []engine.Document) (configMaps, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	out := configMaps{}
	for _, d := range docs {
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict(d.Data, &cm); err != nil {
			return nil, fmt.Errorf("inprocess: ConfigMap %s: %w", d.File, err)
		}
		if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Name == "" {
			return nil, fmt.Errorf("inprocess: ConfigMap %s: want apiVersion v1, kind ConfigMap and metadata.name, got %s %s %q", d.File, cm.APIVersion, cm.Kind, cm.Name)
		}
		if cm.Namespace == "" {
			// As an API server would store it; Kyverno asks for "default"
			// when a configMap entry names no namespace.
			cm.Namespace = "default"
		}
		key := cm.Namespace + "/" + cm.Name
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("inprocess: ConfigMap %s: %s is given twice", d.File, key)
		}
		out[key] = &cm
	}
	return out, nil
}

// Get implements engineapi.ConfigmapResolver.
func (c configMaps) Get(_ context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	if cm, ok := c[namespace+"/"+name]; ok {
		return cm.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), name)
}
