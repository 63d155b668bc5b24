package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// auditLock is the PostgreSQL advisory lock that serialises audit appends
// of every process sharing the database: one chain, never a fork.
const auditLock = 742018

// lockAudit takes the audit chain's lock for the rest of tx (SQLite: its
// one writer, taken by BEGIN IMMEDIATE, is the lock already).
func (s *Store) lockAudit(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLock)
	return err
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Store) auditHead(ctx context.Context, q rowQuerier) (store.AuditLink, error) {
	var l store.AuditLink
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&l.Seq, &l.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return s.auditAnchor(ctx, q)
	}
	return l, err
}

func (s *Store) auditAnchor(ctx context.Context, q rowQuerier) (store.AuditLink, error) {
	var l store.AuditLink
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_anchor WHERE id = 1`).Scan(&l.Seq, &l.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return store.AuditLink{}, nil
	}
	return l, err
}

// AppendAudit implements store.Store.
func (s *Store) AppendAudit(ctx context.Context, seal func(prev store.AuditLink) (store.AuditRecord, error)) (store.AuditRecord, error) {
	var out store.AuditRecord
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := s.lockAudit(ctx, tx); err != nil {
			return s.wrap(err, "audit lock")
		}
		prev, err := s.auditHead(ctx, tx)
		if err != nil {
			return s.wrap(err, "audit head")
		}
		rec, err := seal(prev)
		if err != nil {
			return err
		}
		if rec.Seq != prev.Seq+1 || rec.PrevHash != prev.Hash || rec.Hash == "" {
			return weft.Errorf(weft.EInternal, "audit: entry %d does not follow entry %d", rec.Seq, prev.Seq)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (seq, at, actor, actor_kind, action, resource, namespace, source, outcome, details, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			rec.Seq, micros(rec.At), rec.Actor, rec.ActorKind, rec.Action, rec.Resource, rec.Namespace, rec.Source, rec.Outcome, rec.Details, rec.PrevHash, rec.Hash)
		if err != nil {
			return s.wrap(err, "audit append")
		}
		out = rec
		return nil
	})
	return out, err
}

// AuditRecords implements store.Store.
func (s *Store) AuditRecords(ctx context.Context, f store.AuditFilter) ([]store.AuditRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", micros(f.Until))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	if f.After > 0 {
		add("seq > ?", f.After)
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, store.MaxAuditPage)
	q := `SELECT seq, at, actor, actor_kind, action, resource, namespace, source, outcome, details, prev_hash, hash FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Ascending {
		q += " ORDER BY seq ASC"
	} else {
		q += " ORDER BY seq DESC"
	}
	q += " LIMIT ?"
	args = append(args, f.Limit)
	// The writer: a verification right after an append must see it.
	rows, err := s.w.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "audit list")
	}
	defer rows.Close()
	var out []store.AuditRecord
	for rows.Next() {
		var r store.AuditRecord
		var at int64
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.ActorKind, &r.Action, &r.Resource, &r.Namespace, &r.Source, &r.Outcome, &r.Details, &r.PrevHash, &r.Hash); err != nil {
			return nil, s.wrap(err, "audit list")
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "audit list")
}

// AuditAnchor implements store.Store.
func (s *Store) AuditAnchor(ctx context.Context) (store.AuditLink, error) {
	l, err := s.auditAnchor(ctx, s.w)
	return l, s.wrap(err, "audit anchor")
}

// PurgeAudit implements store.Store. Only a prefix of the chain goes (the
// entries before the first one kept), so what stays is still one chain,
// and its first entry follows the recorded anchor.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		if err := s.lockAudit(ctx, tx); err != nil {
			return s.wrap(err, "audit lock")
		}
		var keep sql.NullInt64 // the first seq kept
		if err := tx.QueryRowContext(ctx, s.q(`SELECT MIN(seq) FROM audit_log WHERE at >= ?`), micros(before)).Scan(&keep); err != nil {
			return s.wrap(err, "audit purge")
		}
		cond, args := "", []any{}
		if keep.Valid {
			cond, args = " WHERE seq < ?", []any{keep.Int64}
		}
		var last store.AuditLink
		err := tx.QueryRowContext(ctx, s.q(`SELECT seq, hash FROM audit_log`+cond+` ORDER BY seq DESC LIMIT 1`), args...).Scan(&last.Seq, &last.Hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing old enough
		}
		if err != nil {
			return s.wrap(err, "audit purge")
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM audit_log WHERE seq <= ?`), last.Seq)
		if err != nil {
			return s.wrap(err, "audit purge")
		}
		n, _ = res.RowsAffected()
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_anchor (id, seq, hash, purged_at) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = excluded.purged_at`), last.Seq, last.Hash, micros(time.Now()))
		return s.wrap(err, "audit anchor")
	})
	return n, err
}
