package graphql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
)

// Annotations travel inside the stored document, so an import and a
// reload read the same thing: SDL gets a first line
// "# weft-annotations: {json}" (a comment to every GraphQL parser), an
// introspection result a first member "weft_annotations".
const (
	sdlAnnotations  = "# weft-annotations: "
	jsonAnnotations = `{"weft_annotations":`
)

var hintKeys = map[string]bool{"read_only": true, "destructive": true, "idempotent": true, "open_world": true}

// Annotate records hint overrides for operations of a schema (the
// config's import_annotations): keyed by the operation's field name
// ("deleteIssue", or "mutation deleteIssue"), each {read_only,
// destructive, idempotent, open_world}. Import applies them; one that
// names no query or mutation fails the import.
func Annotate(doc []byte, overrides map[string]map[string]bool) ([]byte, error) {
	if len(overrides) == 0 {
		return doc, nil
	}
	for k, o := range overrides {
		if len(o) == 0 {
			return nil, weft.Errorf(weft.EInvalid, "annotations %q: no hints (read_only, destructive, idempotent, open_world)", k)
		}
		for h := range o {
			if !hintKeys[h] {
				return nil, weft.Errorf(weft.EInvalid, "annotations %q: unknown key %q (read_only, destructive, idempotent, open_world)", k, h)
			}
		}
		if o["read_only"] && o["destructive"] {
			return nil, weft.Errorf(weft.EInvalid, "annotations %q: an operation cannot be both read_only and destructive", k)
		}
	}
	_, body, err := splitAnnotations(doc)
	if err != nil {
		return nil, err
	}
	j, _ := json.Marshal(overrides) // map keys sorted: the same overrides give the same bytes
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		rest := bytes.TrimSpace(t[1:])
		if len(rest) == 0 || rest[0] == '}' {
			return nil, weft.Errorf(weft.EInvalid, "graphql introspection result: an empty object")
		}
		return append(append([]byte(jsonAnnotations), j...), append([]byte(","), rest...)...), nil
	}
	return append([]byte(sdlAnnotations+string(j)+"\n"), body...), nil
}

// splitAnnotations separates the overrides Annotate recorded from the
// document.
func splitAnnotations(doc []byte) (map[string]map[string]bool, []byte, error) {
	var over map[string]map[string]bool
	switch {
	case bytes.HasPrefix(doc, []byte(sdlAnnotations)):
		line, rest, _ := bytes.Cut(doc, []byte("\n"))
		if err := json.Unmarshal(line[len(sdlAnnotations):], &over); err != nil {
			return nil, nil, weft.Errorf(weft.EInvalid, "graphql schema: weft-annotations line: %v", err)
		}
		return over, rest, nil
	case bytes.HasPrefix(doc, []byte(jsonAnnotations)):
		d := json.NewDecoder(bytes.NewReader(doc[len(jsonAnnotations):]))
		if err := d.Decode(&over); err != nil {
			return nil, nil, weft.Errorf(weft.EInvalid, "graphql introspection result: weft_annotations: %v", err)
		}
		rest := bytes.TrimSpace(doc[len(jsonAnnotations)+int(d.InputOffset()):])
		if !bytes.HasPrefix(rest, []byte(",")) {
			return nil, nil, weft.Errorf(weft.EInvalid, "graphql introspection result: weft_annotations is not followed by the schema")
		}
		return over, append([]byte("{"), rest[1:]...), nil
	}
	return nil, doc, nil
}

// applyAnnotations sets the overrides on the operations they name (by
// field name, or "query x" / "mutation x").
func applyAnnotations(c *connectors.Connector, byKey map[string]*connectors.Operation, over map[string]map[string]bool) error {
	keys := make([]string, 0, len(over))
	for k := range over {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		op := byKey[strings.TrimSpace(k)]
		if op == nil {
			return weft.Errorf(weft.EInvalid, "annotations %q: %s has no query or mutation of that name", k, c.Name)
		}
		for h, v := range over[k] {
			switch h {
			case "read_only":
				op.Hints.ReadOnly = v
				if v {
					op.Hints.Destructive = false
				}
			case "destructive":
				op.Hints.Destructive = v
				if v {
					op.Hints.ReadOnly = false
				}
			case "idempotent":
				op.Hints.Idempotent = v
			case "open_world":
				op.Hints.OpenWorld = v
			default:
				return fmt.Errorf("annotations %q: unknown key %q", k, h)
			}
		}
	}
	return nil
}
