package gateway

// The audit trail of the API: every state change the API makes is recorded
// in the tamper-evident audit log (access.Log) with who made it (the
// request's principal), from where (the client's address), and a summary
// without secrets. GET /api/audit lists it; GET /api/audit/verify checks
// its hash chain.
//
// An entry is written after the change it records. Should the write fail,
// the change has happened all the same (it is committed and cannot be
// taken back), so the request still gets its answer; the failure is logged
// at ERROR with the entry's fields (the server log keeps the record) and
// counted (Config.AuditFailed: weft_audit_write_failures_total).

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
)

// audit records one action of the request's principal. err is the
// action's result: nil (ok), refused (denied) or failed.
func (s *Server) audit(r *http.Request, action, resource string, err error, details map[string]any) {
	e := access.Entry{Action: action, Resource: resource, Namespace: resourceNamespace(r), Source: clientIP(r), Outcome: access.OutcomeOK, Details: details}
	if err != nil {
		e.Outcome = access.OutcomeFailed
		if c := weft.Code(err); c == weft.EUnauthorized || c == weft.EForbidden {
			e.Outcome = access.OutcomeDenied
		}
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		e.Details["error"] = weft.Code(err)
	}
	s.record(r, e)
}

func (s *Server) record(r *http.Request, e access.Entry) {
	if s.cfg.Audit == nil {
		return
	}
	if err := s.cfg.Audit.Record(r.Context(), e); err != nil {
		p := access.PrincipalFrom(r.Context())
		s.log.Error("audit log write failed: the action happened but its audit entry is only in this log line",
			"action", e.Action, "resource", e.Resource, "actor", p.Actor(), "source", e.Source, "outcome", e.Outcome, "err", err)
		if s.cfg.AuditFailed != nil {
			s.cfg.AuditFailed(e.Action)
		}
	}
}

// bodyFields names the fields a connection body sets (auth.* and
// secrets.* one level down), never their values.
func bodyFields(body map[string]any) []string {
	var out []string
	for k, v := range body {
		if m, ok := v.(map[string]any); ok && (k == "auth" || k == "secrets" || k == "headers" || k == "config") {
			for sub := range m {
				out = append(out, k+"."+sub)
			}
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defaultAuditPage is GET /api/audit's page size without ?limit=.
const defaultAuditPage = 100

// auditFilter reads the filters GET /api/audit and its export share:
// since, until, actor, action.
func auditFilter(q url.Values) (store.AuditFilter, error) {
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Limit: defaultAuditPage}
	var err error
	now := time.Now()
	if f.Since, err = ParseSince(q.Get("since"), now); err != nil {
		return f, err
	}
	if f.Until, err = ParseSince(q.Get("until"), now); err != nil {
		return f, err
	}
	return f, nil
}

// listAudit answers GET /api/audit?since=&until=&actor=&action=&limit=&before=
// newest first; a full page carries next_cursor (?before=).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := auditFilter(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxAuditPage {
			writeErr(w, weft.Errorf(weft.EInvalid, "limit must be a whole number from 1 to %d", store.MaxAuditPage))
			return
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeErr(w, weft.Errorf(weft.EInvalid, "before must be an entry's seq (a whole number)"))
			return
		}
		f.Before = n
	}
	entries, err := s.cfg.Audit.List(r.Context(), f)
	if err != nil {
		writeErr(w, err)
		return
	}
	if entries == nil {
		entries = []access.Entry{}
	}
	res := map[string]any{"entries": entries, "limit": f.Limit}
	if len(entries) == f.Limit {
		res["next_cursor"] = strconv.FormatInt(entries[len(entries)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, res)
}

// verifyAudit answers GET /api/audit/verify: the chain's check.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	v, err := s.cfg.Audit.Verify(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// exportAudit answers GET /api/audit/export?since=&until=&actor=&action=&after=:
// every matching entry (after=SEQ: only those after that one, for an
// incremental export) as JSON lines (application/x-ndjson), oldest first,
// one entry a line with its hashes (what `weft audit list --json` prints),
// for a SIEM. It streams the log a page at a time; an error after the
// first line can only end the stream early, so the last line is then a
// {"error": …} object instead of an entry.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeErr(w, weft.Errorf(weft.EInvalid, "after must be an entry's seq (a whole number)"))
			return
		}
		f.After = n
	}
	f.Ascending, f.Limit = true, store.MaxAuditPage
	page, err := s.cfg.Audit.List(r.Context(), f)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="weft-audit-`+time.Now().UTC().Format("20060102T150405Z")+`.jsonl"`)
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		for _, e := range page {
			if err := enc.Encode(e); err != nil {
				return // the client went away
			}
		}
		if len(page) < f.Limit {
			return
		}
		f.After = page[len(page)-1].Seq
		if page, err = s.cfg.Audit.List(r.Context(), f); err != nil {
			s.log.Error("audit export ended early", "after_seq", f.After, "err", err)
			_ = enc.Encode(errBody{Error: &weft.Error{Code: weft.Code(err), Message: "the export ended early (the server log has why): export again with after= the last entry's seq"}})
			return
		}
	}
}
