package engine

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/jsonenc"
)

func TestDecodeInputKeepsLargeBodyRaw(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"kind":"webhook","headers":{"a":"b"},"query":{},"body":[`)
	for i := 0; sb.Len() < jsonenc.RawDocMin+200; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"i":%d}`, i)
	}
	sb.WriteString(`]}`)
	for _, doc := range []string{sb.String(), `{"kind":"webhook","body":{"x":1}}`, `null`} {
		var want map[string]any
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		in, err := decodeInput([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, isRaw := in["body"].(*jsonenc.Raw); isRaw != (len(doc) >= jsonenc.RawDocMin) {
			t.Fatalf("a %d-byte input's body is %T", len(doc), in["body"])
		}
		res, err := jsonenc.Resolve(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := res.(map[string]any); !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeInput of a %d-byte input differs from json.Unmarshal", len(doc))
		}
	}
	if _, err := decodeInput([]byte(`{"body":`)); err == nil {
		t.Fatal("a truncated input decoded")
	}
}
