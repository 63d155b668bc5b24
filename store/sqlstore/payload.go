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

// sealedPrefix starts every sealed payload (internal/seal.Prefix).
const sealedPrefix = "wsl1:"

// SetPayloadSealer turns on encryption at rest of payload columns: from now
// on the store seals what it writes to runs (input, output, override, error
// message) and step_attempts (input, output, checkpoint, error message) and
// opens what it reads. Rows written before stay readable as they are.
// Call it once, before the store is used.
func (s *Store) SetPayloadSealer(p store.PayloadSealer) { s.payload = p }

// aad binds a sealed value to its column and run.
func aad(col, runID string) string { return col + ":" + runID }

// sealRaw seals a JSON column value (nil stays NULL).
func (s *Store) sealRaw(ctx context.Context, col, runID string, b []byte) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if s.payload == nil {
		return string(b), nil
	}
	v, err := s.payload.Seal(ctx, aad(col, runID), b)
	if err != nil {
		return nil, weft.Errorf(weft.EUnavailable, "sealing %s: %v", col, err)
	}
	return v, nil
}

// sealStr seals a text column value ("" stays NULL).
func (s *Store) sealStr(ctx context.Context, col, runID, v string) (any, error) {
	if v == "" {
		return nil, nil
	}
	return s.sealRaw(ctx, col, runID, []byte(v))
}

// open opens a column value read from the database; plaintext (legacy)
// values come back as they are.
func (s *Store) open(ctx context.Context, col, runID string, v string) (string, error) {
	if !strings.HasPrefix(v, sealedPrefix) {
		return v, nil
	}
	if s.payload == nil {
		return "", weft.Errorf(weft.EUnavailable, "run %s: %s is sealed and no master key is configured", runID, col)
	}
	b, err := s.payload.Open(ctx, aad(col, runID), v)
	if err != nil {
		return "", weft.Errorf(weft.EUnavailable, "run %s: %s does not open: %v (is this the right master key?)", runID, col, err)
	}
	return string(b), nil
}

// runPayload is a run's payload columns as written (sealed or not), and
// its packed attempts (packed.go; never payloads, so never sealed).
type runPayload struct{ input, output, emsg, override, attempts any }

func (s *Store) sealRun(ctx context.Context, r *store.Run) (p runPayload, err error) {
	if p.input, err = s.sealRaw(ctx, "runs.input", r.ID, r.Input); err != nil {
		return p, err
	}
	if p.output, err = s.sealRaw(ctx, "runs.output", r.ID, r.Output); err != nil {
		return p, err
	}
	if p.emsg, err = s.sealStr(ctx, "runs.error_message", r.ID, r.ErrorMessage); err != nil {
		return p, err
	}
	if r.Override != nil {
		b, _ := json.Marshal(r.Override)
		if p.override, err = s.sealRaw(ctx, "runs.override", r.ID, b); err != nil {
			return p, err
		}
	}
	return p, nil
}

// openRuns opens the sealed columns of runs read from the database.
func (s *Store) openRuns(ctx context.Context, runs []*store.Run, ovs []string) error {
	for i, r := range runs {
		if len(r.Input) > 0 {
			v, err := s.open(ctx, "runs.input", r.ID, string(r.Input))
			if err != nil {
				return err
			}
			r.Input = json.RawMessage(v)
		}
		if len(r.Output) > 0 {
			v, err := s.open(ctx, "runs.output", r.ID, string(r.Output))
			if err != nil {
				return err
			}
			r.Output = json.RawMessage(v)
		}
		var err error
		if r.ErrorMessage, err = s.open(ctx, "runs.error_message", r.ID, r.ErrorMessage); err != nil {
			return err
		}
		if ovs[i] != "" {
			v, err := s.open(ctx, "runs.override", r.ID, ovs[i])
			if err != nil {
				return err
			}
			r.Override = &store.Override{}
			_ = json.Unmarshal([]byte(v), r.Override)
		}
	}
	return nil
}

// attemptPayload is an attempt's payload columns as written.
type attemptPayload struct{ emsg, input, output, checkpoint any }

func (s *Store) sealAttempts(ctx context.Context, as []store.Attempt) ([]attemptPayload, error) {
	out := make([]attemptPayload, len(as))
	for i := range as {
		a, p := &as[i], &out[i]
		var err error
		if p.emsg, err = s.sealStr(ctx, "step_attempts.error_message", a.RunID, a.ErrorMessage); err != nil {
			return nil, err
		}
		if p.input, err = s.sealRaw(ctx, "step_attempts.input", a.RunID, a.Input); err != nil {
			return nil, err
		}
		if p.output, err = s.sealRaw(ctx, "step_attempts.output", a.RunID, a.Output); err != nil {
			return nil, err
		}
		if p.checkpoint, err = s.sealRaw(ctx, "step_attempts.checkpoint", a.RunID, a.Checkpoint); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SaveDataKey implements store.Store.
func (s *Store) SaveDataKey(ctx context.Context, id, keyID string, wrapped []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO data_keys (id, key_id, wrapped, created_at) VALUES (?, ?, ?, ?)`), id, keyID, wrapped, micros(time.Now()))
		return s.wrap(err, "save data key")
	})
}

// DataKey implements store.Store.
func (s *Store) DataKey(ctx context.Context, id string) (string, []byte, error) {
	var keyID string
	var wrapped []byte
	err := s.r.QueryRowContext(ctx, s.q(`SELECT key_id, wrapped FROM data_keys WHERE id = ?`), id).Scan(&keyID, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, weft.Errorf(weft.ENotFound, "no data key %q", id)
	}
	return keyID, wrapped, s.wrap(err, "data key")
}

// RewrapDataKeys implements store.Store.
func (s *Store) RewrapDataKeys(ctx context.Context, current string, limit int, fn func(id, keyID string, wrapped []byte) (string, []byte, error)) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, key_id, wrapped FROM data_keys WHERE key_id <> ? ORDER BY id LIMIT ?`), current, limit)
	if err != nil {
		return 0, s.wrap(err, "data keys")
	}
	type dk struct {
		id, keyID string
		wrapped   []byte
	}
	var stale []dk
	for rows.Next() {
		var d dk
		if err := rows.Scan(&d.id, &d.keyID, &d.wrapped); err != nil {
			rows.Close()
			return 0, s.wrap(err, "data keys")
		}
		stale = append(stale, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, s.wrap(err, "data keys")
	}
	if len(stale) == 0 {
		return 0, nil
	}
	for i := range stale {
		if stale[i].keyID, stale[i].wrapped, err = fn(stale[i].id, stale[i].keyID, stale[i].wrapped); err != nil {
			return 0, err
		}
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, d := range stale {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE data_keys SET key_id = ?, wrapped = ? WHERE id = ?`), d.keyID, d.wrapped, d.id); err != nil {
				return s.wrap(err, "rewrap data key")
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(stale), nil
}

// shippedCursor starts SealPlaintext's cursor once it passes from the runs
// to the runs agents shipped (agent_runs): then SITE NUL ID follows.
const shippedCursor = "\x00agent_runs\x00"

// SealPlaintext implements store.Store: it seals the payload columns of
// up to limit runs after the cursor (and of their attempts) that were
// written before sealing was on; once the runs are done, those of the
// runs agents shipped (a control plane's agent_runs: input and output).
// The cursor is opaque: a run id, then the shipped runs' site and id. Each
// column is replaced only if it still holds the plaintext read, so a
// concurrent write is never lost.
func (s *Store) SealPlaintext(ctx context.Context, after string, limit int) (string, int, error) {
	if s.payload == nil {
		return "", 0, weft.Errorf(weft.EUnavailable, "no master key is configured")
	}
	if limit <= 0 {
		limit = 200
	}
	if rest, ok := strings.CutPrefix(after, shippedCursor); ok {
		return s.sealPlaintextShipped(ctx, rest, limit)
	}
	next, n, err := s.sealPlaintextRuns(ctx, after, limit)
	if err != nil || next != "" {
		return next, n, err
	}
	return s.sealPlaintextShipped(ctx, "", limit)
}

// sealPlaintextShipped seals the plaintext payloads of up to limit shipped
// runs after the cursor (SITE NUL ID; "" from the start).
func (s *Store) sealPlaintextShipped(ctx context.Context, after string, limit int) (string, int, error) {
	site, id, _ := strings.Cut(after, "\x00")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT site, id, input, output FROM agent_runs WHERE site > ? OR (site = ? AND id > ?) ORDER BY site, id LIMIT ?`), site, site, id, limit)
	if err != nil {
		return "", 0, s.wrap(err, "seal plaintext of shipped runs")
	}
	type upd struct {
		col, site, id string
		old, new      any
	}
	var ups []upd
	var last [2]string
	seen := 0
	for rows.Next() {
		var site, id string
		var cols [2]sql.NullString
		if err := rows.Scan(&site, &id, &cols[0], &cols[1]); err != nil {
			rows.Close()
			return "", 0, s.wrap(err, "seal plaintext of shipped runs")
		}
		seen++
		last = [2]string{site, id}
		for c, col := range [2]string{"input", "output"} {
			v := cols[c]
			if !v.Valid || v.String == "" || strings.HasPrefix(v.String, sealedPrefix) {
				continue
			}
			sv, err := s.sealRaw(ctx, "agent_runs."+col, site+"/"+id, []byte(v.String))
			if err != nil {
				rows.Close()
				return "", 0, err
			}
			ups = append(ups, upd{col, site, id, v.String, sv})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", 0, s.wrap(err, "seal plaintext of shipped runs")
	}
	if seen == 0 {
		return "", 0, nil
	}
	if len(ups) > 0 {
		err := s.write(ctx, func(tx *sql.Tx) error {
			for _, u := range ups {
				q := `UPDATE agent_runs SET ` + u.col + ` = ? WHERE site = ? AND id = ? AND ` + u.col + ` = ?`
				if _, err := tx.ExecContext(ctx, s.q(q), u.new, u.site, u.id, u.old); err != nil {
					return s.wrap(err, "seal plaintext of shipped runs")
				}
			}
			return nil
		})
		if err != nil {
			return "", 0, err
		}
	}
	return shippedCursor + last[0] + "\x00" + last[1], len(ups), nil
}

// sealPlaintextRuns is SealPlaintext's pass over the runs and their
// attempts.
func (s *Store) sealPlaintextRuns(ctx context.Context, after string, limit int) (string, int, error) {
	type upd struct {
		table, col string
		key        any
		old, new   any
	}
	var ups []upd
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, input, output, error_message, override FROM runs WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return "", 0, s.wrap(err, "seal plaintext")
	}
	type rrow struct {
		id   string
		cols [4]sql.NullString
	}
	var rr []rrow
	for rows.Next() {
		var r rrow
		if err := rows.Scan(&r.id, &r.cols[0], &r.cols[1], &r.cols[2], &r.cols[3]); err != nil {
			rows.Close()
			return "", 0, s.wrap(err, "seal plaintext")
		}
		rr = append(rr, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", 0, s.wrap(err, "seal plaintext")
	}
	if len(rr) == 0 {
		return "", 0, nil
	}
	runCols := [4]string{"input", "output", "error_message", "override"}
	ids := make([]any, len(rr))
	for i, r := range rr {
		ids[i] = r.id
		for c, v := range r.cols {
			if !v.Valid || v.String == "" || strings.HasPrefix(v.String, sealedPrefix) {
				continue
			}
			sv, err := s.sealRaw(ctx, "runs."+runCols[c], r.id, []byte(v.String))
			if err != nil {
				return "", 0, err
			}
			ups = append(ups, upd{"runs", runCols[c], r.id, v.String, sv})
		}
	}
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	arows, err := s.r.QueryContext(ctx, s.q(`SELECT id, run_id, error_message, input, output, checkpoint FROM step_attempts WHERE run_id IN (`+ph+`)`), ids...)
	if err != nil {
		return "", 0, s.wrap(err, "seal plaintext")
	}
	attCols := [4]string{"error_message", "input", "output", "checkpoint"}
	for arows.Next() {
		var id int64
		var runID string
		var cols [4]sql.NullString
		if err := arows.Scan(&id, &runID, &cols[0], &cols[1], &cols[2], &cols[3]); err != nil {
			arows.Close()
			return "", 0, s.wrap(err, "seal plaintext")
		}
		for c, v := range cols {
			if !v.Valid || v.String == "" || strings.HasPrefix(v.String, sealedPrefix) {
				continue
			}
			sv, err := s.sealRaw(ctx, "step_attempts."+attCols[c], runID, []byte(v.String))
			if err != nil {
				arows.Close()
				return "", 0, err
			}
			ups = append(ups, upd{"step_attempts", attCols[c], id, v.String, sv})
		}
	}
	arows.Close()
	if err := arows.Err(); err != nil {
		return "", 0, s.wrap(err, "seal plaintext")
	}
	if len(ups) > 0 {
		err = s.write(ctx, func(tx *sql.Tx) error {
			for _, u := range ups {
				q := `UPDATE ` + u.table + ` SET ` + u.col + ` = ? WHERE id = ? AND ` + u.col + ` = ?`
				if _, err := tx.ExecContext(ctx, s.q(q), u.new, u.key, u.old); err != nil {
					return s.wrap(err, "seal plaintext")
				}
			}
			return nil
		})
		if err != nil {
			return "", 0, err
		}
	}
	return rr[len(rr)-1].id, len(ups), nil
}
