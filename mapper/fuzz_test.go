package mapper

import (
	"context"
	"testing"
)

// FuzzSuggest: any two documents (JSON Schema, field list, sample, CSV,
// or garbage) either fail to parse with an error or give suggestions that
// name real fields, with confidences in [0, 1]; never a panic.
//
//	go test ./mapper -run '^$' -fuzz FuzzSuggest -fuzztime 60s
func FuzzSuggest(f *testing.F) {
	f.Add([]byte(`{"name":"a","fields":[{"name":"customer_email","type":"string"},{"name":"billing.address.city"}]}`),
		[]byte(`{"type":"object","properties":{"email":{"type":"string","format":"email"},"address":{"type":"object","properties":{"city":{"type":"string"}}}}}`))
	f.Add([]byte("id,first_name,last_name,created\n1,Ada,Lovelace,2024-01-02\n"), []byte(`{"id":"x","fullName":"Ada Lovelace","lines":[{"sku":"A-1","qty":2}]}`))
	f.Add([]byte(`{"type":"object","$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"properties":{"head":{"$ref":"#/$defs/n"}}}`), []byte(`[1,2,3]`))
	f.Add([]byte(`{"fields":[{"name":"a.b.c.id"},{"name":"a.b.c.id"}]}`), []byte(`{"fields":[{"name":"."},{"name":"[]"},{"name":"x..y"}]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		src, err := Parse("src", a)
		if err != nil {
			return
		}
		tgt, err := Parse("tgt", b)
		if err != nil {
			return
		}
		res, err := Suggest(context.Background(), src, tgt, Options{})
		if err != nil {
			return
		}
		has := func(s *Schema, p string) bool {
			for _, f := range s.Fields {
				if f.Path == p {
					return true
				}
			}
			return false
		}
		for _, s := range res.Suggestions {
			if !has(tgt, s.Target) || s.Confidence < 0 || s.Confidence > 1 || len(s.Sources) == 0 {
				t.Fatalf("suggestion %+v", s)
			}
			for _, p := range s.Sources {
				if !has(src, p) {
					t.Fatalf("suggestion %+v names a source field that does not exist", s)
				}
			}
		}
	})
}
