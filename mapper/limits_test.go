package mapper

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
)

func TestIssue16_F01_MapperInputsBounded(t *testing.T) {
	cases := []struct{ name, doc, code, want string }{
		{"deep sample", `{"a": ` + strings.Repeat(`{"b": `, 5000) + "1" + strings.Repeat("}", 5000) + "}", weft.EInvalid, "nests deeper than 128 levels"},
		{"bad UTF-8 sample", "{\"na\xefme\": \"x\"}", weft.EInvalid, "not valid UTF-8 at byte 4"},
		{"bad UTF-8 field list", "{\"fields\": [{\"name\": \"caf\xe9\"}]}", weft.EInvalid, "not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("doc.json", []byte(c.doc))
			if weft.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (%s), want %s containing %q", err, weft.Code(err), c.code, c.want)
			}
		})
	}
}

// FuzzMapperInput: any document (field list, JSON Schema, sample, CSV or
// garbage) either gives a schema whose fields all have a path, or an
// invalid / too_large error with a message; quickly, without a panic.
//
//	go test ./mapper -run '^$' -fuzz FuzzMapperInput -fuzztime 60s
func FuzzMapperInput(f *testing.F) {
	f.Add([]byte(`{"name":"a","fields":[{"name":"customer_email","type":"string"},{"name":"billing.address.city"}]}`))
	f.Add([]byte(`{"type":"object","$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}}}},"properties":{"head":{"$ref":"#/$defs/n"}}}`))
	f.Add([]byte("id,first_name,last_name,created\n1,Ada,Lovelace,2024-01-02\n"))
	f.Add([]byte(`{"a": ` + strings.Repeat(`{"b": `, 300) + "1" + strings.Repeat("}", 300) + "}"))
	f.Add([]byte(`[` + strings.Repeat(`[`, 300) + strings.Repeat(`]`, 300) + `]`))
	f.Add([]byte("{\"caf\xe9\": 1}"))
	f.Add([]byte(`{"type":"object","properties":{"a":{"allOf":[{"$ref":"#"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		for _, parse := range []func() (*Schema, error){
			func() (*Schema, error) { return Parse("doc", data) },
			func() (*Schema, error) { return FromCSV("doc.csv", bytes.NewReader(data)) },
		} {
			s, err := parse()
			if err != nil {
				if c := weft.Code(err); (c != weft.EInvalid && c != weft.ETooLarge) || weft.Message(err) == "" {
					t.Fatalf("error %v has code %q", err, c)
				}
				continue
			}
			if len(s.Fields) > MaxFields {
				t.Fatalf("%d fields", len(s.Fields))
			}
			for _, fl := range s.Fields {
				if fl.Path == "" {
					t.Fatalf("a field without a path: %+v", fl)
				}
			}
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%d bytes took %v", len(data), d)
		}
	})
}
