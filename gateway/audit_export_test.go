package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
)

// exportLines GETs path as the API token and returns the status, the
// content type and the body's lines.
func (rig *auditRig) exportLines(t *testing.T, path string) (int, string, []string) {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Host = "localhost"
	r.Header.Set("Authorization", "Bearer "+auditToken)
	w := httptest.NewRecorder()
	rig.h.ServeHTTP(w, r)
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(w.Body.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return w.Code, w.Header().Get("Content-Type"), lines
}

// GET /api/audit/export streams every matching entry as JSON lines, oldest
// first, across the store's page size, with the filters of GET /api/audit
// and after= for an incremental export; each line is the entry as listed,
// hashes included, so a SIEM can re-check the chain.
func TestAuditExportJSONLines(t *testing.T) {
	rig := newAuditRig(t, auditToken)
	log := access.NewLog(rig.st)
	ctx := context.Background()
	const total = 2345 // more than two pages of store.MaxAuditPage
	for i := 0; i < total; i++ {
		actor := "user:ada"
		if i%3 == 0 {
			actor = "user:bob"
		}
		if err := log.Record(ctx, access.Entry{Actor: actor, ActorKind: access.KindUser, Action: access.ActionFlowDeploy,
			Resource: fmt.Sprintf("flow:f%d", i), Source: "127.0.0.1", Details: map[string]any{"version": i}}); err != nil {
			t.Fatal(err)
		}
	}

	code, ctype, lines := rig.exportLines(t, "/api/audit/export")
	if code != 200 || ctype != "application/x-ndjson" {
		t.Fatalf("export: %d %q", code, ctype)
	}
	if len(lines) != total {
		t.Fatalf("export: %d lines, want %d", len(lines), total)
	}
	var prevHash string
	for i, l := range lines {
		var e access.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %d is not an entry: %v: %s", i+1, err, l)
		}
		if e.Seq != int64(i+1) || e.Resource != fmt.Sprintf("flow:f%d", i) || e.Hash == "" {
			t.Fatalf("line %d: %+v", i+1, e)
		}
		if i > 0 && e.PrevHash != prevHash {
			t.Fatalf("line %d: prev_hash %s, want the previous line's hash %s", i+1, e.PrevHash, prevHash)
		}
		prevHash = e.Hash
	}
	// The newest line is the newest entry as GET /api/audit lists it.
	es, raw := rig.entries(t)
	if int(es[0].Seq) != total || !strings.Contains(raw, prevHash) {
		t.Fatalf("the export's last hash %s is not the listed head's (seq %v)", prevHash, es[0].Seq)
	}

	// Filters: actor (a third of them), after (incremental), both.
	_, _, bob := rig.exportLines(t, "/api/audit/export?actor=user:bob")
	if len(bob) != (total+2)/3 {
		t.Fatalf("actor=user:bob: %d lines, want %d", len(bob), (total+2)/3)
	}
	for _, l := range bob {
		if !strings.Contains(l, `"actor":"user:bob"`) {
			t.Fatalf("actor filter let through %s", l)
		}
	}
	_, _, tail := rig.exportLines(t, "/api/audit/export?after=2000")
	if len(tail) != total-2000 || !strings.HasPrefix(tail[0], `{"seq":2001,`) {
		t.Fatalf("after=2000: %d lines, first %.40s", len(tail), tail[0])
	}
	if _, _, none := rig.exportLines(t, "/api/audit/export?action=session.sign_in"); len(none) != 0 {
		t.Fatalf("action filter: %d lines, want none", len(none))
	}

	// Bad input: a clear 400 before any line.
	for _, q := range []string{"after=x", "after=-1", "since=yesterday"} {
		code, ctype, lines := rig.exportLines(t, "/api/audit/export?"+q)
		if code != 400 || !strings.HasPrefix(ctype, "application/json") || len(lines) != 1 || !strings.Contains(lines[0], `"invalid"`) {
			t.Fatalf("%s: %d %q %v", q, code, ctype, lines)
		}
	}
	// Without credentials: 401 (the route needs audit.read; the access
	// matrix covers every role).
	r := httptest.NewRequest("GET", "/api/audit/export", nil)
	r.Host = "localhost"
	w := httptest.NewRecorder()
	rig.h.ServeHTTP(w, r)
	if w.Code != 401 || strings.Contains(w.Body.String(), "flow:f1") {
		t.Fatalf("anonymous export: %d %.200s", w.Code, w.Body.String())
	}
}
