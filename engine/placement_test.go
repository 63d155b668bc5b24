package engine_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store/sqlite"
)

func siteEngine(t *testing.T, site string, labels map[string]string) *engine.Engine {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return engine.New(st, connectors.NewCatalog(), slog.New(slog.DiscardHandler), engine.Config{Site: site, Labels: labels})
}

const placedFlow = "name: placed\nplacement: {site: plant-3}\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, set: {x: 1}}\n"

// A control plane keeps a placed flow's versions and runs none of them; the
// agent of its site runs it; the agent of another site refuses to deploy it.
func TestPlacedFlowRunsOnlyOnItsSite(t *testing.T) {
	ctx := context.Background()
	cp := siteEngine(t, "", nil)
	fv, _, err := cp.Deploy(ctx, "placed.yaml", []byte(placedFlow))
	if err != nil || fv.Version != 1 {
		t.Fatalf("control plane deploy: %+v %v", fv, err)
	}
	_, err = cp.Trigger(ctx, engine.Event{Flow: "placed", Kind: flow.TriggerWebhook, Body: map[string]any{}})
	if weft.Code(err) != weft.EConflict {
		t.Fatalf("control plane ran a placed flow: %v", err)
	}

	agent := siteEngine(t, "plant-3", nil)
	if _, _, err := agent.Deploy(ctx, "placed.yaml", []byte(placedFlow)); err != nil {
		t.Fatal(err)
	}
	res, err := agent.Trigger(ctx, engine.Event{Flow: "placed", Kind: flow.TriggerWebhook, Body: map[string]any{}})
	if err != nil || res.Run.Status != "succeeded" {
		t.Fatalf("agent run: %+v %v", res, err)
	}

	other := siteEngine(t, "plant-4", map[string]string{"region": "eu"})
	if _, _, err := other.Deploy(ctx, "placed.yaml", []byte(placedFlow)); weft.Code(err) != weft.EForbidden {
		t.Fatalf("another site's agent deployed it: %v", err)
	}
	sel := "name: sel\nplacement: {labels: {region: eu}}\nsteps:\n  - {id: a, set: {x: 1}}\n"
	if _, _, err := other.Deploy(ctx, "sel.yaml", []byte(sel)); err != nil {
		t.Fatalf("a selector that matches the agent's labels: %v", err)
	}
	if _, _, err := agent.Deploy(ctx, "sel.yaml", []byte(sel)); weft.Code(err) != weft.EForbidden {
		t.Fatalf("a selector that does not match: %v", err)
	}
}
