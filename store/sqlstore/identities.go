package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

var _ store.Identities = (*Store)(nil)

// CreateUser implements store.Identities.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		source := u.Source
		if source == "" {
			source = store.UserLocal
		}
		var subject sql.NullString
		if u.Subject != "" {
			subject = sql.NullString{String: u.Subject, Valid: true}
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO users (id, name, password_hash, disabled, created_at, source, subject) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			u.ID, u.Name, u.PasswordHash, boolInt(u.Disabled), micros(u.CreatedAt), source, subject)
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "a user named %q exists", u.Name)
		}
		return s.wrap(err, "create user")
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Store) users(ctx context.Context, where string, args ...any) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, name, password_hash, disabled, created_at, source, subject FROM users `+where+` ORDER BY name`), args...)
	if err != nil {
		return nil, s.wrap(err, "users")
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		var u store.User
		var disabled int
		var created int64
		var subject sql.NullString
		if err := rows.Scan(&u.ID, &u.Name, &u.PasswordHash, &disabled, &created, &u.Source, &subject); err != nil {
			return nil, s.wrap(err, "users")
		}
		u.Disabled, u.CreatedAt, u.Subject = disabled != 0, fromMicros(created), subject.String
		out = append(out, u)
	}
	return out, s.wrap(rows.Err(), "users")
}

func (s *Store) oneUser(ctx context.Context, where, what string, args ...any) (*store.User, error) {
	us, err := s.users(ctx, where, args...)
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no user %q", what)
	}
	return &us[0], nil
}

// User implements store.Identities.
func (s *Store) User(ctx context.Context, name string) (*store.User, error) {
	return s.oneUser(ctx, "WHERE name = ?", name, name)
}

// UserByID implements store.Identities.
func (s *Store) UserByID(ctx context.Context, id string) (*store.User, error) {
	return s.oneUser(ctx, "WHERE id = ?", id, id)
}

// UserBySubject implements store.Identities.
func (s *Store) UserBySubject(ctx context.Context, source, subject string) (*store.User, error) {
	return s.oneUser(ctx, "WHERE source = ? AND subject = ?", subject, source, subject)
}

// Users implements store.Identities.
func (s *Store) Users(ctx context.Context) ([]store.User, error) { return s.users(ctx, "") }

func (s *Store) updateUser(ctx context.Context, name, set string, v any) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET `+set+` = ? WHERE name = ?`), v, name)
		if err != nil {
			return s.wrap(err, "update user")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no user %q", name)
		}
		return nil
	})
}

// SetUserDisabled implements store.Identities.
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateUser(ctx, name, "disabled", boolInt(disabled))
}

// SetUserPassword implements store.Identities.
func (s *Store) SetUserPassword(ctx context.Context, name, hash string) error {
	return s.updateUser(ctx, name, "password_hash", hash)
}

// SetRoleBinding implements store.Identities.
func (s *Store) SetRoleBinding(ctx context.Context, b store.RoleBinding) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if b.Role == "" {
			_, err = tx.ExecContext(ctx, s.q(`DELETE FROM role_bindings WHERE principal_id = ? AND namespace = ?`), b.Principal, b.Namespace)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO role_bindings (principal_id, namespace, role) VALUES (?, ?, ?)
				ON CONFLICT (principal_id, namespace) DO UPDATE SET role = excluded.role`), b.Principal, b.Namespace, b.Role)
		}
		return s.wrap(err, "role binding")
	})
}

// RoleBindings implements store.Identities.
func (s *Store) RoleBindings(ctx context.Context, principalID string) ([]store.RoleBinding, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT principal_id, namespace, role FROM role_bindings WHERE principal_id = ? ORDER BY namespace`), principalID)
	if err != nil {
		return nil, s.wrap(err, "role bindings")
	}
	defer rows.Close()
	var out []store.RoleBinding
	for rows.Next() {
		var b store.RoleBinding
		if err := rows.Scan(&b.Principal, &b.Namespace, &b.Role); err != nil {
			return nil, s.wrap(err, "role bindings")
		}
		out = append(out, b)
	}
	return out, s.wrap(rows.Err(), "role bindings")
}

// CreateToken implements store.Identities.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	scopes, _ := json.Marshal(t.Scopes)
	var exp sql.NullInt64
	if t.ExpiresAt != nil {
		exp = sql.NullInt64{Int64: micros(*t.ExpiresAt), Valid: true}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO access_tokens (id, kind, name, owner_id, hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.Kind, t.Name, t.Owner, t.Hash, string(scopes), micros(t.CreatedAt), exp)
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "a token with id %q exists", t.ID)
		}
		return s.wrap(err, "create token")
	})
}

func (s *Store) tokens(ctx context.Context, where string, args ...any) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, kind, name, owner_id, hash, scopes, created_at, expires_at, revoked_at FROM access_tokens `+where+` ORDER BY created_at, id`), args...)
	if err != nil {
		return nil, s.wrap(err, "tokens")
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		var t store.Token
		var scopes string
		var created int64
		var exp, rev sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Kind, &t.Name, &t.Owner, &t.Hash, &scopes, &created, &exp, &rev); err != nil {
			return nil, s.wrap(err, "tokens")
		}
		_ = json.Unmarshal([]byte(scopes), &t.Scopes)
		t.CreatedAt = fromMicros(created)
		if exp.Valid {
			v := fromMicros(exp.Int64)
			t.ExpiresAt = &v
		}
		if rev.Valid {
			v := fromMicros(rev.Int64)
			t.RevokedAt = &v
		}
		out = append(out, t)
	}
	return out, s.wrap(rows.Err(), "tokens")
}

// TokenByHash implements store.Identities.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*store.Token, error) {
	ts, err := s.tokens(ctx, `WHERE hash = ? AND revoked_at IS NULL`, hash)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no such token")
	}
	return &ts[0], nil
}

// Tokens implements store.Identities.
func (s *Store) Tokens(ctx context.Context, kind, owner string) ([]store.Token, error) {
	return s.tokens(ctx, `WHERE kind = ? AND owner_id = ?`, kind, owner)
}

// RevokeToken implements store.Identities.
func (s *Store) RevokeToken(ctx context.Context, kind, owner, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND kind = ? AND owner_id = ? AND revoked_at IS NULL`),
			micros(time.Now()), id, kind, owner)
		if err != nil {
			return s.wrap(err, "revoke token")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no active token %q", id)
		}
		return nil
	})
}
