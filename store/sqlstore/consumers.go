package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
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
		if err := s.namespaceExists(ctx, tx, c.Namespace); err != nil {
			return err
		}
		var created int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT created_at FROM api_consumers WHERE name = ?`), c.Name).Scan(&created)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			c.CreatedAt, c.UpdatedAt = now, now
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO api_consumers (name, namespace, description, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
				c.Name, c.Namespace, c.Description, boolInt(c.Disabled), micros(now), micros(now))
			if err != nil && s.isUniq(err) {
				return weft.Errorf(weft.EConflict, "consumer %q was created by another request", c.Name)
			}
			return s.wrap(err, "save consumer")
		case err != nil:
			return s.wrap(err, "consumer")
		}
		c.CreatedAt, c.UpdatedAt = fromMicros(created), now
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_consumers SET namespace = ?, description = ?, disabled = ?, updated_at = ? WHERE name = ?`),
			c.Namespace, c.Description, boolInt(c.Disabled), micros(now), c.Name)
		return s.wrap(err, "save consumer")
	})
	if err != nil {
		return store.Consumer{}, err
	}
	return c, nil
}

const consumerCols = `name, namespace, description, disabled, created_at, updated_at`

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
		if err := rows.Scan(&c.Name, &c.Namespace, &c.Description, &d, &cr, &u); err != nil {
			return nil, s.wrap(err, "consumers")
		}
		c.Disabled, c.CreatedAt, c.UpdatedAt = d != 0, fromMicros(cr), fromMicros(u)
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
		// Explicitly, not only by the foreign keys' cascade: SQLite
		// connections opened without foreign_keys would keep them.
		for _, q := range []string{`DELETE FROM api_subscriptions WHERE consumer = ?`, `DELETE FROM api_consumer_keys WHERE consumer = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(q), name); err != nil {
				return s.wrap(err, "delete consumer")
			}
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

// CreateConsumerKey implements store.Consumers.
func (s *Store) CreateConsumerKey(ctx context.Context, k store.ConsumerKey) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.exists(ctx, tx, "api_consumers", "consumer", k.Consumer); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_consumer_keys (id, consumer, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
			k.ID, k.Consumer, k.Hash, micros(k.CreatedAt), nullMicros(k.ExpiresAt))
		if err != nil && s.isUniq(err) {
			return weft.Errorf(weft.EConflict, "key %q exists", k.ID)
		}
		return s.wrap(err, "create key")
	})
}

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
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, consumer, hash, created_at, expires_at, revoked_at FROM api_consumer_keys WHERE consumer = ? ORDER BY created_at, id`), consumer)
	if err != nil {
		return nil, s.wrap(err, "keys")
	}
	defer rows.Close()
	var out []store.ConsumerKey
	for rows.Next() {
		var k store.ConsumerKey
		var c int64
		var exp, rev sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Consumer, &k.Hash, &c, &exp, &rev); err != nil {
			return nil, s.wrap(err, "keys")
		}
		k.CreatedAt, k.ExpiresAt, k.RevokedAt = fromMicros(c), fromNull(exp), fromNull(rev)
		out = append(out, k)
	}
	return out, s.wrap(rows.Err(), "keys")
}

func (s *Store) setKeyTime(ctx context.Context, col, consumer, id string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
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

// KeyGrant implements store.Consumers: one read, on the writer's view on
// PostgreSQL and on a reader of the WAL on SQLite (a committed revocation
// is seen by the next call).
func (s *Store) KeyGrant(ctx context.Context, keyID, product string) (*store.KeyGrant, error) {
	var g store.KeyGrant
	var kc int64
	var exp, rev sql.NullInt64
	var disabled int
	var cc, cu int64
	var subID, subVersion, subPlan, planNS sql.NullString
	var subCreated, burst, qd, qm sql.NullInt64
	var rate sql.NullFloat64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT k.id, k.consumer, k.hash, k.created_at, k.expires_at, k.revoked_at,
			c.namespace, c.description, c.disabled, c.created_at, c.updated_at,
			s.id, s.version, s.plan, s.created_at,
			p.namespace, p.rate_per_second, p.burst, p.quota_day, p.quota_month
		FROM api_consumer_keys k
		JOIN api_consumers c ON c.name = k.consumer
		LEFT JOIN api_subscriptions s ON s.consumer = k.consumer AND s.product = ?
		LEFT JOIN api_plans p ON p.name = s.plan
		WHERE k.id = ?`), product, keyID).Scan(
		&g.Key.ID, &g.Key.Consumer, &g.Key.Hash, &kc, &exp, &rev,
		&g.Consumer.Namespace, &g.Consumer.Description, &disabled, &cc, &cu,
		&subID, &subVersion, &subPlan, &subCreated,
		&planNS, &rate, &burst, &qd, &qm)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weft.Errorf(weft.ENotFound, "no key %q", keyID)
	}
	if err != nil {
		return nil, s.wrap(err, "key")
	}
	g.Key.CreatedAt, g.Key.ExpiresAt, g.Key.RevokedAt = fromMicros(kc), fromNull(exp), fromNull(rev)
	g.Consumer.Name, g.Consumer.Disabled, g.Consumer.CreatedAt, g.Consumer.UpdatedAt = g.Key.Consumer, disabled != 0, fromMicros(cc), fromMicros(cu)
	if subID.Valid {
		g.Subscription = &store.Subscription{ID: subID.String, Consumer: g.Key.Consumer, Product: product, Version: subVersion.String, Plan: subPlan.String, CreatedAt: fromMicros(subCreated.Int64)}
		if planNS.Valid {
			g.Plan = &store.Plan{Name: subPlan.String, Namespace: planNS.String,
				Limits: store.Limits{RatePerSecond: rate.Float64, Burst: burst.Int64, QuotaDay: qd.Int64, QuotaMonth: qm.Int64}}
		}
	}
	return &g, nil
}

// --- limits -----------------------------------------------------------------

// limitState is a bucket's row: GCRA's theoretical arrival time (µs) and
// the quota counters of the current UTC day and month.
type limitState struct {
	tat, day, dayCount, month, monthCount int64
}

// Admit implements store.Consumers. The row is locked by an upsert that
// returns it (INSERT … ON CONFLICT DO UPDATE … RETURNING takes the row
// lock on PostgreSQL; SQLite has one writer), decided on, and written back
// in the same transaction only when the call is allowed: two processes
// never both spend the last unit.
func (s *Store) Admit(ctx context.Context, bucket string, l store.Limits, now time.Time) (store.Admission, error) {
	var a store.Admission
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var st limitState
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO api_limits (bucket) VALUES (?)
			ON CONFLICT (bucket) DO UPDATE SET bucket = excluded.bucket
			RETURNING tat, day, day_count, month, month_count`), bucket).Scan(&st.tat, &st.day, &st.dayCount, &st.month, &st.monthCount)
		if err != nil {
			return s.wrap(err, "rate limit")
		}
		var next limitState
		next, a = decide(st, l, now)
		if !a.Allowed {
			return nil
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE api_limits SET tat = ?, day = ?, day_count = ?, month = ?, month_count = ? WHERE bucket = ?`),
			next.tat, next.day, next.dayCount, next.month, next.monthCount, bucket)
		return s.wrap(err, "rate limit")
	})
	return a, err
}

// decide is GCRA (the generic cell rate algorithm: one stored time per
// bucket, the theoretical arrival time of the next call) for the rate,
// and counters per UTC day and month for the quotas. A call is allowed
// when every limit allows it; a refusal names the limit whose wait is
// longest.
func decide(st limitState, l store.Limits, now time.Time) (limitState, store.Admission) {
	now = now.UTC()
	nowU := now.UnixMicro()
	var a store.Admission
	next := st
	refuse := func(limit string, wait int64) {
		if d := time.Duration(wait) * time.Microsecond; !a.Allowed && d >= a.RetryAfter {
			a.Limit, a.RetryAfter = limit, d
		}
	}
	a.Allowed = true
	refused := false
	// Rate.
	if l.RatePerSecond > 0 {
		t := int64(math.Ceil(1e6 / l.RatePerSecond)) // emission interval, µs
		burst := max(l.Burst, 1)
		tau := t * (burst - 1)
		tat := max(st.tat, nowU)
		if tat-nowU > tau {
			refused = true
			a.Allowed = false
			refuse("rate", tat-tau-nowU)
			a.RateReset = time.Duration(tat-nowU) * time.Microsecond
		} else {
			next.tat = tat + t
			a.RateRemaining = (nowU + tau + t - next.tat) / t
			a.RateReset = time.Duration(next.tat-nowU) * time.Microsecond
		}
	}
	// Quotas, per UTC day and month.
	day := nowU / (86400 * 1e6)
	month := int64(now.Year())*12 + int64(now.Month()) - 1
	if st.day != day {
		next.day, next.dayCount = day, 0
	}
	if st.month != month {
		next.month, next.monthCount = month, 0
	}
	dayEnd := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	monthEnd := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	a.DayReset, a.MonthReset = dayEnd.Sub(now), monthEnd.Sub(now)
	if l.QuotaDay > 0 {
		if next.dayCount >= l.QuotaDay {
			refused = true
			a.Allowed = false
			refuse("day", a.DayReset.Microseconds())
		}
	}
	if l.QuotaMonth > 0 {
		if next.monthCount >= l.QuotaMonth {
			refused = true
			a.Allowed = false
			refuse("month", a.MonthReset.Microseconds())
		}
	}
	if refused {
		if a.Limit != "rate" && l.RatePerSecond > 0 && next.tat != st.tat {
			// The rate allowed it but a quota did not: nothing is spent.
			a.RateRemaining++
		}
		a.DayRemaining = max(l.QuotaDay-next.dayCount, 0)
		a.MonthRemaining = max(l.QuotaMonth-next.monthCount, 0)
		return st, a
	}
	next.dayCount++
	next.monthCount++
	a.DayRemaining = max(l.QuotaDay-next.dayCount, 0)
	a.MonthRemaining = max(l.QuotaMonth-next.monthCount, 0)
	return next, a
}
