// Package boundedtest holds the hostile inputs that tests of the bounded
// decoders' callers share, so that every entry point is tried with the same
// reproduction.
package boundedtest

import (
	"fmt"
	"strings"
)

// AliasAnchors is issue 16's alias bomb without a document around it: ten
// top-level keys x0 … x9, each an anchored list of ten aliases of the one
// before, so that *x9 expands to 10^10 nodes from under 600 bytes.
func AliasAnchors() string {
	var b strings.Builder
	b.WriteString(`x0: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &x%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*x%d,", i-1), 10), ","))
	}
	return b.String()
}

// FlowBomb is the 592-byte flow of issue 16: a webhook flow whose one step
// sets a value to *x9.
func FlowBomb() string {
	return "name: bomb\n" + AliasAnchors() + "trigger: {webhook: {}}\nsteps:\n  - id: s\n    set: {v: *x9}\n"
}
