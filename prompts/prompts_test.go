package prompts

import (
	"strings"
	"testing"
)

func TestPromptsParseAndRender(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	p := all["investigate_failed_run"]
	if p == nil || p.Version != "1" || !p.Required["run_id"] {
		t.Fatalf("%+v", p)
	}
	out, err := p.Render(map[string]any{"run_id": "r-42"})
	if err != nil || !strings.Contains(out, "weft://runs/r-42") {
		t.Fatalf("%v %s", err, out)
	}
	if _, err := p.Render(map[string]any{}); err == nil {
		t.Fatal("missing required argument accepted")
	}
	d := all["design_integration"]
	out, err = d.Render(map[string]any{"goal": "sync contacts"})
	if err != nil || !strings.Contains(out, "Goal: sync contacts") || strings.Contains(out, "Systems involved") {
		t.Fatalf("%v %s", err, out)
	}
}
