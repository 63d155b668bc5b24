package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// sessions: a session is found by its id's hash only, until deleted;
// touching and replacing its sealed tokens change only those columns;
// purging removes what is past its absolute expiry or idle too long.
func sessions(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := store.Session{IDHash: "h-a", PrincipalKind: "user", PrincipalID: "u1", Principal: `{"kind":"user","id":"u1"}`, CSRF: "c-a",
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(12 * time.Hour), TokensKey: "k1", Tokens: []byte{1, 2, 3}, TokensExpiry: now.Add(5 * time.Minute)}
	must(t, s.CreateSession(ctx, a))
	if err := s.CreateSession(ctx, a); weft.Code(err) != weft.EConflict {
		t.Fatalf("duplicate session: %v", err)
	}
	b := store.Session{IDHash: "h-b", PrincipalKind: "api_token", Principal: `{"kind":"api_token"}`, CSRF: "c-b", CreatedAt: now, LastSeen: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, b))
	c := store.Session{IDHash: "h-c", PrincipalKind: "api_token", Principal: `{"kind":"api_token"}`, CSRF: "c-c", CreatedAt: now.Add(-13 * time.Hour), LastSeen: now, ExpiresAt: now.Add(-time.Hour)}
	must(t, s.CreateSession(ctx, c))

	got, err := s.SessionByHash(ctx, "h-a")
	must(t, err)
	if got.PrincipalID != "u1" || got.CSRF != "c-a" || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(a.ExpiresAt) || got.TokensKey != "k1" ||
		!bytes.Equal(got.Tokens, a.Tokens) || !got.TokensExpiry.Equal(a.TokensExpiry) || got.Principal != a.Principal {
		t.Fatalf("%+v", got)
	}
	if got, err := s.SessionByHash(ctx, "h-b"); err != nil || got.Tokens != nil || !got.TokensExpiry.IsZero() {
		t.Fatalf("a session without tokens: %+v %v", got, err)
	}
	if _, err := s.SessionByHash(ctx, "h-x"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown session: %v", err)
	}
	later := now.Add(time.Minute)
	must(t, s.TouchSession(ctx, "h-a", later))
	must(t, s.SetSessionTokens(ctx, "h-a", "k2", []byte{9}, later.Add(time.Hour)))
	got, err = s.SessionByHash(ctx, "h-a")
	must(t, err)
	if !got.LastSeen.Equal(later) || got.TokensKey != "k2" || !bytes.Equal(got.Tokens, []byte{9}) || !got.TokensExpiry.Equal(later.Add(time.Hour)) || got.CSRF != "c-a" {
		t.Fatalf("after touch and refresh: %+v", got)
	}
	if err := s.TouchSession(ctx, "h-x", later); weft.Code(err) != weft.ENotFound {
		t.Fatalf("touch unknown: %v", err)
	}

	// b is idle for an hour, c past its absolute expiry: both go, a stays.
	n, err := s.PurgeSessions(ctx, now, now.Add(-30*time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("purged %d, want 2", n)
	}
	for _, h := range []string{"h-b", "h-c"} {
		if _, err := s.SessionByHash(ctx, h); weft.Code(err) != weft.ENotFound {
			t.Fatalf("%s survived the purge: %v", h, err)
		}
	}
	must(t, s.DeleteSession(ctx, "h-a"))
	must(t, s.DeleteSession(ctx, "h-a"))
	if _, err := s.SessionByHash(ctx, "h-a"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("deleted session found: %v", err)
	}
}
