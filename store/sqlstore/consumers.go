package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

var _ store.Consumers = (*Store)(nil)

// --- plans ------------------------------------------------------------------

// SavePlan implements store.Consumers.
func (s *Store) SavePlan(ctx context.Context, p store.Plan) (store.Plan, error) {
	if p.Namespace == "" {
		p.Namespace = store.DefaultNamespace
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		if err := s.namespaceExists(ctx, tx, p.Namespace); err != nil {
			return err
		}
		var created int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT created_at FROM api_plans WHERE name = ?`), p.Name).Scan(&created)
		l := p.Limits
		switch {
		case errors.Is(err, sql.ErrNoRows):
			p.CreatedAt, p.UpdatedAt = now, now
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO api_plans (name, namespace, description, rate_per_second, burst, quota_day, quota_month, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), p.Name, p.Namespace, p.Description, l.RatePerSecond, l.Burst, l.QuotaDay, l.QuotaMonth, micros(now), micros(now))
			if err != nil && s.isUniq(err) {
				return weft.Errorf(weft.EConflict, "plan %q was created by another request", p.Name)
			}
			return s.wrap(err, "save plan")
		case err != nil:
			return s.wrap(err, "plan")
		}
		p.CreatedAt, p.UpdatedAt = fromMicros(created), now
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_plans SET namespace = ?, description = ?, rate_per_second = ?, burst = ?, quota_day = ?, quota_month = ?, updated_at = ? WHERE name = ?`),
			p.Namespace, p.Description, l.RatePerSecond, l.Burst, l.QuotaDay, l.QuotaMonth, micros(now), p.Name)
		return s.wrap(err, "save plan")
	})
	if err != nil {
		return store.Plan{}, err
	}
	return p, nil
}

const planCols = `name, namespace, description, rate_per_second, burst, quota_day, quota_month, created_at, updated_at`

func (s *Store) queryPlans(ctx context.Context, q string, args ...any) ([]store.Plan, error) {
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "plans")
	}
	defer rows.Close()
	var out []store.Plan
	for rows.Next() {
		var p store.Plan
		var c, u int64
		if err := rows.Scan(&p.Name, &p.Namespace, &p.Description, &p.Limits.RatePerSecond, &p.Limits.Burst, &p.Limits.QuotaDay, &p.Limits.QuotaMonth, &c, &u); err != nil {
			return nil, s.wrap(err, "plans")
		}
		p.CreatedAt, p.UpdatedAt = fromMicros(c), fromMicros(u)
		out = append(out, p)
	}
	return out, s.wrap(rows.Err(), "plans")
}

// Plan implements store.Consumers.
func (s *Store) Plan(ctx context.Context, name string) (*store.Plan, error) {
	ps, err := s.queryPlans(ctx, `SELECT `+planCols+` FROM api_plans WHERE name = ?`, name)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no plan %q", name)
	}
	return &ps[0], nil
}

// Plans implements store.Consumers.
func (s *Store) Plans(ctx context.Context) ([]store.Plan, error) {
	return s.queryPlans(ctx, `SELECT `+planCols+` FROM api_plans ORDER BY name`)
}

// DeletePlan implements store.Consumers.
func (s *Store) DeletePlan(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM api_subscriptions WHERE plan = ?`), name).Scan(&n); err != nil {
			return s.wrap(err, "delete plan")
		}
		if n > 0 {
			return weft.Errorf(weft.EConflict, "plan %q is used by %d subscription(s); move them to another plan first", name, n)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_plans WHERE name = ?`), name)
		if err != nil {
			return s.wrap(err, "delete plan")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no plan %q", name)
		}
		return nil
	})
}

// --- consumers --------------------------------------------------------------

// SaveConsumer implements store.Consumers.
func (s *Store) SaveConsumer(ctx context.Context, c store.Consumer) (store.Consumer, error) {
	if c.Namespace == "" {
		c.Namespace = store.DefaultNamespace
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		if err := s.namespaceExists(ctx, tx, c.Namespace); err != nil {
			return err
		}
		var created int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT created_at FROM api_consumers WHERE name = ?`), c.Name).Scan(&created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			c.CreatedAt, c.UpdatedAt = now, now
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO api_consumers (name, namespace, description, disabled, allow_ips, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
				c.Name, c.Namespace, c.Description, boolInt(c.Disabled), strings.Join(c.AllowIPs, ","), micros(now), micros(now))
			if err != nil && s.isUniq(err) {
				return weft.Errorf(weft.EConflict, "consumer %q was created by another request", c.Name)
			}
			return s.wrap(err, "save consumer")
		case err != nil:
			return s.wrap(err, "consumer")
		}
		c.CreatedAt, c.UpdatedAt = fromMicros(created), now
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_consumers SET namespace = ?, description = ?, disabled = ?, allow_ips = ?, updated_at = ? WHERE name = ?`),
			c.Namespace, c.Description, boolInt(c.Disabled), strings.Join(c.AllowIPs, ","), micros(now), c.Name)
		return s.wrap(err, "save consumer")
	})
	if err != nil {
		return store.Consumer{}, err
	}
	return c, nil
}

const consumerCols = `name, namespace, description, disabled, created_at, updated_at, allow_ips`

// splitIPs reads a stored allow-list.
func splitIPs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (s *Store) queryConsumers(ctx context.Context, q string, args ...any) ([]store.Consumer, error) {
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "consumers")
	}
	defer rows.Close()
	var out []store.Consumer
	for rows.Next() {
		var c store.Consumer
		var d int
		var cr, u int64
		var ips string
		if err := rows.Scan(&c.Name, &c.Namespace, &c.Description, &d, &cr, &u, &ips); err != nil {
			return nil, s.wrap(err, "consumers")
		}
		c.Disabled, c.CreatedAt, c.UpdatedAt, c.AllowIPs = d != 0, fromMicros(cr), fromMicros(u), splitIPs(ips)
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "consumers")
}

// Consumer implements store.Consumers.
func (s *Store) Consumer(ctx context.Context, name string) (*store.Consumer, error) {
	cs, err := s.queryConsumers(ctx, `SELECT `+consumerCols+` FROM api_consumers WHERE name = ?`, name)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no consumer %q", name)
	}
	return &cs[0], nil
}

// ConsumerList implements store.Consumers.
func (s *Store) ConsumerList(ctx context.Context) ([]store.Consumer, error) {
	return s.queryConsumers(ctx, `SELECT `+consumerCols+` FROM api_consumers ORDER BY name`)
}

// DeleteConsumer implements store.Consumers.
func (s *Store) DeleteConsumer(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		// Explicitly, not only by the foreign keys' cascade: SQLite
		// connections opened without foreign_keys would keep them.
		for _, q := range []string{`DELETE FROM api_subscriptions WHERE consumer = ?`, `DELETE FROM api_consumer_keys WHERE consumer = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(q), name); err != nil {
				return s.wrap(err, "delete consumer")
			}
		}
		// Its limit buckets (consumer/product; not LIKE: '_' is a
		// wildcard there and a consumer name may hold one).
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_limits WHERE substr(bucket, 1, ?) = ?`), len(name)+1, name+"/"); err != nil {
			return s.wrap(err, "delete consumer")
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_consumers WHERE name = ?`), name)
		if err != nil {
			return s.wrap(err, "delete consumer")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no consumer %q", name)
		}
		return nil
	})
}

// --- subscriptions ----------------------------------------------------------

func (s *Store) exists(ctx context.Context, tx *sql.Tx, table, what, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM `+table+` WHERE name = ?`), name).Scan(&n); err != nil {
		return s.wrap(err, what)
	}
	if n == 0 {
		return weft.Errorf(weft.ENotFound, "no %s %q", what, name)
	}
	return nil
}

// Subscribe implements store.Consumers.
func (s *Store) Subscribe(ctx context.Context, sub store.Subscription) (store.Subscription, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		if err := s.exists(ctx, tx, "api_consumers", "consumer", sub.Consumer); err != nil {
			return err
		}
		if err := s.exists(ctx, tx, "api_plans", "plan", sub.Plan); err != nil {
			return err
		}
		var id string
		var created int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT id, created_at FROM api_subscriptions WHERE consumer = ? AND product = ?`), sub.Consumer, sub.Product).Scan(&id, &created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			sub.ID, sub.CreatedAt = NewID(), now
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO api_subscriptions (id, consumer, product, version, plan, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
				sub.ID, sub.Consumer, sub.Product, sub.Version, sub.Plan, micros(now))
			if err != nil && s.isUniq(err) {
				return weft.Errorf(weft.EConflict, "consumer %q was subscribed to %q by another request", sub.Consumer, sub.Product)
			}
			return s.wrap(err, "subscribe")
		case err != nil:
			return s.wrap(err, "subscribe")
		}
		sub.ID, sub.CreatedAt = id, fromMicros(created)
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_subscriptions SET version = ?, plan = ? WHERE id = ?`), sub.Version, sub.Plan, id)
		return s.wrap(err, "subscribe")
	})
	if err != nil {
		return store.Subscription{}, err
	}
	return sub, nil
}

// Subscriptions implements store.Consumers.
func (s *Store) Subscriptions(ctx context.Context, consumer string) ([]store.Subscription, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, consumer, product, version, plan, created_at FROM api_subscriptions WHERE consumer = ? ORDER BY product`), consumer)
	if err != nil {
		return nil, s.wrap(err, "subscriptions")
	}
	defer rows.Close()
	var out []store.Subscription
	for rows.Next() {
		var sub store.Subscription
		var c int64
		if err := rows.Scan(&sub.ID, &sub.Consumer, &sub.Product, &sub.Version, &sub.Plan, &c); err != nil {
			return nil, s.wrap(err, "subscriptions")
		}
		sub.CreatedAt = fromMicros(c)
		out = append(out, sub)
	}
	return out, s.wrap(rows.Err(), "subscriptions")
}

// Unsubscribe implements store.Consumers.
func (s *Store) Unsubscribe(ctx context.Context, consumer, product string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM api_subscriptions WHERE consumer = ? AND product = ?`), consumer, product)
		if err != nil {
			return s.wrap(err, "unsubscribe")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "consumer %q is not subscribed to %q", consumer, product)
		}
		return nil
	})
}

// --- keys -------------------------------------------------------------------

// CreateConsumerKey implements store.Consumers. An HMAC credential's
// secret is sealed (bound to its row) before it is written; without a
// payload sealer it is refused, never stored in the clear.
func (s *Store) CreateConsumerKey(ctx context.Context, k store.ConsumerKey) error {
	kind, hash, secret := k.Kind, k.Hash, ""
	switch kind {
	case "", store.KeyAPIKey:
		kind = store.KeyAPIKey
		if k.Secret != "" {
			return weft.Errorf(weft.EInvalid, "an API key keeps no secret, only its hash")
		}
	case store.KeyHMAC:
		if k.Secret == "" {
			return weft.Errorf(weft.EInvalid, "an HMAC credential needs its secret")
		}
		if s.payload == nil {
			return weft.Errorf(weft.EUnavailable, "HMAC secrets cannot be stored: no master key is configured to seal them")
		}
		v, err := s.payload.Seal(ctx, secretAAD(k.ID), []byte(k.Secret))
		if err != nil {
			return weft.Errorf(weft.EUnavailable, "sealing an HMAC secret: %v", err)
		}
		secret, hash = v, "hmac:"+k.ID // no key's SHA-256 (hex) equals it
	default:
		return weft.Errorf(weft.EInvalid, "unknown credential kind %q", k.Kind)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		if err := s.exists(ctx, tx, "api_consumers", "consumer", k.Consumer); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_consumer_keys (id, consumer, hash, created_at, expires_at, kind, secret) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.Consumer, hash, micros(k.CreatedAt), nullMicros(k.ExpiresAt), kind, secret)
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "key %q exists", k.ID)
		}
		return s.wrap(err, "create key")
	})
}

// secretAAD binds a sealed HMAC secret to its credential's row.
func secretAAD(id string) string { return "api_consumer_keys.secret:" + id }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromNull(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// ConsumerKeys implements store.Consumers.
func (s *Store) ConsumerKeys(ctx context.Context, consumer string) ([]store.ConsumerKey, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, consumer, kind, created_at, expires_at, revoked_at FROM api_consumer_keys WHERE consumer = ? ORDER BY created_at, id`), consumer)
	if err != nil {
		return nil, s.wrap(err, "keys")
	}
	defer rows.Close()
	var out []store.ConsumerKey
	for rows.Next() {
		var k store.ConsumerKey
		var c int64
		var exp, rev sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Consumer, &k.Kind, &c, &exp, &rev); err != nil {
			return nil, s.wrap(err, "keys")
		}
		k.CreatedAt, k.ExpiresAt, k.RevokedAt = fromMicros(c), fromNull(exp), fromNull(rev)
		out = append(out, k)
	}
	return out, s.wrap(rows.Err(), "keys")
}

func (s *Store) setKeyTime(ctx context.Context, col, consumer, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := bumpGrants(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE api_consumer_keys SET `+col+` = ? WHERE consumer = ? AND id = ? AND revoked_at IS NULL`), micros(at), consumer, id)
		if err != nil {
			return s.wrap(err, "key")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "consumer %q has no active key %q", consumer, id)
		}
		return nil
	})
}

// ExpireConsumerKey implements store.Consumers.
func (s *Store) ExpireConsumerKey(ctx context.Context, consumer, id string, at time.Time) error {
	return s.setKeyTime(ctx, "expires_at", consumer, id, at)
}

// RevokeConsumerKey implements store.Consumers.
func (s *Store) RevokeConsumerKey(ctx context.Context, consumer, id string, at time.Time) error {
	return s.setKeyTime(ctx, "revoked_at", consumer, id, at)
}

// bumpGrants raises the grants' epoch (migration 018) in a transaction
// that changes a plan, a consumer, a subscription or a credential: every
// process's remembered grants stop holding when it commits.
func bumpGrants(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE api_grants_epoch SET epoch = epoch + 1 WHERE id = 1`)
	return err
}

// grantExprs are the columns of a grant, in grantScan's order; the last
// is the grants' epoch, read in the same statement (one snapshot) as the
// grant.
var grantExprs = []string{"k.id", "k.consumer", "k.hash", "k.created_at", "k.expires_at", "k.revoked_at",
	"c.namespace", "c.description", "c.disabled", "c.created_at", "c.updated_at",
	"s.id", "s.version", "s.plan", "s.created_at",
	"p.namespace", "p.rate_per_second", "p.burst", "p.quota_day", "p.quota_month", "k.kind", "k.secret",
	"(SELECT epoch FROM api_grants_epoch WHERE id = 1)", "c.allow_ips"}

var grantCols = strings.Join(grantExprs, ", ")

const grantFrom = `FROM api_consumer_keys k
		JOIN api_consumers c ON c.name = k.consumer
		LEFT JOIN api_subscriptions s ON s.consumer = k.consumer AND s.product = ?
		LEFT JOIN api_plans p ON p.name = s.plan
		WHERE k.id = ?`

// grantScan scans grantCols (then extra) into a KeyGrant.
type grantScan struct {
	g                                  store.KeyGrant
	kc, cc, cu                         int64
	exp, rev                           sql.NullInt64
	disabled                           int
	subID, subVersion, subPlan, planNS sql.NullString
	subCreated, burst, qd, qm          sql.NullInt64
	rate                               sql.NullFloat64
	sealed                             string // k.secret as stored
	allowIPs                           string // c.allow_ips as stored
}

func (x *grantScan) dest(extra ...any) []any {
	g := &x.g
	return append([]any{&g.Key.ID, &g.Key.Consumer, &g.Key.Hash, &x.kc, &x.exp, &x.rev,
		&g.Consumer.Namespace, &g.Consumer.Description, &x.disabled, &x.cc, &x.cu,
		&x.subID, &x.subVersion, &x.subPlan, &x.subCreated,
		&x.planNS, &x.rate, &x.burst, &x.qd, &x.qm, &g.Key.Kind, &x.sealed, &g.Epoch, &x.allowIPs}, extra...)
}

func (x *grantScan) grant(product string) *store.KeyGrant {
	g := x.g
	g.Key.CreatedAt, g.Key.ExpiresAt, g.Key.RevokedAt = fromMicros(x.kc), fromNull(x.exp), fromNull(x.rev)
	g.Consumer.Name, g.Consumer.Disabled, g.Consumer.CreatedAt, g.Consumer.UpdatedAt = g.Key.Consumer, x.disabled != 0, fromMicros(x.cc), fromMicros(x.cu)
	g.Consumer.AllowIPs = splitIPs(x.allowIPs)
	if x.subID.Valid {
		g.Subscription = &store.Subscription{ID: x.subID.String, Consumer: g.Key.Consumer, Product: product, Version: x.subVersion.String, Plan: x.subPlan.String, CreatedAt: fromMicros(x.subCreated.Int64)}
		if x.planNS.Valid {
			g.Plan = &store.Plan{Name: x.subPlan.String, Namespace: x.planNS.String,
				Limits: store.Limits{RatePerSecond: x.rate.Float64, Burst: x.burst.Int64, QuotaDay: x.qd.Int64, QuotaMonth: x.qm.Int64}}
		}
	}
	return &g
}

// KeyGrant implements store.Consumers: one read, never cached (a
// committed revocation is seen by the next call, in every process).
func (s *Store) KeyGrant(ctx context.Context, keyID, product string) (*store.KeyGrant, error) {
	var x grantScan
	err := s.r.QueryRowContext(ctx, s.q(`SELECT `+grantCols+` `+grantFrom), product, keyID).Scan(x.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weft.Errorf(weft.ENotFound, "no key %q", keyID)
	}
	if err != nil {
		return nil, s.wrap(err, "key")
	}
	g := x.grant(product)
	if g.Key.Kind == store.KeyHMAC {
		if g.Key.Secret, err = s.openSecret(ctx, keyID, x.sealed); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// openSecret opens a sealed HMAC secret.
func (s *Store) openSecret(ctx context.Context, id, sealed string) (string, error) {
	if s.payload == nil {
		return "", weft.Errorf(weft.EUnavailable, "the secret of HMAC credential %s is sealed and no master key is configured", id)
	}
	if !strings.HasPrefix(sealed, sealedPrefix) {
		// A secret in the clear was never written by this store: refuse it.
		return "", weft.Errorf(weft.EUnavailable, "the secret of HMAC credential %s is not sealed", id)
	}
	b, err := s.payload.Open(ctx, secretAAD(id), sealed)
	if err != nil {
		return "", weft.Errorf(weft.EUnavailable, "the secret of HMAC credential %s does not open (is this the right master key?)", id)
	}
	return string(b), nil
}

// UseNonce implements store.Consumers: one upsert that inserts the nonce,
// or takes over an expired row, and changes nothing (0 rows) when the
// nonce is remembered: a replay.
func (s *Store) UseNonce(ctx context.Context, keyID, nonce string, expires, now time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`INSERT INTO api_nonces (key_id, nonce, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE api_nonces.expires_at <= ?`),
		keyID, nonce, micros(expires), micros(now))
	if err != nil {
		return s.wrap(err, "nonce")
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return weft.Errorf(weft.EConflict, "nonce %q was already used by credential %s", nonce, keyID)
	}
	return nil
}

// nonceAdmitPG is UseNonce and Admit in one statement on PostgreSQL: the
// nonce's upsert (n: a row only when the nonce is fresh) feeds the
// limits' upsert, which then counts nothing for a replay. Parameters:
// admitQuery's, then 9 key id, 10 nonce, 11 expires (µs).
var nonceAdmitPG = func() string {
	p := dialectParam(Postgres)
	rows := `SELECT CAST($1 AS TEXT), ` + p(2) + ` + ` + p(3) + `, ` + p(4) + `, 1, ` + p(5) + `, 1, 1, ` + p(3) + `, ` + p(6) + `, ` + p(7) + `, ` + p(8) + ` FROM n`
	upsert := strings.NewReplacer("{now}", p(2), "{day}", p(4), "{month}", p(5)).Replace(upsertQuery(rows, p))
	return `WITH n AS (INSERT INTO api_nonces (key_id, nonce, expires_at) VALUES (CAST($9 AS TEXT), CAST($10 AS TEXT), ` + p(11) + `)
		ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE api_nonces.expires_at <= ` + p(2) + ` RETURNING 1 AS fresh),
	adm AS (` + upsert + `)
	SELECT (SELECT count(*) FROM n), adm.tat, adm.day, adm.day_count, adm.month, adm.month_count, adm.allowed FROM (SELECT 1) AS one LEFT JOIN adm ON true`
}()

// UseNonceAdmit implements store.Consumers.
func (s *Store) UseNonceAdmit(ctx context.Context, keyID, nonce string, expires time.Time, bucket string, l store.Limits, now time.Time) (store.Admission, error) {
	if s.dialect != Postgres {
		if err := s.UseNonce(ctx, keyID, nonce, expires, now); err != nil {
			return store.Admission{}, err
		}
		return s.Admit(ctx, bucket, l, now)
	}
	now = now.UTC()
	nowU := now.UnixMicro()
	t, tau := limitParams(l)
	qd, qm := l.QuotaDay, l.QuotaMonth
	if qd <= 0 {
		qd = math.MaxInt64
	}
	if qm <= 0 {
		qm = math.MaxInt64
	}
	day := nowU / (86400 * 1e6)
	month := int64(now.Year())*12 + int64(now.Month()) - 1
	var fresh int64
	var tat, d, dc, m, mc, allowed sql.NullInt64
	err := s.w.QueryRowContext(ctx, nonceAdmitPG, bucket, nowU, t, day, month, tau, qd, qm, keyID, nonce, micros(expires)).
		Scan(&fresh, &tat, &d, &dc, &m, &mc, &allowed)
	if err != nil {
		return store.Admission{}, s.wrap(err, "nonce and rate limit")
	}
	if fresh == 0 {
		return store.Admission{}, weft.Errorf(weft.EConflict, "nonce %q was already used by credential %s", nonce, keyID)
	}
	if !allowed.Valid {
		return store.Admission{}, weft.Errorf(weft.EInternal, "nonce and rate limit: no count")
	}
	return admission(limitState{tat.Int64, d.Int64, dc.Int64, m.Int64, mc.Int64}, allowed.Int64 == 1, l, now, t, tau), nil
}

// SweepNonces implements store.Consumers.
func (s *Store) SweepNonces(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM api_nonces WHERE expires_at <= ?`), micros(now))
	if err != nil {
		return 0, s.wrap(err, "sweep nonces")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ConsumerGrant implements store.Consumers: one read, never cached.
func (s *Store) ConsumerGrant(ctx context.Context, consumer, product string) (*store.KeyGrant, error) {
	var g store.KeyGrant
	var disabled int
	var cc, cu int64
	var subID, subVersion, subPlan, planNS sql.NullString
	var subCreated, burst, qd, qm sql.NullInt64
	var rate sql.NullFloat64
	var ips string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT c.namespace, c.description, c.disabled, c.created_at, c.updated_at,
			s.id, s.version, s.plan, s.created_at, p.namespace, p.rate_per_second, p.burst, p.quota_day, p.quota_month, c.allow_ips,
			(SELECT epoch FROM api_grants_epoch WHERE id = 1)
		FROM api_consumers c
		LEFT JOIN api_subscriptions s ON s.consumer = c.name AND s.product = ?
		LEFT JOIN api_plans p ON p.name = s.plan
		WHERE c.name = ?`), product, consumer).Scan(&g.Consumer.Namespace, &g.Consumer.Description, &disabled, &cc, &cu,
		&subID, &subVersion, &subPlan, &subCreated, &planNS, &rate, &burst, &qd, &qm, &ips, &g.Epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weft.Errorf(weft.ENotFound, "no consumer %q", consumer)
	}
	if err != nil {
		return nil, s.wrap(err, "consumer")
	}
	x := grantScan{g: g, cc: cc, cu: cu, disabled: disabled, subID: subID, subVersion: subVersion, subPlan: subPlan, planNS: planNS,
		subCreated: subCreated, burst: burst, qd: qd, qm: qm, rate: rate, allowIPs: ips}
	x.g.Key.Consumer = consumer
	out := x.grant(product)
	out.Key = store.ConsumerKey{}
	return out, nil
}

// admitKeyPG is AdmitKey on PostgreSQL in one statement: the grant (g,
// its columns gc0… in grantExprs' order), the limits of a good one (lim:
// the conditions of KeyGrant.Good, in SQL), and the upsert of
// admitUpsert fed by lim (adm: no row when lim has none). Parameters:
// 1 key id, 2 product, 3 hash, 4 now (µs), 5 version, 6 UTC day, 7 UTC
// month.
var admitKeyPG = func() string {
	p := dialectParam(Postgres)
	var gsel, gout []string
	for i, e := range grantExprs {
		gsel = append(gsel, e+" AS gc"+strconv.Itoa(i))
		gout = append(gout, "g.gc"+strconv.Itoa(i))
	}
	rows := `SELECT bucket, ` + p(4) + ` + t, ` + p(6) + `, 1, ` + p(7) + `, 1, 1, t,
		CASE WHEN t > 0 THEN t * (GREATEST(burst, 1) - 1) ELSE 2305843009213693951 END,
		CASE WHEN qd > 0 THEN qd ELSE 9223372036854775807 END,
		CASE WHEN qm > 0 THEN qm ELSE 9223372036854775807 END FROM lim`
	upsert := strings.NewReplacer("{now}", p(4), "{day}", p(6), "{month}", p(7)).Replace(upsertQuery(rows, p))
	from := strings.Replace(strings.Replace(grantFrom, "?", "$2", 1), "?", "$1", 1)
	// gc1 consumer, gc2 hash, gc4 expires_at, gc5 revoked_at, gc8
	// disabled, gc11 subscription, gc12 its version, gc15 the plan's
	// namespace (NULL: no plan), gc16-19 the limits, gc20 the kind.
	return `WITH g AS (SELECT ` + strings.Join(gsel, ", ") + ` ` + from + `),
	lim AS (SELECT gc1 || '/' || $2 AS bucket,
			CASE WHEN gc16 > 0 THEN CAST(CEIL(1000000 / gc16) AS BIGINT) ELSE 0 END AS t, gc17 AS burst, gc18 AS qd, gc19 AS qm
		FROM g WHERE gc20 <> 'hmac' AND gc2 = $3 AND gc5 IS NULL AND (gc4 IS NULL OR gc4 > ` + p(4) + `) AND gc8 = 0
			AND gc11 IS NOT NULL AND gc15 IS NOT NULL AND (gc12 = '' OR gc12 = $5)
			AND (gc16 > 0 OR gc18 > 0 OR gc19 > 0)),
	adm AS (` + upsert + `)
	SELECT ` + strings.Join(gout, ", ") + `, adm.tat, adm.day, adm.day_count, adm.month, adm.month_count, adm.allowed
	FROM g LEFT JOIN adm ON true`
}()

// AdmitKey implements store.Consumers.
func (s *Store) AdmitKey(ctx context.Context, keyID, hash, product, version string, now time.Time) (*store.KeyGrant, *store.Admission, error) {
	l := func(g *store.KeyGrant) store.Limits { return g.Plan.Limits }
	if s.dialect != Postgres {
		g, err := s.KeyGrant(ctx, keyID, product)
		if err != nil {
			return nil, nil, err
		}
		if !g.Good(hash, version, now) || l(g) == (store.Limits{}) {
			return g, nil, nil
		}
		a, err := s.Admit(ctx, store.Bucket(g.Key.Consumer, product), l(g), now)
		if err != nil {
			return g, nil, err
		}
		return g, &a, nil
	}
	now = now.UTC()
	nowU := now.UnixMicro()
	var x grantScan
	var tat, day, dayCount, month, monthCount, allowed sql.NullInt64
	err := s.w.QueryRowContext(ctx, admitKeyPG, keyID, product, hash, nowU, version, nowU/(86400*1e6), int64(now.Year())*12+int64(now.Month())-1).
		Scan(x.dest(&tat, &day, &dayCount, &month, &monthCount, &allowed)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, weft.Errorf(weft.ENotFound, "no key %q", keyID)
	}
	if err != nil {
		return nil, nil, s.wrap(err, "key")
	}
	g := x.grant(product)
	if !allowed.Valid {
		return g, nil, nil
	}
	lim := l(g)
	t, tau := limitParams(lim)
	a := admission(limitState{tat.Int64, day.Int64, dayCount.Int64, month.Int64, monthCount.Int64}, allowed.Int64 == 1, lim, now, t, tau)
	return g, &a, nil
}

// limitParams are GCRA's emission interval T and tolerance τ (µs) of a
// plan's rate (no rate: T = 0 and a τ no wait exceeds).
func limitParams(l store.Limits) (t, tau int64) {
	tau = math.MaxInt64 / 4
	if l.RatePerSecond > 0 {
		t = int64(math.Ceil(1e6 / l.RatePerSecond))
		tau = t * (max(l.Burst, 1) - 1)
	}
	return t, tau
}

// --- limits -----------------------------------------------------------------

// limitState is a bucket's row: GCRA's theoretical arrival time (µs) and
// the quota counters of the current UTC day and month.
type limitState struct {
	tat, day, dayCount, month, monthCount int64
}

// admitUpsert decides and counts one call in a single statement: the
// upsert takes the bucket's row lock (PostgreSQL; SQLite has one writer),
// every SET expression reads the row as it was, and the row is written
// back changed only when the call is allowed ("allowed" records the
// decision for RETURNING). The limits travel in the inserted row
// (EXCLUDED): GCRA's emission interval T and tolerance τ = T × (burst − 1)
// in µs, and the day and month quotas (math.MaxInt64: none). A new
// bucket's first call is always allowed (a quota is at least 1).
// {rows} yields (bucket, tat, day, day_count, month, month_count, allowed,
// interval_us, tolerance_us, quota_day, quota_month) for the first call;
// {now}, {day} and {month} are the call's time (µs) and UTC day and month.
const admitUpsert = `INSERT INTO api_limits (bucket, tat, day, day_count, month, month_count, allowed, interval_us, tolerance_us, quota_day, quota_month)
{rows}
ON CONFLICT (bucket) DO UPDATE SET
  allowed = CASE WHEN {OK} THEN 1 ELSE 0 END,
  tat = CASE WHEN {OK} THEN {E} + excluded.interval_us ELSE api_limits.tat END,
  day = CASE WHEN {OK} THEN {day} ELSE api_limits.day END,
  day_count = CASE WHEN {OK} THEN {DC} + 1 ELSE api_limits.day_count END,
  month = CASE WHEN {OK} THEN {month} ELSE api_limits.month END,
  month_count = CASE WHEN {OK} THEN {MC} + 1 ELSE api_limits.month_count END,
  interval_us = excluded.interval_us, tolerance_us = excluded.tolerance_us,
  quota_day = excluded.quota_day, quota_month = excluded.quota_month
RETURNING tat, day, day_count, month, month_count, allowed`

// upsertQuery fills admitUpsert; param names a parameter in the dialect.
func upsertQuery(rows string, param func(n int) string) string {
	r := strings.NewReplacer(
		"{OK}", "({E} - {now} <= excluded.tolerance_us AND {DC} < excluded.quota_day AND {MC} < excluded.quota_month)",
		"{E}", "(CASE WHEN api_limits.tat > {now} THEN api_limits.tat ELSE {now} END)",
		"{DC}", "(CASE WHEN api_limits.day = {day} THEN api_limits.day_count ELSE 0 END)",
		"{MC}", "(CASE WHEN api_limits.month = {month} THEN api_limits.month_count ELSE 0 END)",
	)
	q := strings.Replace(admitUpsert, "{rows}", rows, 1)
	for strings.Contains(q, "{OK}") || strings.Contains(q, "{E}") || strings.Contains(q, "{DC}") || strings.Contains(q, "{MC}") {
		q = r.Replace(q)
	}
	return q
}

func dialectParam(dialect string) func(n int) string {
	mark := "?"
	if dialect == Postgres {
		mark = "$"
	}
	return func(n int) string { return "CAST(" + mark + strconv.Itoa(n) + " AS BIGINT)" }
}

// admitQuery counts against given limits. Parameters: 1 bucket, 2 now,
// 3 T, 4 day, 5 month, 6 τ, 7 and 8 the quotas.
func admitQuery(dialect string) string {
	p := dialectParam(dialect)
	mark := "?"
	if dialect == Postgres {
		mark = "$"
	}
	rows := "VALUES (" + mark + "1, " + p(2) + " + " + p(3) + ", " + p(4) + ", 1, " + p(5) + ", 1, 1, " + p(3) + ", " + p(6) + ", " + p(7) + ", " + p(8) + ")"
	return strings.NewReplacer("{now}", p(2), "{day}", p(4), "{month}", p(5)).Replace(upsertQuery(rows, p))
}

var admitQueries = map[string]string{SQLite: admitQuery(SQLite), Postgres: admitQuery(Postgres)}

// Admit implements store.Consumers: GCRA (the generic cell rate
// algorithm: one stored time per bucket, the theoretical arrival time of
// the next call) for the rate and counters per UTC day and month for the
// quotas, decided and counted by one statement (admitSQL), so two
// processes never both spend the last unit.
func (s *Store) Admit(ctx context.Context, bucket string, l store.Limits, now time.Time) (store.Admission, error) {
	now = now.UTC()
	nowU := now.UnixMicro()
	t, tau := limitParams(l)
	qd, qm := l.QuotaDay, l.QuotaMonth
	if qd <= 0 {
		qd = math.MaxInt64
	}
	if qm <= 0 {
		qm = math.MaxInt64
	}
	day := nowU / (86400 * 1e6)
	month := int64(now.Year())*12 + int64(now.Month()) - 1
	q := admitQueries[s.dialect]
	var st limitState
	var allowed int
	err := s.w.QueryRowContext(ctx, q, bucket, nowU, t, day, month, tau, qd, qm).Scan(&st.tat, &st.day, &st.dayCount, &st.month, &st.monthCount, &allowed)
	if err != nil {
		return store.Admission{}, s.wrap(err, "rate limit")
	}
	return admission(st, allowed == 1, l, now, t, tau), nil
}

// Usage implements store.Consumers.
func (s *Store) Usage(ctx context.Context, bucket string, l store.Limits, now time.Time) (store.Admission, error) {
	now = now.UTC()
	var st limitState
	err := s.r.QueryRowContext(ctx, s.q(`SELECT tat, day, day_count, month, month_count FROM api_limits WHERE bucket = ?`), bucket).
		Scan(&st.tat, &st.day, &st.dayCount, &st.month, &st.monthCount)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return store.Admission{}, s.wrap(err, "usage")
	}
	t, tau := limitParams(l)
	a := admission(st, true, l, now, t, tau)
	if l.RatePerSecond > 0 && st.tat <= now.UnixMicro() {
		a.RateRemaining = max(l.Burst, 1) // an idle bucket: the whole burst
	}
	return a, nil
}

// admission describes the row Admit left: what remains, when each limit
// resets, and for a refusal which limit refused it (the one whose wait is
// longest) and when to retry.
func admission(st limitState, allowed bool, l store.Limits, now time.Time, t, tau int64) store.Admission {
	nowU := now.UnixMicro()
	a := store.Admission{Allowed: allowed}
	day := nowU / (86400 * 1e6)
	month := int64(now.Year())*12 + int64(now.Month()) - 1
	dayCount, monthCount := st.dayCount, st.monthCount
	if st.day != day {
		dayCount = 0
	}
	if st.month != month {
		monthCount = 0
	}
	dayEnd := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	monthEnd := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	a.DayReset, a.MonthReset = dayEnd.Sub(now), monthEnd.Sub(now)
	if l.QuotaDay > 0 {
		a.DayRemaining = max(l.QuotaDay-dayCount, 0)
	}
	if l.QuotaMonth > 0 {
		a.MonthRemaining = max(l.QuotaMonth-monthCount, 0)
	}
	refuse := func(limit string, wait time.Duration) {
		if wait >= a.RetryAfter {
			a.Limit, a.RetryAfter = limit, wait
		}
	}
	if l.RatePerSecond > 0 {
		tat := max(st.tat, nowU)
		a.RateReset = time.Duration(tat-nowU) * time.Microsecond
		// What the burst has left: calls that fit before tat passes τ.
		a.RateRemaining = max((nowU+tau+t-tat)/t, 0)
		if !allowed && tat-nowU > tau {
			refuse("rate", time.Duration(tat-tau-nowU)*time.Microsecond)
		}
	}
	if !allowed {
		if l.QuotaDay > 0 && dayCount >= l.QuotaDay {
			refuse("day", a.DayReset)
		}
		if l.QuotaMonth > 0 && monthCount >= l.QuotaMonth {
			refuse("month", a.MonthReset)
		}
	}
	return a
}

// --- calls of verified credentials -------------------------------------------

// AdmitVerified's parameters after admitQuery's eight (1 bucket, 2 now,
// 3 T, 4 day, 5 month, 6 τ, 7 and 8 the quotas).
const (
	vpKey          = 9 + iota // the credential's id
	vpEpoch                   // the grants' epoch it was verified under
	vpNonce                   // "" for none
	vpNonceExpires            // µs
	vpCount                   // 1: count the call (the limits are not zero)
)

// verifiedCheck is the part of AdmitVerified that re-checks the grant: a
// row when the grants' epoch is the one the grant was read under.
func verifiedCheck(mark string) string {
	return `SELECT CAST(` + mark + strconv.Itoa(vpKey) + ` AS TEXT) AS id FROM api_grants_epoch WHERE id = 1 AND epoch = CAST(` + mark + strconv.Itoa(vpEpoch) + ` AS BIGINT)`
}

// admitVerifiedPG is AdmitVerified on PostgreSQL in one statement: ok
// (the epoch has not moved), n (the nonce's upsert, only when ok has a
// row: a row when the nonce is fresh), lim (a row when the call is to be
// counted: ok, a fresh nonce, limits not zero) and the limits' upsert fed
// by lim. admitVerifiedKeyPG is the same without a nonce (a key's call).
var admitVerifiedPG, admitVerifiedKeyPG = admitVerifiedQuery(true), admitVerifiedQuery(false)

// admitSignedPG is a signed call's AdmitVerified on PostgreSQL when its
// plan has limits, the common case, in the form of the key's statement:
// the nonce's insert fed by the epoch's row and the limits' upsert fed
// by the insert's, returning the count's row, or none when the epoch
// moved or the nonce was used (then admitSignedWhyPG says which, a
// second round trip only for a refused call). Same parameters as
// admitVerifiedPG.
var admitSignedPG = func() string {
	p := dialectParam(Postgres)
	t := func(n int) string { return "CAST($" + strconv.Itoa(n) + " AS TEXT)" }
	rows := `SELECT CAST($1 AS TEXT), ` + p(2) + ` + ` + p(3) + `, ` + p(4) + `, 1, ` + p(5) + `, 1, 1, ` + p(3) + `, ` + p(6) + `, ` + p(7) + `, ` + p(8) + ` FROM n WHERE ` + p(vpCount) + ` = 1`
	upsert := strings.NewReplacer("{now}", p(2), "{day}", p(4), "{month}", p(5)).Replace(upsertQuery(rows, p))
	return `WITH n AS (INSERT INTO api_nonces (key_id, nonce, expires_at)
		SELECT ` + t(vpKey) + `, ` + t(vpNonce) + `, ` + p(vpNonceExpires) + ` FROM api_grants_epoch WHERE id = 1 AND epoch = ` + p(vpEpoch) + `
		ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE api_nonces.expires_at <= ` + p(2) + ` RETURNING 1)
	` + upsert
}()

// admitSignedWhyPG tells why admitSignedPG counted nothing: held (the
// epoch is still the one verified under, so the nonce was used before).
const admitSignedWhyPG = `SELECT count(*) FROM api_grants_epoch WHERE id = 1 AND epoch = $1`

func admitVerifiedQuery(nonce bool) string {
	p := dialectParam(Postgres)
	t := func(n int) string { return "CAST($" + strconv.Itoa(n) + " AS TEXT)" }
	rows := `SELECT CAST($1 AS TEXT), ` + p(2) + ` + ` + p(3) + `, ` + p(4) + `, 1, ` + p(5) + `, 1, 1, ` + p(3) + `, ` + p(6) + `, ` + p(7) + `, ` + p(8) + ` FROM lim`
	upsert := strings.NewReplacer("{now}", p(2), "{day}", p(4), "{month}", p(5)).Replace(upsertQuery(rows, p))
	if !nonce {
		// A key's call under limits: the upsert alone, fed by the epoch's
		// row (no row: not held). The nonce's parameters are "" and 0.
		rows := `SELECT CAST($1 AS TEXT), ` + p(2) + ` + ` + p(3) + `, ` + p(4) + `, 1, ` + p(5) + `, 1, 1, ` + p(3) + `, ` + p(6) + `, ` + p(7) + `, ` + p(8) + `
			FROM api_grants_epoch WHERE id = 1 AND epoch = ` + p(vpEpoch) + ` AND ` + t(vpKey) + ` <> '' AND ` + t(vpNonce) + ` = '' AND ` + p(vpNonceExpires) + ` = 0 AND ` + p(vpCount) + ` = 1`
		return strings.NewReplacer("{now}", p(2), "{day}", p(4), "{month}", p(5)).Replace(upsertQuery(rows, p))
	}
	return `WITH ok AS (` + verifiedCheck("$") + `),
	n AS (INSERT INTO api_nonces (key_id, nonce, expires_at) SELECT id, ` + t(vpNonce) + `, ` + p(vpNonceExpires) + ` FROM ok
		ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE api_nonces.expires_at <= ` + p(2) + ` RETURNING 1 AS fresh),
	lim AS (SELECT 1 AS one FROM n WHERE ` + p(vpCount) + ` = 1),
	adm AS (` + upsert + `)
	SELECT (SELECT count(*) FROM ok), (SELECT count(*) FROM n), adm.tat, adm.day, adm.day_count, adm.month, adm.month_count, adm.allowed
	FROM (SELECT 1) AS one LEFT JOIN adm ON true`
}

var verifiedCheckSQLite = verifiedCheck("?")

// AdmitVerified implements store.Consumers.
func (s *Store) AdmitVerified(ctx context.Context, v store.VerifiedCall, now time.Time) (held, fresh bool, a *store.Admission, err error) {
	now = now.UTC()
	nowU := now.UnixMicro()
	l := v.Limits
	t, tau := limitParams(l)
	qd, qm := l.QuotaDay, l.QuotaMonth
	if qd <= 0 {
		qd = math.MaxInt64
	}
	if qm <= 0 {
		qm = math.MaxInt64
	}
	day := nowU / (86400 * 1e6)
	month := int64(now.Year())*12 + int64(now.Month()) - 1
	count := int64(0)
	if l != (store.Limits{}) {
		count = 1
	}
	bucket := store.Bucket(v.Consumer, v.Product)
	expires := int64(0)
	if v.Nonce != "" {
		expires = micros(v.NonceExpires)
	}
	args := []any{bucket, nowU, t, day, month, tau, qd, qm, v.KeyID, v.Epoch, v.Nonce, expires, count}
	if s.dialect != Postgres {
		// SQLite has one writer: the check, the nonce and the count in
		// turn (?NNN are SQLite's numbered parameters).
		var id string
		err := s.w.QueryRowContext(ctx, verifiedCheckSQLite, args[:vpEpoch]...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return false, false, nil, nil
		}
		if err != nil {
			return false, false, nil, s.wrap(err, "grants")
		}
		if v.Nonce != "" {
			if err := s.UseNonce(ctx, v.KeyID, v.Nonce, v.NonceExpires, now); weft.Code(err) == weft.EConflict {
				return true, false, nil, nil
			} else if err != nil {
				return true, false, nil, err
			}
		}
		if count == 0 {
			return true, true, nil, nil
		}
		adm, err := s.Admit(ctx, bucket, l, now)
		if err != nil {
			return true, true, nil, err
		}
		return true, true, &adm, nil
	}
	var okN, freshN int64
	var tat, d, dc, m, mc, allowed sql.NullInt64
	switch {
	case v.Nonce == "" && count == 0:
		// Nothing to count: the epoch alone.
		err = s.w.QueryRowContext(ctx, `SELECT count(*), 0 FROM api_grants_epoch WHERE id = 1 AND epoch = $1`, v.Epoch).Scan(&okN, &freshN)
	case v.Nonce == "":
		okN, freshN = 1, 1
		err = s.w.QueryRowContext(ctx, admitVerifiedKeyPG, args...).Scan(&tat, &d, &dc, &m, &mc, &allowed)
		if errors.Is(err, sql.ErrNoRows) {
			return false, false, nil, nil
		}
	case count == 1:
		okN, freshN = 1, 1
		err = s.w.QueryRowContext(ctx, admitSignedPG, args...).Scan(&tat, &d, &dc, &m, &mc, &allowed)
		if errors.Is(err, sql.ErrNoRows) {
			// Not counted: the epoch moved (nothing was used: not held), or
			// it had not and the nonce was used before (a replay). Should
			// the epoch move between the two statements, the call is read
			// again as not held and its retry finds the nonce used.
			var held int64
			if err := s.w.QueryRowContext(ctx, admitSignedWhyPG, v.Epoch).Scan(&held); err != nil {
				return false, false, nil, s.wrap(err, "grants")
			}
			return held == 1, false, nil, nil
		}
	default:
		err = s.w.QueryRowContext(ctx, admitVerifiedPG, args...).Scan(&okN, &freshN, &tat, &d, &dc, &m, &mc, &allowed)
	}
	if err != nil {
		return false, false, nil, s.wrap(err, "grants and rate limit")
	}
	if okN == 0 {
		return false, false, nil, nil
	}
	if v.Nonce != "" && freshN == 0 {
		return true, false, nil, nil
	}
	if !allowed.Valid {
		if count == 1 {
			return true, true, nil, weft.Errorf(weft.EInternal, "grants and rate limit: no count")
		}
		return true, true, nil, nil
	}
	adm := admission(limitState{tat.Int64, d.Int64, dc.Int64, m.Int64, mc.Int64}, allowed.Int64 == 1, l, now, t, tau)
	return true, true, &adm, nil
}
