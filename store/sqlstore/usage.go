package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/weftio/weft/store"
)

var _ store.UsageStore = (*Store)(nil)

// histCols are api_usage's latency buckets.
var histCols = func() []string {
	out := make([]string, store.UsageBuckets)
	for i := range out {
		out[i] = fmt.Sprintf("h%02d", i)
	}
	return out
}()

const usageKeyCols = "minute, process, product, version, route, consumer"

var usageValCols = append([]string{"calls", "client_errors", "server_errors", "rate_limited", "duration_us"}, histCols...)

// maxUsageGroups bounds what one SumAPIUsage answers.
const maxUsageGroups = 10000

// SaveAPIUsage implements store.UsageStore: one upsert per row, in one
// transaction.
func (s *Store) SaveAPIUsage(ctx context.Context, rows []store.APIUsage) error {
	if len(rows) == 0 {
		return nil
	}
	var set []string
	for _, c := range usageValCols {
		set = append(set, c+" = excluded."+c)
	}
	q := s.q(`INSERT INTO api_usage (` + usageKeyCols + `, ` + strings.Join(usageValCols, ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?, ", 6+len(usageValCols)), ", ") + `)
		ON CONFLICT (` + usageKeyCols + `) DO UPDATE SET ` + strings.Join(set, ", "))
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			args := []any{r.Minute, r.Process, r.Product, r.Version, r.Route, r.Consumer, r.Calls, r.ClientErrors, r.ServerErrors, r.RateLimited, r.DurationUS}
			for _, h := range r.Hist {
				args = append(args, h)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return s.wrap(err, "save API usage")
			}
		}
		return nil
	})
}

// SumAPIUsage implements store.UsageStore.
func (s *Store) SumAPIUsage(ctx context.Context, uq store.UsageQuery) ([]store.APIUsage, error) {
	group := []string{"product", "version", "consumer"}
	route := "''"
	if uq.ByRoute {
		group = append(group, "route")
		route = "route"
	}
	var sums []string
	for _, c := range usageValCols {
		sums = append(sums, "CAST(SUM("+c+") AS BIGINT)")
	}
	where := []string{"minute >= ?", "minute < ?"}
	// A minute is in [Since, Until) when it starts before Until: compared
	// at the clock's precision (Until in the first second of a minute
	// still holds that minute's calls).
	end := uq.Until.Unix() / 60
	if uq.Until.Unix()%60 != 0 || uq.Until.Nanosecond() != 0 {
		end++
	}
	args := []any{uq.Since.Unix() / 60, end}
	for col, v := range map[string]string{"product": uq.Product, "version": uq.Version, "consumer": uq.Consumer} {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	q := `SELECT product, version, consumer, ` + route + `, ` + strings.Join(sums, ", ") + ` FROM api_usage WHERE ` + strings.Join(where, " AND ") +
		` GROUP BY ` + strings.Join(group, ", ") + ` ORDER BY ` + strings.Join(group, ", ") + fmt.Sprintf(` LIMIT %d`, maxUsageGroups)
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "API usage")
	}
	defer rows.Close()
	var out []store.APIUsage
	for rows.Next() {
		var u store.APIUsage
		dest := []any{&u.Product, &u.Version, &u.Consumer, &u.Route, &u.Calls, &u.ClientErrors, &u.ServerErrors, &u.RateLimited, &u.DurationUS}
		for i := range u.Hist {
			dest = append(dest, &u.Hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap(err, "API usage")
		}
		out = append(out, u)
	}
	return out, s.wrap(rows.Err(), "API usage")
}

// PruneAPIUsage implements store.UsageStore.
func (s *Store) PruneAPIUsage(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM api_usage WHERE minute < ?`), before.Unix()/60)
	if err != nil {
		return 0, s.wrap(err, "prune API usage")
	}
	n, _ := res.RowsAffected()
	return n, nil
}
