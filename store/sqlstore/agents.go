package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
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

const agentCols = `site, labels, token_hash, created_at, rotated_at, revoked_at, last_seen, version, running`

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
		var labels, running string
		var created int64
		var rot, rev, seen sql.NullInt64
		if err := rows.Scan(&a.Site, &labels, &a.TokenHash, &created, &rot, &rev, &seen, &a.Version, &running); err != nil {
			return nil, s.wrap(err, "agents")
		}
		_ = json.Unmarshal([]byte(labels), &a.Labels)
		a.CreatedAt, a.RotatedAt, a.RevokedAt, a.LastSeen = fromMicros(created), opt(rot), opt(rev), opt(seen)
		a.Running = json.RawMessage(running)
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
	seen := time.Now()
	if r.LastSeen != nil {
		seen = *r.LastSeen
	}
	return s.updateAgent(ctx, site, "agent report", `UPDATE agents SET last_seen = ?, version = ?, running = ? WHERE site = ? AND revoked_at IS NULL`,
		micros(seen), r.Version, running, site)
}

// clipName quotes a name for a message, cut to 80 bytes.
func clipName(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + s + `"`
}
