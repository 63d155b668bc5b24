package flow

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded/boundedtest"
)

// aliasBomb is issue 16's reproduction: ten levels of ten YAML aliases
// (10^10 nodes once expanded) in 592 bytes.
func aliasBomb() string { return boundedtest.FlowBomb() }

// parseWithin parses src in a goroutine and fails the test if it takes
// longer than d or allocates more than maxAlloc: on a parser that expands
// aliases without limit the test fails instead of hanging.
func parseWithin(t *testing.T, src string, d time.Duration, maxAlloc uint64) error {
	t.Helper()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		_, err := Parse("bomb.yaml", []byte(src))
		done <- err
	}()
	select {
	case err := <-done:
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if a := after.TotalAlloc - before.TotalAlloc; a > maxAlloc {
			t.Fatalf("parsing allocated %d MB; want at most %d MB", a>>20, maxAlloc>>20)
		}
		return err
	case <-time.After(d):
		t.Fatalf("parsing %d bytes did not finish in %v (aliases expanded without limit)", len(src), d)
		return nil
	}
}

func TestIssue16_F01_YAMLAliasBombRefused(t *testing.T) {
	src := aliasBomb()
	if len(src) > 620 {
		t.Fatalf("the reproduction is %d bytes", len(src))
	}
	err := parseWithin(t, src, 5*time.Second, 64<<20)
	if weft.Code(err) != weft.EInvalid || !strings.Contains(err.Error(), "bomb.yaml:5:") || !strings.Contains(err.Error(), "aliases expand to more than") {
		t.Fatalf("got %v (%s), want invalid at bomb.yaml:5:... naming the alias limit", err, weft.Code(err))
	}
}

func TestIssue16_F01_FlowDepthAndSizeBounded(t *testing.T) {
	cases := []struct{ name, src, code, want string }{
		{"deep literal", "name: d\nsteps:\n  - id: s\n    set: {v: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}\n", weft.EInvalid, "nests deeper than 100 levels"},
		{"deep via aliases", "name: d\nx: &a " + strings.Repeat("[", 96) + strings.Repeat("]", 96) + "\nsteps:\n  - id: s\n    set: {v: [[*a]]}\n", weft.EInvalid, "bomb.yaml:5:"},
		{"self-referencing alias", "name: d\nx: &a [1, *a]\nsteps:\n  - id: s\n    set: {v: *a}\n", weft.EInvalid, "contains it"},
		{"long string through aliases", "name: d\nx: &s " + strings.Repeat("x", 300000) + "\nsteps:\n  - id: s\n    set: {v: [*s, *s, *s, *s]}\n", weft.EInvalid, "bomb.yaml:5:27: YAML aliases expand to more than 1048576 bytes of text"},
		{"too large", "name: d\n#" + strings.Repeat("x", 5<<20) + "\nsteps: []\n", weft.ETooLarge, "the limit is"},
		{"many nodes", "name: d\nsteps:\n  - id: s\n    set: {v: [" + strings.Repeat("1,", 300000) + "1]}\n", weft.ETooLarge, "more than 200000 nodes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := parseWithin(t, c.src, 10*time.Second, 1<<30)
			if weft.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v (%s), want %s containing %q", err, weft.Code(err), c.code, c.want)
			}
		})
	}
	// Aliases within the limits still work.
	f, err := Parse("ok.yaml", []byte("name: ok\nsteps:\n  - id: a\n    set: {h: &h {a: 1, b: [1, 2]}}\n  - id: s\n    set: {v: *h, w: [*h, *h]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Steps[1].Set.Eval(&Scope{})
	if err != nil || fmt.Sprint(out) != "map[v:map[a:1 b:[1 2]] w:[map[a:1 b:[1 2]] map[a:1 b:[1 2]]]]" {
		t.Fatalf("got %v, %v", out, err)
	}
}
