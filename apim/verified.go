package apim

import (
	"crypto/subtle"
	"net/netip"
	"sync"
	"time"

	"github.com/weftio/weft/store"
)

// A process remembers the credentials it has verified, so that a call of
// a known credential takes one statement on the store (AdmitVerified):
// the key's hash or the credential's secret (which never change for an
// id: a rotation makes a new one) and the grant read with it, with the
// grants' epoch read in the same statement. Every change to a plan, a
// consumer, a subscription or a credential raises the epoch in its own
// transaction, and every call's statement counts only while the epoch
// is the one remembered, so a revocation, a disabled consumer, a removed
// subscription or a changed plan holds from the next call on, in every
// process. An entry that no longer holds is forgotten and the grant read
// again (the first call after any change, once per process and
// credential).
const (
	// verifiedTTL bounds how long an entry (an HMAC credential's opened
	// secret among them) stays in memory unused by a fresh read.
	verifiedTTL = 5 * time.Minute
	// maxVerified bounds the entries.
	maxVerified = 10000
)

type verifiedEntry struct {
	call    store.VerifiedCall // without the nonce
	hash    string             // an API key's SHA-256
	secret  string             // an HMAC credential's secret
	version string             // the subscription's version ("": every one)
	expires *time.Time         // a rotated key's end
	// The consumer as read, with its allow-list parsed.
	consumer *store.Consumer
	prefixes []netip.Prefix
	grant    Grant
	at       time.Time
}

type verifiedCache struct {
	mu sync.Mutex
	m  map[string]*verifiedEntry
}

func verifiedKey(kind, id, product string) string { return kind + "\x00" + id + "\x00" + product }

// get returns the entry of a credential for a call of product version at
// now, if fresh and good for it (the subscription covers the version, the
// key has not expired); for an API key only when hash is the remembered
// one.
func (c *verifiedCache) get(kind, id, product, version, hash string, now time.Time) *verifiedEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[verifiedKey(kind, id, product)]
	if e == nil || now.Sub(e.at) > verifiedTTL || now.Before(e.at.Add(-time.Minute)) {
		return nil
	}
	if hash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(e.hash)) != 1 {
		return nil
	}
	if e.version != "" && e.version != version || e.expires != nil && !now.Before(*e.expires) {
		return nil // the grant read again says why
	}
	return e
}

func (c *verifiedCache) put(kind string, e *verifiedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*verifiedEntry{}
	}
	if len(c.m) >= maxVerified {
		c.evict()
	}
	c.m[verifiedKey(kind, e.call.KeyID, e.call.Product)] = e
}

// evict drops expired entries and, if the cache is still full, all of
// them (the next calls read their grants again).
func (c *verifiedCache) evict() {
	now := time.Now()
	for k, e := range c.m {
		if now.Sub(e.at) > verifiedTTL {
			delete(c.m, k)
		}
	}
	if len(c.m) >= maxVerified {
		clear(c.m)
	}
}

func (c *verifiedCache) forget(kind, id, product string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, verifiedKey(kind, id, product))
}

// entryFor makes the entry of a grant read from the store, good for the
// call (the caller checked it).
func entryFor(g *store.KeyGrant, product string, now time.Time) *verifiedEntry {
	return &verifiedEntry{
		call:     store.VerifiedCall{KeyID: g.Key.ID, Consumer: g.Consumer.Name, Product: product, Epoch: g.Epoch, Limits: g.Plan.Limits},
		hash:     g.Key.Hash,
		secret:   g.Key.Secret,
		version:  g.Subscription.Version,
		expires:  g.Key.ExpiresAt,
		consumer: &g.Consumer,
		prefixes: consumerPrefixes(&g.Consumer),
		grant:    Grant{Consumer: g.Consumer.Name, Key: g.Key.ID, Plan: *g.Plan, Bucket: store.Bucket(g.Consumer.Name, product)},
		at:       now,
	}
}
