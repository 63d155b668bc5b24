package mcp

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// checkArgsEachCall is checkArgs as it was before the schema was taken
// apart once per tool: it reads the parsed schema map on every call. The
// test below holds the new checkArgs to its answers.
func checkArgsEachCall(name string, s map[string]any, args map[string]any) string {
	props, _ := s["properties"].(map[string]any)
	for _, r := range requiredList(s) {
		if _, ok := args[r]; !ok {
			return fmt.Sprintf("missing required argument %q for %s (required: %s)", r, name, strings.Join(requiredList(s), ", "))
		}
	}
	if s["additionalProperties"] == false && props != nil {
		for k := range args {
			if _, ok := props[k]; !ok {
				names := make([]string, 0, len(props))
				for n := range props {
					names = append(names, n)
				}
				sort.Strings(names)
				return fmt.Sprintf("unknown argument %q for %s (it takes: %s)", k, name, strings.Join(names, ", "))
			}
		}
	}
	for k, v := range args {
		p, _ := props[k].(map[string]any)
		want, _ := p["type"].(string)
		if want == "" || v == nil {
			continue
		}
		ok := true
		switch want {
		case "string":
			_, ok = v.(string)
		case "integer":
			f, isNum := v.(float64)
			ok = isNum && f == float64(int64(f))
		case "number":
			_, ok = v.(float64)
		case "boolean":
			_, ok = v.(bool)
		case "array":
			_, ok = v.([]any)
		case "object":
			_, ok = v.(map[string]any)
		}
		if !ok {
			return fmt.Sprintf("argument %q of %s must be %s, got %s", k, name, want, jsonType(v))
		}
		if enum, ok := p["enum"].([]any); ok && len(enum) > 0 {
			found := false
			for _, e := range enum {
				if fmt.Sprint(e) == fmt.Sprint(v) {
					found = true
				}
			}
			if !found {
				return fmt.Sprintf("argument %q of %s must be one of %v", k, name, enum)
			}
		}
	}
	return ""
}

// checkArgs answers as it did when it read the schema on every call, for
// every kind of schema and argument.
func TestCheckArgsAnswersAsBefore(t *testing.T) {
	schemas := []string{
		`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`,
		`{"type":"object","properties":{"id":{"type":"integer"},"n":{"type":"number"},"ok":{"type":"boolean"},"tags":{"type":"array"},"body":{"type":"object"}},"required":["id","n"],"additionalProperties":false}`,
		`{"type":"object","properties":{"mode":{"type":"string","enum":["fast","slow"]},"level":{"type":"integer","enum":[1,2,3]},"any":{"enum":["x"]}}}`,
		`{"type":"object","properties":{},"additionalProperties":false}`,
		`{"type":"object","additionalProperties":false}`,
		`{"type":"object","properties":{"p":"not an object","q":{"type":7}},"required":["p",3]}`,
		`not json`,
		``,
	}
	args := []string{
		`{}`, `{"message":"hi"}`, `{"message":5}`, `{"message":null}`, `{"extra":1}`,
		`{"id":1,"n":2.5}`, `{"id":1.5,"n":2}`, `{"id":"1","n":2}`, `{"id":1}`, `{"n":1}`,
		`{"id":1,"n":2,"ok":"yes"}`, `{"id":1,"n":2,"tags":{}}`, `{"id":1,"n":2,"body":[]}`, `{"id":1,"n":2,"x":1}`,
		`{"mode":"fast"}`, `{"mode":"medium"}`, `{"level":2}`, `{"level":4}`, `{"any":"y"}`, `{"mode":1}`,
		`{"p":1}`, `{"p":1,"q":"s"}`, `{"3":true,"p":[]}`,
	}
	for _, sj := range schemas {
		td := &toolDef{tool: mcpgo.Tool{Name: "t", RawInputSchema: json.RawMessage(sj)}}
		var s map[string]any
		_ = json.Unmarshal([]byte(sj), &s)
		for _, aj := range args {
			var a map[string]any
			if err := json.Unmarshal([]byte(aj), &a); err != nil {
				t.Fatal(err)
			}
			// Where two arguments are wrong, which one is named follows the
			// map's order, in both: the answer must be one the old code gave.
			before := map[string]bool{}
			for range 50 {
				before[checkArgsEachCall("t", s, a)] = true
			}
			if got := checkArgs(td, a); !before[got] {
				t.Errorf("schema %s, args %s: %q, before %v", sj, aj, got, before)
			}
		}
	}
}
