package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

var _ store.Agents = (*Store)(nil)

// CreateAgent implements store.Agents.
func (s *Store) CreateAgent(ctx context.Context, a store.AgentRecord) error {
	labels, _ := json.Marshal(a.Labels)
	if a.Labels == nil {
		labels = []byte("{}")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO agents (site, labels, token_hash, created_at) VALUES (?, ?, ?, ?)`),
			a.Site, string(labels), a.TokenHash, micros(a.CreatedAt))
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "site %q has an agent already (rotate its credential, or revoke it and use another site name)", a.Site)
		}
		return s.wrap(err, "create agent")
	})
}

const agentCols = `site, labels, token_hash, created_at, rotated_at, revoked_at, last_seen, version, running, health, telemetry, calls_seen`

func (s *Store) agents(ctx context.Context, where string, args ...any) ([]store.AgentRecord, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+agentCols+` FROM agents `+where+` ORDER BY site`), args...)
	if err != nil {
		return nil, s.wrap(err, "agents")
	}
	defer rows.Close()
	opt := func(v sql.NullInt64) *time.Time {
		if !v.Valid {
			return nil
		}
		t := fromMicros(v.Int64)
		return &t
	}
	var out []store.AgentRecord
	for rows.Next() {
		var a store.AgentRecord
		var labels, running, health, telemetry string
		var created int64
		var rot, rev, seen, calls sql.NullInt64
		if err := rows.Scan(&a.Site, &labels, &a.TokenHash, &created, &rot, &rev, &seen, &a.Version, &running, &health, &telemetry, &calls); err != nil {
			return nil, s.wrap(err, "agents")
		}
		_ = json.Unmarshal([]byte(labels), &a.Labels)
		a.CreatedAt, a.RotatedAt, a.RevokedAt, a.LastSeen = fromMicros(created), opt(rot), opt(rev), opt(seen)
		a.Running, a.Health = json.RawMessage(running), json.RawMessage(health)
		if len(telemetry) > 2 {
			a.Telemetry = json.RawMessage(telemetry)
		}
		a.CallsSeen = opt(calls)
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "agents")
}

func (s *Store) oneAgent(ctx context.Context, missing string, where string, args ...any) (*store.AgentRecord, error) {
	as, err := s.agents(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "%s", missing)
	}
	return &as[0], nil
}

// Agent implements store.Agents.
func (s *Store) Agent(ctx context.Context, site string) (*store.AgentRecord, error) {
	return s.oneAgent(ctx, "no agent for site "+clipName(site), `WHERE site = ?`, site)
}

// AgentList implements store.Agents.
func (s *Store) AgentList(ctx context.Context) ([]store.AgentRecord, error) {
	return s.agents(ctx, "")
}

// AgentByTokenHash implements store.Agents.
func (s *Store) AgentByTokenHash(ctx context.Context, hash string) (*store.AgentRecord, error) {
	return s.oneAgent(ctx, "no such agent credential", `WHERE token_hash = ? AND revoked_at IS NULL`, hash)
}

func (s *Store) updateAgent(ctx context.Context, site, what, query string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return s.wrap(err, what)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no active agent for site %s", clipName(site))
		}
		return nil
	})
}

// SetAgentToken implements store.Agents.
func (s *Store) SetAgentToken(ctx context.Context, site, hash string, at time.Time) error {
	return s.updateAgent(ctx, site, "rotate agent credential", `UPDATE agents SET token_hash = ?, rotated_at = ? WHERE site = ? AND revoked_at IS NULL`, hash, micros(at), site)
}

// RevokeAgent implements store.Agents.
func (s *Store) RevokeAgent(ctx context.Context, site string, at time.Time) error {
	return s.updateAgent(ctx, site, "revoke agent", `UPDATE agents SET revoked_at = ? WHERE site = ? AND revoked_at IS NULL`, micros(at), site)
}

// AgentSeen implements store.Agents.
func (s *Store) AgentSeen(ctx context.Context, site string, r store.AgentReport) error {
	running := string(r.Running)
	if running == "" {
		running = "[]"
	}
	health := string(r.Health)
	if health == "" {
		health = "{}"
	}
	seen := time.Now()
	if r.LastSeen != nil {
		seen = *r.LastSeen
	}
	return s.updateAgent(ctx, site, "agent report", `UPDATE agents SET last_seen = ?, version = ?, running = ?, health = ? WHERE site = ? AND revoked_at IS NULL`,
		micros(seen), r.Version, running, health, site)
}

// SetAgentTelemetry implements store.Agents.
func (s *Store) SetAgentTelemetry(ctx context.Context, site string, telemetry json.RawMessage) error {
	t := string(telemetry)
	if t == "" {
		t = "{}"
	}
	return s.updateAgent(ctx, site, "agent telemetry", `UPDATE agents SET telemetry = ? WHERE site = ? AND revoked_at IS NULL`, t, site)
}

// clipName quotes a name for a message, cut to 80 bytes.
func clipName(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + s + `"`
}

// SaveAgentRuns implements store.Agents.
func (s *Store) SaveAgentRuns(ctx context.Context, site string, runs []store.AgentRun) error {
	if len(runs) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO agent_runs (site, id, flow, version, local_version, status, trigger_kind, error_code, failed_step, created_at, started_at, finished_at, input, output, payload_omitted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (site, id) DO UPDATE SET flow = excluded.flow, version = excluded.version, local_version = excluded.local_version, status = excluded.status,
  trigger_kind = excluded.trigger_kind, error_code = excluded.error_code, failed_step = excluded.failed_step, started_at = excluded.started_at, finished_at = excluded.finished_at,
  input = excluded.input, output = excluded.output, payload_omitted = excluded.payload_omitted`))
		if err != nil {
			return s.wrap(err, "save agent runs")
		}
		defer stmt.Close()
		for _, r := range runs {
			var fin sql.NullInt64
			if r.FinishedAt != nil {
				fin = sql.NullInt64{Int64: micros(*r.FinishedAt), Valid: true}
			}
			// Payloads are sealed at rest like runs' (bound to the site and run).
			in, err := s.sealRaw(ctx, "agent_runs.input", site+"/"+r.ID, r.Input)
			if err != nil {
				return err
			}
			out, err := s.sealRaw(ctx, "agent_runs.output", site+"/"+r.ID, r.Output)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, site, r.ID, r.Flow, r.Version, r.LocalVersion, r.Status, r.TriggerKind, r.ErrorCode, r.FailedStep,
				micros(r.CreatedAt), micros(r.StartedAt), fin, in, out, r.PayloadOmitted); err != nil {
				return s.wrap(err, "save agent runs")
			}
		}
		return nil
	})
}

// AgentRuns implements store.Agents.
func (s *Store) AgentRuns(ctx context.Context, site, before string, limit int) ([]store.AgentRun, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, store.MaxRunsPage)
	q, args := `SELECT id, flow, version, local_version, status, trigger_kind, error_code, failed_step, created_at, started_at, finished_at, input, output, payload_omitted FROM agent_runs WHERE site = ?`, []any{site}
	if before != "" {
		q, args = q+` AND id < ?`, append(args, before)
	}
	rows, err := s.r.QueryContext(ctx, s.q(q+` ORDER BY id DESC LIMIT `+strconv.Itoa(limit)), args...)
	if err != nil {
		return nil, s.wrap(err, "agent runs")
	}
	defer rows.Close()
	out := []store.AgentRun{}
	for rows.Next() {
		var r store.AgentRun
		var c, st int64
		var fin sql.NullInt64
		var pin, pout sql.NullString
		if err := rows.Scan(&r.ID, &r.Flow, &r.Version, &r.LocalVersion, &r.Status, &r.TriggerKind, &r.ErrorCode, &r.FailedStep, &c, &st, &fin, &pin, &pout, &r.PayloadOmitted); err != nil {
			return nil, s.wrap(err, "agent runs")
		}
		for _, p := range []struct {
			col string
			v   sql.NullString
			dst *json.RawMessage
		}{{"agent_runs.input", pin, &r.Input}, {"agent_runs.output", pout, &r.Output}} {
			if p.v.Valid && p.v.String != "" {
				plain, err := s.open(ctx, p.col, site+"/"+r.ID, p.v.String)
				if err != nil {
					return nil, err
				}
				*p.dst = json.RawMessage(plain)
			}
		}
		r.CreatedAt, r.StartedAt = fromMicros(c), fromMicros(st)
		if fin.Valid {
			t := fromMicros(fin.Int64)
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "agent runs")
}

// CountAgentRuns implements store.Agents.
func (s *Store) CountAgentRuns(ctx context.Context, site string) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT status, COUNT(*) FROM agent_runs WHERE site = ? GROUP BY status`), site)
	if err != nil {
		return nil, s.wrap(err, "agent runs")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.wrap(err, "agent runs")
		}
		out[st] = n
	}
	return out, s.wrap(rows.Err(), "agent runs")
}

// PurgeAgentRuns implements store.Agents.
func (s *Store) PurgeAgentRuns(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM agent_runs WHERE finished_at IS NOT NULL AND finished_at < ?`), micros(before))
		if err != nil {
			return s.wrap(err, "purge agent runs")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
