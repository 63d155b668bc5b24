package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// A flow uses only its namespace's connections and subflows: refused at
// deploy, and at run time for a connection moved away since.
func TestFlowStaysInItsNamespace(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	if err := e.Store().CreateNamespace(ctx, store.Namespace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	add := func(ns string) {
		t.Helper()
		if err := e.Catalog().AddConnection(&connectors.Connection{Name: "b-conn", Connector: "http", Namespace: ns, BaseURL: "http://127.0.0.1:1", AllowPrivate: true}); err != nil {
			t.Fatal(err)
		}
	}
	add("team-b")
	src := func(name, ns, conn string) []byte {
		return []byte("name: " + name + "\nnamespace: " + ns + "\ntrigger: {manual: {}}\nsteps:\n  - id: get\n    call: http.request\n    connection: " + conn + "\n    with: {method: GET, url: /x}\n")
	}
	if _, _, err := e.Deploy(ctx, "a.yaml", src("a", "default", "b-conn")); weft.Code(err) != weft.EUnprocessable || !strings.Contains(weft.Message(err)+problems(err), "belongs to namespace") {
		t.Fatalf("default's flow with team-b's connection: %v", err)
	}
	fv, f, err := e.Deploy(ctx, "b.yaml", src("b", "team-b", "b-conn"))
	if err != nil || fv.Namespace != "team-b" || f.Namespace != "team-b" {
		t.Fatalf("team-b's flow: %+v %v", fv, err)
	}
	sub := []byte("name: c\nnamespace: default\ntrigger: {manual: {}}\nsteps:\n  - subflow: b\n")
	if _, _, err := e.Deploy(ctx, "c.yaml", sub); weft.Code(err) != weft.EUnprocessable || !strings.Contains(problems(err), "subflow") {
		t.Fatalf("default's flow calling team-b's subflow: %v", err)
	}
	// The connection moves to default after the deploy: the run refuses it.
	add("default")
	res, err := e.Trigger(ctx, engine.Event{Flow: "b", Kind: flow.TriggerManual, Body: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.ErrorCode != "connection_namespace" {
		t.Fatalf("run with a connection moved away: %s %s %s", res.Run.Status, res.Run.ErrorCode, res.Run.ErrorMessage)
	}
}

// A poll trigger's connection moved to another namespace after the deploy
// is refused when the trigger polls.
func TestPollStaysInItsNamespace(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	if err := e.Store().CreateNamespace(ctx, store.Namespace{Name: "team-b"}); err != nil {
		t.Fatal(err)
	}
	add := func(ns string) {
		t.Helper()
		if err := e.Catalog().AddConnection(&connectors.Connection{Name: "b-poll", Connector: "http", Namespace: ns, BaseURL: "http://127.0.0.1:1", AllowPrivate: true}); err != nil {
			t.Fatal(err)
		}
	}
	add("team-b")
	src := "name: p\nnamespace: team-b\ntrigger:\n  poll:\n    operation: http.request\n    connection: b-poll\n    input: {method: GET, url: /items}\n    cursor: id\nsteps:\n  - set: {ok: true}\n"
	if _, _, err := e.Deploy(ctx, "p.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	add("default")
	f, _, err := e.Flow(ctx, "p", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := engine.PollSource(e).Pull(ctx, f, "", time.Now()); err == nil || !strings.Contains(err.Error(), "belongs to namespace") {
		t.Fatalf("poll through a connection moved away: %v", err)
	}
}

func problems(err error) string {
	var we *weft.Error
	var b strings.Builder
	if e, ok := err.(*weft.Error); ok {
		we = e
	}
	if we != nil {
		for _, p := range we.Problems {
			b.WriteString(p.Message + "\n")
		}
	}
	return b.String()
}
