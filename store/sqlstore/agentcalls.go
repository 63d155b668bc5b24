package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

var (
	_ store.AgentCalls      = (*Store)(nil)
	_ store.AgentCallEvents = (*Store)(nil)
)

// agentCallsChannel is the notification channel of reach-in calls routed
// through the database. A payload is "s:SITE" (a call queued or cancelled
// for the site: the process holding its agent's calls poll hands it over)
// or "c:ID" (the call's progress or result recorded: its caller's process
// reads it).
const agentCallsChannel = "weft_agent_calls"

// announce notifies every listening process of a change (on a store that
// listens), after it committed. A lost announcement costs latency only:
// the listeners look by themselves too.
func (s *Store) announce(ctx context.Context, payload string) {
	if s.listen == nil {
		return
	}
	if _, err := s.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, agentCallsChannel, payload); err != nil && ctx.Err() == nil {
		s.log.Warn("reach-in: announcing a call's change", "err", err)
	}
}

// ListenAgentCalls implements store.AgentCallEvents.
func (s *Store) ListenAgentCalls(ctx context.Context, up func(bool), fn func(site, id string)) error {
	if s.listen == nil {
		return weft.Errorf(weft.EUnavailable, "this store cannot listen for reach-in calls (one process: nothing to hear)")
	}
	return s.listen(ctx, agentCallsChannel, up, func(payload string) {
		switch {
		case strings.HasPrefix(payload, "s:"):
			fn(payload[2:], "")
		case strings.HasPrefix(payload, "c:"):
			fn("", payload[2:])
		}
	})
}

// SetAgentCallsSeen implements store.AgentCalls.
func (s *Store) SetAgentCallsSeen(ctx context.Context, site string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE agents SET calls_seen = ? WHERE site = ? AND revoked_at IS NULL`), micros(at), site)
	return s.wrap(err, "agent calls seen")
}

// QueueAgentCall implements store.AgentCalls.
func (s *Store) QueueAgentCall(ctx context.Context, c store.AgentCall) error {
	_, err := s.writeAnnounced(ctx, "queue agent call", "s:"+c.Site, `INSERT INTO agent_calls (id, site, call, state, created_at, expires_at) VALUES (?, ?, ?, 'queued', ?, ?)`,
		c.ID, c.Site, string(c.Call), micros(c.CreatedAt), micros(c.ExpiresAt))
	return err
}

// TakeAgentCalls implements store.AgentCalls.
func (s *Store) TakeAgentCalls(ctx context.Context, site string, limit int, now time.Time) ([]store.AgentCall, error) {
	var out []store.AgentCall
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, call, created_at, expires_at FROM agent_calls WHERE site = ? AND state = 'queued' AND expires_at > ? ORDER BY created_at LIMIT ?`),
			site, micros(now), limit)
		if err != nil {
			return s.wrap(err, "take agent calls")
		}
		var found []store.AgentCall
		for rows.Next() {
			var c store.AgentCall
			var call string
			var created, expires int64
			if err := rows.Scan(&c.ID, &call, &created, &expires); err != nil {
				rows.Close()
				return s.wrap(err, "take agent calls")
			}
			c.Site, c.Call, c.CreatedAt, c.ExpiresAt, c.State = site, json.RawMessage(call), fromMicros(created), fromMicros(expires), "taken"
			found = append(found, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "take agent calls")
		}
		for _, c := range found {
			// Another process may have taken it meanwhile: only one update wins.
			res, err := tx.ExecContext(ctx, s.q(`UPDATE agent_calls SET state = 'taken' WHERE id = ? AND state = 'queued'`), c.ID)
			if err != nil {
				return s.wrap(err, "take agent calls")
			}
			if n, _ := res.RowsAffected(); n == 1 {
				out = append(out, c)
			}
		}
		return nil
	})
	return out, err
}

// updateCall updates the taken call id and, when it was there, tells its
// caller's process.
func (s *Store) updateCall(ctx context.Context, what, id, query string, args ...any) (bool, error) {
	return s.writeAnnounced(ctx, what, "c:"+id, query, args...)
}

// writeAnnounced runs a write of one row (an INSERT or UPDATE) and reports
// whether it wrote it. On a store that listens it announces payload in the
// same statement (one round trip; sent at its commit) when it did.
func (s *Store) writeAnnounced(ctx context.Context, what, payload, query string, args ...any) (bool, error) {
	if s.listen == nil {
		res, err := s.w.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return false, s.wrap(err, what)
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	rows, err := s.w.QueryContext(ctx, s.q(`WITH w AS (`+query+` RETURNING 1) SELECT pg_notify(?, ?) FROM w`), append(args, agentCallsChannel, payload)...)
	if err != nil {
		return false, s.wrap(err, what)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n == 1, s.wrap(rows.Err(), what)
}

// AgentCallProgress implements store.AgentCalls.
func (s *Store) AgentCallProgress(ctx context.Context, site, id string, progress json.RawMessage) (bool, error) {
	return s.updateCall(ctx, "agent call progress", id, `UPDATE agent_calls SET progress = ? WHERE id = ? AND site = ? AND state = 'taken'`, string(progress), id, site)
}

// FinishAgentCall implements store.AgentCalls.
func (s *Store) FinishAgentCall(ctx context.Context, site, id string, result json.RawMessage) (bool, error) {
	return s.updateCall(ctx, "finish agent call", id, `UPDATE agent_calls SET state = 'done', result = ? WHERE id = ? AND site = ? AND state = 'taken'`, string(result), id, site)
}

// GetAgentCall implements store.AgentCalls.
func (s *Store) GetAgentCall(ctx context.Context, id string) (*store.AgentCall, error) {
	var c store.AgentCall
	var call string
	var result, progress sql.NullString
	var created, expires int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT id, site, call, state, result, progress, created_at, expires_at FROM agent_calls WHERE id = ?`), id).
		Scan(&c.ID, &c.Site, &call, &c.State, &result, &progress, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weft.Errorf(weft.ENotFound, "no agent call %s", clipName(id))
	}
	if err != nil {
		return nil, s.wrap(err, "agent call")
	}
	c.Call, c.CreatedAt, c.ExpiresAt = json.RawMessage(call), fromMicros(created), fromMicros(expires)
	if result.Valid {
		c.Result = json.RawMessage(result.String)
	}
	if progress.Valid {
		c.Progress = json.RawMessage(progress.String)
	}
	return &c, nil
}

// CancelAgentCall implements store.AgentCalls.
func (s *Store) CancelAgentCall(ctx context.Context, id string) (string, error) {
	var was, site string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT state, site FROM agent_calls WHERE id = ?`), id).Scan(&was, &site)
		if errors.Is(err, sql.ErrNoRows) {
			was = ""
			return nil
		}
		if err != nil {
			return s.wrap(err, "cancel agent call")
		}
		if was == "taken" {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE agent_calls SET state = 'cancelled' WHERE id = ? AND state = 'taken'`), id)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`DELETE FROM agent_calls WHERE id = ?`), id)
		}
		return s.wrap(err, "cancel agent call")
	})
	if err == nil && was == "taken" {
		s.announce(ctx, "s:"+site) // the process holding the site's calls poll tells its agent
	}
	return was, err
}

// TakeAgentCancels implements store.AgentCalls.
func (s *Store) TakeAgentCancels(ctx context.Context, site string) ([]string, error) {
	var ids []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ids = nil
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM agent_calls WHERE site = ? AND state = 'cancelled' LIMIT 256`), site)
		if err != nil {
			return s.wrap(err, "agent cancels")
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return s.wrap(err, "agent cancels")
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM agent_calls WHERE id = ? AND state = 'cancelled'`), id); err != nil {
				return s.wrap(err, "agent cancels")
			}
		}
		return s.wrap(rows.Err(), "agent cancels")
	})
	return ids, err
}

// DeleteAgentCall implements store.AgentCalls.
func (s *Store) DeleteAgentCall(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM agent_calls WHERE id = ?`), id)
	return s.wrap(err, "delete agent call")
}

// PurgeAgentCalls implements store.AgentCalls.
func (s *Store) PurgeAgentCalls(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM agent_calls WHERE expires_at < ?`), micros(before))
	if err != nil {
		return 0, s.wrap(err, "purge agent calls")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AgentCallSites implements store.AgentCalls.
func (s *Store) AgentCallSites(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT site FROM agent_calls WHERE state IN ('queued', 'cancelled')`)
	if err != nil {
		return nil, s.wrap(err, "agent call sites")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, s.wrap(err, "agent call sites")
		}
		out = append(out, site)
	}
	return out, s.wrap(rows.Err(), "agent call sites")
}
