package jmespath

import (
	"bytes"
	"crypto/md5" // #nosec G501 -- Kyverno's md5 function, not used for security
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- Kyverno's sha1 function, not used for security
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"sort"

	"sigs.k8s.io/yaml"
)

// Kyverno validates the base64 and hash arguments under an empty function
// name; kept for identical messages.
func fnBase64Decode(a []any) (any, error) {
	str, err := stringArg("", a, 0)
	if err != nil {
		return nil, err
	}
	decoded, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		return nil, err
	}
	return string(decoded), nil
}

func fnBase64Encode(a []any) (any, error) {
	str, err := stringArg("", a, 0)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(str)), nil
}

func hexDigest(a []any, h hash.Hash) (any, error) {
	str, err := stringArg("", a, 0)
	if err != nil {
		return nil, err
	}
	h.Write([]byte(str))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnSHA256(a []any) (any, error) { return hexDigest(a, sha256.New()) }
func fnSHA1(a []any) (any, error)   { return hexDigest(a, sha1.New()) } // #nosec G401
func fnMD5(a []any) (any, error)    { return hexDigest(a, md5.New()) }  // #nosec G401

// fnParseJSON returns the decoded value; on a decode error Kyverno returns the
// partial value with encoding/json's error, which go-jmespath then reports.
func fnParseJSON(a []any) (any, error) {
	str, err := stringArg("parse_json", a, 0)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal([]byte(str), &out)
	return out, err
}

func fnParseYAML(a []any) (any, error) {
	str, err := stringArg("parse_yaml", a, 0)
	if err != nil {
		return nil, err
	}
	data, err := yaml.YAMLToJSON([]byte(str))
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(data, &out)
	return out, err
}

// fnLookup indexes an object by key or an array by integer index; a missing
// key or an index out of range gives null.
func fnLookup(a []any) (any, error) {
	switch in := a[0].(type) {
	case map[string]any:
		key, ok := a[1].(string)
		if !ok {
			return nil, fnError(errArgType, "lookup", 2, "String")
		}
		return in[key], nil
	case []any:
		f, ok := a[1].(float64)
		if !ok {
			return nil, fnError(errArgType, "lookup", 2, "Number")
		}
		i, err := toInt(f)
		if err != nil {
			return nil, fmt.Errorf(errLookupIndexText, "lookup", err.Error())
		}
		if i < 0 || i > len(in)-1 {
			return nil, nil
		}
		return in[i], nil
	}
	return nil, fnError(errArgType, "lookup", 1, "Object or Array")
}

// fnItems turns an object (keys sorted) or an array (float64 indexes) into a
// list of {keyName: k, valName: v}. Like Kyverno it returns
// []map[string]any, not []any.
func fnItems(a []any) (any, error) {
	keyName, ok := a[1].(string)
	if !ok {
		return nil, fnError(errArgType, "items", 2, "String")
	}
	valName, ok := a[2].(string)
	if !ok {
		return nil, fnError(errArgType, "items", 3, "String")
	}
	switch in := a[0].(type) {
	case map[string]any:
		keys := make([]string, 0, len(in))
		for k := range in {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]map[string]any, 0, len(in))
		for _, k := range keys {
			out = append(out, map[string]any{keyName: k, valName: in[k]})
		}
		return out, nil
	case []any:
		out := make([]map[string]any, 0, len(in))
		for i, v := range in {
			out = append(out, map[string]any{keyName: float64(i), valName: v})
		}
		return out, nil
	}
	return nil, fnError(errArgType, "items", 1, "Object or Array")
}

// fnObjectFromLists pairs keys with values; keys without a value map to null.
func fnObjectFromLists(a []any) (any, error) {
	keys, ok := a[0].([]any)
	if !ok {
		return nil, fnError(errArgType, "object_from_lists", 1, "Array")
	}
	values, ok := a[1].([]any)
	if !ok {
		return nil, fnError(errArgType, "object_from_lists", 2, "Array")
	}
	out := map[string]any{}
	for i, k := range keys {
		key, err := scalarString(k)
		if err != nil {
			return nil, fnError(errArgType, "object_from_lists", 1, "StringArray")
		}
		if i < len(values) {
			out[key] = values[i]
		} else {
			out[key] = nil
		}
	}
	return out, nil
}

// rsaPublicKey is how Kyverno's x509_decode renders an RSA key.
type rsaPublicKey struct {
	N string
	E int
}

// jsonObject round-trips v through encoding/json into a generic object.
func jsonObject(v any) (any, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// fnX509Decode decodes a PEM certificate or certificate request (RSA only)
// into the JSON form of Go's x509 structs, with the key as {N, E}.
func fnX509Decode(a []any) (any, error) {
	str, err := stringArg("x509_decode", a, 0)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(str))
	if block == nil {
		return nil, errors.New("failed to decode PEM block")
	}
	rsaKey := func(algo x509.PublicKeyAlgorithm, key any) (rsaPublicKey, error) {
		if algo != x509.RSA {
			return rsaPublicKey{}, errors.New("certificate should use rsa algorithm")
		}
		pk, ok := key.(*rsa.PublicKey)
		if !ok {
			return rsaPublicKey{}, errors.New("failed to parse subject public key info")
		}
		return rsaPublicKey{N: pk.N.String(), E: pk.E}, nil
	}
	switch block.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		key, err := rsaKey(cert.PublicKeyAlgorithm, cert.PublicKey)
		if err != nil {
			return nil, err
		}
		cert.PublicKey = key
		return jsonObject(cert)
	case "CERTIFICATE REQUEST":
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return nil, err
		}
		key, err := rsaKey(csr.PublicKeyAlgorithm, csr.PublicKey)
		if err != nil {
			return nil, err
		}
		csr.PublicKey = key
		return jsonObject(csr)
	}
	return nil, errors.New("PEM block neither contains a CERTIFICATE or CERTIFICATE REQUEST")
}
