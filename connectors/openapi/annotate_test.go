package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

// A vendor's document whose method-and-words hints are wrong for this
// vendor: its GET /items/purge deletes, its POST /search only reads.
const vendorSpec = `
openapi: 3.0.3
info: {title: Vendor, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /items:
    get: {operationId: listItems, responses: {"200": {description: ok}}}
  /items/purge:
    get:
      operationId: sweepItems
      parameters: [{name: limit, in: query, schema: {type: integer, maximum: 9007199254740993}}]
      responses: {"200": {description: ok}}
  /search:
    post: {operationId: runQuery, responses: {"200": {description: "<ok> & fine"}}}
  /jobs/{id}:
    put:
      operationId: putJob
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      x-weft-annotations: {idempotent: true, read_only: true}
      responses: {"200": {description: ok}}
`

func hintsOf(t *testing.T, spec []byte) map[string]connectors.Hints {
	t.Helper()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}))
	rep, err := Register(cat, "vendor", spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rejected) > 0 {
		t.Fatalf("rejected: %+v", rep.Rejected)
	}
	c, _ := cat.Connector("vendor")
	out := map[string]connectors.Hints{}
	for _, o := range c.Operations {
		out[o.Name] = o.Hints
	}
	return out
}

// F17: an import overrides an operation's hints (by operationId or by
// METHOD /path) without editing the vendor's document; the result is an
// ordinary spec, so registering it again (as a restart does from the
// store) gives the same hints.
func TestIssue16_F17_ImportOverridesAnnotations(t *testing.T) {
	before := hintsOf(t, []byte(vendorSpec))
	if h := before["sweepItems"]; !h.ReadOnly || h.Destructive {
		t.Fatalf("premise: a GET is read-only by default: %+v", h)
	}
	if h := before["runQuery"]; h.ReadOnly {
		t.Fatalf("premise: POST runQuery is not read-only by default: %+v", h)
	}

	out, err := Annotate([]byte(vendorSpec), map[string]map[string]bool{
		"sweepItems":     {"destructive": true, "idempotent": false},
		"post /search":   {"read_only": true},
		"PUT /jobs/{id}": {"destructive": true}, // over the document's read_only: true
	})
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out) {
		t.Fatalf("Annotate must return JSON: %.200s", out)
	}
	type want struct{ readOnly, destructive, idempotent, openWorld bool }
	check := func(spec []byte) {
		t.Helper()
		got := hintsOf(t, spec)
		for name, w := range map[string]want{
			"listItems":  {true, false, true, true}, // untouched
			"sweepItems": {false, true, false, true},
			"runQuery":   {true, false, false, true},
			"putJob":     {false, true, true, true}, // idempotent kept from the document
		} {
			h := got[name]
			if g := (want{h.ReadOnly, h.Destructive, h.Idempotent, h.OpenWorld}); g != w {
				t.Errorf("%s: %+v, want %+v", name, g, w)
			}
		}
	}
	check(out)
	// What the store keeps is re-registered at start as it is.
	check(append([]byte(nil), out...))
	// Annotating the annotated document again changes nothing.
	again, err := Annotate(out, map[string]map[string]bool{"sweepItems": {"destructive": true, "idempotent": false}})
	if err != nil || string(again) != string(out) {
		t.Errorf("re-annotating must be stable: %v\n%s\n%s", err, again, out)
	}
	// The rest of the document is kept: exact numbers, unescaped text.
	if s := string(out); !strings.Contains(s, "9007199254740993") || !strings.Contains(s, "<ok> & fine") {
		t.Errorf("document changed beyond the annotations: %s", s)
	}
}

func TestAnnotateJSONInputAndNoOverrides(t *testing.T) {
	j, err := asJSON([]byte(vendorSpec))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Annotate(j, map[string]map[string]bool{"runQuery": {"open_world": false}})
	if err != nil {
		t.Fatal(err)
	}
	if h := hintsOf(t, out)["runQuery"]; h.OpenWorld {
		t.Errorf("open_world override lost: %+v", h)
	}
	same, err := Annotate([]byte(vendorSpec), nil)
	if err != nil || string(same) != vendorSpec {
		t.Errorf("no overrides must leave the spec as it is: %v", err)
	}
}

func TestAnnotateRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		spec      string
		overrides map[string]map[string]bool
		want      string
	}{
		"unknown operation":  {vendorSpec, map[string]map[string]bool{"deleteEverything": {"destructive": true}}, `"deleteEverything"`},
		"unknown path":       {vendorSpec, map[string]map[string]bool{"DELETE /items": {"destructive": true}}, `"DELETE /items"`},
		"unknown key":        {vendorSpec, map[string]map[string]bool{"listItems": {"dangerous": true}}, `"dangerous"`},
		"both":               {vendorSpec, map[string]map[string]bool{"listItems": {"read_only": true, "destructive": true}}, "both read_only and destructive"},
		"empty":              {vendorSpec, map[string]map[string]bool{"listItems": {}}, `"listItems"`},
		"named twice":        {vendorSpec, map[string]map[string]bool{"listItems": {"destructive": true}, "GET /items": {"read_only": true}}, "both name GET /items"},
		"bad existing":       {strings.Replace(vendorSpec, "{idempotent: true, read_only: true}", "yes", 1), map[string]map[string]bool{"putJob": {"destructive": true}}, "not an object"},
		"not a spec":         {"- a\n- b\n", map[string]map[string]bool{"x": {"destructive": true}}, "not a JSON or YAML object"},
		"alias bomb refused": {specBomb(), map[string]map[string]bool{"x": {"destructive": true}}, ""},
	} {
		_, err := Annotate([]byte(tc.spec), tc.overrides)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if c := weft.Code(err); c != weft.EInvalid && c != weft.ETooLarge {
			t.Errorf("%s: code %q, want invalid: %v", name, c, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to name %s", name, err, tc.want)
		}
	}
}

// x-weft-annotations with read_only and destructive both true is refused
// every time, not accepted one way or the other by the map's order.
func TestAnnotationsBothTrueAlwaysRefused(t *testing.T) {
	for i := 0; i < 50; i++ {
		var h connectors.Hints
		if err := applyAnnotations(&h, map[string]any{"read_only": true, "destructive": true, "idempotent": true, "open_world": true}); err == nil {
			t.Fatalf("accepted read_only and destructive together: %+v", h)
		}
	}
}
