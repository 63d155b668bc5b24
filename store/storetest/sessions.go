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
	must(t, s.CreateSession(ctx, a, store.SessionCaps{}))
	if err := s.CreateSession(ctx, a, store.SessionCaps{}); weft.Code(err) != weft.EConflict {
		t.Fatalf("duplicate session: %v", err)
	}
	b := store.Session{IDHash: "h-b", PrincipalKind: "api_token", Principal: `{"kind":"api_token"}`, CSRF: "c-b", CreatedAt: now, LastSeen: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, b, store.SessionCaps{}))
	c := store.Session{IDHash: "h-c", PrincipalKind: "api_token", Principal: `{"kind":"api_token"}`, CSRF: "c-c", CreatedAt: now.Add(-13 * time.Hour), LastSeen: now, ExpiresAt: now.Add(-time.Hour)}
	must(t, s.CreateSession(ctx, c, store.SessionCaps{}))

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

// sessionCaps: creating a session beyond a cap deletes the least recently
// used sessions of the same principal (per-principal cap) or of anyone
// (total cap), never the one just created.
func sessionCaps(t *testing.T, s store.Sessions) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	caps := store.SessionCaps{PerPrincipal: 3, Total: 5}
	mk := func(h, kind, id string, seen time.Time) store.Session {
		return store.Session{IDHash: h, PrincipalKind: kind, PrincipalID: id, Principal: `{}`, CSRF: "c", CreatedAt: seen, LastSeen: seen, ExpiresAt: now.Add(time.Hour)}
	}
	present := func(h string) bool {
		_, err := s.SessionByHash(ctx, h)
		if err != nil && weft.Code(err) != weft.ENotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	// u1 signs in four times: the least recently used of its sessions goes.
	for i, h := range []string{"cap-u1-a", "cap-u1-b", "cap-u1-c"} {
		must(t, s.CreateSession(ctx, mk(h, "user", "u1", now.Add(time.Duration(i)*time.Second)), caps))
	}
	must(t, s.TouchSession(ctx, "cap-u1-a", now.Add(10*time.Second)))                        // a used again: b is now the oldest
	must(t, s.CreateSession(ctx, mk("cap-u1-d", "user", "u1", now.Add(-time.Minute)), caps)) // the newest row, however old its stamp
	for h, want := range map[string]bool{"cap-u1-a": true, "cap-u1-b": false, "cap-u1-c": true, "cap-u1-d": true} {
		if present(h) != want {
			t.Fatalf("per-principal cap: %s present=%v, want %v", h, !want, want)
		}
	}
	// Another principal is not trimmed by u1's cap; the total cap trims anyone's oldest.
	must(t, s.CreateSession(ctx, mk("cap-u2-a", "user", "u2", now.Add(20*time.Second)), caps))
	must(t, s.CreateSession(ctx, mk("cap-sa-a", "service_account", "u1", now.Add(21*time.Second)), caps))
	must(t, s.CreateSession(ctx, mk("cap-u2-b", "user", "u2", now.Add(22*time.Second)), caps))
	if !present("cap-sa-a") || !present("cap-u2-a") || !present("cap-u2-b") {
		t.Fatal("a session of another principal was trimmed by the per-principal cap")
	}
	// Six rows were made for five places: u1-d (oldest last use) went.
	if present("cap-u1-d") || !present("cap-u1-c") || !present("cap-u1-a") {
		t.Fatalf("total cap: the least recently used session should have gone")
	}
	for _, h := range []string{"cap-u1-a", "cap-u1-c", "cap-u2-a", "cap-u2-b", "cap-sa-a"} {
		must(t, s.DeleteSession(ctx, h))
	}
}
