package jsonenc

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// same fails unless Marshal and json.Marshal agree on v: the same bytes,
// or both an error.
func same(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := Marshal(v)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("error mismatch for %#v: encoding/json %v, jsonenc %v", v, werr, gerr)
	}
	if werr != nil {
		if _, err := Size(v); err == nil {
			t.Fatalf("Size(%#v) gave no error; encoding/json: %v", v, werr)
		}
		if err := Write(io.Discard, v); err == nil {
			t.Fatalf("Write(%#v) gave no error; encoding/json: %v", v, werr)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs for %#v:\n got %s\nwant %s", v, got, want)
	}
	for _, chunk := range []int{1, 7, streamChunk} { // Write, flushing after (nearly) every value and rarely
		var buf bytes.Buffer
		if err := write(&buf, v, chunk); err != nil || !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("Write (chunk %d) of %#v = %s, %v; want %s", chunk, v, buf.Bytes(), err, want)
		}
	}
	n, err := Size(v)
	if err != nil || n != len(want) {
		t.Fatalf("Size(%#v) = %d, %v; want %d", v, n, err, len(want))
	}
}

func TestMatchesEncodingJSON(t *testing.T) {
	cases := []any{
		nil, true, false, "", "plain", `quote " and \ backslash`, "<script>&amp;</script>",
		"\b\f\n\r\t\x00\x01\x1f\x7f", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff utf8 \xc3", "\xed\xa0\x80",
		0.0, math.Copysign(0, -1), 1.0, -1.5, 9.99, 24.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, 5e-324, math.MaxFloat64,
		-1e-9, 2.5e-10, int64(0), int64(-42), int64(math.MaxInt64), int64(math.MinInt64), 7, uint64(math.MaxUint64),
		[]any(nil), []any{}, map[string]any(nil), map[string]any{},
		map[string]any{"b": 1.0, "a": []any{"x", nil, map[string]any{"<k>": "v"}}, "": false},
		map[string]any{"t": time.Date(2026, 12, 2, 1, 2, 3, 4, time.UTC), "raw": json.RawMessage(` { "a" : "<b>" } `),
			"n": json.Number("12.50"), "s": []string{"a"}, "ms": map[string]string{"z": "&"}, "f32": float32(0.1)},
		[]any{math.NaN()}, map[string]any{"x": math.Inf(1)}, map[string]any{"c": make(chan int)},
		map[string]any{"bad": json.RawMessage(`{`)},
	}
	for _, c := range cases {
		same(t, c)
	}
}

func TestManyKeys(t *testing.T) {
	m := map[string]any{}
	for i := 0; i < 100; i++ {
		m[strings.Repeat("k", i%7)+string(rune('a'+i%26))+string(rune('A'+i/26))] = float64(i) / 3
	}
	same(t, m)
}

func TestDeepAndCyclic(t *testing.T) {
	var deep any = "leaf"
	for i := 0; i < 2000; i++ {
		if i%2 == 0 {
			deep = []any{deep}
		} else {
			deep = map[string]any{"k": deep}
		}
	}
	same(t, deep)
	cyc := map[string]any{}
	cyc["self"] = cyc
	if _, err := Marshal(cyc); err == nil {
		t.Fatal("a cyclic map encoded without error")
	}
	same(t, cyc)
	lst := []any{nil}
	lst[0] = lst
	same(t, lst)
}

func randValue(r *rand.Rand, depth int) any {
	if depth > 4 {
		return randString(r)
	}
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return randString(r)
	case 3:
		return math.Float64frombits(r.Uint64()) // any bit pattern, NaN and Inf among them
	case 4:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
	case 5:
		return int64(r.Uint64())
	case 6:
		n := r.IntN(5)
		l := make([]any, n)
		for i := range l {
			l[i] = randValue(r, depth+1)
		}
		return l
	default:
		m := map[string]any{}
		for i := r.IntN(20); i > 0; i-- {
			m[randString(r)] = randValue(r, depth+1)
		}
		return m
	}
}

func randString(r *rand.Rand) string {
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "😀", "\xff", "\xc3", "\xed\xa0\x80"}
	var sb strings.Builder
	for i := r.IntN(12); i > 0; i-- {
		sb.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return sb.String()
}

func TestRandomValues(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		same(t, randValue(r, 0))
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\xff\u2028\x00", "é😀"} {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		same(t, map[string]any{s: []any{s, x}, "x": x})
	})
}

// orderOutput is the http.request step's output in the order flow.
func orderOutput() any {
	return map[string]any{"status": int64(200), "headers": map[string]any{"content-type": "application/json", "content-length": "11", "date": "Wed, 02 Dec 2026 21:00:00 GMT"},
		"body": map[string]any{"ok": true}}
}

// BenchmarkOrderOutput: go test -run '^$' -bench OrderOutput -benchmem ./internal/jsonenc
// (GOEXPERIMENT=jsonv2 adds encoding/json/v2, jsonv2_test.go).
func BenchmarkOrderOutput(b *testing.B) {
	v := orderOutput()
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(v)
		}
	})
	b.Run("jsonenc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = Marshal(v)
		}
	})
	b.Run("jsonenc.Size", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = Size(v)
		}
	})
}
