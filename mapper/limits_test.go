package mapper

import (
	"strings"
	"testing"

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
