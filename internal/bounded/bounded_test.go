package bounded

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded/boundedtest"
)

// Bomb is the alias bomb: ten levels of ten aliases each (10^10
// nodes once expanded) in under 600 bytes.
func Bomb() string {
	return "name: bomb\n" + boundedtest.AliasAnchors() + "steps:\n  - id: s\n    set: {v: *x9}\n"
}

func TestYAMLLimits(t *testing.T) {
	cases := []struct {
		name, src, code, want string
		l                     Limits
	}{
		{"alias bomb", Bomb(), weft.EInvalid, "doc.yaml:5:38: YAML aliases expand to more than 10000 nodes", Limits{}},
		{"cycle", "a: &a [1, *a]\n", weft.EInvalid, "contains it", Limits{}},
		{"merge keys count", "a: &a {x: 1, y: 2}\nb: {<<: *a}\nc: {<<: *a}\n", weft.EInvalid, "doc.yaml:3:", Limits{MaxAliasNodes: 6}},
		{"long string through aliases", "s: &s " + strings.Repeat("x", 300000) + "\nl: [*s, *s, *s, *s]\n", weft.EInvalid, "doc.yaml:2:17: YAML aliases expand to more than 1048576 bytes of text", Limits{}},
		{"deep literal", strings.Repeat("[", 50) + strings.Repeat("]", 50), weft.EInvalid, "nests deeper than 20", Limits{MaxDepth: 20}},
		{"deep through aliases", "a: &a [[[[[1]]]]]\nb: &b [*a, [[[[*a]]]]]\nc: [*b]\n", weft.EInvalid, "doc.yaml:3:", Limits{MaxDepth: 12}},
		{"many nodes", "[" + strings.Repeat("1,", 100) + "1]", weft.ETooLarge, "more than 50 nodes", Limits{MaxNodes: 50}},
		{"too many bytes", strings.Repeat("a", 200), weft.ETooLarge, "limit is 100", Limits{MaxBytes: 100}},
		{"syntax", "a: [\n", weft.EInvalid, "doc.yaml:1:1: did not find expected node content", Limits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := YAML("doc.yaml", []byte(c.src), c.l)
			if weft.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (%s), want %s containing %q", err, weft.Code(err), c.code, c.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
	// Within the limits, aliases are fine and expand as YAML says.
	var v map[string]any
	if err := UnmarshalYAML("ok.yaml", []byte("a: &a {x: 1}\nb: *a\nc: [*a, *a]\n"), &v, Limits{}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(v["c"]) != "[map[x:1] map[x:1]]" {
		t.Fatalf("got %v", v)
	}
}

func TestUnmarshalYAMLStrict(t *testing.T) {
	var v struct {
		A int `yaml:"a"`
	}
	err := UnmarshalYAMLStrict("c.yaml", []byte("a: 1\nb: 2\n"), &v, Limits{})
	if weft.Code(err) != weft.EInvalid || !strings.Contains(err.Error(), "c.yaml:2:1") || !strings.Contains(err.Error(), `field b not found`) {
		t.Fatalf("got %v", err)
	}
	err = UnmarshalYAMLStrict("c.yaml", []byte("a: secret-value\n"), &v, Limits{})
	if weft.Code(err) != weft.EInvalid || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("got %v", err)
	}
	if err := UnmarshalYAMLStrict("c.yaml", nil, &v, Limits{}); err != nil {
		t.Fatalf("an empty document is fine: %v", err)
	}
}

func TestJSONLimits(t *testing.T) {
	cases := []struct {
		name, src, code, want string
		l                     Limits
	}{
		{"bad utf-8", "{\"a\": \"x\xff\"}", weft.EInvalid, "not valid UTF-8 at byte 8", Limits{}},
		{"lone high surrogate", `{"a": "x\ud800y"}`, weft.EInvalid, `lone UTF-16 surrogate (\ud800) at byte 8`, Limits{}},
		{"lone low surrogate", `["\uDC00"]`, weft.EInvalid, `(\uDC00) at byte 2`, Limits{}},
		{"high surrogate then a non-low escape", `["\ud800\u0041"]`, weft.EInvalid, "lone UTF-16 surrogate", Limits{}},
		{"surrogate pair", `["\ud83d\ude00 \u00e9 \\u\\ud800"]`, "", "", Limits{}},
		{"deep", strings.Repeat("[", 300) + strings.Repeat("]", 300), weft.EInvalid, "deeper than 256 levels at byte 256", Limits{}},
		{"brackets in strings do not count", `{"a": "` + strings.Repeat("[", 300) + `"}`, "", "", Limits{}},
		{"escaped quote", `{"a": "\"[[[[[["}`, "", "", Limits{MaxDepth: 2}},
		{"nodes", "[" + strings.Repeat("1,", 20) + "1]", weft.ETooLarge, "more than 10 values", Limits{MaxNodes: 10}},
		{"bytes", "[1]", weft.ETooLarge, "limit is 2", Limits{MaxBytes: 2}},
		{"syntax", `{"a": }`, weft.EInvalid, "at byte 7", Limits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v any
			err := UnmarshalJSON("body", []byte(c.src), &v, c.l)
			if weft.Code(err) != c.code || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("got %v (%s), want %q containing %q", err, weft.Code(err), c.code, c.want)
			}
		})
	}
}
