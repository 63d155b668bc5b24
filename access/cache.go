package access

// The principal cache: the Directory keeps the principals it resolved
// from tokens (keyed by the token's hash) and for signed-in users (keyed by
// user id) for a few seconds, so a request with a personal access token,
// a service account's token or a session cookie costs a map lookup instead
// of one to three store reads (BENCHMARKS.md §10). On a server with no
// local user, the answer "no users" is kept the same way (HasUsers), so an
// open loopback server does not read the store on every request either;
// CreateUser on this process ends it at once.
//
// Staleness is bounded two ways. On this process, every change the
// Directory makes to users, roles or tokens (disable, role change,
// password reset, revocation) empties the cache before it returns, and a
// lookup that raced with the change does not store its result (a
// generation counter), so a revoked token or a disabled user is refused
// from the very next request. A change made by another process sharing the
// store (PostgreSQL, several weft serve) is seen once the entry expires:
// after CacheTTL at most (default 5 s). A token's own expiry is never
// extended: an entry lives no longer than its token. Only successful
// lookups are kept; unknown, revoked and expired tokens always reach the
// store. The cache holds at most maxCached entries.

import (
	"sync"
	"time"
)

// DefaultCacheTTL is how long a resolved principal is reused when
// Directory.CacheTTL is 0.
const DefaultCacheTTL = 5 * time.Second

// maxCached bounds the cache; when it is full, expired entries go, and if
// none has expired, all of them.
const maxCached = 4096

type cached struct {
	p   Principal
	exp time.Time
}

type principalCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[string]cached
	// noUsersUntil: "no local user exists" may be answered without the
	// store until then (an open loopback server asks on every request).
	noUsersUntil time.Time
}

// get returns a copy of a live entry, and the generation to pass to put
// after a lookup in the store.
func (c *principalCache) get(key string, now time.Time) (Principal, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && now.Before(e.exp) {
		return clonePrincipal(e.p), true, c.gen
	}
	if ok {
		delete(c.entries, key)
	}
	return Principal{}, false, c.gen
}

// put keeps p until exp unless the cache was invalidated since gen.
func (c *principalCache) put(key string, p Principal, exp time.Time, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || !now.Before(exp) {
		return
	}
	if c.entries == nil {
		c.entries = map[string]cached{}
	}
	if len(c.entries) >= maxCached {
		for k, e := range c.entries {
			if !now.Before(e.exp) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCached {
			clear(c.entries)
		}
	}
	c.entries[key] = cached{p: clonePrincipal(p), exp: exp}
}

// invalidate forgets everything, including lookups in flight.
func (c *principalCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.noUsersUntil = time.Time{}
}

// noUsers reports a live "no users" answer; else the generation for setNoUsers.
func (c *principalCache) noUsers(now time.Time) (bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return now.Before(c.noUsersUntil), c.gen
}

func (c *principalCache) setNoUsers(until time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		c.noUsersUntil = until
	}
}

func (c *principalCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// clonePrincipal copies p so callers cannot change the cached one.
func clonePrincipal(p Principal) Principal {
	if p.Roles != nil {
		p.Roles = clone(p.Roles)
	}
	return p
}

// ttl is the cache's lifetime for an entry; 0 or less with caching off.
func (d *Directory) ttl() time.Duration {
	switch {
	case d.CacheTTL < 0:
		return 0
	case d.CacheTTL == 0:
		return DefaultCacheTTL
	}
	return d.CacheTTL
}

// Invalidate empties the principal cache. Every change the Directory makes
// to users, roles and tokens calls it; code that changes them in the store
// by other means must call it too.
func (d *Directory) Invalidate() { d.cache.invalidate() }
