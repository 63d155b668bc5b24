package engine

import (
	"context"
	"testing"
	"time"
)

// TestStepContext: a step's timeout gets a context of its own only when it
// ends before the run's; otherwise the run's context is used as is, and a
// call that reaches its deadline is not taken for the step's timeout.
func TestStepContext(t *testing.T) {
	run, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	short, c1 := stepContext(run, time.Second)
	defer c1()
	if short == run {
		t.Fatal("a step timeout shorter than the run's got no deadline of its own")
	}
	if d, _ := short.Deadline(); time.Until(d) > 2*time.Second {
		t.Fatalf("step deadline %v away, want about a second", time.Until(d))
	}
	long, c2 := stepContext(run, 2*time.Hour)
	defer c2()
	if long != run {
		t.Fatal("a step timeout past the run's deadline built a context of its own")
	}
	free, c3 := stepContext(context.Background(), time.Second)
	defer c3()
	if _, ok := free.Deadline(); !ok {
		t.Fatal("a step of a run without a deadline got none")
	}

	// The run's deadline passes during the call: not the step's timeout.
	runCtx, cancelRun := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelRun()
	cctx, c4 := stepContext(runCtx, time.Hour)
	<-cctx.Done()
	timedOut := cctx.Err() == context.DeadlineExceeded && runCtx.Err() == nil
	c4()
	if timedOut {
		t.Fatal("the run's deadline was taken for the step's timeout")
	}
}
