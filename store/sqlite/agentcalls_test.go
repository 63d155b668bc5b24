package sqlite_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// SQLite is one process: reach-in calls never go through its database, so
// it has nothing to announce and says so at once instead of listening.
func TestAgentCallsNotListened(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	called := false
	err = s.ListenAgentCalls(context.Background(), func(bool) { called = true }, func(string, string) { called = true })
	if weft.Code(err) != weft.EUnavailable || called {
		t.Fatalf("listening on SQLite: %v (called %v)", err, called)
	}
	var _ store.AgentCallEvents = s
}
