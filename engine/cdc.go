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
	"github.com/weftio/weft/connectors/binlog"
	"github.com/weftio/weft/connectors/cdc"
	"github.com/weftio/weft/flow"
)

// CDC defaults.
const (
	defaultCDCMaxRuns = 1000
	cdcReadWait       = 200 * time.Millisecond
	cdcRetryAfter     = 5 * time.Second
)

// cdcSource serves cdc triggers: one change stream per flow, read during
// Pull — PostgreSQL logical replication (a postgres connection) or a
// MySQL/MariaDB binlog (a mysql connection), both behind cdcStream. It
// returns the changes of whole transactions, oldest first, as events whose
// idempotency key is the transaction's identity (PostgreSQL: the commit
// LSN; binlog: the GTID, or the binlog file and end offset) and the
// change's position in it. The stored cursor is the end of the last
// transaction whose runs are all committed (and, while a big transaction
// is split over several pulls, the position reached in it). Pull acks the
// stored cursor to the stream (PostgreSQL: the slot's confirmed position),
// so the source moves only past changes whose runs are committed; a
// restart or a crash replays from the stored cursor and the idempotency
// keys keep a replayed change from starting a second run.
type cdcSource struct {
	e     *Engine
	mu    sync.Mutex
	flows map[string]*cdcFlow
}

// cdcStream is one flow's open change stream.
type cdcStream interface {
	// read returns the changes of whole transactions read within wait
	// (or until about max are ready), in commit order, and a mark past
	// everything read (zero when the source has none to give: a caller
	// with nothing pending may store it, so a quiet table's position
	// still moves with the log).
	read(ctx context.Context, wait time.Duration, max int) ([]cdcChange, cdcMark, error)
	// ack says the runs of the changes up to m are committed.
	ack(m cdcMark) error
	// lag is how many bytes of log the source holds past the acked mark.
	lag() int64
	close()
}

// cdcMark is a position in a source's log: a PostgreSQL LSN, or a binlog
// file and offset with the GTID set executed up to there.
type cdcMark struct {
	lsn  pglogrepl.LSN
	file string
	off  uint32
	gtid string
}

func (m cdcMark) isZero() bool { return m.lsn == 0 && m.file == "" && m.gtid == "" }

// before reports whether m is before o (marks of one source).
func (m cdcMark) before(o cdcMark) bool {
	if m.file != "" || o.file != "" {
		return binlog.Less(binlog.Position{File: m.file, Offset: m.off}, binlog.Position{File: o.file, Offset: o.off})
	}
	return m.lsn < o.lsn
}

// cdcChange is one row change of either source.
type cdcChange struct {
	op, table  string
	new, old   map[string]any
	tx         string  // the transaction's identity: commit LSN, GTID, or binlog file:offset
	end        cdcMark // the transaction's end: what to store once it is all done
	pos        int     // position of the change in its transaction, from 0
	last       bool    // the last change of its transaction
	commitTime time.Time
	fields     map[string]any // the source's own trigger fields
}

type cdcFlow struct {
	mu      sync.Mutex
	fp      string
	kind    string // the connection's connector: postgres or mysql
	st      cdcStream
	queue   []cdcChange
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
	case limit > 0 && fl.st.lag() > limit && fl.kind == connMySQL:
		msg = fmt.Sprintf("cdc: the binlog stream %s is %d MiB behind the server's binlog end (alert above %d MiB): runs are not keeping up with the changes, or the stream is stuck", CDCSlotName(name), fl.st.lag()>>20, limit>>20)
	case limit > 0 && fl.st.lag() > limit:
		msg = fmt.Sprintf("cdc: slot %s holds %d MiB of WAL past its confirmed position (alert above %d MiB): runs are not keeping up with the changes, or the stream is stuck", CDCSlotName(name), fl.st.lag()>>20, limit>>20)
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
		fl.lag = fl.st.lag()
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
// flows never share one. A binlog stream uses it as its name (its server
// lock, and the seed of its replica server_id).
func CDCSlotName(flowName string) string { return sourceName(flowName, "") }

// cdcCursor is a cdc trigger's stored position.
type cdcCursor struct {
	Slot   string `json:"slot"`
	LSN    string `json:"lsn,omitempty"`    // PostgreSQL: end of the last transaction fully fired
	File   string `json:"file,omitempty"`   // binlog: file and offset after the last transaction fully fired
	Offset uint32 `json:"offset,omitempty"` //
	GTID   string `json:"gtid,omitempty"`   // binlog: the GTID set executed up to there
	Tx     string `json:"tx,omitempty"`     // the identity of a transaction fired in part
	Pos    int    `json:"pos,omitempty"`    // changes of Tx fired
	mark   cdcMark
}

func parseCDCCursor(s string) (cdcCursor, error) {
	var c cdcCursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("cdc: stored cursor %q is not a cdc cursor: %v", s, err)
	}
	c.mark = cdcMark{file: c.File, off: c.Offset, gtid: c.GTID}
	if c.File == "" && c.GTID == "" {
		var err error
		if c.mark.lsn, err = pglogrepl.ParseLSN(c.LSN); err != nil {
			return c, fmt.Errorf("cdc: stored cursor %q: %v", s, err)
		}
	}
	return c, nil
}

func (c cdcCursor) String() string {
	c.LSN, c.File, c.Offset, c.GTID = "", c.mark.file, c.mark.off, c.mark.gtid
	if c.File == "" && c.GTID == "" {
		c.LSN = c.mark.lsn.String()
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// covers reports whether the change was fired before this cursor.
func (c cdcCursor) covers(ch cdcChange) bool {
	return !c.mark.before(ch.end) || ch.tx == c.Tx && ch.pos < c.Pos
}

// pgStream is PostgreSQL logical replication as a cdcStream.
type pgStream struct{ st *cdc.Stream }

func (p pgStream) read(ctx context.Context, wait time.Duration, max int) ([]cdcChange, cdcMark, error) {
	got, err := p.st.Read(ctx, wait, max)
	out := make([]cdcChange, len(got))
	for i, ch := range got {
		out[i] = cdcChange{op: ch.Op, table: ch.Schema + "." + ch.Table, new: ch.New, old: ch.Old, tx: ch.CommitLSN.String(),
			end: cdcMark{lsn: ch.EndLSN}, pos: ch.Pos, last: ch.Last, commitTime: ch.CommitTime,
			fields: map[string]any{"lsn": ch.CommitLSN.String(), "xid": int64(ch.Xid)}}
	}
	return out, cdcMark{}, err
}

func (p pgStream) ack(m cdcMark) error {
	if m.lsn > p.st.Confirmed() {
		return p.st.Confirm(m.lsn)
	}
	return nil
}

func (p pgStream) lag() int64 { return p.st.Lag() }
func (p pgStream) close()     { p.st.Close() }

// binlogStream is a MySQL/MariaDB binlog as a cdcStream.
type binlogStream struct{ st *binlog.Stream }

func binlogMark(p binlog.Position) cdcMark { return cdcMark{file: p.File, off: p.Offset, gtid: p.GTID} }

func (b binlogStream) read(ctx context.Context, wait time.Duration, max int) ([]cdcChange, cdcMark, error) {
	got, progress, err := b.st.Read(ctx, wait, max)
	out := make([]cdcChange, len(got))
	for i, ch := range got {
		var gtid any
		if ch.GTID != "" {
			gtid = ch.GTID
		}
		out[i] = cdcChange{op: ch.Op, table: ch.Schema + "." + ch.Table, new: ch.New, old: ch.Old, tx: ch.TxID(),
			end: binlogMark(ch.End), pos: ch.Pos, last: ch.Last, commitTime: ch.CommitTime,
			fields: map[string]any{"gtid": gtid, "binlog_file": ch.End.File, "binlog_offset": int64(ch.End.Offset)}}
	}
	return out, binlogMark(progress), err
}

func (b binlogStream) ack(m cdcMark) error {
	b.st.Ack(binlog.Position{File: m.file, Offset: m.off, GTID: m.gtid})
	return nil
}

func (b binlogStream) lag() int64 { return b.st.Lag() }
func (b binlogStream) close()     { b.st.Close() }

// Connectors a cdc trigger's connection may be of.
const (
	connPostgres = "postgres"
	connMySQL    = "mysql"
)

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
		fl.st.close()
	}
	fl.st, fl.queue = nil, nil
}

// dsn returns the trigger's connection's DSN and connector (postgres or
// mysql).
func (s *cdcSource) dsn(ctx context.Context, f *flow.Flow) (dsn, kind string, err error) {
	ct := f.Trigger.CDC
	c, ok := s.e.cat.LookupConnection(ct.Connection)
	if ok && f.Namespace != "" && access.NamespaceOr(c.Namespace) != f.Namespace {
		return "", "", fmt.Errorf("cdc: connection %q belongs to namespace %q, not the flow's (%q)", ct.Connection, access.NamespaceOr(c.Namespace), f.Namespace)
	}
	kind = connPostgres
	if ok && c.Connector == connMySQL {
		kind = connMySQL
	}
	conn, err := s.e.connection(ctx, ct.Connection, kind)
	if err != nil {
		return "", "", fmt.Errorf("cdc: %v (a cdc trigger reads a postgres or a mysql connection)", err)
	}
	dsn = conn.Secrets["dsn"]
	if dsn == "" {
		return "", "", fmt.Errorf("cdc: connection %q has no secrets.dsn", ct.Connection)
	}
	return dsn, kind, nil
}

// open starts a flow's stream and returns where it starts.
func (s *cdcSource) open(ctx context.Context, f *flow.Flow, kind, dsn, slot string, cur cdcCursor, fresh bool) (cdcStream, cdcMark, error) {
	ct := f.Trigger.CDC
	dial := s.e.dialer("connection " + ct.Connection)
	if kind == connMySQL {
		st, err := binlog.Open(ctx, binlog.Config{DSN: dsn, Table: ct.Table, Name: slot, Dial: dial,
			From: binlog.Position{File: cur.mark.file, Offset: cur.mark.off, GTID: cur.mark.gtid}})
		if err != nil {
			if errors.Is(err, binlog.ErrBusy) {
				return nil, cdcMark{}, errStreamBusy
			}
			return nil, cdcMark{}, err
		}
		return binlogStream{st}, binlogMark(st.Start), nil
	}
	st, err := cdc.Open(ctx, cdc.Config{DSN: dsn, Slot: slot, Publication: slot, Table: ct.Table, Create: fresh,
		OldRows: ct.Watches(flow.CDCUpdate) || ct.Watches(flow.CDCDelete), Dial: dial})
	if err != nil {
		if errors.Is(err, cdc.ErrSlotBusy) {
			return nil, cdcMark{}, errStreamBusy
		}
		return nil, cdcMark{}, err
	}
	return pgStream{st}, cdcMark{lsn: st.Start}, nil
}

// errStreamBusy: another process streams this flow's changes.
var errStreamBusy = errors.New("cdc: the stream is held by another process")

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
	dsn, kind, err := s.dsn(ctx, f)
	if err != nil {
		return nil, cursor, err
	}
	slot := CDCSlotName(f.Name)
	sum := sha256.Sum256([]byte(kind + "\x00" + dsn + "\x00" + ct.Table + "\x00" + slot + "\x00" + strings.Join(ct.On, ",")))
	fp := hex.EncodeToString(sum[:8])
	if fl.st != nil && fl.fp != fp {
		fl.close()
	}
	if fl.st == nil {
		if now.Before(fl.retryAt) {
			return nil, cursor, nil
		}
		st, start, err := s.open(ctx, f, kind, dsn, slot, cur, cursor == "")
		if err != nil {
			fl.retryAt = now.Add(cdcRetryAfter)
			if errors.Is(err, errStreamBusy) {
				return nil, cursor, nil // another process streams this flow's changes
			}
			return nil, cursor, err
		}
		fl.st, fl.fp, fl.kind = st, fp, kind
		if cursor == "" {
			// A new stream: changes committed from here on start runs.
			return nil, cdcCursor{Slot: slot, mark: start}.String(), nil
		}
	}
	// The stored cursor is committed with the runs before it: ack it.
	if err := fl.st.ack(cur.mark); err != nil {
		fl.close()
		return nil, cursor, err
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
	var progress cdcMark
	if len(fl.queue) < max {
		got, mark, err := fl.st.read(ctx, cdcReadWait, max-len(fl.queue))
		if err != nil {
			fl.close()
			if ctx.Err() != nil {
				return nil, cursor, nil // stopping
			}
			fl.retryAt = now.Add(cdcRetryAfter)
			return nil, cursor, err
		}
		progress = mark
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
	next := cdcCursor{Slot: slot, mark: cur.mark, Tx: cur.Tx, Pos: cur.Pos}
	if len(batch) == 0 {
		if !progress.isZero() && cur.mark.before(progress) {
			next.mark, next.Tx, next.Pos = progress, "", 0
			return nil, next.String(), nil
		}
		return nil, cursor, nil
	}
	events := make([]Event, 0, len(batch))
	for _, ch := range batch {
		if ch.last {
			next.mark, next.Tx, next.Pos = ch.end, "", 0
		} else {
			next.Tx, next.Pos = ch.tx, ch.pos+1
		}
		if !ct.Watches(ch.op) {
			continue
		}
		ev := cdcEvent(ch)
		if w := ct.Compiled(); w != nil {
			ok, err := w.EvalBool(&flow.Scope{Trigger: ev.input(), Run: map[string]any{"started_at": now.UTC()}})
			if err != nil {
				// A condition that cannot be evaluated on a row must not stall
				// the flow: the change is passed over, and said so.
				s.e.log.Warn("cdc: when", "flow", f.Name, "tx", ch.tx, "err", err)
				continue
			}
			if !ok {
				continue
			}
			if ct.Edge && ch.op == flow.CDCUpdate && ch.old != nil {
				// Edge: the condition must have crossed, not held already
				// for the row before the change (evaluated as if it were
				// the new row; an old row the condition cannot be
				// evaluated on did not hold).
				prev := ch
				prev.new, prev.old = ch.old, nil
				pe := cdcEvent(prev)
				if held, err := w.EvalBool(&flow.Scope{Trigger: pe.input(), Run: map[string]any{"started_at": now.UTC()}}); err == nil && held {
					continue
				}
			}
		}
		events = append(events, ev)
	}
	if len(batch) == len(fl.queue) && !progress.isZero() && next.Tx == "" && next.mark.before(progress) {
		// Nothing read is left unfired: the position moves with the log,
		// past other tables' transactions too, so a quiet table's stream
		// does not restart far back (nor from a purged binlog).
		next.mark = progress
	}
	return events, next.String(), nil
}

// cdcEvent is the trigger event of one change: trigger.op, table, new, old,
// position, commit_time, the source's own fields (PostgreSQL: lsn and xid;
// binlog: gtid, binlog_file and binlog_offset), and body (the new row, or
// the old one for a delete).
func cdcEvent(ch cdcChange) Event {
	body := ch.new
	if ch.op == flow.CDCDelete {
		body = ch.old
	}
	var newRow, oldRow any
	if ch.new != nil {
		newRow = ch.new
	}
	if ch.old != nil {
		oldRow = ch.old
	}
	fields := map[string]any{
		"op": ch.op, "table": ch.table, "new": newRow, "old": oldRow, "position": int64(ch.pos),
		"commit_time": ch.commitTime.UTC().Format(time.RFC3339Nano),
	}
	for k, v := range ch.fields {
		fields[k] = v
	}
	return Event{Kind: flow.TriggerCDC, Body: body, Fields: fields,
		IdemKey: fmt.Sprintf("cdc:%s#%d", ch.tx, ch.pos)}
}

// CDCStatus is the state of one flow's change stream in this process.
type CDCStatus struct {
	Flow     string `json:"flow"`
	Slot     string `json:"slot"`
	LagBytes int64  `json:"lag_bytes"` // WAL (binlog) the server holds (has written) past the stored position
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

// DropCDC stops a cdc flow's stream in this process, drops its replication
// slot and publication from a PostgreSQL source (a binlog source keeps
// nothing for the reader), and clears its stored position: a later deploy
// starts from then on. Use it when a cdc flow goes away, or the slot keeps
// the server's WAL for ever.
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
	dsn, kind, err := s.dsn(ctx, f)
	if err != nil {
		return err
	}
	if kind == connMySQL {
		return e.st.SetTriggerCursor(ctx, flowName, "")
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
