package access

import (
	"fmt"
	"testing"
	"time"
)

// The cache never holds more than maxCached entries; expired ones go first.
func TestPrincipalCacheIsBounded(t *testing.T) {
	var c principalCache
	now := time.Now()
	for i := 0; i < 3*maxCached; i++ {
		exp := now.Add(time.Minute)
		if i%2 == 0 {
			exp = now.Add(time.Millisecond) // expires soon: dropped first once full
		}
		c.put(fmt.Sprint("k", i), Principal{Kind: KindUser, ID: fmt.Sprint(i)}, exp, 0, now)
		if i == maxCached {
			now = now.Add(time.Second)
		}
		if n := c.len(); n > maxCached {
			t.Fatalf("%d entries after %d puts", n, i+1)
		}
	}
	// A stale generation is not stored; an entry past its expiry is not served.
	_, _, gen := c.get("x", now)
	c.invalidate()
	c.put("x", Principal{Kind: KindUser}, now.Add(time.Minute), gen, now)
	if _, ok, _ := c.get("x", now); ok {
		t.Fatal("a lookup that raced with an invalidation was cached")
	}
	_, _, gen = c.get("y", now)
	c.put("y", Principal{Kind: KindUser}, now.Add(time.Second), gen, now)
	if _, ok, _ := c.get("y", now.Add(time.Second)); ok {
		t.Fatal("an expired entry was served")
	}
}
