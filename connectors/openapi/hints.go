package openapi

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/weftio/weft/connectors"
)

//go:embed hints.yaml
var hintsYAML []byte

// wordGroups are hints.yaml's groups: word -> group.
var wordGroups = sync.OnceValue(func() map[string]string { return mustWordGroups(hintsYAML) }) // parsed on first use

const (
	groupDestructive = "destructive"
	groupReadOnly    = "read_only"
	groupAdditive    = "additive"
	groupOverwrite   = "overwrite"
)

func mustWordGroups(data []byte) map[string]string {
	g, err := parseWordGroups(data)
	if err != nil {
		panic("openapi: hints.yaml: " + err.Error())
	}
	return g
}

func parseWordGroups(data []byte) (map[string]string, error) {
	var groups map[string][]string
	if err := yaml.Unmarshal(data, &groups); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for g, words := range groups {
		switch g {
		case groupDestructive, groupReadOnly, groupAdditive, groupOverwrite:
		default:
			return nil, fmt.Errorf("unknown group %q", g)
		}
		for _, w := range words {
			w = strings.ToLower(strings.TrimSpace(w))
			if prev, ok := out[w]; ok {
				return nil, fmt.Errorf("%q is in both %s and %s", w, prev, g)
			}
			out[w] = g
		}
	}
	return out, nil
}

// operationHints derives an operation's hints from its method, then its
// words (hints.yaml), then its x-weft-annotations extension.
func operationHints(method, path string, op *openapi3.Operation) (connectors.Hints, error) {
	m := strings.ToUpper(method)
	h := connectors.Hints{OpenWorld: true}
	switch m {
	case "GET", "HEAD", "OPTIONS":
		h.ReadOnly, h.Idempotent = true, true
	case "DELETE":
		h.Destructive, h.Idempotent = true, true
	case "PUT":
		h.Destructive, h.Idempotent = true, true // replaces what is there
	}

	// The operation's words: all of the operationId's last segment and of
	// the last literal path segment, and the summary's first word. Its
	// verb: the first word of the operationId, else of the summary, else
	// of the last literal path segment.
	var all []string
	verb := ""
	if id := op.OperationID; id != "" {
		if i := strings.LastIndexAny(id, "/.:"); i >= 0 {
			id = id[i+1:]
		}
		if w := connectors.Words(id); len(w) > 0 {
			all, verb = append(all, w...), w[0]
		}
	}
	if w := connectors.Words(op.Summary); len(w) > 0 {
		all = append(all, w[0])
		if verb == "" {
			verb = w[0]
		}
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if last := segs[len(segs)-1]; last != "" && !strings.HasPrefix(last, "{") {
		if w := connectors.Words(last); len(w) > 0 {
			all = append(all, w...)
			if verb == "" {
				verb = w[0]
			}
		}
	}
	in := func(ws []string, group string) bool {
		for _, w := range ws {
			if wordGroups()[w] == group {
				return true
			}
		}
		return false
	}
	destructive := in(all, groupDestructive)
	switch m {
	case "POST", "PATCH":
		switch {
		case destructive:
			h.Destructive = true
		case m == "POST" && wordGroups()[verb] == groupReadOnly && !in(all, groupOverwrite):
			h.ReadOnly, h.Idempotent = true, true
		}
	case "PUT":
		if !destructive && wordGroups()[verb] == groupAdditive && !in(all, groupOverwrite) {
			h.Destructive = false
		}
	}

	if x, ok := op.Extensions["x-weft-annotations"]; ok {
		if err := applyAnnotations(&h, x); err != nil {
			return h, err
		}
	}
	return h, nil
}

// applyAnnotations overrides hints from an x-weft-annotations object:
// {read_only, destructive, idempotent, open_world}, each optional.
func applyAnnotations(h *connectors.Hints, x any) error {
	m, ok := x.(map[string]any)
	if !ok {
		return fmt.Errorf("x-weft-annotations must be an object of read_only, destructive, idempotent, open_world")
	}
	// Checked before the loop: within it each one clears the other, and
	// which one wins would depend on the map's order.
	if m["read_only"] == true && m["destructive"] == true {
		return fmt.Errorf("x-weft-annotations: an operation cannot be both read_only and destructive")
	}
	for k, v := range m {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("x-weft-annotations.%s must be true or false", k)
		}
		switch k {
		case "read_only":
			h.ReadOnly = b
			if b {
				h.Destructive = false
			}
		case "destructive":
			h.Destructive = b
			if b {
				h.ReadOnly = false
			}
		case "idempotent":
			h.Idempotent = b
		case "open_world":
			h.OpenWorld = b
		default:
			return fmt.Errorf("x-weft-annotations: unknown key %q (read_only, destructive, idempotent, open_world)", k)
		}
	}
	return nil
}

// WordGroup is the hints.yaml group of a lower-case word ("" when it is in
// none): destructive, read_only, additive or overwrite. Other importers
// (GraphQL mutations) read an operation's words with it.
func WordGroup(word string) string { return wordGroups()[word] }

// NamedHints are the hints of an operation that is not an OpenAPI one (a
// SOAP or RPC operation): its method's defaults refined by the words of
// its name and summary, as for an OpenAPI operation with that
// operationId.
func NamedHints(method, name, summary string) connectors.Hints {
	h, _ := operationHints(method, "/", &openapi3.Operation{OperationID: name, Summary: summary})
	return h
}
