package nl2flow_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/nl2flow"
)

func TestIssue16_F01_EditRefusesAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: bomb\n")
	b.WriteString(`x0: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &x%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*x%d,", i-1), 10), ","))
	}
	b.WriteString("trigger: {webhook: {}}\nsteps:\n  - id: s\n    set: {v: *x9}\n")
	c := compiler(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Compile(context.Background(), nl2flow.Request{Text: "then notify the team by email", Flow: b.String(), Backend: "builtin"})
		done <- err
	}()
	select {
	case err := <-done:
		if weft.Code(err) != weft.EInvalid || !strings.Contains(err.Error(), "flow.yaml:5:38: YAML aliases expand to more than 10000 nodes") {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("editing the alias bomb did not finish in 5s")
	}
}
