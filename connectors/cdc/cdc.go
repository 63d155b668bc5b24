// Package cdc reads row changes of one PostgreSQL table from logical
// replication (the built-in pgoutput plugin, protocol 1) through a
// replication slot and a publication, with github.com/jackc/pglogrepl.
//
// A Stream hands out whole transactions in commit order; the caller
// confirms a position (Confirm) only once what it did with the changes up
// to there is durable, and the server keeps the WAL from that position on,
// so a restart resumes from the last confirmed transaction. Set-up
// problems (wal_level, the REPLICATION attribute, a missing table, a
// dropped slot, a replica identity that cannot give old rows) are errors
// that say what to run.
package cdc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Bounds.
const (
	// MaxTxBytes bounds the decoded row data of one transaction held in
	// memory; a bigger transaction is an error (not split yet).
	MaxTxBytes = 256 << 20
	// statusEvery is how often a standby status goes to the server even
	// with nothing new to confirm (wal_sender_timeout defaults to 60s).
	statusEvery = 10 * time.Second
)

// Ops.
const (
	Insert = "insert"
	Update = "update"
	Delete = "delete"
)

// ErrSlotBusy is returned by Open when another process streams from the
// slot (scale-out: one process serves a flow's changes at a time).
var ErrSlotBusy = errors.New("cdc: the replication slot is in use by another process")

// Config says what to stream.
type Config struct {
	DSN         string
	Slot        string // replication slot name (created when Create is set and it does not exist)
	Publication string // publication name (created or set to Table)
	Table       string // schema.table or table (schema public)
	// Create allows creating the slot; without it a missing slot is the
	// error "slot dropped" (the caller has a position in a slot that is gone).
	Create bool
	// OldRows requires REPLICA IDENTITY FULL, so updates and deletes carry
	// the whole old row.
	OldRows bool
	// Dial, when set, opens the TCP connections (an egress policy's
	// dialer); host names are handed to it unresolved.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// withDial makes c dial through dial, handing it host names as given so a
// policy judges both the name and the resolved address.
func withDial(c *pgconn.Config, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	if dial == nil {
		return
	}
	c.DialFunc = pgconn.DialFunc(dial)
	c.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
}

// Change is one row change.
type Change struct {
	Op         string
	Schema     string
	Table      string
	New, Old   map[string]any // Old: nil for inserts
	OldIsKey   bool           // Old holds only the replica identity's key columns
	CommitLSN  pglogrepl.LSN  // the transaction's commit record: with Pos, the change's identity
	EndLSN     pglogrepl.LSN  // the transaction's end: what to confirm once it is all done
	Pos        int            // position of the change in its transaction, from 0
	Last       bool           // the last change of its transaction
	CommitTime time.Time
	Xid        uint32
}

// Stream is one open replication connection.
type Stream struct {
	cfg        Config
	schema     string
	table      string
	conn       *pgconn.PgConn
	rels       map[uint32]*pglogrepl.RelationMessage
	types      *pgtypeMap
	tx         []Change
	txBytes    int
	inTx       bool
	begin      pglogrepl.BeginMessage
	confirmed  pglogrepl.LSN
	lastStatus time.Time
	serverEnd  pglogrepl.LSN
	// Start is the slot's confirmed position when the stream started.
	Start pglogrepl.LSN
}

// SplitTable returns schema and table of "schema.table" or "table".
func SplitTable(s string) (schema, table string) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "public", s
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// Open checks the server's set-up, creates or updates the publication,
// creates the slot when allowed, and starts streaming from the slot's
// confirmed position.
func Open(ctx context.Context, cfg Config) (*Stream, error) {
	s := &Stream{cfg: cfg, rels: map[uint32]*pglogrepl.RelationMessage{}, types: newTypeMap()}
	s.schema, s.table = SplitTable(cfg.Table)
	pcfg, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("cdc: bad dsn: %v", redact(err, cfg.DSN))
	}
	withDial(&pcfg.Config, cfg.Dial)
	where := fmt.Sprintf("%s:%d/%s", pcfg.Host, pcfg.Port, pcfg.Database)
	start, create, err := s.setUp(ctx, pcfg, where)
	if err != nil {
		return nil, err
	}
	rcfg, err := pgconn.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("cdc: bad dsn: %v", redact(err, cfg.DSN))
	}
	rcfg.RuntimeParams["replication"] = "database"
	withDial(rcfg, cfg.Dial)
	conn, err := pgconn.ConnectConfig(ctx, rcfg)
	if err != nil {
		if pe := pgErr(err); pe != nil && pe.Code == "42501" || strings.Contains(err.Error(), "replication role") {
			return nil, fmt.Errorf("cdc: role %q may not start replication on %s: ALTER ROLE %s REPLICATION; (%v)", pcfg.User, where, quoteIdent(pcfg.User), redact(err, cfg.DSN))
		}
		return nil, fmt.Errorf("cdc: replication connection to %s: %v", where, redact(err, cfg.DSN))
	}
	s.conn = conn
	if create {
		res, err := pglogrepl.CreateReplicationSlot(ctx, conn, quoteIdent(cfg.Slot), "pgoutput", pglogrepl.CreateReplicationSlotOptions{SnapshotAction: "NOEXPORT_SNAPSHOT", Mode: pglogrepl.LogicalReplication})
		if err != nil {
			conn.Close(context.Background())
			if pe := pgErr(err); pe != nil && pe.Code == "42710" {
				return nil, ErrSlotBusy // another process created it just now
			}
			return nil, fmt.Errorf("cdc: create replication slot %s on %s: %v", cfg.Slot, where, err)
		}
		lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
		if err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("cdc: create replication slot %s: consistent point %q: %v", cfg.Slot, res.ConsistentPoint, err)
		}
		start = lsn
	}
	s.Start, s.confirmed = start, start
	err = pglogrepl.StartReplication(ctx, conn, quoteIdent(cfg.Slot), 0, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: []string{"proto_version '1'", "publication_names '" + strings.ReplaceAll(cfg.Publication, "'", "''") + "'"},
	})
	if err != nil {
		conn.Close(context.Background())
		if pe := pgErr(err); pe != nil && pe.Code == "55006" {
			return nil, ErrSlotBusy
		}
		if pe := pgErr(err); pe != nil && pe.Code == "42704" {
			return nil, s.dropped(where)
		}
		return nil, fmt.Errorf("cdc: start replication from slot %s on %s: %v", cfg.Slot, where, err)
	}
	s.lastStatus = time.Now()
	return s, nil
}

func (s *Stream) dropped(where string) error {
	return fmt.Errorf("cdc: replication slot %s on %s was dropped: changes made since this flow's last confirmed position may be lost; "+
		"to start again from now, deploy the flow under a new name (or drop the slot and clear the position: weft flow cdc-reset FLOW, DELETE /api/flows/FLOW/cdc)", s.cfg.Slot, where)
}

// setUp runs the checks and the publication DDL on an ordinary connection.
// It returns the slot's confirmed position, or create when the slot is to
// be created.
func (s *Stream) setUp(ctx context.Context, pcfg *pgx.ConnConfig, where string) (start pglogrepl.LSN, create bool, err error) {
	c, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return 0, false, fmt.Errorf("cdc: connect to %s: %v", where, redact(err, s.cfg.DSN))
	}
	defer c.Close(context.Background())
	var walLevel string
	if err := c.QueryRow(ctx, "SHOW wal_level").Scan(&walLevel); err != nil {
		return 0, false, fmt.Errorf("cdc: %s: SHOW wal_level: %v", where, err)
	}
	if walLevel != "logical" {
		return 0, false, fmt.Errorf("cdc: PostgreSQL at %s has wal_level=%s; change-data capture needs wal_level=logical: run ALTER SYSTEM SET wal_level = logical; and restart the server", where, walLevel)
	}
	var canReplicate bool
	if err := c.QueryRow(ctx, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&canReplicate); err != nil {
		return 0, false, fmt.Errorf("cdc: %s: reading the role: %v", where, err)
	}
	if !canReplicate {
		return 0, false, fmt.Errorf("cdc: role %q lacks the REPLICATION attribute on %s: run ALTER ROLE %s REPLICATION; (as a superuser)", pcfg.User, where, quoteIdent(pcfg.User))
	}
	var ident string
	err = c.QueryRow(ctx, `SELECT c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, s.schema, s.table).Scan(&ident)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("cdc: table %s.%s does not exist in %s", s.schema, s.table, where)
	}
	if err != nil {
		return 0, false, fmt.Errorf("cdc: %s: reading table %s.%s: %v", where, s.schema, s.table, err)
	}
	qt := quoteIdent(s.schema) + "." + quoteIdent(s.table)
	if s.cfg.OldRows && ident != "f" {
		name := map[string]string{"d": "DEFAULT (the primary key only)", "n": "NOTHING", "i": "USING INDEX (the index's columns only)"}[ident]
		return 0, false, fmt.Errorf("cdc: table %s.%s has REPLICA IDENTITY %s, so updates and deletes would not carry the whole old row: run ALTER TABLE %s REPLICA IDENTITY FULL;", s.schema, s.table, name, qt)
	}
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", s.cfg.Publication).Scan(&exists); err != nil {
		return 0, false, fmt.Errorf("cdc: %s: reading publications: %v", where, err)
	}
	ddl := "CREATE PUBLICATION " + quoteIdent(s.cfg.Publication) + " FOR TABLE " + qt
	if exists {
		ddl = "ALTER PUBLICATION " + quoteIdent(s.cfg.Publication) + " SET TABLE " + qt
	}
	if _, err := c.Exec(ctx, ddl); err != nil {
		return 0, false, fmt.Errorf("cdc: %s: %s: %v (the role must own the table, or create the publication as its owner)", where, ddl, err)
	}
	var confirmed *string
	var active bool
	err = c.QueryRow(ctx, "SELECT confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1", s.cfg.Slot).Scan(&confirmed, &active)
	if errors.Is(err, pgx.ErrNoRows) {
		if !s.cfg.Create {
			return 0, false, s.dropped(where)
		}
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cdc: %s: reading replication slots: %v", where, err)
	}
	if active {
		return 0, false, ErrSlotBusy
	}
	if confirmed == nil {
		return 0, false, fmt.Errorf("cdc: replication slot %s on %s is not a logical slot", s.cfg.Slot, where)
	}
	start, err = pglogrepl.ParseLSN(*confirmed)
	return start, false, err
}

// Confirm tells the server that everything up to lsn is done with: the
// slot's confirmed position moves there and the server may drop older WAL.
func (s *Stream) Confirm(lsn pglogrepl.LSN) error {
	if lsn < s.confirmed {
		lsn = s.confirmed
	}
	if err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: lsn}); err != nil {
		return fmt.Errorf("cdc: confirm %s: %v", lsn, err)
	}
	s.confirmed, s.lastStatus = lsn, time.Now()
	return nil
}

// Confirmed is the last position confirmed to the server.
func (s *Stream) Confirmed() pglogrepl.LSN { return s.confirmed }

// Lag is how far the server's WAL is past the confirmed position, in
// bytes, as of the last message from the server (0 before any).
func (s *Stream) Lag() int64 {
	if s.serverEnd <= s.confirmed {
		return 0
	}
	return int64(s.serverEnd - s.confirmed)
}

// Read returns the changes of the transactions committed within wait (or
// until at least max changes are ready), in commit order; a transaction is
// never split.
func (s *Stream) Read(ctx context.Context, wait time.Duration, max int) ([]Change, error) {
	var out []Change
	deadline := time.Now().Add(wait)
	for len(out) < max {
		if time.Since(s.lastStatus) > statusEvery {
			if err := s.Confirm(s.confirmed); err != nil {
				return out, err
			}
		}
		if !time.Now().Before(deadline) {
			break
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		raw, err := s.conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				break
			}
			return out, fmt.Errorf("cdc: receive: %v", err)
		}
		switch m := raw.(type) {
		case *pgproto3.ErrorResponse:
			pe := pgconn.ErrorResponseToPgError(m)
			if pe.Code == "42704" || strings.Contains(pe.Message, "replication slot") && strings.Contains(pe.Message, "does not exist") {
				return out, s.dropped(s.cfg.Slot)
			}
			return out, fmt.Errorf("cdc: server: %v", pe)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				k, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return out, fmt.Errorf("cdc: keepalive: %v", err)
				}
				s.serverEnd = max64(s.serverEnd, k.ServerWALEnd)
				if k.ReplyRequested {
					if err := s.Confirm(s.confirmed); err != nil {
						return out, err
					}
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return out, fmt.Errorf("cdc: xlog data: %v", err)
				}
				s.serverEnd = max64(s.serverEnd, x.ServerWALEnd)
				done, err := s.decode(x.WALData)
				if err != nil {
					return out, err
				}
				out = append(out, done...)
			}
		}
	}
	return out, nil
}

func max64(a, b pglogrepl.LSN) pglogrepl.LSN {
	if a > b {
		return a
	}
	return b
}

// decode handles one pgoutput message; at a commit it returns the
// transaction's changes.
func (s *Stream) decode(data []byte) ([]Change, error) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cdc: pgoutput: %v", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		s.rels[m.RelationID] = m
	case *pglogrepl.BeginMessage:
		s.inTx, s.begin, s.tx, s.txBytes = true, *m, s.tx[:0], 0
	case *pglogrepl.InsertMessage:
		return nil, s.add(Insert, m.RelationID, m.Tuple, 0, nil)
	case *pglogrepl.UpdateMessage:
		return nil, s.add(Update, m.RelationID, m.NewTuple, m.OldTupleType, m.OldTuple)
	case *pglogrepl.DeleteMessage:
		return nil, s.add(Delete, m.RelationID, nil, m.OldTupleType, m.OldTuple)
	case *pglogrepl.CommitMessage:
		if !s.inTx {
			return nil, nil
		}
		s.inTx = false
		if len(s.tx) == 0 {
			return nil, nil
		}
		out := make([]Change, len(s.tx))
		copy(out, s.tx)
		for i := range out {
			out[i].EndLSN = m.TransactionEndLSN
			out[i].CommitTime = m.CommitTime
		}
		out[len(out)-1].Last = true
		s.tx = s.tx[:0]
		return out, nil
	}
	return nil, nil
}

func (s *Stream) add(op string, rel uint32, newT *pglogrepl.TupleData, oldType uint8, oldT *pglogrepl.TupleData) error {
	r, ok := s.rels[rel]
	if !ok {
		return fmt.Errorf("cdc: pgoutput: change to unknown relation %d", rel)
	}
	if !s.inTx {
		return fmt.Errorf("cdc: pgoutput: change outside a transaction")
	}
	c := Change{Op: op, Schema: r.Namespace, Table: r.RelationName, CommitLSN: s.begin.FinalLSN, Pos: len(s.tx), CommitTime: s.begin.CommitTime, Xid: s.begin.Xid}
	var n int
	if newT != nil {
		c.New, n = s.row(r, newT, false)
		s.txBytes += n
	}
	if oldT != nil {
		c.Old, n = s.row(r, oldT, oldType == 'K')
		c.OldIsKey = oldType == 'K'
		s.txBytes += n
	}
	if s.txBytes > MaxTxBytes {
		return fmt.Errorf("cdc: a transaction on %s.%s holds more than %d MiB of changed rows (at change %d): transactions that large are not supported yet", r.Namespace, r.RelationName, MaxTxBytes>>20, len(s.tx))
	}
	s.tx = append(s.tx, c)
	return nil
}

// row decodes a tuple into column -> value (numbers, booleans and JSON as
// such; everything else as PostgreSQL's text form). Unchanged TOASTed
// values, which the server does not send, are left out. With keyOnly, the
// columns the server left empty (not in the key) are left out.
func (s *Stream) row(r *pglogrepl.RelationMessage, t *pglogrepl.TupleData, keyOnly bool) (map[string]any, int) {
	out := make(map[string]any, len(t.Columns))
	size := 0
	for i, col := range t.Columns {
		if i >= len(r.Columns) {
			break
		}
		name := r.Columns[i].Name
		size += len(name) + len(col.Data) + 16
		switch col.DataType {
		case pglogrepl.TupleDataTypeNull:
			if !keyOnly {
				out[name] = nil
			}
		case pglogrepl.TupleDataTypeToast:
		case pglogrepl.TupleDataTypeText:
			out[name] = s.types.decode(r.Columns[i].DataType, col.Data)
		case pglogrepl.TupleDataTypeBinary:
			out[name] = string(col.Data)
		}
	}
	return out, size
}

// Close ends the stream.
func (s *Stream) Close() {
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.conn.Close(ctx)
	}
}

// Drop removes a flow's slot and publication (when the flow goes away).
// Missing ones are not an error.
func Drop(ctx context.Context, dsn, slot, publication string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("cdc: bad dsn: %v", redact(err, dsn))
	}
	withDial(&pcfg.Config, dial)
	c, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("cdc: connect: %v", redact(err, dsn))
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot); err != nil {
		return fmt.Errorf("cdc: drop replication slot %s: %v", slot, err)
	}
	if _, err := c.Exec(ctx, "DROP PUBLICATION IF EXISTS "+quoteIdent(publication)); err != nil {
		return fmt.Errorf("cdc: drop publication %s: %v", publication, err)
	}
	return nil
}

func pgErr(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// redact keeps a DSN's password out of an error message.
func redact(err error, dsn string) string {
	msg := err.Error()
	if c, perr := pgconn.ParseConfig(dsn); perr == nil && c.Password != "" {
		msg = strings.ReplaceAll(msg, c.Password, "***")
	}
	return msg
}

// pgtypeMap decodes text-format column values by type OID.
type pgtypeMap struct{}

func newTypeMap() *pgtypeMap { return &pgtypeMap{} }

// Type OIDs decoded to JSON values; the rest stay text.
const (
	oidBool    = 16
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidOID     = 26
	oidJSON    = 114
	oidFloat4  = 700
	oidFloat8  = 701
	oidJSONB   = 3802
	maxJSONCol = 16 << 20
)

func (*pgtypeMap) decode(oid uint32, data []byte) any {
	s := string(data)
	switch oid {
	case oidBool:
		return s == "t"
	case oidInt2, oidInt4, oidInt8, oidOID:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	case oidFloat4, oidFloat8:
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "IN") {
			return f
		}
	case oidJSON, oidJSONB:
		if len(data) <= maxJSONCol {
			var v any
			if json.Unmarshal(data, &v) == nil {
				return v
			}
		}
	}
	return s
}
