package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// Payloads go upstream only when the flow captures in full and the site
// allows it, redacted on the site first (the flow's paths and sensitive
// keys); every other run ships its metadata only.
func TestPayloadsShipOnlyUnderCapturePolicies(t *testing.T) {
	ctx := context.Background()
	cpEng, cpSt := newEngine(t, "", nil)
	cp := agent.NewControlPlane(cpSt.(store.Agents), cpEng, quiet)
	srv := httptest.NewServer(http.HandlerFunc(cp.ServeRuns))
	defer srv.Close()
	_, tok, err := cp.Create(ctx, "plant-3", nil)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newEngine(t, "plant-3", nil)
	respond := "trigger: {webhook: {mode: sync}}\nsteps:\n  - {id: a, respond: {status: 200, body: {echo: =trigger.body.note, card: =trigger.body.card}}}\n"
	for _, src := range []string{
		"name: full\ncapture: full\nredact: [\"$.card\", ssn]\n" + respond,
		"name: meta\ncapture: metadata\n" + respond,
		"name: fail\ncapture: full\nredact: [\"$.card\", ssn]\ntrigger: {webhook: {mode: sync}}\nsteps:\n  - {id: boom, set: {x: =trigger.body.nope.deeper}}\n",
	} {
		if _, _, err := e.Deploy(ctx, "f.yaml", []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	body := map[string]any{"note": "visible-note", "card": "4111-CARD-SECRET", "ssn": "SSN-SECRET-123"}
	for _, fl := range []string{"full", "meta", "fail"} {
		_, _ = e.Trigger(ctx, engine.Event{Flow: fl, Kind: flow.TriggerWebhook, Body: body})
	}
	time.Sleep(10 * time.Millisecond)
	ship := func(payloads bool) map[string]store.AgentRun {
		t.Helper()
		l := &agent.Link{URL: srv.URL, Token: tok, Site: "plant-3", Version: "test", Engine: e, Log: quiet, StateDir: t.TempDir(),
			Settle: time.Millisecond, ShipPayloads: payloads}
		if n, err := l.ShipOnce(ctx); err != nil || n != 3 {
			t.Fatalf("ship: %d %v", n, err)
		}
		runs, _, err := cp.Runs(ctx, "plant-3", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.AgentRun{}
		for _, r := range runs {
			out[r.Flow] = r
		}
		return out
	}
	// The site's policy says no: metadata only, whatever the flows say.
	for fl, r := range ship(false) {
		if r.Input != nil || r.Output != nil {
			t.Fatalf("%s: payloads shipped against the site's policy: %s %s", fl, r.Input, r.Output)
		}
	}
	// The site allows: only the full-capture flows' payloads, redacted.
	got := ship(true)
	if r := got["meta"]; r.Input != nil || r.Output != nil {
		t.Fatalf("a metadata-capture flow's payloads shipped: %s %s", r.Input, r.Output)
	}
	full := got["full"]
	in, out := string(full.Input), string(full.Output)
	if !strings.Contains(in, "visible-note") || !strings.Contains(out, "visible-note") {
		t.Fatalf("full capture shipped no payloads: %q %q", in, out)
	}
	for _, secret := range []string{"4111-CARD-SECRET", "SSN-SECRET-123"} {
		if strings.Contains(in+out, secret) {
			t.Fatalf("a redacted value left the site: %s / %s", in, out)
		}
	}
	if fail := got["fail"]; fail.Status == store.RunSucceeded || strings.Contains(string(fail.Input), "SSN-SECRET-123") || strings.Contains(string(fail.Input), "4111-CARD-SECRET") || !strings.Contains(string(fail.Input), "visible-note") {
		// A failed run keeps its input whole on the site (for replay); what
		// leaves is redacted.
		t.Fatalf("failed full-capture run: %s %s", fail.Status, fail.Input)
	}
}
