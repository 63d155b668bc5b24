package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

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
