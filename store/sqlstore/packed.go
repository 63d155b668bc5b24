package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"unsafe"

	"github.com/weftio/weft/internal/jsonenc"
	"github.com/weftio/weft/store"
)

// Packed attempts (migration 021). A finished run recorded in one write
// (InsertRuns: the sync path) keeps its attempts in its own row, in
// runs.attempts, when none of them carries a payload: the commit then
// inserts one row and its index entries per run instead of one more row
// and index entry per attempt. ListAttempts and Checkpoints expand them,
// so every reader (the API, the console, replay, the DLQ) sees the same
// attempts either way. Attempts with payloads (sealed columns), tool
// calls (ToolCalls selects on attempt columns in SQL) and long runs stay
// rows.

// maxPacked bounds the attempts packed into one run row (a foreach of
// thousands of iterations stays rows).
const maxPacked = 32

// packedAttempt is one attempt in runs.attempts; the run's id, flow,
// version and trigger are its row's.
type packedAttempt struct {
	Step       string `json:"s"`
	Key        string `json:"k"`
	Kind       string `json:"t"`
	Attempt    int    `json:"a"`
	Status     string `json:"st"`
	Worker     string `json:"w,omitempty"`
	Started    int64  `json:"b"`
	Finished   int64  `json:"f"`
	DurationUS int64  `json:"d"`
	InputSize  int    `json:"i"`
	OutputSize int    `json:"o"`
	ErrorClass string `json:"e,omitempty"`
}

// packable reports whether lr's attempts can go into its run row.
func packable(lr store.LoggedRun) bool {
	r := lr.Run
	if len(lr.Attempts) == 0 || len(lr.Attempts) > maxPacked || r.TriggerKind == "mcp" {
		return false
	}
	for i := range lr.Attempts {
		a := &lr.Attempts[i]
		if a.RunID != r.ID || a.Flow != r.Flow || a.Version != r.Version || a.TriggerKind != r.TriggerKind ||
			a.ErrorMessage != "" || len(a.Input) > 0 || len(a.Output) > 0 || len(a.Checkpoint) > 0 {
			return false
		}
	}
	return true
}

// packAttempts encodes as (packable) in packedAttempt's form, keys in
// field order.
func packAttempts(as []store.Attempt) string {
	b := make([]byte, 0, 160*len(as))
	b = append(b, '[')
	for i := range as {
		a := &as[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(append(b, `{"s":`...), a.StepID)
		b = appendStr(append(b, `,"k":`...), a.StepKey)
		b = appendStr(append(b, `,"t":`...), a.Kind)
		b = strconv.AppendInt(append(b, `,"a":`...), int64(a.Attempt), 10)
		b = appendStr(append(b, `,"st":`...), a.Status)
		if a.Worker != "" {
			b = appendStr(append(b, `,"w":`...), a.Worker)
		}
		b = strconv.AppendInt(append(b, `,"b":`...), micros(a.StartedAt), 10)
		b = strconv.AppendInt(append(b, `,"f":`...), micros(a.FinishedAt), 10)
		b = strconv.AppendInt(append(b, `,"d":`...), a.DurationUS, 10)
		b = strconv.AppendInt(append(b, `,"i":`...), int64(a.InputSize), 10)
		b = strconv.AppendInt(append(b, `,"o":`...), int64(a.OutputSize), 10)
		if a.ErrorClass != "" {
			b = appendStr(append(b, `,"e":`...), a.ErrorClass)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is not written again
}

func appendStr(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

// packedAttempts reads the attempts packed in run id's row (none when the
// run has none packed or does not exist).
func (s *Store) packedAttempts(ctx context.Context, id string) ([]store.Attempt, error) {
	var packed sql.NullString
	var r store.Run
	err := s.r.QueryRowContext(ctx, s.q(`SELECT flow, version, trigger_kind, attempts FROM runs WHERE id = ?`), id).
		Scan(&r.Flow, &r.Version, &r.TriggerKind, &packed)
	if err == sql.ErrNoRows || (err == nil && !packed.Valid) {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(err, "list attempts")
	}
	var ps []packedAttempt
	if err := json.Unmarshal([]byte(packed.String), &ps); err != nil {
		return nil, s.wrap(err, "read packed attempts of run "+id)
	}
	out := make([]store.Attempt, len(ps))
	for i, p := range ps {
		out[i] = store.Attempt{RunID: id, Flow: r.Flow, Version: r.Version, TriggerKind: r.TriggerKind,
			StepID: p.Step, StepKey: p.Key, Kind: p.Kind, Attempt: p.Attempt, Status: p.Status, Worker: p.Worker,
			StartedAt: fromMicros(p.Started), FinishedAt: fromMicros(p.Finished), DurationUS: p.DurationUS,
			InputSize: p.InputSize, OutputSize: p.OutputSize, ErrorClass: p.ErrorClass}
	}
	return out, nil
}
