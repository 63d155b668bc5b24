// Package binlog reads row changes of one MySQL or MariaDB table from the
// server's binary log, as a replica does, with the replication package of
// github.com/go-mysql-org/go-mysql.
//
// A Stream hands out whole transactions in commit order, each change with
// its transaction's identity (the GTID, or the binlog file and end offset)
// and its position in the transaction. The server keeps no position for
// the reader: the caller stores where it got to (a Position: the binlog
// file and offset after the last transaction it is done with, and the GTID
// set executed up to there) and opens the next Stream from there. Set-up
// problems (binary log off, binlog_format or binlog_row_image not ROW and
// FULL, column names not logged, missing grants, a missing table) are
// errors that say what to run.
package binlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-mysql-org/go-mysql/client"
	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"
)

// Bounds.
const (
	// MaxTxBytes bounds the decoded row data of one transaction held in
	// memory; a bigger transaction is an error (not split yet).
	MaxTxBytes = 256 << 20
	// maxJSONCol bounds a JSON column decoded to a value (bigger: text).
	maxJSONCol = 16 << 20
	// lagEvery is how often the server's binlog end is read for Lag.
	lagEvery = 5 * time.Second
	// eventCache bounds the events the library reads ahead.
	eventCache = 1024
)

// Ops.
const (
	Insert = "insert"
	Update = "update"
	Delete = "delete"
)

// ErrBusy is returned by Open when another process streams this name's
// changes (scale-out: one process serves a flow's changes at a time; the
// holder keeps a server lock named after the stream).
var ErrBusy = errors.New("binlog: the change stream is held by another process")

// Position is where a stream starts: after the transaction that ends at
// File:Offset, or after the GTID set (preferred when set).
type Position struct {
	File   string `json:"file"`
	Offset uint32 `json:"offset"`
	GTID   string `json:"gtid,omitempty"`
}

// Less reports whether a is before b in the same server's binlog (file
// names compare by their numeric suffix).
func Less(a, b Position) bool {
	if a.File != b.File {
		return fileLess(a.File, b.File)
	}
	return a.Offset < b.Offset
}

func fileLess(a, b string) bool {
	ai, bi := strings.LastIndexByte(a, '.'), strings.LastIndexByte(b, '.')
	if ai >= 0 && bi >= 0 && a[:ai] == b[:bi] {
		x, err1 := strconv.ParseUint(a[ai+1:], 10, 64)
		y, err2 := strconv.ParseUint(b[bi+1:], 10, 64)
		if err1 == nil && err2 == nil {
			return x < y
		}
	}
	return a < b
}

// Config says what to stream.
type Config struct {
	DSN   string // go-sql-driver form: user:password@tcp(host:port)/db
	Table string // db.table, or table in the DSN's database
	// Name names the stream on the server: its lock (one process at a
	// time) and, hashed, its replica server_id.
	Name string
	// From is where to start; zero: the server's binlog end now.
	From Position
	// Dial, when set, opens the TCP connections (an egress policy's dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Change is one row change.
type Change struct {
	Op         string
	Schema     string
	Table      string
	New, Old   map[string]any // Old: nil for inserts; New: nil for deletes
	GTID       string         // the transaction's GTID ("" when the server logs none)
	End        Position       // after the transaction: where to resume once it is done
	Pos        int            // position of the change in its transaction, from 0
	Last       bool           // the last change of its transaction
	CommitTime time.Time
}

// TxID is the transaction's identity: its GTID, else its binlog end.
func (c Change) TxID() string {
	if c.GTID != "" {
		return c.GTID
	}
	return fmt.Sprintf("%s:%d", c.End.File, c.End.Offset)
}

// Stream is one open binlog dump connection, plus a side connection that
// holds the stream's lock and reads the server's binlog end.
type Stream struct {
	cfg      Config
	schema   string
	table    string
	where    string
	flavor   string
	side     *client.Conn
	syncer   *replication.BinlogSyncer
	events   *replication.BinlogStreamer
	file     string
	tx       []Change
	txBytes  int
	inTx     bool
	gtid     string
	txTime   time.Time
	locked   bool     // the stream's server lock is held on side
	progress Position // after the last transaction read whole
	acked    Position
	serverAt time.Time
	lag      int64
	// Start is where the stream started.
	Start Position
}

// SplitTable returns db and table of "db.table", or db of the DSN.
func SplitTable(s, dsnDB string) (db, table string) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return dsnDB, s
}

// Open checks the server's set-up, takes the stream's lock, and starts
// reading the binlog at cfg.From (or at the server's end).
func Open(ctx context.Context, cfg Config) (*Stream, error) {
	dc, err := mysql.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("binlog: bad dsn (user:password@tcp(host:port)/db): %v", redact(err, cfg.DSN))
	}
	if dc.Net != "tcp" && dc.Net != "" {
		return nil, fmt.Errorf("binlog: the dsn must name a tcp address (user:password@tcp(host:port)/db), not %q", dc.Net)
	}
	if dc.TLSConfig != "" && dc.TLSConfig != "false" {
		return nil, fmt.Errorf("binlog: the dsn asks for TLS (tls=%s), which the cdc trigger does not support yet: reach the server over a private network or a tunnel", dc.TLSConfig)
	}
	addr := dc.Addr
	if addr == "" {
		addr = "127.0.0.1:3306"
	}
	s := &Stream{cfg: cfg, where: addr}
	s.schema, s.table = SplitTable(cfg.Table, dc.DBName)
	if s.schema == "" {
		return nil, fmt.Errorf("binlog: table %q names no database, and the dsn has none", cfg.Table)
	}
	dial := cfg.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: time.Minute}
		dial = d.DialContext
	}
	side, err := client.ConnectWithDialer(ctx, "tcp", addr, dc.User, dc.Passwd, "", client.Dialer(dial))
	if err != nil {
		return nil, fmt.Errorf("binlog: connect to %s: %v", addr, redact(err, cfg.DSN))
	}
	s.side = side
	if err := s.setUp(); err != nil {
		side.Close()
		return nil, err
	}
	host, portS, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portS)
	h := fnv.New32a()
	h.Write([]byte(cfg.Name))
	s.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: 1<<31 | h.Sum32()>>1, Flavor: s.flavor, Host: host, Port: uint16(port), User: dc.User, Password: dc.Passwd,
		Dialer: client.Dialer(dial), DisableRetrySync: true, HeartbeatPeriod: 5 * time.Second, ReadTimeout: 30 * time.Second,
		EventCacheCount: eventCache, Logger: discard,
	})
	start := cfg.From
	if start.File == "" && start.GTID == "" {
		if start, err = s.serverEnd(); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.Start, s.progress, s.acked, s.file = start, start, start, start.File
	if start.GTID != "" || s.flavor == gmysql.MariaDBFlavor && start.File == "" {
		set, perr := gmysql.ParseGTIDSet(s.flavor, start.GTID)
		if perr != nil {
			s.Close()
			return nil, fmt.Errorf("binlog: stored GTID set %q: %v", start.GTID, perr)
		}
		s.events, err = s.syncer.StartSyncGTID(set)
	} else {
		s.events, err = s.syncer.StartSync(gmysql.Position{Name: start.File, Pos: start.Offset})
	}
	if err != nil {
		s.Close()
		return nil, s.explain(err)
	}
	return s, nil
}

var discard = slog.New(slog.DiscardHandler)

// explain turns a server refusal into what to do about it.
func (s *Stream) explain(err error) error {
	var me *gmysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case 1227, 1045, 1142: // access denied
			return fmt.Errorf("binlog: %s refused to stream its binlog to this user (%s): run GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the connection's user", s.where, me.Message)
		case 1236: // ER_MASTER_FATAL_ERROR_READING_BINLOG: purged, or an unknown position
			return fmt.Errorf("binlog: %s cannot send the binlog from this flow's stored position (%s): the binlog there was purged, or the position is not in this server's binlog; changes since may be lost. "+
				"To start again from now, clear the flow's position (Engine.DropCDC) or deploy it under a new name", s.where, me.Message)
		}
	}
	return fmt.Errorf("binlog: %s: %v", s.where, err)
}

// query runs one statement on the side connection.
func (s *Stream) query(q string) (*gmysql.Result, error) {
	r, err := s.side.Execute(q)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// setUp checks the server's binlog settings, the user's grants and the
// table, and takes the stream's lock.
func (s *Stream) setUp() error {
	r, err := s.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'gtid_mode', 'version')")
	if err != nil {
		return fmt.Errorf("binlog: %s: reading server variables: %v", s.where, err)
	}
	vars := map[string]string{}
	for i := range r.Values {
		k, _ := r.GetString(i, 0)
		v, _ := r.GetString(i, 1)
		vars[strings.ToLower(k)] = v
	}
	s.flavor = gmysql.MySQLFlavor
	if strings.Contains(strings.ToLower(vars["version"]), "mariadb") {
		s.flavor = gmysql.MariaDBFlavor
	}
	server := map[string]string{gmysql.MySQLFlavor: "MySQL", gmysql.MariaDBFlavor: "MariaDB"}[s.flavor]
	if !strings.EqualFold(vars["log_bin"], "ON") {
		return fmt.Errorf("binlog: %s at %s has the binary log off (log_bin=%s); change capture reads it: start the server with log-bin (e.g. log-bin=mysql-bin, binlog-format=ROW, binlog-row-image=FULL, binlog-row-metadata=FULL and a server-id in its [mysqld] config) and restart it", server, s.where, orNone(vars["log_bin"]))
	}
	if !strings.EqualFold(vars["binlog_format"], "ROW") {
		return fmt.Errorf("binlog: %s at %s has binlog_format=%s; change capture needs row events: run SET GLOBAL binlog_format = 'ROW'; (and binlog-format=ROW in the config file; sessions opened before keep the old format)", server, s.where, orNone(vars["binlog_format"]))
	}
	if !strings.EqualFold(vars["binlog_row_image"], "FULL") {
		return fmt.Errorf("binlog: %s at %s has binlog_row_image=%s, so updates and deletes would not carry the whole old row: run SET GLOBAL binlog_row_image = 'FULL'; (and binlog-row-image=FULL in the config file)", server, s.where, orNone(vars["binlog_row_image"]))
	}
	meta, ok := vars["binlog_row_metadata"]
	if !ok {
		return fmt.Errorf("binlog: %s at %s (version %s) has no binlog_row_metadata, so its binlog does not name columns: change capture needs MariaDB 10.5 or later, or MySQL 8.0 or later", server, s.where, vars["version"])
	}
	if !strings.EqualFold(meta, "FULL") {
		return fmt.Errorf("binlog: %s at %s has binlog_row_metadata=%s, so its binlog does not name the columns of a row: run SET GLOBAL binlog_row_metadata = 'FULL'; (and binlog-row-metadata=FULL in the config file)", server, s.where, meta)
	}
	if err := s.checkGrants(server); err != nil {
		return err
	}
	r, err = s.query(fmt.Sprintf("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND TABLE_TYPE = 'BASE TABLE'", sqlString(s.schema), sqlString(s.table)))
	if err != nil {
		return fmt.Errorf("binlog: %s: reading tables: %v", s.where, err)
	}
	if n, _ := r.GetInt(0, 0); n == 0 {
		return fmt.Errorf("binlog: table %s.%s does not exist in %s (or the user may not see it)", s.schema, s.table, s.where)
	}
	r, err = s.query("SELECT GET_LOCK('" + sqlString(lockName(s.cfg.Name)) + "', 0)")
	if err != nil {
		return fmt.Errorf("binlog: %s: taking the stream's lock: %v", s.where, err)
	}
	if n, _ := r.GetInt(0, 0); n != 1 {
		return ErrBusy
	}
	s.locked = true
	return nil
}

// checkGrants reads the user's grants on *.*: streaming needs REPLICATION
// SLAVE, and reading the binlog end REPLICATION CLIENT (MariaDB 10.5 and
// later call it BINLOG MONITOR).
func (s *Stream) checkGrants(server string) error {
	r, err := s.query("SHOW GRANTS")
	if err != nil {
		return fmt.Errorf("binlog: %s: SHOW GRANTS: %v", s.where, err)
	}
	var all []string
	roles := false
	for i := range r.Values {
		g, _ := r.GetString(i, 0)
		g = strings.ToUpper(g)
		if strings.Contains(g, " ON *.* TO ") {
			all = append(all, g)
		}
		if !strings.Contains(g, " ON ") && !strings.HasPrefix(g, "GRANT PROXY") {
			roles = true // GRANT role TO user
		}
	}
	has := func(privs ...string) bool {
		for _, g := range all {
			if strings.Contains(g, "ALL PRIVILEGES") {
				return true
			}
			for _, p := range privs {
				if strings.Contains(g, p) {
					return true
				}
			}
		}
		return false
	}
	var missing []string
	if !has("REPLICATION SLAVE", "REPLICATION REPLICA") {
		missing = append(missing, "REPLICATION SLAVE")
	}
	if !has("REPLICATION CLIENT", "BINLOG MONITOR", "SUPER") {
		missing = append(missing, "REPLICATION CLIENT")
	}
	if len(missing) > 0 && roles && s.flavor == gmysql.MySQLFlavor {
		// MySQL's SHOW GRANTS does not list what active roles grant: the
		// server's refusal when the stream starts will say it instead.
		return nil
	}
	if len(missing) > 0 {
		user := "the connection's user"
		if r, err := s.query("SELECT CURRENT_USER()"); err == nil {
			if u, _ := r.GetString(0, 0); u != "" {
				if at := strings.LastIndexByte(u, '@'); at > 0 {
					user = "'" + u[:at] + "'@'" + u[at+1:] + "'"
				}
			}
		}
		return fmt.Errorf("binlog: the user lacks %s on %s at %s: run GRANT %s ON *.* TO %s; (as an administrator)", strings.Join(missing, " and "), server, s.where, strings.Join(missing, ", "), user)
	}
	return nil
}

// serverEnd is the server's binlog end now: file, offset and (MariaDB, or
// MySQL with GTIDs) the GTID set executed.
func (s *Stream) serverEnd() (Position, error) {
	r, err := s.query("SHOW MASTER STATUS")
	if err != nil {
		return Position{}, fmt.Errorf("binlog: %s: SHOW MASTER STATUS: %v", s.where, err)
	}
	if len(r.Values) == 0 {
		return Position{}, fmt.Errorf("binlog: %s: SHOW MASTER STATUS returned nothing (is the binary log on?)", s.where)
	}
	var p Position
	p.File, _ = r.GetString(0, 0)
	off, _ := r.GetUint(0, 1)
	p.Offset = uint32(off)
	if s.flavor == gmysql.MariaDBFlavor {
		g, err := s.query("SELECT @@GLOBAL.gtid_binlog_pos")
		if err != nil {
			return Position{}, fmt.Errorf("binlog: %s: reading gtid_binlog_pos: %v", s.where, err)
		}
		p.GTID, _ = g.GetString(0, 0)
	} else if len(r.Fields) >= 5 {
		p.GTID, _ = r.GetString(0, 4)
		p.GTID = strings.ReplaceAll(p.GTID, "\n", "")
	}
	return p, nil
}

// Ack records that everything up to p is done with (for Lag; the server
// keeps no position for a binlog reader).
func (s *Stream) Ack(p Position) {
	if Less(s.acked, p) {
		s.acked = p
	}
}

// Lag is how many bytes of binlog the server has written past the acked
// position, as of the last look (every 5 s during Read).
func (s *Stream) Lag() int64 { return s.lag }

// measure reads the server's binlog files and computes Lag. Its failure
// means the side connection, and with it the stream's lock, is gone.
func (s *Stream) measure() error {
	r, err := s.query("SHOW BINARY LOGS")
	if err != nil {
		return fmt.Errorf("binlog: %s: SHOW BINARY LOGS on the connection that holds the stream's lock: %v", s.where, err)
	}
	var lag int64
	counting := false
	for i := range r.Values {
		name, _ := r.GetString(i, 0)
		size, _ := r.GetInt(i, 1)
		switch {
		case name == s.acked.File:
			counting = true
			lag += size - int64(s.acked.Offset)
		case counting || fileLess(s.acked.File, name):
			counting = true
			lag += size
		}
	}
	if lag < 0 {
		lag = 0
	}
	s.lag = lag
	return nil
}

// Read returns the changes of the table's transactions read within wait
// (or until at least max changes are ready), in commit order, and the
// position after the last transaction read whole (of any table: a caller
// with nothing pending may store it). A transaction is never split.
func (s *Stream) Read(ctx context.Context, wait time.Duration, max int) ([]Change, Position, error) {
	var out []Change
	if time.Since(s.serverAt) > lagEvery {
		s.serverAt = time.Now()
		if err := s.measure(); err != nil {
			return nil, s.progress, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for len(out) < max {
		ev, err := s.events.GetEvent(rctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				break
			}
			if ctx.Err() != nil {
				return out, s.progress, ctx.Err()
			}
			return out, s.progress, s.explain(err)
		}
		done, err := s.handle(ev)
		if err != nil {
			return out, s.progress, err
		}
		out = append(out, done...)
	}
	return out, s.progress, nil
}

// handle takes one event; at a commit it returns the transaction's changes.
func (s *Stream) handle(ev *replication.BinlogEvent) ([]Change, error) {
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
		if s.progress.File == "" { // started by GTID alone: the server says where
			s.progress.File, s.progress.Offset = s.file, uint32(e.Position)
		}
	case *replication.MariadbGTIDEvent:
		s.begin(e.GTID.String(), h)
		if e.IsStandalone() {
			s.inTx = false // DDL: no rows, ends with its query
		}
	case *replication.GTIDEvent:
		next, err := e.GTIDNext()
		gtid := ""
		if err == nil && next != nil && e.GNO > 0 { // anonymous transactions have none
			gtid = next.String()
		}
		s.begin(gtid, h)
	case *replication.QueryEvent:
		q := strings.ToUpper(strings.TrimSpace(string(e.Query)))
		switch {
		case q == "BEGIN" || q == "START TRANSACTION":
			if !s.inTx {
				s.begin(s.gtid, h)
			}
		case q == "COMMIT":
			return s.commit(h, e.GSet), nil
		default: // DDL and other statements: a transaction of their own
			s.inTx = false
			s.tx, s.txBytes = s.tx[:0], 0
			s.advance(h, e.GSet)
			s.gtid = ""
		}
	case *replication.XIDEvent:
		return s.commit(h, e.GSet), nil
	case *replication.TableMapEvent:
	case *replication.RowsEvent:
		return nil, s.rows(ev.Header.EventType, e)
	}
	return nil, nil
}

func (s *Stream) begin(gtid string, h *replication.EventHeader) {
	s.inTx, s.gtid, s.tx, s.txBytes = true, gtid, s.tx[:0], 0
	s.txTime = time.Unix(int64(h.Timestamp), 0)
}

func (s *Stream) advance(h *replication.EventHeader, gset gmysql.GTIDSet) {
	if h.LogPos == 0 || s.file == "" {
		return
	}
	s.progress.File, s.progress.Offset = s.file, h.LogPos
	if gset != nil {
		s.progress.GTID = gset.String()
	}
}

func (s *Stream) commit(h *replication.EventHeader, gset gmysql.GTIDSet) []Change {
	s.inTx = false
	s.advance(h, gset)
	gtid := s.gtid
	s.gtid = ""
	if len(s.tx) == 0 {
		return nil
	}
	out := make([]Change, len(s.tx))
	copy(out, s.tx)
	for i := range out {
		out[i].End = s.progress
		out[i].GTID = gtid
		out[i].CommitTime = s.txTime
	}
	out[len(out)-1].Last = true
	s.tx = s.tx[:0]
	return out
}

func (s *Stream) rows(t replication.EventType, e *replication.RowsEvent) error {
	tm := e.Table
	if tm == nil || string(tm.Schema) != s.schema || string(tm.Table) != s.table {
		return nil
	}
	names := tm.ColumnNameString()
	if len(names) == 0 {
		return fmt.Errorf("binlog: the binlog does not name the columns of %s.%s (binlog_row_metadata is not FULL on %s): run SET GLOBAL binlog_row_metadata = 'FULL';", s.schema, s.table, s.where)
	}
	enums, sets, colls := tm.EnumStrValueMap(), tm.SetStrValueMap(), tm.CollationMap()
	row := func(vals []any) map[string]any {
		m := make(map[string]any, len(vals))
		for i, v := range vals {
			if i >= len(names) {
				break
			}
			m[names[i]] = value(v, i, tm, enums, sets, colls)
			s.txBytes += len(names[i]) + 16 + sizeOf(v)
		}
		return m
	}
	var op string
	switch t {
	case replication.WRITE_ROWS_EVENTv0, replication.WRITE_ROWS_EVENTv1, replication.WRITE_ROWS_EVENTv2, replication.MARIADB_WRITE_ROWS_COMPRESSED_EVENT_V1:
		op = Insert
	case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2, replication.MARIADB_UPDATE_ROWS_COMPRESSED_EVENT_V1, replication.PARTIAL_UPDATE_ROWS_EVENT:
		op = Update
	case replication.DELETE_ROWS_EVENTv0, replication.DELETE_ROWS_EVENTv1, replication.DELETE_ROWS_EVENTv2, replication.MARIADB_DELETE_ROWS_COMPRESSED_EVENT_V1:
		op = Delete
	default:
		return nil
	}
	if !s.inTx { // a row event outside BEGIN/GTID (non-transactional engines): its own transaction
		s.inTx = true
	}
	step := 1
	if op == Update {
		step = 2
	}
	for i := 0; i+step-1 < len(e.Rows); i += step {
		c := Change{Op: op, Schema: s.schema, Table: s.table, Pos: len(s.tx)}
		switch op {
		case Insert:
			c.New = row(e.Rows[i])
		case Delete:
			c.Old = row(e.Rows[i])
		case Update:
			c.Old, c.New = row(e.Rows[i]), row(e.Rows[i+1])
		}
		if s.txBytes > MaxTxBytes {
			return fmt.Errorf("binlog: a transaction on %s.%s holds more than %d MiB of changed rows (at change %d): transactions that large are not supported yet", s.schema, s.table, MaxTxBytes>>20, len(s.tx))
		}
		s.tx = append(s.tx, c)
	}
	return nil
}

// value makes a decoded column JSON-friendly: integers and floats as
// numbers, JSON columns parsed, enum and set columns as their names,
// decimals, dates and times as the server's text, binary data that is not
// UTF-8 as base64 (in a {"base64": …} object).
func value(v any, i int, tm *replication.TableMapEvent, enums, sets map[int][]string, colls map[int]uint64) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		if names, ok := enums[i]; ok && x >= 1 && int(x) <= len(names) {
			return names[x-1]
		}
		if names, ok := sets[i]; ok {
			var parts []string
			for b := 0; b < len(names) && b < 64; b++ {
				if x&(1<<b) != 0 {
					parts = append(parts, names[b])
				}
			}
			return strings.Join(parts, ",")
		}
		return x
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return x
	case float32:
		return float64(x)
	case float64:
		return x
	case string:
		if utf8.ValidString(x) {
			return x
		}
		return text([]byte(x), colls[i])
	case []byte:
		if i < len(tm.ColumnType) && tm.ColumnType[i] == gmysql.MYSQL_TYPE_JSON && len(x) <= maxJSONCol {
			var j any
			if json.Unmarshal(x, &j) == nil {
				return j
			}
		}
		if utf8.Valid(x) {
			return string(x)
		}
		if c, ok := colls[i]; ok {
			return text(x, c)
		}
		return map[string]any{"base64": x}
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		return fmt.Sprint(x)
	}
}

// latin1Collations are the collation ids of latin1 (MySQL's cp1252).
var latin1Collations = map[uint64]bool{5: true, 8: true, 15: true, 31: true, 47: true, 48: true, 49: true, 94: true}

// text is a character column's bytes as UTF-8: latin1 is converted (as
// ISO 8859-1), other bytes that are not UTF-8 come as {"base64": …}.
func text(b []byte, collation uint64) any {
	if utf8.Valid(b) {
		return string(b)
	}
	if latin1Collations[collation] {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}
	return map[string]any{"base64": b}
}

func sizeOf(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case []byte:
		return len(x)
	}
	return 8
}

// Close ends the stream and releases its lock. The lock is released by
// name before the side connection closes: the server frees a closed
// connection's locks only once it has seen it go, so a stream opened
// again right after Close (a trigger restarted in this process, or the
// next holder) would otherwise find it still held. Close must not run
// while Read does.
func (s *Stream) Close() {
	if s.syncer != nil {
		s.syncer.Close()
	}
	if s.side != nil {
		if s.locked {
			_, _ = s.side.Execute("SELECT RELEASE_LOCK('" + sqlString(lockName(s.cfg.Name)) + "')")
			s.locked = false
		}
		s.side.Close()
	}
}

// lockName is the server lock that keeps a stream to one process.
func lockName(name string) string {
	n := "weft_cdc_" + name
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

func sqlString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s)
}

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// redact keeps a DSN's password out of an error message.
func redact(err error, dsn string) string {
	msg := err.Error()
	if c, perr := mysql.ParseDSN(dsn); perr == nil && c.Passwd != "" {
		msg = strings.ReplaceAll(msg, c.Passwd, "***")
	}
	return msg
}
