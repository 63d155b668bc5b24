package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/weftio/weft/internal/pgtest"
	"github.com/weftio/weft/store/postgres"
)

// TestIssue16_F22_PostgresErrorsClassified: a refused connection (for real,
// to a port nobody listens on) and the server's shutdown and resource codes
// are "try again later"; a unique violation or a syntax error is not.
func TestIssue16_F22_PostgresErrorsClassified(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	db, err := sql.Open("pgx", fmt.Sprintf("postgres://weft:pw@127.0.0.1:%d/weftdb?sslmode=disable&connect_timeout=2", port))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(context.Background())
	if err == nil || !postgres.IsUnavailable(err) {
		t.Fatalf("refused connection: %v not classified as unavailable", err)
	}
	for code, want := range map[string]bool{
		"57P01": true,  // admin shutdown (pg_ctl stop -m fast)
		"57P03": true,  // the database system is starting up
		"08006": true,  // connection failure
		"53100": true,  // disk full
		"53300": true,  // too many connections
		"55P03": true,  // lock timeout
		"57014": true,  // statement timeout
		"23505": false, // unique violation
		"42601": false, // syntax error
	} {
		err := fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "x"})
		if got := postgres.IsUnavailable(err); got != want {
			t.Errorf("SQLSTATE %s: unavailable = %v, want %v", code, got, want)
		}
	}
	if postgres.IsUnavailable(errors.New("some bug")) {
		t.Error("a foreign error classified as unavailable")
	}
}

// lockedBuf is a log sink safe for concurrent writes.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIssue16_F30_MigrationLockWaitIsBounded: a session holds the schema
// migration lock and sits idle in a transaction. Open must not wait
// forever: it logs who holds the lock while it waits, and gives up at its
// bound with an error naming the holder's pid and state.
func TestIssue16_F30_MigrationLockWaitIsBounded(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	holder, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	ctx := context.Background()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(742017)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		t.Fatal(err)
	}

	logs := &lockedBuf{}
	octx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err = postgres.Open(octx, url, slog.New(slog.NewTextHandler(logs, nil)), 0)
	took := time.Since(start)
	t.Logf("after %s: %v\n%s", took, err, logs)
	if err == nil {
		t.Fatal("Open succeeded while another session held the migration lock")
	}
	if took > 6*time.Second {
		t.Errorf("Open gave up after %s; the bound was 3s", took)
	}
	for _, want := range []string{fmt.Sprintf("pid %d", pid), "idle in transaction", "migration lock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if l := logs.String(); !strings.Contains(l, "waiting for the schema migration lock") || !strings.Contains(l, fmt.Sprintf("pid %d", pid)) {
		t.Errorf("nothing logged about the wait and its holder:\n%s", l)
	}

	// Once the holder lets go, Open proceeds.
	_, _ = conn.ExecContext(ctx, `ROLLBACK`)
	_, _ = conn.ExecContext(ctx, `SELECT pg_advisory_unlock(742017)`)
	conn.Close()
	st, err := postgres.Open(ctx, url, slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
}
