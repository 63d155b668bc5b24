package gateway

// Endpoints the web console needs beyond the CLI's: bulk replay of the
// dead-letter queue, a connection test, the MCP tool-call log and the MCP
// tool policies.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/store"
)

// maxBulkReplay bounds one POST /api/dlq/replay.
const maxBulkReplay = 500

type replayed struct {
	Run    string `json:"run"`
	NewRun string `json:"new_run"`
	Status string `json:"status"`
}

type replayFailure struct {
	Run   string `json:"run"`
	Error string `json:"error"`
}

// bulkReplay requeues dead runs: {"runs": [ids]} or {"flow": name} (its
// dead runs, newest first, at most maxBulkReplay). A replay resumes the
// same run from its first unfinished step, so new_run is the run's own id.
func (s *Server) bulkReplay(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req struct {
		Runs []string `json:"runs"`
		Flow string   `json:"flow"`
	}
	if err := decodeJSON(data, &req); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"runs": ["id", ...]} or {"flow": "name"}: %s`, weft.Message(err)))
		return
	}
	ctx := r.Context()
	ids := req.Runs
	more := false
	switch {
	case len(req.Runs) > 0 && req.Flow != "":
		writeErr(w, weft.Errorf(weft.EInvalid, "give runs or flow, not both"))
		return
	case len(req.Runs) > maxBulkReplay:
		writeErr(w, weft.Errorf(weft.EInvalid, "%d runs: one request replays at most %d", len(req.Runs), maxBulkReplay))
		return
	case req.Flow != "":
		if err := s.allowResource(r, access.RunsOperate, s.flowResolver(""), req.Flow); err != nil {
			writeErr(w, err)
			return
		}
		runs, err := s.e.Store().ListRuns(ctx, store.RunFilter{Flow: req.Flow, Status: store.RunDead, Limit: maxBulkReplay + 1})
		if err != nil {
			writeErr(w, err)
			return
		}
		if len(runs) > maxBulkReplay {
			runs, more = runs[:maxBulkReplay], true
		}
		ids = make([]string, len(runs))
		for i, run := range runs {
			ids[i] = run.ID
		}
	case len(req.Runs) == 0:
		writeErr(w, weft.Errorf(weft.EInvalid, `nothing to replay: give {"runs": ["id", ...]} or {"flow": "name"}`))
		return
	}
	out := map[string]any{"replayed": []replayed{}, "failed": []replayFailure{}}
	var ok []replayed
	var failed []replayFailure
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		// Each run needs runs.operate in its flow's namespace.
		if err := s.allowResource(r, access.RunsOperate, s.runResolver(), id); err != nil {
			failed = append(failed, replayFailure{Run: id, Error: weft.Message(err)})
			continue
		}
		run, err := s.replayDead(ctx, id)
		if err != nil {
			failed = append(failed, replayFailure{Run: id, Error: weft.Message(err)})
			continue
		}
		ok = append(ok, replayed{Run: id, NewRun: run.ID, Status: run.Status})
	}
	if ok != nil {
		out["replayed"] = ok
	}
	if failed != nil {
		out["failed"] = failed
	}
	if more {
		out["more"] = true // the flow has more dead runs than one request replays
	}
	s.log.Info("dead runs replayed", "replayed", len(ok), "failed", len(failed), "flow", req.Flow)
	done := make([]string, len(ok))
	for i, o := range ok {
		done[i] = o.Run
	}
	res := "dlq"
	if req.Flow != "" {
		res = "flow:" + req.Flow
	}
	s.audit(r, access.ActionDLQReplay, res, nil, map[string]any{"replayed": done, "failed": len(failed)})
	writeJSON(w, http.StatusOK, out)
}

// replayDead replays one run if it is dead (the DLQ holds dead runs only).
func (s *Server) replayDead(ctx context.Context, id string) (*store.Run, error) {
	run, err := s.e.Store().GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.Status != store.RunDead {
		return nil, weft.Errorf(weft.EConflict, "run %s is %s, not dead", id, run.Status)
	}
	return s.e.Replay(ctx, id, nil)
}

// connectionTestTimeout bounds POST /api/connections/{name}/test.
const connectionTestTimeout = 10 * time.Second

// sqlConnectors are the database connectors, tested with a ping query.
var sqlConnectors = map[string]bool{"postgres": true, "sqlite": true, "mysql": true}

// testConnection reaches a connection with its credentials: a GET of its
// base URL through the HTTP connector (its auth, its origin rules, its
// private-address rules), or a ping query on a database. The answer never
// carries a secret.
func (s *Server) testConnection(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	conn, ok := s.e.Catalog().LookupConnection(name)
	if !ok {
		if pc, placed := s.e.PlacedConnection(name); placed {
			writeErr(w, weft.Errorf(weft.EConflict, "connection %q is placed on %s: only that site's agent uses it (test it there)", name, pc.Placement))
			return
		}
		writeErr(w, weft.Errorf(weft.ENotFound, "no connection named %q", name))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), connectionTestTimeout)
	defer cancel()
	start := time.Now()
	res := map[string]any{"ok": false, "status": 0}
	var msg string
	switch {
	case conn.BaseURL != "":
		msg = s.testHTTP(ctx, conn, res)
	case sqlConnectors[conn.Connector]:
		msg = s.testSQL(ctx, conn, res)
	case conn.Connector == "http":
		msg = "this http connection has no base_url: flows give it absolute URLs, so there is nothing to test; set base_url to test it"
	default:
		msg = fmt.Sprintf("%s connections cannot be tested from here yet: only connections with a base_url (HTTP APIs) and databases can", conn.Connector)
	}
	res["message"] = connectors.RedactSecrets(connectors.RedactURLs(msg), conn.SecretValues()...)
	res["duration_ms"] = float64(time.Since(start).Microseconds()) / 1000
	s.log.Info("connection tested", "connection", name, "ok", res["ok"], "status", res["status"])
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) testHTTP(ctx context.Context, conn *connectors.Connection, res map[string]any) string {
	op, ok := s.e.Catalog().Operation("http.request")
	if !ok {
		return "the http connector is not installed"
	}
	out, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"method": "GET", "url": conn.BaseURL}, Connection: conn})
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) && ce.Status != 0 {
			res["status"] = ce.Status
			switch {
			case ce.Status == 401 || ce.Status == 403 || ce.Status == 407:
				return fmt.Sprintf("%s refused the credentials: %d %s", conn.BaseURL, ce.Status, http.StatusText(ce.Status))
			case ce.Status >= 500:
				return fmt.Sprintf("%s answered %d %s: the server is failing", conn.BaseURL, ce.Status, http.StatusText(ce.Status))
			default:
				// 404 and friends at an API's root: it answered and did
				// not refuse the credentials.
				res["ok"] = true
				return fmt.Sprintf("reached %s: it answered %d %s (an API root often has no page of its own; the credentials were not refused)", conn.BaseURL, ce.Status, http.StatusText(ce.Status))
			}
		}
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Sprintf("no answer from %s within %s", conn.BaseURL, connectionTestTimeout)
		}
		return "could not reach " + conn.BaseURL + ": " + err.Error()
	}
	status := 0
	if m, ok := out.(map[string]any); ok {
		if st, ok := m["status"].(int64); ok {
			status = int(st)
		}
	}
	res["ok"], res["status"] = true, status
	return fmt.Sprintf("reached %s: %d %s", conn.BaseURL, status, http.StatusText(status))
}

func (s *Server) testSQL(ctx context.Context, conn *connectors.Connection, res map[string]any) string {
	op, ok := s.e.Catalog().Operation(conn.Connector + ".query")
	if !ok {
		return fmt.Sprintf("the %s connector is not installed", conn.Connector)
	}
	if _, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"sql": "SELECT 1"}, Connection: conn}); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Sprintf("the database did not answer within %s", connectionTestTimeout)
		}
		return "the database refused or failed: " + err.Error()
	}
	res["ok"] = true
	return "connected: the database answered SELECT 1"
}

// toolCalls answers the MCP tool-call log: ?limit=&before=&key=&tool=.
func (s *Server) toolCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.ToolCallFilter{Key: q.Get("key"), Tool: q.Get("tool"), Before: q.Get("before"), Limit: 100}
	nf, err := s.listFilter(r, access.MCPRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !nf.unrestricted() {
		// Only calls to the toolsets of namespaces the caller may read.
		f.Toolsets = []string{}
		if s.cfg.MCP != nil {
			for _, ts := range s.cfg.MCP.Toolsets() {
				if ns, _ := ts["namespace"].(string); nf.keep(ns) {
					f.Toolsets = append(f.Toolsets, ts["name"].(string))
				}
			}
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > store.MaxRunsPage {
			writeErr(w, weft.Errorf(weft.EInvalid, "limit must be a whole number from 1 to %d", store.MaxRunsPage))
			return
		}
		f.Limit = n
	}
	calls := []store.ToolCall{}
	if f.Toolsets == nil || len(f.Toolsets) > 0 {
		calls, err = s.e.Store().ToolCalls(r.Context(), f)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	type callView struct {
		store.ToolCall
		DurationMS float64 `json:"duration_ms"`
		Error      *string `json:"error"`
	}
	out := make([]callView, len(calls))
	for i, c := range calls {
		out[i] = callView{ToolCall: c, DurationMS: float64(c.DurationUS) / 1000}
		if c.Error != "" {
			e := c.Error
			out[i].Error = &e
		}
	}
	var next any
	if len(calls) == f.Limit {
		next = calls[len(calls)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out, "next": next})
}

// mcpPolicies answers the MCP gateway's tool policies (mcp.policy in the
// config): rules in order, the first whose tool glob matches a tool
// decides; a tool no rule matches is allowed.
func (s *Server) mcpPolicies(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MCP == nil {
		writeErr(w, weft.Errorf(weft.EUnavailable, "the MCP gateway is off"))
		return
	}
	rules := s.cfg.MCP.Policies()
	out := make([]map[string]any, len(rules))
	for i, p := range rules {
		out[i] = map[string]any{"order": i + 1, "tool": p.Tool, "action": p.Action, "matches": policyMatches(p.Tool)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": out, "default": "allow"})
}

func policyMatches(tool string) string {
	if tool == "destructive" {
		return "every tool whose operation is destructive"
	}
	if strings.ContainsAny(tool, "*?[") {
		return "tools whose names match the glob " + tool
	}
	return "the tool " + tool
}
