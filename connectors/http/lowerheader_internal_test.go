package http

import (
	"net/textproto"
	"strings"
	"testing"
)

// Every name of the table is the lower case of its canonical form, and
// names not in it are lowered all the same.
func TestLowerHeader(t *testing.T) {
	for k, l := range commonHeaders {
		if k != textproto.CanonicalMIMEHeaderKey(k) || l != strings.ToLower(k) {
			t.Errorf("%q -> %q", k, l)
		}
	}
	for _, k := range []string{"Content-Type", "X-Custom-Thing", "X-Ratelimit-Remaining", "Odd_Name"} {
		if got := lowerHeader(k); got != strings.ToLower(k) {
			t.Errorf("lowerHeader(%q) = %q", k, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = lowerHeader("Content-Type") }); n != 0 {
		t.Errorf("%v allocations for a common name", n)
	}
}
