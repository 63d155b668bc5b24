package access_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// countingStore counts the identity reads a request's authentication
// makes, and can hold a token lookup after it has read the store.
type countingStore struct {
	store.Identities
	reads atomic.Int64
	hold  chan chan struct{} // non-nil: TokenByHash sends a channel here and waits for it to close
}

func (c *countingStore) TokenByHash(ctx context.Context, hash string) (*store.Token, error) {
	c.reads.Add(1)
	t, err := c.Identities.TokenByHash(ctx, hash)
	if c.hold != nil {
		release := make(chan struct{})
		c.hold <- release
		<-release
	}
	return t, err
}

func (c *countingStore) UserByID(ctx context.Context, id string) (*store.User, error) {
	c.reads.Add(1)
	return c.Identities.UserByID(ctx, id)
}

func (c *countingStore) RoleBindings(ctx context.Context, id string) ([]store.RoleBinding, error) {
	c.reads.Add(1)
	return c.Identities.RoleBindings(ctx, id)
}

func openStore(t *testing.T) store.Identities {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Repeated authentications are served from the cache; a revocation, a
// disabled user and a role change made through the Directory take effect
// on the very next request.
func TestPrincipalCacheRevocationIsImmediate(t *testing.T) {
	ctx := context.Background()
	cs := &countingStore{Identities: openStore(t)}
	d := access.NewDirectory(cs)
	now := time.Now()
	d.Now = func() time.Time { return now }
	if _, err := d.CreateUser(ctx, "ada", "a long password 1", access.RoleEditor, "default"); err != nil {
		t.Fatal(err)
	}
	ada, err := d.SignIn(ctx, "ada", "a long password 1")
	if err != nil {
		t.Fatal(err)
	}
	pat, _ := d.CreatePAT(ctx, ada, access.NewTokenRequest{Name: "ci"})
	pat2, _ := d.CreatePAT(ctx, ada, access.NewTokenRequest{Name: "ci2"})
	sa, _ := d.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "deployer", Scopes: map[string]string{"default": access.RoleOperator}})

	cached := func(what string, f func() (access.Principal, error)) access.Principal {
		t.Helper()
		if _, err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		before := cs.reads.Load()
		p, err := f()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := cs.reads.Load() - before; n != 0 {
			t.Fatalf("%s again read the store %d times", what, n)
		}
		return p
	}
	p := cached("PAT", func() (access.Principal, error) { return d.Authenticate(ctx, pat.Secret) })
	cached("PAT 2", func() (access.Principal, error) { return d.Authenticate(ctx, pat2.Secret) })
	cached("service account", func() (access.Principal, error) { return d.Authenticate(ctx, sa.Secret) })
	cached("session user", func() (access.Principal, error) { return d.User(ctx, ada.ID) })
	// What a caller does to a principal does not change the cached one.
	p.Roles["default"] = access.RoleAdmin
	if q, _ := d.Authenticate(ctx, pat.Secret); q.RoleIn("default") != access.RoleEditor {
		t.Fatalf("the cached principal was changed through a returned one: %+v", q)
	}

	if err := d.RevokePAT(ctx, ada, pat.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, pat.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("a revoked PAT still works: %v", err)
	}
	if err := d.RevokeServiceAccount(ctx, sa.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, sa.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("a revoked service account still works: %v", err)
	}
	if err := d.SetRole(ctx, "ada", access.RoleViewer, "default"); err != nil {
		t.Fatal(err)
	}
	if u, _ := d.User(ctx, ada.ID); u.RoleIn("default") != access.RoleViewer {
		t.Fatalf("a role change is not seen at once: %+v", u)
	}
	if q, _ := d.Authenticate(ctx, pat2.Secret); q.RoleIn("default") != "" {
		t.Fatalf("a PAT above its user's new role: %+v", q)
	}
	if err := d.DisableUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.User(ctx, ada.ID); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("a disabled user's session still works: %v", err)
	}
	if _, err := d.Authenticate(ctx, pat2.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("a disabled user's PAT still works: %v", err)
	}
}

// A lookup that read the store before a revocation and finishes after it
// is not cached: the next request is refused.
func TestPrincipalCacheLookupRacingARevocationIsNotKept(t *testing.T) {
	ctx := context.Background()
	cs := &countingStore{Identities: openStore(t)}
	d := access.NewDirectory(cs)
	sa, _ := d.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "deployer", Scopes: map[string]string{"default": access.RoleOperator}})
	cs.hold = make(chan chan struct{})
	done := make(chan error)
	go func() { _, err := d.Authenticate(ctx, sa.Secret); done <- err }()
	release := <-cs.hold // the token row is read, still active
	cs.hold = nil
	if err := d.RevokeServiceAccount(ctx, sa.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	if _, err := d.Authenticate(ctx, sa.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("a revoked token works after a racing lookup: %v", err)
	}
}

// Another process's change (here: another Directory over the same store)
// is seen within CacheTTL; a token never outlives its expiry in the cache;
// a negative CacheTTL turns the cache off.
func TestPrincipalCacheStalenessIsBoundedByTTL(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	d, other := access.NewDirectory(st), access.NewDirectory(st)
	now := time.Now()
	d.Now = func() time.Time { return now }
	other.Now = d.Now
	d.CacheTTL = 3 * time.Second
	sa, _ := other.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "deployer", Scopes: map[string]string{"default": access.RoleOperator}})
	short, _ := other.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "short", Scopes: map[string]string{"default": access.RoleViewer}, TTL: time.Second})
	if _, err := d.Authenticate(ctx, sa.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, short.Secret); err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeServiceAccount(ctx, sa.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second) // the short token's expiry
	if _, err := d.Authenticate(ctx, short.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("an expired token served from the cache: %v", err)
	}
	now = now.Add(1999 * time.Millisecond)
	if _, err := d.Authenticate(ctx, sa.Secret); err != nil {
		t.Fatalf("within the TTL another process's revocation may not be seen yet, but: %v", err)
	}
	now = now.Add(time.Millisecond) // CacheTTL since the lookup
	if _, err := d.Authenticate(ctx, sa.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("another process's revocation not seen after CacheTTL: %v", err)
	}

	off := access.NewDirectory(st)
	off.CacheTTL = -1
	sa2, _ := off.CreateServiceAccount(ctx, access.NewTokenRequest{Name: "deployer2", Scopes: map[string]string{"default": access.RoleOperator}})
	if _, err := off.Authenticate(ctx, sa2.Secret); err != nil {
		t.Fatal(err)
	}
	if err := other.RevokeServiceAccount(ctx, sa2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := off.Authenticate(ctx, sa2.Secret); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("cache off, yet a revoked token works: %v", err)
	}
}

// "No users" is cached like a principal: the first user created on this
// process closes an open server at once; one created by another process
// (another Directory over the same store) within CacheTTL.
func TestHasUsersCache(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	d, other := access.NewDirectory(st), access.NewDirectory(st)
	now := time.Now()
	d.Now = func() time.Time { return now }
	if has, err := d.HasUsers(ctx); err != nil || has {
		t.Fatalf("%v %v", has, err)
	}
	if _, err := other.CreateUser(ctx, "bob", "a long password 2", access.RoleViewer, "default"); err != nil {
		t.Fatal(err)
	}
	if has, _ := d.HasUsers(ctx); has {
		t.Fatal("the cached answer was not used") // within CacheTTL: allowed to be stale
	}
	now = now.Add(access.DefaultCacheTTL)
	if has, _ := d.HasUsers(ctx); !has {
		t.Fatal("another process's first user not seen after CacheTTL")
	}

	d2 := access.NewDirectory(openStore(t))
	if has, _ := d2.HasUsers(ctx); has {
		t.Fatal("users in an empty store")
	}
	if _, err := d2.CreateUser(ctx, "ada", "a long password 1", access.RoleViewer, "default"); err != nil {
		t.Fatal(err)
	}
	if has, _ := d2.HasUsers(ctx); !has {
		t.Fatal("a user created on this process is not seen at once")
	}
}
