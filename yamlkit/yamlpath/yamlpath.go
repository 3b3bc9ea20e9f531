// Package yamlpath follows Kubernetes-style field paths
// ("spec.rules[0].context[1].imageRegistry") through YAML nodes, so that
// errors about a field can name the line the user wrote it on.
package yamlpath

import (
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Resolve follows aliases and steps into a single-document node.
func Resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return Resolve(n.Content[0])
	}
	return n
}

// Child is the value of key in mapping n, nil when n is not a mapping or
// has no such key.
func Child(n *yaml.Node, key string) *yaml.Node {
	_, v := entry(Resolve(n), key)
	return v
}

func entry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], Resolve(n.Content[i+1])
		}
	}
	return nil, nil
}

var step = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// Find follows path from n. It returns the deepest node reached, the node
// that names it (the mapping key, or the list item itself), and whether the
// whole path was found. A leading "." is allowed.
func Find(n *yaml.Node, path string) (deepest, name *yaml.Node, found bool) {
	deepest = Resolve(n)
	for _, m := range step.FindAllStringSubmatch(path, -1) {
		var k, next *yaml.Node
		if m[2] == "" {
			k, next = entry(deepest, m[1])
		} else if i, _ := strconv.Atoi(m[2]); deepest.Kind == yaml.SequenceNode && i < len(deepest.Content) {
			next = Resolve(deepest.Content[i])
			k = next
		}
		if next == nil {
			return deepest, name, false
		}
		deepest, name = next, k
	}
	return deepest, name, true
}
