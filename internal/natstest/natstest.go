// Package natstest starts a NATS server with JetStream for tests, in the
// test process (github.com/nats-io/nats-server/v2), on a free loopback port,
// storing in the test's temp dir.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Start starts a JetStream-enabled server, shut down when the test ends.
func Start(t testing.TB) *server.Server {
	t.Helper()
	return StartAt(t, -1, t.TempDir())
}

// StartAt starts one on port (-1: a free one) storing in dir: a test can
// stop a server and start it again on the same port and data.
func StartAt(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server: not ready after 20s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}
