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

// A message whose own kind names one messaging system and whose
// destinations name others is split once per destination, never again
// (this request recursed without end before the split was marked).
func TestMessageSplitTerminates(t *testing.T) {
	done := make(chan string, 1)
	go func() {
		d := compile(t, "send an email notification to chat and email")
		done <- strings.Join(calls(d.Flow), " ")
	}()
	select {
	case got := <-done:
		if got != "chat.postMessage smtp.send" {
			t.Errorf("calls %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("compiling did not end")
	}
}

// A coordinated bare verb shares the object of a later clause, never the
// event after it: found by the random requests of
// TestNothingDroppedSilently, this request was split at its "when" again
// and again (the shared object brought the "when" back each time).
func TestSharedObjectSplitTerminates(t *testing.T) {
	done := make(chan struct{})
	go func() {
		d := compile(t, "request then whose and this if should if company hours go canceled me archive get her when replace could ->")
		for _, w := range d.Warnings {
			if strings.Contains(w, "too many clauses") {
				t.Errorf("read only in part: %s", w) // the bound stopped it: the splitting itself does not end
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("compiling did not end")
	}
}
