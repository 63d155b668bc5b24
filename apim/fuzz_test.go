package apim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/weftio/weft"
)

// FuzzDecodeProduct: any bytes decode into a checked product or give a
// weft error with a message; no panic.
//
//	go test ./apim -run '^$' -fuzz FuzzDecodeProduct -fuzztime 30s
func FuzzDecodeProduct(f *testing.F) {
	f.Add([]byte(`{"name": "shop", "versions": [{"name": "v1", "status": "deprecated", "sunset": "2027-01-01T00:00:00Z", "successor": "v2", "flows": [{"flow": "a", "version": 1}]}, {"name": "v2", "flows": []}]}`))
	f.Add([]byte(`{"name": "x", "versions": [{"name": "v1", "successor": "v1"}]}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err != nil {
			if weft.Message(err) == "" || weft.Code(err) == weft.EInternal {
				t.Fatalf("%#v", err)
			}
			return
		}
		if p.Check() != nil {
			t.Fatal("a decoded product fails its own check")
		}
	})
}

// FuzzValidateRequest: any parameters, query and body give problems whose
// pointers start in {path, query, headers, body}; no panic.
//
//	go test ./apim -run '^$' -fuzz FuzzValidateRequest -fuzztime 30s
func FuzzValidateRequest(f *testing.F) {
	fl, err := parseAPIFlow("POST", "/o/{id}", `    request:
      path: {type: object, properties: {id: {type: integer, minimum: 1}}}
      query: {type: object, additionalProperties: false, properties: {tag: {type: array, items: {type: string}}, n: {type: [number, "null"]}, b: {type: boolean}}}
      headers: {type: object, required: [X-A], properties: {X-A: {type: string, minLength: 2}}}
      body: {type: object, required: [a], properties: {a: {type: array, items: {$ref: "#/$defs/i"}}}, $defs: {i: {type: object, required: [k], properties: {k: {enum: [1, "x"]}}}}}
`)
	if err != nil {
		f.Fatal(err)
	}
	rt := &Route{API: fl.Trigger.API}
	f.Add("12", "tag=a&tag=b&n=1.5", "xx", `{"a": [{"k": 1}]}`)
	f.Add("-1", "n=&b=maybe&z=1", "", `{"a": [{"k": 2}, 3]}`)
	f.Add("", "%zz", "a", `[`)
	f.Fuzz(func(t *testing.T, id, query, header, body string) {
		q, _ := url.ParseQuery(query)
		h := http.Header{}
		if header != "" {
			h.Set("X-A", header)
		}
		for _, p := range rt.ValidateRequest(Request{Params: map[string]string{"id": id}, Query: q, Header: h, RawBody: []byte(body)}) {
			if p.Path != "" && !strings.HasPrefix(p.Path, "/path") && !strings.HasPrefix(p.Path, "/query") && !strings.HasPrefix(p.Path, "/headers") && !strings.HasPrefix(p.Path, "/body") {
				t.Fatalf("pointer %q", p.Path)
			}
			if len(p.Message) > maxMessage+len("the body is not JSON: ")+10 {
				t.Fatalf("message of %d bytes", len(p.Message))
			}
		}
	})
}

// FuzzKeyFrom: any headers give a key, none, or an unauthorized error;
// never a panic, and an error never echoes the key's secret part.
func FuzzKeyFrom(f *testing.F) {
	key, _, _, _ := NewKey()
	for _, s := range []string{key, "Bearer " + key, "", "wk_", "Basic x", "\xff"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, apiKey, auth string) {
		h := http.Header{}
		if apiKey != "" {
			h.Set("X-Api-Key", apiKey)
		}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		k, ok, err := KeyFrom(h)
		if err != nil {
			if weft.Code(err) != weft.EUnauthorized {
				t.Fatal(err)
			}
			return
		}
		if !ok {
			return
		}
		if _, err := ParseKey(k); err != nil && (weft.Code(err) != weft.EUnauthorized || len(k) > 24 && strings.Contains(weft.Message(err), k[20:])) {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeOnce: a body decoded once for the validator and turned into
// the run's values (Float64s) equals what encoding/json decodes, or both
// refuse it.
//
//	go test ./apim -run '^$' -fuzz FuzzDecodeOnce -fuzztime 30s
func FuzzDecodeOnce(f *testing.F) {
	for _, s := range []string{`{"a": 1, "b": [1.5, -2e3, {"c": 12345678901234567890}], "d": "x", "e": null, "f": true}`, `7`, `[1e400]`, `{"a":1}{}`, `"s"`, `{"a": 0.1, "a": 2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want any
		werr := json.Unmarshal(data, &want)
		v, err := DecodeBody(data)
		if err == nil {
			v, err = Float64s(v)
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: decode once %v, encoding/json %v", data, err, werr)
		}
		if err == nil && !reflect.DeepEqual(v, want) {
			t.Fatalf("%q: %#v, encoding/json %#v", data, v, want)
		}
	})
}
