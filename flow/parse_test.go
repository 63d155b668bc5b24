package flow

import (
	"strings"
	"testing"
)

// Found by FuzzParseFlow (testdata/fuzz/FuzzParseFlow/af4ba8ff4db71bf1): an
// empty step list was accepted as a flow with no steps, while a missing one
// was refused.
func TestIssue16_Fuzz_EmptyStepListRefused(t *testing.T) {
	for _, src := range []string{`{"name":"a","steps":[]}`, "name: a\nsteps: []\n"} {
		if _, err := Parse("f.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "no steps") {
			t.Errorf("%q: %v, want 'flow has no steps'", src, err)
		}
	}
}
