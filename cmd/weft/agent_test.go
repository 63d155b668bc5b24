package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// weft agent refuses, before it opens anything: a token file others can
// read, missing settings, a bad site, a client certificate without its key.
func TestAgentRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("weft_agent_x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte("agent: {control_plane: http://127.0.0.1:1, site: plant-3, token_file: "+tok+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--config", cfg, "--data-dir", data}, "readable by others"},
		{[]string{"agent", "--data-dir", data}, "weft agent needs --control-plane"},
		{[]string{"agent", "--control-plane", "http://x", "--token", "weft_agent_x", "--site", "Plant_3", "--data-dir", data}, "site \"Plant_3\""},
		{[]string{"agent", "--control-plane", "http://x", "--token", "weft_agent_x", "--site", "p", "--label", "Bad=x", "--data-dir", data}, "label Bad=x"},
		{[]string{"agent", "--control-plane", "http://x", "--token", "weft_agent_x", "--site", "p", "--client-cert", "c.pem", "--data-dir", data}, "go together"},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("weft %s: exit %d, %q; want 2 and %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
	}
	if _, err := os.Stat(data); err == nil {
		t.Error("a refused agent created its data directory")
	}
}

// weft agents list shows each agent's run-log backlog against its bound,
// with its level when it is not ok, and "-" before the agent reported one.
func TestAgentRowBacklog(t *testing.T) {
	m := map[string]any{"site": "plant-3", "connected": true, "in_sync": true, "last_seen": "x",
		"health": map[string]any{"backlog": float64(90), "backlog_max": float64(100), "backlog_level": "warning"}}
	agentRow(m)
	if m["backlog_text"] != "90/100 warning" || m["status"] != "connected" {
		t.Fatalf("row: %v", m)
	}
	m = map[string]any{"site": "plant-4", "health": map[string]any{"backlog": float64(0), "backlog_max": float64(100), "backlog_level": "ok"}}
	agentRow(m)
	if m["backlog_text"] != "0/100" {
		t.Fatalf("ok level: %v", m["backlog_text"])
	}
	m = map[string]any{"site": "plant-4", "telemetry": map[string]any{"alerts": []any{
		map[string]any{"rule": "errors", "severity": "critical", "status": "firing"},
		map[string]any{"rule": "agent-backlog", "severity": "warning", "status": "firing"},
		map[string]any{"rule": "silence", "severity": "warning", "status": "resolved"}}}}
	agentRow(m)
	if m["alerts_text"] != "critical:errors,warning:agent-backlog" {
		t.Fatalf("site alerts: %v", m["alerts_text"])
	}
	m = map[string]any{"site": "plant-5"}
	agentRow(m)
	if m["backlog_text"] != "-" || m["status"] != "never connected" || m["alerts_text"] != "-" {
		t.Fatalf("no report: %v", m)
	}
}
