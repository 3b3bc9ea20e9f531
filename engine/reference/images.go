package reference

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// Kyverno's built-in "images" variable: for the kinds it knows, every
// container image of the resource, parsed, under
// images.<initContainers|containers|ephemeralContainers>.<container name>.
// Kyverno registers it as a deferred loader named "images" ahead of the
// rule's entries, with the default configuration (default registry
// docker.io, default registry mutation on).

const defaultRegistry = "docker.io"

// imageFieldPaths is where each kind keeps its pod spec.
var imageFieldPaths = map[string][]string{
	"Pod":                   {"spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// extractImages builds the images variable; nil when the resource has no
// image (Kyverno then adds nothing, and a query reads Unknown key "images").
func extractImages(kind string, obj map[string]any) (map[string]any, error) {
	base, ok := imageFieldPaths[kind]
	if !ok {
		return nil, nil
	}
	out := map[string]any{}
	for _, group := range []string{"initContainers", "containers", "ephemeralContainers"} {
		var node any = obj
		path := []string{}
		for _, f := range append(append([]string{}, base...), group) {
			m, ok := node.(map[string]any)
			if !ok {
				if node == nil {
					break // a missing spec has no images
				}
				return nil, fmt.Errorf("invalid image config")
			}
			node = m[f]
			path = append(path, f)
		}
		list, ok := node.([]any)
		if !ok {
			continue
		}
		infos := map[string]any{}
		for i, item := range list {
			c, ok := item.(map[string]any)
			if !ok {
				continue
			}
			pointer := "/" + strings.Join(append(path, strconv.Itoa(i)), "/") + "/image"
			key, ok := c["name"].(string)
			if !ok {
				return nil, fmt.Errorf("invalid key")
			}
			image, ok := c["image"].(string)
			if !ok || strings.TrimSpace(image) == "" {
				continue
			}
			info, err := imageInfo(image)
			if err != nil {
				return nil, fmt.Errorf("invalid image '%s' (%s)", image, err.Error())
			}
			info["jsonPointer"] = pointer
			infos[key] = info
		}
		if len(infos) > 0 {
			out[group] = infos
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// imageInfo parses one image as Kyverno's GetImageInfo does; empty fields
// are left out (its json tags are omitempty, except name and path).
func imageInfo(image string) (map[string]any, error) {
	full := image
	if i := strings.IndexRune(image, '/'); i == -1 || (!strings.ContainsAny(image[:i], ".:") && image[:i] != "localhost" && strings.ToLower(image[:i]) == image[:i]) {
		full = defaultRegistry + "/" + image
	}
	ref, err := reference.Parse(full)
	if err != nil {
		return nil, fmt.Errorf("bad image: %s, defaultRegistry: %s, enableDefaultRegistryMutation: %t: %w", full, defaultRegistry, true, err)
	}
	var registry, path, name, tag, digest string
	if named, ok := ref.(reference.Named); ok {
		registry = reference.Domain(named)
		path = reference.Path(named)
		name = path[strings.LastIndex(path, "/")+1:]
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		tag = tagged.Tag()
	}
	if digested, ok := ref.(reference.Digested); ok {
		digest = digested.Digest().String()
	}
	if digest == "" && tag == "" {
		tag = "latest"
	}
	withTag := path + ":" + tag
	if registry != "" {
		withTag = registry + "/" + withTag
	}
	str := path
	if registry != "" {
		str = registry + "/" + path
	}
	if digest != "" {
		str += "@" + digest
	} else {
		str += ":" + tag
	}
	info := map[string]any{"name": name, "path": path}
	for k, v := range map[string]string{"registry": registry, "tag": tag, "digest": digest, "reference": str, "referenceWithTag": withTag} {
		if v != "" {
			info[k] = v
		}
	}
	return info, nil
}
