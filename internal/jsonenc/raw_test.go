package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// messy writes v as JSON another producer might: spaces anywhere, keys in
// any order and sometimes repeated (an earlier, different value first),
// strings with needless escapes, numbers spelled differently.
func messy(r *rand.Rand, sb *strings.Builder, v any) {
	ws := func() {
		for i := r.IntN(3); i > 0; i-- {
			sb.WriteByte(" \t\n\r"[r.IntN(4)])
		}
	}
	ws()
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case string:
		sb.WriteByte('"')
		for _, c := range []byte(x) {
			switch {
			case c == '"' || c == '\\':
				sb.WriteByte('\\')
				sb.WriteByte(c)
			case c < 0x20 || r.IntN(8) == 0 && c < 0x80:
				fmt.Fprintf(sb, `\u%04x`, c)
			case c == '/' && r.IntN(2) == 0:
				sb.WriteString(`\/`)
			default:
				sb.WriteByte(c)
			}
		}
		sb.WriteByte('"')
	case float64:
		switch r.IntN(3) {
		case 0:
			sb.WriteString(strconv.FormatFloat(x, 'e', -1, 64))
		case 1:
			sb.WriteString(strconv.FormatFloat(x, 'E', 20, 64))
		default:
			sb.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				ws()
				sb.WriteByte(',')
			}
			messy(r, sb, e)
			ws()
		}
		ws()
		sb.WriteByte(']')
	case map[string]any:
		sb.WriteByte('{')
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		r.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte(',')
			}
			if r.IntN(5) == 0 { // an earlier value under the same key
				messy(r, sb, k)
				sb.WriteByte(':')
				messy(r, sb, "overwritten")
				sb.WriteByte(',')
			}
			messy(r, sb, k)
			ws()
			sb.WriteByte(':')
			messy(r, sb, x[k])
			ws()
		}
		sb.WriteByte('}')
	}
}

// jsonish makes randValue's output decodable JSON values: valid UTF-8
// strings, finite float64 numbers.
func jsonish(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// sameAsDecoded fails unless the Raw of doc encodes (Marshal, Append,
// Size, Write) to what its decoded form encodes to, and reads (Len,
// Field, Index, Decode) as its decoded form.
func sameAsDecoded(t *testing.T, doc string) {
	t.Helper()
	var dec any
	if err := json.Unmarshal([]byte(doc), &dec); err != nil {
		t.Fatalf("test document %q: %v", doc, err)
	}
	want, err := json.Marshal(dec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRaw([]byte(doc))
	if err != nil {
		t.Fatalf("NewRaw(%q): %v", doc, err)
	}
	got, err := Marshal(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Marshal(Raw %q) = %s, %v; want %s", doc, got, err, want)
	}
	if n, err := Size(r); err != nil || n != len(want) {
		t.Fatalf("Size(Raw %q) = %d, %v; want %d", doc, n, err, len(want))
	}
	wrapped, _ := json.Marshal(map[string]any{"x": []any{dec, 1.0}})
	if got, err := Marshal(map[string]any{"x": []any{r, 1.0}}); err != nil || !bytes.Equal(got, wrapped) {
		t.Fatalf("Marshal(Raw %q inside a map) = %s, %v; want %s", doc, got, err, wrapped)
	}
	for _, chunk := range []int{1, 7, streamChunk} {
		var buf bytes.Buffer
		if err := write(&buf, map[string]any{"x": []any{r, 1.0}}, chunk); err != nil || !bytes.Equal(buf.Bytes(), wrapped) {
			t.Fatalf("Write (chunk %d) of Raw %q = %s, %v; want %s", chunk, doc, buf.Bytes(), err, wrapped)
		}
	}
	if std, err := json.Marshal(r); err != nil || !bytes.Equal(std, want) {
		t.Fatalf("json.Marshal(Raw %q) = %s, %v; want %s", doc, std, err, want)
	}
	if d, err := r.Decode(); err != nil || !reflect.DeepEqual(d, dec) {
		t.Fatalf("Decode(%q) = %v, %v; want %v", doc, d, err, dec)
	}
	switch x := dec.(type) {
	case map[string]any:
		if r.Len() != len(x) {
			t.Fatalf("Len(%q) = %d, want %d", doc, r.Len(), len(x))
		}
		for k, e := range x {
			if got, ok, err := r.Field(k); err != nil || !ok || !reflect.DeepEqual(got, e) {
				t.Fatalf("Field(%q) of %q = %v, %v, %v; want %v", k, doc, got, ok, err, e)
			}
		}
		if _, ok, _ := r.Field("\x00no such key"); ok {
			t.Fatalf("Field of a missing key found in %q", doc)
		}
	case []any:
		if r.Len() != len(x) {
			t.Fatalf("Len(%q) = %d, want %d", doc, r.Len(), len(x))
		}
		for i, e := range x {
			if got, ok, err := r.Index(i); err != nil || !ok || !reflect.DeepEqual(got, e) {
				t.Fatalf("Index(%d) of %q = %v, %v, %v; want %v", i, doc, got, ok, err, e)
			}
		}
		if _, ok, _ := r.Index(len(x)); ok {
			t.Fatalf("Index past the end found in %q", doc)
		}
	}
}

func TestRawMatchesDecoded(t *testing.T) {
	for _, doc := range []string{
		`null`, ` true `, `false`, `"plain"`, `"a\u003cb\/c\ud83d\ude00\ud800x"`, `"<&>\u2028"`, `0`, `-0`, `1e21`, `1E-7`, `100.000`,
		`12345678901234567890`, `[]`, `{}`, ` [ 1 , "two" , [ ] , { } ] `, `{"b":1,"a":2,"b":3}`, `{"a\u0062":1,"ab":2}`,
		`{"z":{"y":[{"x":null}]},"":""}`, `[{"id":1,"name":"n","v":12.5},{"id":2}]`,
	} {
		sameAsDecoded(t, doc)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 800; i++ {
		var sb strings.Builder
		messy(r, &sb, jsonish(randValue(r, 0)))
		sameAsDecoded(t, sb.String())
	}
}

func TestRawRefusesWhatUnmarshalRefuses(t *testing.T) {
	for _, doc := range []string{``, `{`, `[1,]`, `{"a" 1}`, `1e400`, `[1, -1e999]`, `{"a":1} x`, `nul`, `"\x"`} {
		if _, err := NewRaw([]byte(doc)); err == nil {
			t.Errorf("NewRaw(%q) accepted it", doc)
		}
		var v any
		if json.Unmarshal([]byte(doc), &v) == nil {
			t.Errorf("test case %q: json.Unmarshal accepts it", doc)
		}
	}
}

func TestRawSubDocuments(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"small":{"a":[1,2]},"rows":[`)
	for i := 0; i < 5000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"customer-name"}`, i)
	}
	sb.WriteString(`]}`)
	r, err := NewRaw([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	small, _, _ := r.Field("small")
	if _, ok := small.(map[string]any); !ok {
		t.Fatalf("a small sub-object is %T, want it decoded", small)
	}
	rows, _, _ := r.Field("rows")
	rr, ok := rows.(*Raw)
	if !ok || rr.Len() != 5000 {
		t.Fatalf("a large sub-array is %T, want a Raw of 5000 elements", rows)
	}
	row, _, _ := rr.Index(4999)
	if row.(map[string]any)["id"] != 4999.0 {
		t.Fatalf("rows[4999] = %v", row)
	}
	if !HasRaw(map[string]any{"x": []any{rows}}) || HasRaw(map[string]any{"x": small}) {
		t.Fatal("HasRaw")
	}
	in := map[string]any{"keep": small, "body": map[string]any{"rows": rows, "n": 1.0}}
	res, err := Resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	if HasRaw(res) || !HasRaw(in) {
		t.Fatal("Resolve left a Raw, or changed its argument")
	}
	if got := res.(map[string]any)["body"].(map[string]any)["rows"].([]any); len(got) != 5000 {
		t.Fatalf("resolved rows: %d", len(got))
	}
	if same, _ := Resolve(small); !reflect.DeepEqual(same, small) {
		t.Fatal("Resolve of a value without Raw changed it")
	}
}

// BenchmarkRawEncode: encoding the 10 MB-class body from its bytes.
func BenchmarkRawEncode(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"rows":[`)
	for i := 0; i < 100_000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"name":"customer-name-padding-xx","email":"someone@example.com","v":12.5}`, i)
	}
	sb.WriteString(`]}`)
	raw := []byte(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewRaw(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(discard{}, r); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestZeroRawIsNull(t *testing.T) {
	var r Raw
	if b, err := Marshal(&r); err != nil || string(b) != "null" || r.Len() != 0 || r.IsObject() {
		t.Fatalf("zero Raw: %s, %v", b, err)
	}
	if _, ok, _ := r.Field("a"); ok {
		t.Fatal("zero Raw has a field")
	}
}

// TestRawElemsReadsAsIndex: iterating an array gives, in order, exactly
// what Index gives for each position, and nothing for anything else.
func TestRawElemsReadsAsIndex(t *testing.T) {
	for _, doc := range []string{`[]`, `[ ]`, `[1]`, ` [ 1 , "a\"]" , {"x":[2,3]} , [ ] , null , true , -0.5e3 ] `, `{"a":1}`, `"s"`, `3`} {
		r, err := NewRaw([]byte(doc))
		if err != nil {
			t.Fatal(doc, err)
		}
		var got []any
		for it := r.Elems(); it.More(); {
			v, err := it.Next()
			if err != nil {
				t.Fatal(doc, err)
			}
			got = append(got, v)
		}
		if len(got) != r.Len() && r.IsArray() || !r.IsArray() && got != nil {
			t.Fatalf("%s: %d elements, Len %d", doc, len(got), r.Len())
		}
		for i, v := range got {
			w, ok, err := r.Index(i)
			if !ok || err != nil || !reflect.DeepEqual(v, w) {
				t.Fatalf("%s: element %d = %#v, Index gives %#v", doc, i, v, w)
			}
		}
	}
	// A large element stays a Raw, as Index hands it out.
	big := `[` + strings.Repeat(`"x",`, RawSubMin/4) + `1]`
	r, _ := NewRaw([]byte(`[` + big + `,2]`))
	it := r.Elems()
	v, _ := it.Next()
	if _, ok := v.(*Raw); !ok {
		t.Fatalf("a large element is %T, want a Raw", v)
	}
	if v, _ := it.Next(); v != 2.0 || it.More() {
		t.Fatalf("second element %v, more %v", v, it.More())
	}
}
