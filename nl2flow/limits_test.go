package nl2flow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded/boundedtest"
	"github.com/weftio/weft/nl2flow"
)

func TestIssue16_F01_EditRefusesAliasBomb(t *testing.T) {
	bomb := boundedtest.FlowBomb()
	c := compiler(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Compile(context.Background(), nl2flow.Request{Text: "then notify the team by email", Flow: bomb, Backend: "builtin"})
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
