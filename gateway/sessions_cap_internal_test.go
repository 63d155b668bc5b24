package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/weftio/weft/access"
)

// A flood of sign-ins by one principal keeps at most
// maxSessionsPerPrincipal of its sessions in memory (the least recently
// used go first) and leaves other principals' sessions alone.
func TestMemorySessionsCapPerPrincipal(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	m := &MemorySessions{Idle: time.Hour, Lifetime: 2 * time.Hour, Now: func() time.Time { return now }}
	ctx := context.Background()
	other, _, err := m.create(ctx, access.Principal{Kind: access.KindUser, ID: "u2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var first [32]byte
	for i := 0; i < maxSessionsPerPrincipal+5; i++ {
		now = now.Add(time.Second)
		_, s, err := m.create(ctx, access.Principal{Kind: access.KindUser, ID: "u1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = s.key
		}
	}
	n := 0
	for _, s := range m.sessions {
		if s.principal.ID == "u1" {
			n++
		}
	}
	if n != maxSessionsPerPrincipal {
		t.Fatalf("u1 has %d sessions, want %d", n, maxSessionsPerPrincipal)
	}
	if _, ok := m.sessions[first]; ok {
		t.Fatal("the least recently used session of u1 survived")
	}
	if _, ok := m.sessions[hashID(other)]; !ok {
		t.Fatal("another principal's session was evicted")
	}
}
