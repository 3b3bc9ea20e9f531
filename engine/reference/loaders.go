package reference

import (
	"encoding/json"
	"fmt"
)

// loadImageData loads an imageRegistry entry. The steps, their order and
// every error text follow Kyverno v1.19.1's image data loader; catchError
// follows the contract (DESIGN.md decisions 1-4): only the fetch and decode
// errors are caught, and the error map skips jmesPath.
func (c *evalContext) loadImageData(e *ContextEntry) (any, error) {
	ir := e.ImageRegistry
	ref, err := c.substitute(ir.Reference, "")
	if err != nil {
		// "ailed" (sic): Kyverno's text lost its first letter.
		return nil, fmt.Errorf("ailed to substitute variables in context entry %s %s: %v", e.Name, ir.Reference, err)
	}
	refString, ok := ref.(string)
	if !ok {
		return nil, fmt.Errorf("invalid image reference %s, image reference must be a string", ref)
	}
	path, err := c.substitute(ir.JMESPath, "")
	if err != nil {
		return nil, fmt.Errorf("failed to substitute variables in context entry %s %s: %v", e.Name, ir.JMESPath, err)
	}
	pathString, ok := path.(string)
	if !ok {
		return nil, fmt.Errorf("failed to substitute variables in context entry %s %s: jmesPath must resolve to a string, got %T", e.Name, ir.JMESPath, path)
	}
	opts := clientOptions{keychain: c.reg.keychainFor(ir.ImageRegistryCredentials)}
	if ir.ImageRegistryCredentials != nil {
		opts.insecure = ir.ImageRegistryCredentials.AllowInsecureRegistry
	}
	data, err := c.fetchImageDataMap(refString, opts)
	if err != nil {
		if ir.CatchError {
			return map[string]any{"failed": true, "errorMessage": err.Error()}, nil
		}
		return nil, err
	}
	if ir.CatchError {
		data["failed"] = false
		data["errorMessage"] = ""
	}
	if pathString == "" {
		return data, nil
	}
	out, err := c.applyJMESPath(pathString, data)
	if err != nil {
		return nil, fmt.Errorf("failed to apply JMESPath (%s) results to context entry %s, error: %v", ir.JMESPath, e.Name, err)
	}
	return jsonRoundTrip(out)
}

// fetchImageDataMap builds the 8-key map from a registry descriptor.
func (c *evalContext) fetchImageDataMap(ref string, opts clientOptions) (map[string]any, error) {
	desc, err := c.reg.fetcher.fetch(c.ctx, ref, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch image descriptor: %s, error: %v", ref, err)
	}
	var manifest any
	if err := json.Unmarshal(desc.Manifest, &manifest); err != nil {
		return nil, fmt.Errorf("failed to decode manifest for image reference: %s, error: %v", ref, err)
	}
	var config any
	if err := json.Unmarshal(desc.Config, &config); err != nil {
		return nil, fmt.Errorf("failed to decode config for image reference: %s, error: %v", ref, err)
	}
	var manifestList any
	if desc.ManifestList != nil {
		if err := json.Unmarshal(desc.ManifestList, &manifestList); err != nil {
			return nil, fmt.Errorf("failed to decode image index for image reference: %s, error: %v", ref, err)
		}
	}
	// Every value is already JSON-typed (strings, or documents decoded into
	// float64 numbers), which is what Kyverno's JSON round trip produces.
	return map[string]any{
		"image":         desc.Image,
		"resolvedImage": desc.ResolvedImage,
		"registry":      desc.Registry,
		"repository":    desc.Repository,
		"identifier":    desc.Identifier,
		"manifestList":  manifestList,
		"manifest":      manifest,
		"configData":    config,
	}, nil
}

func (c *evalContext) applyJMESPath(expr string, data any) (any, error) {
	q, err := c.eng.queries.compile(expr)
	if err != nil {
		return nil, fmt.Errorf("failed to compile JMESPath: %s, error: %v", expr, err)
	}
	return q.Search(data)
}

// loadVariable loads a variable entry as Kyverno's variable loader does:
// value (substituted), optionally projected by jmesPath; without value,
// jmesPath queries the context; default when the projection fails or is
// null.
func (c *evalContext) loadVariable(e *ContextEntry) (any, error) {
	v := e.Variable
	path := ""
	if v.JMESPath != "" {
		jp, err := c.substitute(v.JMESPath, "")
		if err != nil {
			return nil, fmt.Errorf("failed to substitute variables in context entry %s %s: %v", e.Name, v.JMESPath, err)
		}
		s, ok := jp.(string)
		if !ok {
			return nil, fmt.Errorf("jmespath value must be a string %s %s: %v", e.Name, v.JMESPath, nil)
		}
		path = s
	}
	var defaultValue any
	if v.Default != nil {
		d, err := c.substitute(v.Default, "")
		if err != nil {
			return nil, fmt.Errorf("failed to substitute variables in context entry %s %s: %v", e.Name, kyvernoAnyString(v.Default), err)
		}
		defaultValue = d
	}
	output := defaultValue
	if v.Value != nil {
		value, err := c.substitute(v.Value, "")
		if err != nil {
			return nil, fmt.Errorf("failed to substitute variables in context entry %s %s: %v", e.Name, kyvernoAnyString(v.Value), err)
		}
		if path != "" {
			projected, err := c.applyJMESPath(path, value)
			if err == nil {
				output = projected
			} else if defaultValue == nil {
				return nil, fmt.Errorf("failed to apply jmespath %s to variable %v: %v", path, value, err)
			}
		} else {
			output = value
		}
	} else if path != "" {
		projected, err := c.query(path)
		if err == nil {
			if projected != nil {
				output = projected
			}
		} else if defaultValue == nil {
			return nil, fmt.Errorf("failed to apply jmespath %s to variable %v: %v", path, projected, err)
		}
	}
	if output == nil {
		return nil, fmt.Errorf("failed to add context entry for variable %s since it evaluated to nil", e.Name)
	}
	return jsonRoundTrip(output)
}

// kyvernoAnyString prints a variable's value or default the way Kyverno's
// error messages do (%v of the decoded value).
func kyvernoAnyString(v any) string {
	return fmt.Sprintf("%v", v)
}
