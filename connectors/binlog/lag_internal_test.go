package binlog

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftio/weft/internal/mariadbtest"
)

// Lag is the binlog written past the acked position: it grows with
// changes not yet acked and falls to zero once their end is acked.
func TestLagFollowsAck(t *testing.T) {
	srv := mariadbtest.StartWith(t, mariadbtest.BinlogArgs...)
	srv.Exec(t, "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(100))")
	st, err := Open(context.Background(), Config{DSN: fmt.Sprintf("root@tcp(127.0.0.1:%d)/shop", srv.Port), Table: "orders", Name: "lag"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv.Exec(t, "INSERT INTO shop.orders VALUES (1, REPEAT('x', 100)), (2, REPEAT('y', 100))")
	var got []Change
	for deadline := time.Now().Add(10 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		chs, _, err := st.Read(context.Background(), 200*time.Millisecond, 10)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, chs...)
	}
	if len(got) != 2 {
		t.Fatalf("%d changes", len(got))
	}
	if err := st.measure(); err != nil {
		t.Fatal(err)
	}
	if st.Lag() < 200 {
		t.Fatalf("lag %d bytes before the ack, want at least the rows' 200", st.Lag())
	}
	st.Ack(got[1].End)
	if err := st.measure(); err != nil {
		t.Fatal(err)
	}
	if st.Lag() != 0 {
		t.Fatalf("lag %d bytes after acking the end of the binlog", st.Lag())
	}
}
