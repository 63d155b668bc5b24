package engine

import (
	"encoding/json"
	"strings"

	"github.com/weftio/weft/connectors"
)

// Redact replaces the values of sensitive keys (case-insensitive) anywhere
// in a JSON document with "[REDACTED]", and credentials in URLs inside
// string values (connectors.RedactURLs). Non-JSON input is returned as a
// JSON string marker rather than risk leaking it.
func Redact(doc []byte, keys map[string]bool) json.RawMessage {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return json.RawMessage(`"[unparseable payload withheld]"`)
	}
	v = redactValue(v, keys)
	out, _ := json.Marshal(v)
	return out
}

func redactValue(v any, keys map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if keys[strings.ToLower(k)] {
				x[k] = "[REDACTED]"
				continue
			}
			x[k] = redactValue(val, keys)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactValue(x[i], keys)
		}
		return x
	case string:
		// A URL in a value (a step's url input) keeps its credentials out.
		return connectors.RedactURLs(x)
	}
	return v
}
