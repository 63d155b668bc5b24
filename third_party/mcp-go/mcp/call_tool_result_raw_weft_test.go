package mcp

import (
	"encoding/json"
	"testing"
)

// Weft patch 20: a CallToolResult with RawResult is written as RawResult,
// with the result's own _meta and resultType in place of RawResult's.
func TestCallToolResultRawResult(t *testing.T) {
	meta := &Meta{AdditionalFields: map[string]any{"io.modelcontextprotocol/serverInfo": map[string]any{"name": "gw"}}}
	const gwMeta = `{"io.modelcontextprotocol/serverInfo":{"name":"gw"}}`
	for _, c := range []struct {
		name       string
		raw        string
		meta       *Meta
		resultType ResultType
		want       string // "" for an error
	}{
		{"as is", `{"content":[{"type":"text","text":"a","annotations":{"priority":0.50}}]}`, nil, "", `{"content":[{"type":"text","text":"a","annotations":{"priority":0.50}}]}`},
		{"spaces around", " \n{\"content\":[]} \n", nil, "", `{"content":[]}`},
		{"decorated", `{"content":[{"type":"text","text":"a"}],"structuredContent":{"n":1.50}}`, meta, ResultTypeComplete,
			`{"_meta":` + gwMeta + `,"resultType":"complete","content":[{"type":"text","text":"a"}],"structuredContent":{"n":1.50}}`},
		{"resultType only", `{ "content":[] }`, nil, ResultTypeComplete, `{"resultType":"complete","content":[]}`},
		{"empty object", `{}`, meta, "", `{"_meta":` + gwMeta + `}`},
		{"the raw result's own replaced", `{"_meta":{"x":1},"content":[],"resultType":"complete"}`, meta, ResultTypeComplete,
			`{"_meta":` + gwMeta + `,"content":[],"resultType":"complete"}`},
		{"the raw result's own dropped", `{"_meta":{"x":1},"content":[],"resultType":"complete"}`, nil, "", `{"content":[]}`},
		{"a member spelt with an escape", `{"\u005fmeta":{"x":1},"content":[]}`, nil, ResultTypeComplete, `{"content":[],"resultType":"complete"}`},
		{"not an object", `[1]`, nil, "", ""},
		{"a string", `"x"`, meta, "", ""},
	} {
		r := CallToolResult{RawResult: json.RawMessage(c.raw), Result: Result{Meta: c.meta, ResultType: c.resultType},
			Content: []Content{NewTextContent("ignored")}}
		b, err := json.Marshal(r)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: no error: %s", c.name, b)
			}
			continue
		}
		if err != nil || string(b) != c.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.name, b, err, c.want)
		}
		// A pointer encodes the same.
		if p, err := json.Marshal(&r); err != nil || string(p) != string(b) {
			t.Errorf("%s: by pointer %s (%v)", c.name, p, err)
		}
	}
}
