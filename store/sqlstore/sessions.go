package sqlstore

import (
	"context"
	"database/sql"

	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

var _ store.Sessions = (*Store)(nil)

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, ss store.Session, caps store.SessionCaps) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO sessions (id_hash, principal_kind, principal_id, principal, csrf, created_at, last_seen, expires_at, tokens_key, tokens, tokens_expiry)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			ss.IDHash, ss.PrincipalKind, ss.PrincipalID, ss.Principal, ss.CSRF, micros(ss.CreatedAt), micros(ss.LastSeen), micros(ss.ExpiresAt),
			ss.TokensKey, ss.Tokens, tokenExpiry(ss.TokensExpiry))
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "a session with this id exists")
		}
		if err != nil {
			return s.wrap(err, "create session")
		}
		if caps.PerPrincipal > 0 {
			if err := s.trimSessions(ctx, tx, caps.PerPrincipal, ss.IDHash, `principal_kind = ? AND principal_id = ?`, ss.PrincipalKind, ss.PrincipalID); err != nil {
				return err
			}
		}
		if caps.Total > 0 {
			if err := s.trimSessions(ctx, tx, caps.Total, ss.IDHash, `1 = 1`); err != nil {
				return err
			}
		}
		return nil
	})
}

// trimSessions deletes the least recently used sessions matching where
// beyond keep, never the one just created (keep).
func (s *Store) trimSessions(ctx context.Context, tx *sql.Tx, keep int, created, where string, args ...any) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sessions WHERE `+where), args...).Scan(&n); err != nil {
		return s.wrap(err, "count sessions")
	}
	if n <= keep {
		return nil
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id_hash FROM sessions WHERE `+where+` AND id_hash <> ? ORDER BY last_seen, created_at, id_hash LIMIT ?`),
		append(args, created, n-keep)...)
	if err != nil {
		return s.wrap(err, "list sessions to trim")
	}
	var drop []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return s.wrap(err, "list sessions to trim")
		}
		drop = append(drop, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(err, "list sessions to trim")
	}
	for _, h := range drop {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id_hash = ?`), h); err != nil {
			return s.wrap(err, "trim sessions")
		}
	}
	return nil
}

func tokenExpiry(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

// SessionByHash implements store.Sessions.
func (s *Store) SessionByHash(ctx context.Context, idHash string) (*store.Session, error) {
	var ss store.Session
	var created, seen, exp, texp int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT id_hash, principal_kind, principal_id, principal, csrf, created_at, last_seen, expires_at, tokens_key, tokens, tokens_expiry
		FROM sessions WHERE id_hash = ?`), idHash).Scan(&ss.IDHash, &ss.PrincipalKind, &ss.PrincipalID, &ss.Principal, &ss.CSRF, &created, &seen, &exp,
		&ss.TokensKey, &ss.Tokens, &texp)
	if err == sql.ErrNoRows {
		return nil, weft.Errorf(weft.ENotFound, "no such session")
	}
	if err != nil {
		return nil, s.wrap(err, "session")
	}
	ss.CreatedAt, ss.LastSeen, ss.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(exp)
	if texp != 0 {
		ss.TokensExpiry = fromMicros(texp)
	}
	if len(ss.Tokens) == 0 {
		ss.Tokens = nil
	}
	return &ss, nil
}

func (s *Store) updateSession(ctx context.Context, idHash, what, set string, args ...any) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE sessions SET `+set+` WHERE id_hash = ?`), append(args, idHash)...)
		if err != nil {
			return s.wrap(err, what)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no such session")
		}
		return nil
	})
}

// TouchSession implements store.Sessions.
func (s *Store) TouchSession(ctx context.Context, idHash string, lastSeen time.Time) error {
	return s.updateSession(ctx, idHash, "touch session", `last_seen = ?`, micros(lastSeen))
}

// SetSessionTokens implements store.Sessions.
func (s *Store) SetSessionTokens(ctx context.Context, idHash, keyID string, sealed []byte, expiry time.Time) error {
	return s.updateSession(ctx, idHash, "session tokens", `tokens_key = ?, tokens = ?, tokens_expiry = ?`, keyID, sealed, tokenExpiry(expiry))
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id_hash = ?`), idHash)
		return s.wrap(err, "delete session")
	})
}

// PurgeSessions implements store.Sessions.
func (s *Store) PurgeSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?`), micros(now), micros(idleBefore))
		if err != nil {
			return s.wrap(err, "purge sessions")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
