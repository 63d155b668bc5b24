package openapi

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/weftio/weft"
)

// annotationKeys are the keys x-weft-annotations (and an override) takes.
var annotationKeys = map[string]bool{"read_only": true, "destructive": true, "idempotent": true, "open_world": true}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Annotate sets x-weft-annotations on the operations that overrides names,
// so an import can correct an operation's hints without editing the
// vendor's document. overrides is keyed by operationId or by "METHOD
// /path" (the method in any case); its values take x-weft-annotations'
// keys (read_only, destructive, idempotent, open_world) and are merged over
// an annotation the document already has. spec is JSON or YAML, checked
// against the package's limits; the result is the document as JSON, an
// ordinary spec that Import reads like any other (and that a store keeps
// as it is). An override that names no operation, names one another
// override also names, has an unknown key, or is both read_only and
// destructive is an invalid error that names it.
func Annotate(spec []byte, overrides map[string]map[string]bool) ([]byte, error) {
	if len(overrides) == 0 {
		return spec, nil
	}
	keys := make([]string, 0, len(overrides))
	for k, o := range overrides {
		keys = append(keys, k)
		if len(o) == 0 {
			return nil, weft.Errorf(weft.EInvalid, "annotations %q: no hints (read_only, destructive, idempotent, open_world)", k)
		}
		for h := range o {
			if !annotationKeys[h] {
				return nil, weft.Errorf(weft.EInvalid, "annotations %q: unknown key %q (read_only, destructive, idempotent, open_world)", k, h)
			}
		}
		if o["read_only"] && o["destructive"] {
			return nil, weft.Errorf(weft.EInvalid, "annotations %q: an operation cannot be both read_only and destructive", k)
		}
	}
	sort.Strings(keys)

	j, err := asJSON(spec)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber() // keep the document's numbers exactly as written
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, weft.Errorf(weft.EInvalid, "spec is not a JSON or YAML object")
	}
	paths, _ := doc["paths"].(map[string]any)

	// Each override's operation: its operationId or its METHOD /path.
	type target struct {
		label string
		op    map[string]any
	}
	byID := map[string][]target{}
	byLabel := map[string]target{}
	for p, v := range paths {
		item, _ := v.(map[string]any)
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			t := target{label: strings.ToUpper(m) + " " + p, op: op}
			byLabel[t.label] = t
			if id, ok := op["operationId"].(string); ok && id != "" {
				byID[id] = append(byID[id], t)
			}
		}
	}
	claimed := map[string]string{} // operation label -> the override that named it
	for _, k := range keys {
		ts := byID[k]
		if len(ts) == 0 {
			if m, p, ok := strings.Cut(strings.TrimSpace(k), " "); ok {
				if t, ok := byLabel[strings.ToUpper(m)+" "+strings.TrimSpace(p)]; ok {
					ts = []target{t}
				}
			}
		}
		if len(ts) == 0 {
			return nil, weft.Errorf(weft.EInvalid, "annotations %q: no operation has that operationId or METHOD /path", k)
		}
		for _, t := range ts {
			if prev, ok := claimed[t.label]; ok {
				return nil, weft.Errorf(weft.EInvalid, "annotations %q and %q both name %s", prev, k, t.label)
			}
			claimed[t.label] = k
			merged := map[string]any{}
			if x, ok := t.op["x-weft-annotations"]; ok {
				old, ok := x.(map[string]any)
				if !ok {
					return nil, weft.Errorf(weft.EInvalid, "annotations %q: %s's x-weft-annotations is not an object", k, t.label)
				}
				for h, v := range old {
					merged[h] = v
				}
			}
			o := overrides[k]
			for h, v := range o {
				merged[h] = v
			}
			// The override's side wins over the document's opposite one.
			if o["destructive"] {
				merged["read_only"] = false
			}
			if o["read_only"] {
				merged["destructive"] = false
			}
			t.op["x-weft-annotations"] = merged
		}
	}

	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, weft.Wrap(weft.EInvalid, err, "spec: %v", err)
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}
