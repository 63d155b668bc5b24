package mcp

import (
	"encoding/json"
	"reflect"
	"testing"
)

// referenceCallToolParamsUnmarshal is CallToolParams.UnmarshalJSON as it was
// before Weft patch 19 (_meta through Meta.UnmarshalJSON, a second decode).
func referenceCallToolParamsUnmarshal(p *CallToolParams, data []byte) error {
	type params struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Meta      *Meta           `json:"_meta,omitempty"`
		Task      *TaskParams     `json:"task,omitempty"`
		MultiRoundTripParams
	}
	var raw params
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	p.Name = raw.Name
	p.Meta = raw.Meta
	p.Task = raw.Task
	p.MultiRoundTripParams = raw.MultiRoundTripParams
	if len(raw.Arguments) == 0 {
		return nil
	}
	p.RawArguments = append(json.RawMessage(nil), raw.Arguments...)
	return json.Unmarshal(raw.Arguments, &p.Arguments)
}

// Weft patch 19: the one-pass decoding of a tools/call's params gives what
// the old decoding gave, member for member, and the same error where it
// failed, over well-formed and malformed params (those that the one-pass
// path leaves to the old decoding included).
func TestCallToolParamsUnmarshalMatchesReference(t *testing.T) {
	cases := []string{
		`{}`,
		`{"name":"echo"}`,
		`{"name":"echo","arguments":{"message":"hello"}}`,
		`{"name":"echo","arguments":{"message":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"}}}`,
		`{"_meta":{"progressToken":"tok-1","a":1},"name":"x","arguments":{"n":1.5,"l":[1,"a",null],"o":{"p":true}}}`,
		`{"_meta":{"progressToken":7},"name":"x"}`,
		`{"_meta":{"progressToken":null},"name":"x"}`,
		`{"_meta":null,"name":"x","arguments":null}`,
		`{"_meta":{},"name":"x","arguments":[]}`,
		`{"name":"x","arguments":"text"}`,
		`{"name":"x","arguments":12}`,
		`{"name":"x","task":{"ttl":1000}}`,
		`{"name":"x","inputResponses":{"k":{"action":"accept"}},"requestState":"s"}`,
		`{"NAME":"x","_META":{"a":1}}`,
		`{"name":"x","_meta":{"a":1},"_meta":{"b":2}}`,
		`{"name":"x","_meta":{"a":1},"_Meta":{"b":2}}`,
		`{"name":"x","_meta":{"a":1},"\u005fmeta":{"b":2}}`,
		`{"name":"x","_m\u0065ta":{"b":2}}`,
		`{"name":"x","arguments":{"s":"\u003cb\u003e \"_meta\" \"_meta\""}}`,
		`{"name":"x","arguments":{"a":1},"arguments":{"b":2}}`,
		`{"name":"x","_meta":"not an object"}`,
		`{"name":"x","_meta":[1,2]}`,
		`{"name":"x","_meta":5,"arguments":{"a":1}}`,
		`{"name":5}`,
		`{"name":"x","arguments":{"a":}}`,
		`{"name":"x","task":"t"}`,
		`[]`,
		`null`,
		`"params"`,
		`{"name":"x","_meta":{"progressToken":"t","io.modelcontextprotocol/clientInfo":{"name":"c","version":"1","icons":[{"src":"https://e.x/i.png"}]}}}`,
	}
	type target struct{ Message string }
	prefilled := func() CallToolParams {
		return CallToolParams{Name: "before", Arguments: &target{Message: "before"}, RawArguments: json.RawMessage(`{"before":1}`)}
	}
	for i, c := range append(cases, cases...) {
		var got, want CallToolParams
		if i >= len(cases) {
			// Into params that hold values already (a caller's own
			// Arguments pointer, decoded into): the same as before too.
			got, want = prefilled(), prefilled()
		}
		gotErr := got.UnmarshalJSON([]byte(c))
		wantErr := referenceCallToolParamsUnmarshal(&want, []byte(c))
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Errorf("%s: error %v, the old decoding's %v", c, gotErr, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c, got, want)
		}
		if !reflect.DeepEqual(got.Meta, want.Meta) {
			t.Errorf("%s: _meta %#v, the old decoding's %#v", c, got.Meta, want.Meta)
		}
	}
}

// Weft patch 19: a modern request's client info and capabilities, taken
// without the JSON round trip where that is plain, are what the round trip
// made of them, over the shapes the round trip handles differently too.
func TestMetaClientInfoMatchesRemarshal(t *testing.T) {
	metas := []string{
		`{}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`,
		`{"io.modelcontextprotocol/clientInfo":{},"io.modelcontextprotocol/clientCapabilities":{"sampling":{},"roots":{"listChanged":true}}}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":"a","version":"2","title":"T","description":"D","websiteUrl":"https://e.x"}}`,
		`{"io.modelcontextprotocol/clientInfo":{"Name":"upper","version":"1"}}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":"a","Name":"b"}}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":"a","extra":"x"}}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":5}}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":null,"version":"1"}}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":"a","icons":[{"src":"s","sizes":["48x48"]}]}}`,
		`{"io.modelcontextprotocol/clientInfo":"str","io.modelcontextprotocol/clientCapabilities":"str"}`,
		`{"io.modelcontextprotocol/clientInfo":null,"io.modelcontextprotocol/clientCapabilities":null}`,
		`{"io.modelcontextprotocol/clientInfo":[],"io.modelcontextprotocol/clientCapabilities":[]}`,
		`{"io.modelcontextprotocol/clientInfo":{"name":"<é\u2028>","version":"\ud83d\ude00"}}`,
	}
	for _, c := range metas {
		var m Meta
		if err := m.UnmarshalJSON([]byte(c)); err != nil {
			t.Fatal(err)
		}
		var wantInfo *Implementation
		if v := m.AdditionalFields[MetaKeyClientInfo]; v != nil && remarshal(v, &wantInfo) != nil {
			wantInfo = nil
		}
		if got := m.ClientInfo(); !reflect.DeepEqual(got, wantInfo) {
			t.Errorf("%s: client info %#v, the round trip's %#v", c, got, wantInfo)
		}
		var wantCaps *ClientCapabilities
		if v := m.AdditionalFields[MetaKeyClientCapabilities]; v != nil && remarshal(v, &wantCaps) != nil {
			wantCaps = nil
		}
		if got := m.ClientCapabilities(); !reflect.DeepEqual(got, wantCaps) {
			t.Errorf("%s: capabilities %#v, the round trip's %#v", c, got, wantCaps)
		}
	}
	// Invalid UTF-8 put in by a caller is left to the round trip (which
	// replaces it), not copied.
	m := &Meta{AdditionalFields: map[string]any{MetaKeyClientInfo: map[string]any{"name": "a\xffb"}}}
	if got := m.ClientInfo(); got == nil || got.Name != "a\ufffdb" {
		t.Errorf("invalid UTF-8 name: %#v", got)
	}
}
