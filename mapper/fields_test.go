package mapper

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseKindsAndBadInput(t *testing.T) {
	// JSON Schema with a cycle, allOf, arrays and $defs.
	js := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
	 "properties": {"id": {"type": "string"}, "billing": {"$ref": "#/$defs/address"},
	  "parent": {"$ref": "#"}, "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}}},
	 "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "examples": ["10115"]}}}}}`
	s, err := Parse("order.json", []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range s.Fields {
		paths = append(paths, f.Path)
	}
	if got := strings.Join(paths, ","); !strings.Contains(got, "billing.city") || !strings.Contains(got, "lines[].sku") || !strings.Contains(got, "parent.id") {
		t.Fatalf("paths %v", got)
	}
	// A sample payload infers types and formats.
	s, err = Parse("sample.json", []byte(`{"email": "a@b.co", "created": "2024-01-02T03:04:05Z", "n": 3, "items": [{"qty": 1}, {"qty": 2.5}]}`))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Field{}
	for _, f := range s.Fields {
		by[f.Path] = f
	}
	if by["email"].Format != "email" || by["created"].Format != "date-time" || by["n"].Type != "integer" || by["items[].qty"].Type != "number" {
		t.Fatalf("%+v", by)
	}
	for name, bad := range map[string]string{
		"empty field list":  `{"name": "x", "fields": []}`,
		"duplicate paths":   `{"name": "x", "fields": [{"name": "a"}, {"name": "a"}]}`,
		"unknown type":      `{"name": "x", "fields": [{"name": "a", "type": "widget"}]}`,
		"nameless field":    `{"name": "x", "fields": [{"type": "string"}]}`,
		"not json, not csv": `{oops`,
		"unresolvable ref":  `{"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}`,
		"empty object":      `{}`,
	} {
		if _, err := Parse("in.json", []byte(bad)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	huge := []byte(`{"a": "` + strings.Repeat("x", maxSample) + `"}`)
	if _, err := Parse("huge.json", huge); err == nil || !strings.Contains(err.Error(), "the limit is") {
		t.Fatalf("huge payload: %v", err)
	}
	if _, err := Suggest(context.Background(), &Schema{Name: "a"}, &Schema{Name: "b"}, Options{}); err == nil {
		t.Fatal("empty schemas accepted")
	}
}

// wide builds an n-field schema of realistic, mixed business fields.
func wide(name string, n int, variant int) *Schema {
	words := []string{"customer", "order", "invoice", "shipping", "billing", "product", "account", "contact", "payment", "employee"}
	leaves := []string{"id", "name", "email", "phone", "street", "city", "postal_code", "country", "amount", "currency", "created_at", "status", "notes", "quantity", "price", "tax", "discount", "due_date", "owner", "reference"}
	alt := map[string]string{"postal_code": "zip", "email": "emailAddress", "phone": "telephone", "amount": "total", "created_at": "createdDate", "quantity": "qty", "notes": "comments", "owner": "assignee"}
	s := &Schema{Name: name}
	for i := 0; i < n; i++ {
		leaf := leaves[i%len(leaves)]
		if variant == 1 && alt[leaf] != "" {
			leaf = alt[leaf]
		}
		p := fmt.Sprintf("%s%d.%s", words[(i/len(leaves))%len(words)], i/(len(leaves)*len(words)), leaf)
		s.Fields = append(s.Fields, Field{Path: p, Name: lastSegment(p), Type: "string", Parent: parentOf(p)})
	}
	s, _ = finish(s)
	return s
}

// BenchmarkSuggest200x200: suggestions for a 200×200-field pair with the
// builtin embedder (cache cleared each time: a cold run).
//
//	go test -run '^$' -bench Suggest200 -benchmem ./mapper
func BenchmarkSuggest200x200(b *testing.B) {
	src, tgt := wide("src", 200, 0), wide("tgt", 200, 1)
	ctx := context.Background()
	b.ReportAllocs()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		defaultEmbedder.Max = 1 // a cold cache every time
		if _, err := Suggest(ctx, src, tgt, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	defaultEmbedder.Max = 200000
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
}

// BenchmarkSuggest200x200Memory: the same with a review memory of 2,000
// reviewed pairs in the in-process index (the nearest-review evidence: one
// search per source field), the cache cold every time as above.
//
//	go test -run '^$' -bench Suggest200x200Memory ./mapper
func BenchmarkSuggest200x200Memory(b *testing.B) {
	src, tgt := wide("src", 200, 0), wide("tgt", 200, 1)
	ra, rb := wide("ra", 2000, 2), wide("rb", 2000, 3)
	m := NewMemory()
	for k := range ra.Fields {
		m.Record(&ra.Fields[k], &rb.Fields[k], k%3 != 0)
	}
	ctx := context.Background()
	if err := m.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		defaultEmbedder.Max = 1 // a cold cache every time, as above
		if _, err := Suggest(ctx, src, tgt, Options{Memory: m}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	defaultEmbedder.Max = 200000
}
