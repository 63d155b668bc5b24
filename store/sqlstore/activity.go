package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft/store"
)

// runStatuses are every status a run can have; queries spell them out so
// the (flow, status, id) index answers per status.
var runStatuses = []string{store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunDead, store.RunCanceled}

// lastRunQuery finds a flow's newest run with one index seek per status
// (ORDER BY id DESC over all of a flow's runs would sort them all).
var lastRunQuery = func() string {
	parts := make([]string, len(runStatuses))
	for i, st := range runStatuses {
		parts[i] = `SELECT MAX(id) AS m FROM runs WHERE flow = ? AND status = '` + st + `'`
	}
	return `SELECT id, status, created_at FROM runs WHERE id = (SELECT MAX(m) FROM (` + strings.Join(parts, " UNION ALL ") + `) AS t)`
}()

// idFloor is the smallest time-ordered (UUIDv7) run id of t's millisecond:
// every run created at or after t has an id at or above it, so a time
// window is a range of the primary key.
func idFloor(t time.Time) string {
	ms := uint64(t.UnixMilli())
	return fmt.Sprintf("%08x-%04x-0000-0000-000000000000", ms>>16, ms&0xffff)
}

// FlowActivity implements store.Store.
func (s *Store) FlowActivity(ctx context.Context, since time.Time) (map[string]store.FlowActivity, error) {
	out := map[string]store.FlowActivity{}
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM flows ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err, "flow activity")
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, s.wrap(err, "flow activity")
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "flow activity")
	}
	for _, n := range names {
		args := make([]any, len(runStatuses))
		for i := range args {
			args[i] = n
		}
		var ref store.RunRef
		var created int64
		err := s.r.QueryRowContext(ctx, s.q(lastRunQuery), args...).Scan(&ref.ID, &ref.Status, &created)
		fa := store.FlowActivity{}
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, s.wrap(err, "flow activity")
		default:
			ref.CreatedAt = fromMicros(created)
			fa.LastRun = &ref
		}
		out[n] = fa
	}
	// The window is a range of ids (time-ordered) narrowed by created_at;
	// a minute of slack covers ids made just before their created_at.
	rows, err = s.r.QueryContext(ctx, s.q(`SELECT flow, status, COUNT(*) FROM runs WHERE id >= ? AND created_at >= ? GROUP BY flow, status`),
		idFloor(since.Add(-time.Minute)), micros(since))
	if err != nil {
		return nil, s.wrap(err, "flow activity")
	}
	defer rows.Close()
	for rows.Next() {
		var flow, status string
		var n int64
		if err := rows.Scan(&flow, &status, &n); err != nil {
			return nil, s.wrap(err, "flow activity")
		}
		fa, ok := out[flow]
		if !ok {
			continue // a pseudo-flow (mcp:...) or a flow deployed since
		}
		fa.Runs += n
		if status == store.RunFailed || status == store.RunDead {
			fa.Failed += n
		}
		out[flow] = fa
	}
	return out, s.wrap(rows.Err(), "flow activity")
}

// ToolCalls implements store.Store. Each tool call is a run of the
// pseudo-flow mcp:<toolset> with one attempt: step = the tool, worker =
// key:<key id>.
func (s *Store) ToolCalls(ctx context.Context, f store.ToolCallFilter) ([]store.ToolCall, error) {
	where := []string{`r.trigger_kind = 'mcp'`, `r.flow LIKE 'mcp:%'`}
	var args []any
	if f.Key != "" {
		where, args = append(where, "a.worker = ?"), append(args, "key:"+f.Key)
	}
	if f.Tool != "" {
		where, args = append(where, "a.step = ?"), append(args, f.Tool)
	}
	if f.Before != "" {
		where, args = append(where, "r.id < ?"), append(args, f.Before)
	}
	if len(f.Toolsets) > 0 {
		where = append(where, "r.flow IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Toolsets)), ", ")+")")
		for _, t := range f.Toolsets {
			args = append(args, "mcp:"+t)
		}
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > store.MaxRunsPage:
		f.Limit = store.MaxRunsPage
	}
	q := `SELECT r.id, r.flow, r.status, r.created_at, r.error_message, a.step, a.worker, a.duration_us FROM runs r
		JOIN step_attempts a ON a.run_id = r.id WHERE ` + strings.Join(where, " AND ") + ` ORDER BY r.id DESC LIMIT ` + strconv.Itoa(f.Limit)
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap(err, "tool calls")
	}
	defer rows.Close()
	out := []store.ToolCall{}
	for rows.Next() {
		var c store.ToolCall
		var created int64
		var emsg, worker sql.NullString
		if err := rows.Scan(&c.ID, &c.Toolset, &c.Status, &created, &emsg, &c.Tool, &worker, &c.DurationUS); err != nil {
			return nil, s.wrap(err, "tool calls")
		}
		c.At, c.Error = fromMicros(created), emsg.String
		c.Toolset = strings.TrimPrefix(c.Toolset, "mcp:")
		c.Key = strings.TrimPrefix(worker.String, "key:")
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "tool calls")
	}
	rows.Close()
	for i := range out {
		if out[i].Error, err = s.open(ctx, "runs.error_message", out[i].ID, out[i].Error); err != nil {
			return nil, err
		}
	}
	return out, nil
}
