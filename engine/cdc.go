package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors/cdc"
	"github.com/weftio/weft/flow"
)

// CDC defaults.
const (
	defaultCDCMaxRuns = 1000
	cdcReadWait       = 200 * time.Millisecond
	cdcRetryAfter     = 5 * time.Second
)

// cdcSource serves cdc triggers: one replication stream per flow, read
// during Pull. It returns the changes of whole transactions, oldest first,
// as events whose idempotency key is the transaction's commit LSN and the
// change's position in it. The stored cursor is the end LSN of the last
// transaction whose runs are all committed (and, while a big transaction is
// split over several pulls, the position reached in it). Pull confirms the
// stored cursor to the server, so the slot moves only past changes whose
// runs are committed; a restart or a crash replays from there and the
// idempotency keys keep a replayed change from starting a second run.
type cdcSource struct {
	e     *Engine
	mu    sync.Mutex
	flows map[string]*cdcFlow
}

type cdcFlow struct {
	mu      sync.Mutex
	fp      string
	st      *cdc.Stream
	queue   []cdc.Change
	retryAt time.Time
	// Guarded by cdcSource.mu, for CDCStatuses during a pull.
	open    bool
	lag     int64
	err     string
	trouble trouble // for Config.OnCDC (under mu)
}

// CDCTrouble is a cdc stream's trouble, or its end (Resolved).
type CDCTrouble struct {
	Flow, Slot string
	Message    string
	Resolved   bool
}

// watch raises and resolves Config.OnCDC for one pull's outcome.
func (s *cdcSource) watch(ctx context.Context, name string, fl *cdcFlow, err error, now time.Time) {
	hook := s.e.cfg.OnCDC
	if hook == nil {
		return
	}
	limit := s.e.cfg.CDCLagAlert
	if limit == 0 {
		limit = 1 << 30
	}
	after := s.e.cfg.CDCAlertAfter
	if after <= 0 {
		after = time.Minute
	}
	var msg string
	switch {
	case err != nil:
		msg = err.Error()
	case fl.st == nil:
		return // waiting to retry, or another process streams it: no news
	case limit > 0 && fl.st.Lag() > limit:
		msg = fmt.Sprintf("cdc: slot %s holds %d MiB of WAL past its confirmed position (alert above %d MiB): runs are not keeping up with the changes, or the stream is stuck", CDCSlotName(name), fl.st.Lag()>>20, limit>>20)
	}
	slot := CDCSlotName(name)
	raise, resolve := fl.trouble.observe(msg != "", now, after)
	switch {
	case raise:
		hook(ctx, CDCTrouble{Flow: name, Slot: slot, Message: msg})
	case resolve:
		hook(ctx, CDCTrouble{Flow: name, Slot: slot, Message: "cdc: the stream is well again", Resolved: true})
	}
}

// report records a flow's stream state for CDCStatuses.
func (s *cdcSource) report(fl *cdcFlow, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl.open = fl.st != nil
	if fl.st != nil {
		fl.lag = fl.st.Lag()
	}
	fl.err = ""
	if err != nil {
		fl.err = err.Error()
	}
}

func newCDCSource(e *Engine) *cdcSource { return &cdcSource{e: e, flows: map[string]*cdcFlow{}} }

// Kind implements Source.
func (s *cdcSource) Kind() string { return flow.TriggerCDC }

// CDCSlotName is the replication slot (and publication) of a flow: a
// PostgreSQL-safe form of its name plus a hash of the name, so that two
// flows never share one.
func CDCSlotName(flowName string) string { return sourceName(flowName, "") }

// cdcCursor is a cdc trigger's stored position.
type cdcCursor struct {
	Slot string `json:"slot"`
	LSN  string `json:"lsn"`           // end of the last transaction fully fired
	Tx   string `json:"tx,omitempty"`  // commit LSN of a transaction fired in part
	Pos  int    `json:"pos,omitempty"` // changes of Tx fired
	lsn  pglogrepl.LSN
	tx   pglogrepl.LSN
}

func parseCDCCursor(s string) (cdcCursor, error) {
	var c cdcCursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("cdc: stored cursor %q is not a cdc cursor: %v", s, err)
	}
	var err error
	if c.lsn, err = pglogrepl.ParseLSN(c.LSN); err != nil {
		return c, fmt.Errorf("cdc: stored cursor %q: %v", s, err)
	}
	if c.Tx != "" {
		if c.tx, err = pglogrepl.ParseLSN(c.Tx); err != nil {
			return c, fmt.Errorf("cdc: stored cursor %q: %v", s, err)
		}
	}
	return c, nil
}

func (c cdcCursor) String() string {
	c.LSN = c.lsn.String()
	c.Tx = ""
	if c.tx != 0 {
		c.Tx = c.tx.String()
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// covers reports whether the change was fired before this cursor.
func (c cdcCursor) covers(ch cdc.Change) bool {
	return ch.EndLSN <= c.lsn || ch.CommitLSN == c.tx && ch.Pos < c.Pos
}

func (s *cdcSource) flow(name string) *cdcFlow {
	s.mu.Lock()
	defer s.mu.Unlock()
	fl := s.flows[name]
	if fl == nil {
		fl = &cdcFlow{}
		s.flows[name] = fl
	}
	return fl
}

func (fl *cdcFlow) close() {
	if fl.st != nil {
		fl.st.Close()
	}
	fl.st, fl.queue = nil, nil
}

func (s *cdcSource) dsn(ctx context.Context, f *flow.Flow) (string, error) {
	ct := f.Trigger.CDC
	c, ok := s.e.cat.LookupConnection(ct.Connection)
	if ok && f.Namespace != "" && access.NamespaceOr(c.Namespace) != f.Namespace {
		return "", fmt.Errorf("cdc: connection %q belongs to namespace %q, not the flow's (%q)", ct.Connection, access.NamespaceOr(c.Namespace), f.Namespace)
	}
	conn, err := s.e.connection(ctx, ct.Connection, "postgres")
	if err != nil {
		return "", fmt.Errorf("cdc: %v", err)
	}
	dsn := conn.Secrets["dsn"]
	if dsn == "" {
		return "", fmt.Errorf("cdc: connection %q has no secrets.dsn", ct.Connection)
	}
	return dsn, nil
}

// Pull implements Source.
func (s *cdcSource) Pull(ctx context.Context, f *flow.Flow, cursor string, now time.Time) (evs []Event, next string, err error) {
	fl := s.flow(f.Name)
	if !fl.mu.TryLock() {
		return nil, cursor, nil // another goroutine of this process is pulling it
	}
	defer fl.mu.Unlock()
	evs, next, err = s.pull(ctx, fl, f, cursor, now)
	if err != nil || fl.st != nil {
		s.report(fl, err)
	}
	s.watch(ctx, f.Name, fl, err, now)
	return evs, next, err
}

func (s *cdcSource) pull(ctx context.Context, fl *cdcFlow, f *flow.Flow, cursor string, now time.Time) ([]Event, string, error) {
	ct := f.Trigger.CDC
	cur, err := parseCDCCursor(cursor)
	if err != nil {
		return nil, cursor, err
	}
	dsn, err := s.dsn(ctx, f)
	if err != nil {
		return nil, cursor, err
	}
	slot := CDCSlotName(f.Name)
	sum := sha256.Sum256([]byte(dsn + "\x00" + ct.Table + "\x00" + slot + "\x00" + strings.Join(ct.On, ",")))
	fp := hex.EncodeToString(sum[:8])
	if fl.st != nil && fl.fp != fp {
		fl.close()
	}
	if fl.st == nil {
		if now.Before(fl.retryAt) {
			return nil, cursor, nil
		}
		st, err := cdc.Open(ctx, cdc.Config{DSN: dsn, Slot: slot, Publication: slot, Table: ct.Table, Create: cursor == "",
			OldRows: ct.Watches(flow.CDCUpdate) || ct.Watches(flow.CDCDelete), Dial: s.e.dialer("connection " + ct.Connection)})
		if err != nil {
			fl.retryAt = now.Add(cdcRetryAfter)
			if errors.Is(err, cdc.ErrSlotBusy) {
				return nil, cursor, nil // another process streams this flow's changes
			}
			return nil, cursor, err
		}
		fl.st, fl.fp = st, fp
		if cursor == "" {
			// A new slot: changes committed from here on start runs.
			return nil, cdcCursor{Slot: slot, lsn: st.Start}.String(), nil
		}
	}
	// The stored cursor is committed with the runs before it: confirm it.
	if cur.lsn > fl.st.Confirmed() {
		if err := fl.st.Confirm(cur.lsn); err != nil {
			fl.close()
			return nil, cursor, err
		}
	}
	kept := fl.queue[:0]
	for _, ch := range fl.queue {
		if !cur.covers(ch) {
			kept = append(kept, ch)
		}
	}
	fl.queue = kept
	max := ct.MaxRuns
	if max <= 0 {
		max = defaultCDCMaxRuns
	}
	if len(fl.queue) < max {
		got, err := fl.st.Read(ctx, cdcReadWait, max-len(fl.queue))
		if err != nil {
			fl.close()
			if ctx.Err() != nil {
				return nil, cursor, nil // stopping
			}
			fl.retryAt = now.Add(cdcRetryAfter)
			return nil, cursor, err
		}
		for _, ch := range got {
			if !cur.covers(ch) {
				fl.queue = append(fl.queue, ch)
			}
		}
	}
	batch := fl.queue
	if len(batch) > max {
		batch = batch[:max]
	}
	if len(batch) == 0 {
		return nil, cursor, nil
	}
	next := cdcCursor{Slot: slot, lsn: cur.lsn, tx: cur.tx, Pos: cur.Pos}
	events := make([]Event, 0, len(batch))
	for _, ch := range batch {
		if ch.Last {
			next.lsn, next.tx, next.Pos = ch.EndLSN, 0, 0
		} else {
			next.tx, next.Pos = ch.CommitLSN, ch.Pos+1
		}
		if !ct.Watches(ch.Op) {
			continue
		}
		ev := cdcEvent(ch)
		if w := ct.Compiled(); w != nil {
			ok, err := w.EvalBool(&flow.Scope{Trigger: ev.input(), Run: map[string]any{"started_at": now.UTC()}})
			if err != nil {
				// A condition that cannot be evaluated on a row must not stall
				// the flow: the change is passed over, and said so.
				s.e.log.Warn("cdc: when", "flow", f.Name, "lsn", ev.Fields["lsn"], "err", err)
				continue
			}
			if !ok {
				continue
			}
			if ct.Edge && ch.Op == cdc.Update && ch.Old != nil {
				// Edge: the condition must have crossed, not held already
				// for the row before the change (evaluated as if it were
				// the new row; an old row the condition cannot be
				// evaluated on did not hold).
				prev := ch
				prev.New, prev.Old = ch.Old, nil
				pe := cdcEvent(prev)
				if held, err := w.EvalBool(&flow.Scope{Trigger: pe.input(), Run: map[string]any{"started_at": now.UTC()}}); err == nil && held {
					continue
				}
			}
		}
		events = append(events, ev)
	}
	return events, next.String(), nil
}

// cdcEvent is the trigger event of one change: trigger.op, table, new, old,
// lsn, position, commit_time and xid, and body (the new row, or the old one
// for a delete).
func cdcEvent(ch cdc.Change) Event {
	body := ch.New
	if ch.Op == cdc.Delete {
		body = ch.Old
	}
	var newRow, oldRow any
	if ch.New != nil {
		newRow = ch.New
	}
	if ch.Old != nil {
		oldRow = ch.Old
	}
	fields := map[string]any{
		"op": ch.Op, "table": ch.Schema + "." + ch.Table, "new": newRow, "old": oldRow,
		"lsn": ch.CommitLSN.String(), "position": int64(ch.Pos), "xid": int64(ch.Xid),
		"commit_time": ch.CommitTime.UTC().Format(time.RFC3339Nano),
	}
	return Event{Kind: flow.TriggerCDC, Body: body, Fields: fields,
		IdemKey: fmt.Sprintf("cdc:%s#%d", ch.CommitLSN, ch.Pos)}
}

// CDCStatus is the state of one flow's change stream in this process.
type CDCStatus struct {
	Flow     string `json:"flow"`
	Slot     string `json:"slot"`
	LagBytes int64  `json:"lag_bytes"` // WAL the server holds past the confirmed position
	Error    string `json:"error,omitempty"`
}

// CDCStatuses lists the change streams this process serves (for /metrics).
func (e *Engine) CDCStatuses() []CDCStatus {
	e.mu.Lock()
	s, _ := e.sources[flow.TriggerCDC].(*cdcSource)
	e.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CDCStatus
	for name, fl := range s.flows {
		if fl.open || fl.err != "" {
			out = append(out, CDCStatus{Flow: name, Slot: CDCSlotName(name), LagBytes: fl.lag, Error: fl.err})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Flow < out[j].Flow })
	return out
}

// DropCDC stops a cdc flow's stream in this process and drops its
// replication slot and publication from the source database, and clears its
// stored position: a later deploy starts from then on. Use it when a cdc flow
// goes away, or the slot keeps the server's WAL for ever.
func (e *Engine) DropCDC(ctx context.Context, flowName string) error {
	f, _, err := e.Flow(ctx, flowName, 0)
	if err != nil {
		return err
	}
	if f.Trigger.CDC == nil {
		return weft.Errorf(weft.EInvalid, "cdc: flow %q has no cdc trigger", flowName)
	}
	e.mu.Lock()
	s, _ := e.sources[flow.TriggerCDC].(*cdcSource)
	e.mu.Unlock()
	if s == nil {
		s = newCDCSource(e)
	}
	fl := s.flow(flowName)
	fl.mu.Lock()
	fl.close()
	fl.mu.Unlock()
	dsn, err := s.dsn(ctx, f)
	if err != nil {
		return err
	}
	slot := CDCSlotName(flowName)
	if err := cdc.Drop(ctx, dsn, slot, slot, e.dialer("connection "+f.Trigger.CDC.Connection)); err != nil {
		return err
	}
	return e.st.SetTriggerCursor(ctx, flowName, "")
}

// closeAll ends this process's change streams (the slots stay, at their
// confirmed positions).
func (s *cdcSource) closeAll() {
	s.mu.Lock()
	flows := make([]*cdcFlow, 0, len(s.flows))
	for _, fl := range s.flows {
		flows = append(flows, fl)
	}
	s.mu.Unlock()
	for _, fl := range flows {
		fl.mu.Lock()
		fl.close()
		s.report(fl, nil)
		fl.mu.Unlock()
	}
}

// closeCDC ends the change streams when this process stops pulling triggers.
func (e *Engine) closeCDC() {
	e.mu.Lock()
	s, _ := e.sources[flow.TriggerCDC].(*cdcSource)
	e.mu.Unlock()
	if s != nil {
		s.closeAll()
	}
}

// sweepCDC ends the streams of flows that no longer have a cdc trigger (a
// redeploy with another trigger), so that their slots are not held open.
// The slots themselves stay (DropCDC removes one).
func (e *Engine) sweepCDC(active map[string]bool) {
	e.mu.Lock()
	s, _ := e.sources[flow.TriggerCDC].(*cdcSource)
	e.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	var gone []*cdcFlow
	for name, fl := range s.flows {
		if !active[name] {
			gone = append(gone, fl)
			delete(s.flows, name)
		}
	}
	s.mu.Unlock()
	for _, fl := range gone {
		fl.mu.Lock()
		fl.close()
		fl.mu.Unlock()
	}
}

// dialer is Config.Dialer's dial function for who (nil without one).
func (e *Engine) dialer(who string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.cfg.Dialer == nil {
		return nil
	}
	return e.cfg.Dialer(who)
}
