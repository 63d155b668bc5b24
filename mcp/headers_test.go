package mcp_test

import (
	"encoding/json"
	"errors"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// The vendored mcp-go answers "no x-mcp-header bindings" without re-reading a
// raw schema that cannot contain the annotation (third_party/mcp-go/PATCHES.md).
// These cases pin that the shortcut never hides a binding.
func TestParamHeaderBindingsSurviveTheShortcut(t *testing.T) {
	params := json.RawMessage(`{"name":"t","arguments":{"region":"eu","n":1}}`)
	lookup := func(h map[string]string) func(string) (string, bool) {
		return func(name string) (string, bool) { v, ok := h[name]; return v, ok }
	}
	cases := []struct {
		name     string
		schema   string
		headers  map[string]string
		mismatch bool
	}{
		{"literal annotation, header agrees", `{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`,
			map[string]string{"Mcp-Param-Region": "eu"}, false},
		{"literal annotation, header differs", `{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`,
			map[string]string{"Mcp-Param-Region": "us"}, true},
		{"literal annotation, header missing", `{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}}`,
			map[string]string{}, true},
		{"annotation spelt with a \\u escape", `{"type":"object","properties":{"region":{"type":"string","x-mcp-\u0068eader":"Region"}}}`,
			map[string]string{"Mcp-Param-Region": "us"}, true},
		{"nested annotation", `{"type":"object","properties":{"n":{"type":"integer"},"o":{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"R"}}}}}`,
			map[string]string{"Mcp-Param-R": "x"}, true},
		{"no annotation, stray header ignored", `{"type":"object","properties":{"region":{"type":"string","description":"x-mcp header-like words"}}}`,
			map[string]string{"Mcp-Param-Region": "us"}, false},
		{"unreadable schema", `{"type":"object","properties":`, map[string]string{}, false},
	}
	for _, c := range cases {
		tool := &mcpgo.Tool{Name: "t", RawInputSchema: json.RawMessage(c.schema)}
		err := mcpgo.ValidateParamHeadersLookup(lookup(c.headers), tool, params)
		var mm mcpgo.HeaderMismatchError
		if got := errors.As(err, &mm); got != c.mismatch {
			t.Errorf("%s: mismatch = %v (err %v), want %v", c.name, got, err, c.mismatch)
		}
	}
}
