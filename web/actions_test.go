package web

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/weftio/weft/access"
)

// The console's audit filter suggests exactly the actions the server
// records (web/src/lib/access.ts AUDIT_ACTIONS against access.Actions).
func TestConsoleKnowsEveryAuditAction(t *testing.T) {
	src, err := os.ReadFile("src/lib/access.ts")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)export const AUDIT_ACTIONS = \[(.*?)\];`).FindSubmatch(src)
	if block == nil {
		t.Fatal("AUDIT_ACTIONS not found in src/lib/access.ts")
	}
	var ts []string
	for _, m := range regexp.MustCompile(`"([^"]+)"`).FindAllSubmatch(block[1], -1) {
		ts = append(ts, string(m[1]))
	}
	want := access.Actions()
	for _, a := range want {
		if !slices.Contains(ts, a) {
			t.Errorf("the console's AUDIT_ACTIONS misses %q", a)
		}
	}
	for _, a := range ts {
		if !slices.Contains(want, a) {
			t.Errorf("the console's AUDIT_ACTIONS has %q, which the server never records", a)
		}
	}
}
