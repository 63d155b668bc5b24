package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// consumers: plans, consumers, subscriptions and keys are saved, read,
// replaced and deleted; a key's grant is read in one query with its
// subscription and plan; a revoked or expired key says so.
func consumers(t *testing.T, s store.Consumers) {
	ctx := context.Background()
	gold, err := s.SavePlan(ctx, store.Plan{Name: "gold", Description: "fast", Limits: store.Limits{RatePerSecond: 10, Burst: 20, QuotaDay: 1000, QuotaMonth: 20000}})
	must(t, err)
	if gold.Namespace != store.DefaultNamespace || gold.CreatedAt.IsZero() {
		t.Fatalf("plan: %+v", gold)
	}
	_, err = s.SavePlan(ctx, store.Plan{Name: "free", Limits: store.Limits{QuotaDay: 100}})
	must(t, err)
	again, err := s.SavePlan(ctx, store.Plan{Name: "gold", Limits: store.Limits{RatePerSecond: 5, Burst: 5}})
	must(t, err)
	if !again.CreatedAt.Equal(gold.CreatedAt) {
		t.Fatalf("replace kept created_at? %v vs %v", again.CreatedAt, gold.CreatedAt)
	}
	if _, err := s.SavePlan(ctx, store.Plan{Name: "x", Namespace: "no-such-ns"}); weft.Code(err) != weft.EInvalid {
		t.Fatalf("unknown namespace: %v", err)
	}
	plans, err := s.Plans(ctx)
	must(t, err)
	if len(plans) != 2 || plans[0].Name != "free" || plans[1].Limits != (store.Limits{RatePerSecond: 5, Burst: 5}) {
		t.Fatalf("plans: %+v", plans)
	}
	if _, err := s.Plan(ctx, "nope"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown plan: %v", err)
	}

	c, err := s.SaveConsumer(ctx, store.Consumer{Name: "acme-app", Description: "Acme's shop"})
	must(t, err)
	if c.Namespace != store.DefaultNamespace {
		t.Fatalf("consumer: %+v", c)
	}
	_, err = s.SaveConsumer(ctx, store.Consumer{Name: "beta-app"})
	must(t, err)
	cs, err := s.ConsumerList(ctx)
	must(t, err)
	if len(cs) != 2 || cs[0].Name != "acme-app" || cs[0].Description != "Acme's shop" {
		t.Fatalf("consumers: %+v", cs)
	}

	if _, err := s.Subscribe(ctx, store.Subscription{Consumer: "nobody", Product: "shop", Plan: "gold"}); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown consumer: %v", err)
	}
	if _, err := s.Subscribe(ctx, store.Subscription{Consumer: "acme-app", Product: "shop", Plan: "platinum"}); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown plan: %v", err)
	}
	sub, err := s.Subscribe(ctx, store.Subscription{Consumer: "acme-app", Product: "shop", Plan: "free"})
	must(t, err)
	sub2, err := s.Subscribe(ctx, store.Subscription{Consumer: "acme-app", Product: "shop", Version: "v2", Plan: "gold"})
	must(t, err)
	if sub2.ID != sub.ID || sub.ID == "" {
		t.Fatalf("a second subscription to one product replaces the first: %+v %+v", sub, sub2)
	}
	_, err = s.Subscribe(ctx, store.Subscription{Consumer: "acme-app", Product: "billing", Plan: "free"})
	must(t, err)
	subs, err := s.Subscriptions(ctx, "acme-app")
	must(t, err)
	if len(subs) != 2 || subs[0].Product != "billing" || subs[1].Version != "v2" || subs[1].Plan != "gold" {
		t.Fatalf("subscriptions: %+v", subs)
	}
	if err := s.DeletePlan(ctx, "gold"); weft.Code(err) != weft.EConflict {
		t.Fatalf("a plan in use is not deleted: %v", err)
	}

	now := time.Now().UTC().Truncate(time.Microsecond)
	must(t, s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k1", Consumer: "acme-app", Hash: "h1", CreatedAt: now}))
	must(t, s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k2", Consumer: "acme-app", Hash: "h2", CreatedAt: now.Add(time.Second)}))
	if err := s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k3", Consumer: "nobody", Hash: "h3", CreatedAt: now}); weft.Code(err) != weft.ENotFound {
		t.Fatalf("key of an unknown consumer: %v", err)
	}
	g, err := s.KeyGrant(ctx, "k1", "shop")
	must(t, err)
	if g.Key.Hash != "h1" || g.Consumer.Name != "acme-app" || g.Subscription == nil || g.Subscription.Version != "v2" ||
		g.Plan == nil || g.Plan.Limits != (store.Limits{RatePerSecond: 5, Burst: 5}) || g.Key.RevokedAt != nil || g.Key.ExpiresAt != nil {
		t.Fatalf("grant: %+v sub %+v plan %+v", g, g.Subscription, g.Plan)
	}
	g, err = s.KeyGrant(ctx, "k1", "not-subscribed")
	must(t, err)
	if g.Subscription != nil || g.Plan != nil {
		t.Fatalf("grant for a product without a subscription: %+v", g)
	}
	if _, err := s.KeyGrant(ctx, "nope", "shop"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown key: %v", err)
	}
	cg, err := s.ConsumerGrant(ctx, "acme-app", "shop")
	must(t, err)
	if cg.Consumer.Name != "acme-app" || cg.Subscription == nil || cg.Subscription.Version != "v2" || cg.Plan == nil || cg.Plan.Limits.Burst != 5 || cg.Key.ID != "" {
		t.Fatalf("consumer grant: %+v", cg)
	}
	if cg, err := s.ConsumerGrant(ctx, "beta-app", "shop"); err != nil || cg.Subscription != nil || cg.Plan != nil {
		t.Fatalf("consumer grant without a subscription: %+v %v", cg, err)
	}
	if _, err := s.ConsumerGrant(ctx, "nobody", "shop"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown consumer: %v", err)
	}
	until := now.Add(time.Hour)
	must(t, s.ExpireConsumerKey(ctx, "acme-app", "k1", until))
	must(t, s.RevokeConsumerKey(ctx, "acme-app", "k2", now))
	if err := s.RevokeConsumerKey(ctx, "acme-app", "k2", now); weft.Code(err) != weft.ENotFound {
		t.Fatalf("revoke twice: %v", err)
	}
	if err := s.RevokeConsumerKey(ctx, "beta-app", "k1", now); weft.Code(err) != weft.ENotFound {
		t.Fatalf("another consumer's key: %v", err)
	}
	g, err = s.KeyGrant(ctx, "k1", "shop")
	must(t, err)
	if g.Key.ExpiresAt == nil || !g.Key.ExpiresAt.Equal(until) {
		t.Fatalf("expiry: %+v", g.Key)
	}
	g, err = s.KeyGrant(ctx, "k2", "shop")
	must(t, err)
	if g.Key.RevokedAt == nil {
		t.Fatalf("revoked: %+v", g.Key)
	}
	keys, err := s.ConsumerKeys(ctx, "acme-app")
	must(t, err)
	if len(keys) != 2 || keys[0].ID != "k1" || keys[1].RevokedAt == nil {
		t.Fatalf("keys: %+v", keys)
	}

	must(t, s.Unsubscribe(ctx, "acme-app", "billing"))
	if err := s.Unsubscribe(ctx, "acme-app", "billing"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unsubscribe twice: %v", err)
	}
	// Deleting a consumer drops its limit buckets, and only its own.
	a1, err := s.Admit(ctx, store.Bucket("acme-app", "shop"), store.Limits{QuotaDay: 1}, now)
	must(t, err)
	a2, err := s.Admit(ctx, store.Bucket("acme_app", "shop"), store.Limits{QuotaDay: 1}, now)
	must(t, err)
	if !a1.Allowed || !a2.Allowed {
		t.Fatalf("first calls: %+v %+v", a1, a2)
	}
	must(t, s.DeleteConsumer(ctx, "acme-app"))
	if a, _ := s.Admit(ctx, store.Bucket("acme-app", "shop"), store.Limits{QuotaDay: 1}, now); !a.Allowed {
		t.Fatalf("a deleted consumer's bucket was kept: %+v", a)
	}
	if a, _ := s.Admit(ctx, store.Bucket("acme_app", "shop"), store.Limits{QuotaDay: 1}, now); a.Allowed {
		t.Fatalf("another consumer's bucket was dropped: %+v", a)
	}
	if _, err := s.KeyGrant(ctx, "k1", "shop"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("a deleted consumer's key: %v", err)
	}
	if subs, _ := s.Subscriptions(ctx, "acme-app"); len(subs) != 0 {
		t.Fatalf("a deleted consumer's subscriptions: %+v", subs)
	}
	must(t, s.DeletePlan(ctx, "gold"))
	if err := s.DeletePlan(ctx, "gold"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("delete twice: %v", err)
	}
	if err := s.DeleteConsumer(ctx, "acme-app"); weft.Code(err) != weft.ENotFound {
		t.Fatalf("delete consumer twice: %v", err)
	}
}

// admitWindows: a plan of n calls per minute (GCRA at n/60 per second,
// burst 0.5% of n) hammered by 16 concurrent clients on a simulated clock
// allows n ± 1% in each minute; a refused call says when to retry.
func admitWindows(t *testing.T, s store.Consumers, n int64) {
	ctx := context.Background()
	l := store.Limits{RatePerSecond: float64(n) / 60, Burst: max(n/200, 1)}
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	const windows = 3
	// Sixteen calls per interval: the clock moves with the calls, so a
	// client that read it and was then delayed arrives with a time up to
	// ~16 steps old; at one interval of skew the burst's tolerance (two
	// intervals) absorbs it, as it absorbs the network's in a server.
	step := time.Minute / time.Duration(n) / 16
	var clock atomic.Int64 // simulated µs since start
	var allowed [windows]atomic.Int64
	var refusedWithWait atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				at := clock.Add(step.Microseconds())
				w := at / time.Minute.Microseconds()
				if w >= windows {
					return
				}
				a, err := s.Admit(ctx, "consumer/product", l, start.Add(time.Duration(at)*time.Microsecond))
				if err != nil {
					errs <- err
					return
				}
				if a.Allowed {
					allowed[w].Add(1)
				} else if a.Limit == "rate" && a.RetryAfter > 0 {
					refusedWithWait.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	tol := max(n/100, 1)
	for w := range windows {
		got := allowed[w].Load()
		t.Logf("window %d: %d allowed (plan %d per minute)", w, got, n)
		if got < n-tol || got > n+tol {
			t.Errorf("window %d: %d calls allowed, want %d ± %d", w, got, n, tol)
		}
	}
	if refusedWithWait.Load() == 0 {
		t.Error("no refusal said when to retry")
	}
}

// admitQuotas: day and month quotas count exactly under concurrency, reset
// with the UTC day, and a refusal spends nothing.
func admitQuotas(t *testing.T, s store.Consumers) {
	ctx := context.Background()
	l := store.Limits{QuotaDay: 50, QuotaMonth: 70}
	day1 := time.Date(2026, 12, 3, 23, 59, 0, 0, time.UTC)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				a, err := s.Admit(ctx, "q", l, day1)
				if err != nil {
					t.Error(err)
					return
				}
				if a.Allowed {
					ok.Add(1)
				} else if a.Limit != "day" || a.RetryAfter != time.Minute {
					t.Errorf("refusal: %+v", a)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Fatalf("day quota 50: %d allowed", ok.Load())
	}
	// The next day: 20 more until the month's 70.
	day2 := day1.Add(2 * time.Minute)
	for i := range 25 {
		a, err := s.Admit(ctx, "q", l, day2)
		must(t, err)
		if a.Allowed != (i < 20) {
			t.Fatalf("call %d of day 2: %+v", i, a)
		}
		if i == 19 && (a.MonthRemaining != 0 || a.DayRemaining != 30) {
			t.Fatalf("remaining after the 20th: %+v", a)
		}
		if i == 20 && (a.Limit != "month" || a.RetryAfter <= 24*time.Hour) {
			t.Fatalf("month refusal: %+v", a)
		}
	}
	// Usage reads without counting.
	for range 2 {
		u, err := s.Usage(ctx, "q", l, day2)
		must(t, err)
		if u.DayRemaining != 30 || u.MonthRemaining != 0 || !u.Allowed {
			t.Fatalf("usage: %+v", u)
		}
	}
	if u, err := s.Usage(ctx, "never", store.Limits{RatePerSecond: 1, Burst: 5, QuotaDay: 9}, day2); err != nil || u.DayRemaining != 9 || u.RateRemaining != 5 {
		t.Fatalf("an unused bucket: %+v %v", u, err)
	}
	// A bucket is its own: another one starts whole.
	a, err := s.Admit(ctx, "other", l, day2)
	must(t, err)
	if !a.Allowed || a.DayRemaining != 49 {
		t.Fatalf("another bucket: %+v", a)
	}
}

// admitKey: a good key is counted against its plan in one call; a wrong
// hash, another version, a revoked or expired key, a disabled consumer or
// a plan without limits count nothing; the bucket is Admit's.
func admitKey(t *testing.T, s store.Consumers) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	_, err := s.SavePlan(ctx, store.Plan{Name: "three", Limits: store.Limits{RatePerSecond: 100, Burst: 100, QuotaDay: 3}})
	must(t, err)
	_, err = s.SavePlan(ctx, store.Plan{Name: "none"})
	must(t, err)
	_, err = s.SaveConsumer(ctx, store.Consumer{Name: "app"})
	must(t, err)
	_, err = s.Subscribe(ctx, store.Subscription{Consumer: "app", Product: "shop", Version: "v1", Plan: "three"})
	must(t, err)
	must(t, s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k1", Consumer: "app", Hash: "h1", CreatedAt: now}))
	if _, _, err := s.AdmitKey(ctx, "nope", "h1", "shop", "v1", now); weft.Code(err) != weft.ENotFound {
		t.Fatalf("unknown key: %v", err)
	}
	for _, c := range []struct{ hash, product, version string }{{"h2", "shop", "v1"}, {"h1", "shop", "v2"}, {"h1", "other", "v1"}} {
		g, a, err := s.AdmitKey(ctx, "k1", c.hash, c.product, c.version, now)
		must(t, err)
		if a != nil || g == nil || g.Key.ID != "k1" {
			t.Fatalf("%+v: counted %+v", c, a)
		}
	}
	for i := range 4 {
		g, a, err := s.AdmitKey(ctx, "k1", "h1", "shop", "v1", now)
		must(t, err)
		if a == nil || a.Allowed != (i < 3) || g.Plan == nil || g.Plan.Limits.QuotaDay != 3 {
			t.Fatalf("call %d: %+v %+v", i, a, g)
		}
		if i == 2 && (a.DayRemaining != 0 || a.RateRemaining != 97) {
			t.Fatalf("third call: %+v", a)
		}
		if i == 3 && (a.Limit != "day" || a.RetryAfter != 12*time.Hour) {
			t.Fatalf("fourth call: %+v", a)
		}
	}
	// The same bucket as Admit's.
	a, err := s.Admit(ctx, store.Bucket("app", "shop"), store.Limits{QuotaDay: 4}, now)
	must(t, err)
	if !a.Allowed || a.DayRemaining != 0 {
		t.Fatalf("Admit on AdmitKey's bucket: %+v", a)
	}
	// The next day, an expired key counts nothing; a fresh one does.
	next := now.Add(24 * time.Hour)
	must(t, s.ExpireConsumerKey(ctx, "app", "k1", next))
	if _, a, _ := s.AdmitKey(ctx, "k1", "h1", "shop", "v1", next); a != nil {
		t.Fatalf("expired key counted: %+v", a)
	}
	must(t, s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k2", Consumer: "app", Hash: "h2", CreatedAt: now}))
	if _, a, _ := s.AdmitKey(ctx, "k2", "h2", "shop", "v1", next); a == nil || !a.Allowed || a.DayRemaining != 2 {
		t.Fatalf("a new day: %+v", a)
	}
	must(t, s.RevokeConsumerKey(ctx, "app", "k2", next))
	if g, a, _ := s.AdmitKey(ctx, "k2", "h2", "shop", "v1", next); a != nil || g.Key.RevokedAt == nil {
		t.Fatalf("revoked key counted: %+v", a)
	}
	must(t, s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k3", Consumer: "app", Hash: "h3", CreatedAt: now}))
	_, err = s.SaveConsumer(ctx, store.Consumer{Name: "app", Disabled: true})
	must(t, err)
	if _, a, _ := s.AdmitKey(ctx, "k3", "h3", "shop", "v1", next); a != nil {
		t.Fatalf("disabled consumer counted: %+v", a)
	}
	_, err = s.SaveConsumer(ctx, store.Consumer{Name: "app"})
	must(t, err)
	_, err = s.Subscribe(ctx, store.Subscription{Consumer: "app", Product: "shop", Plan: "none"})
	must(t, err)
	if g, a, _ := s.AdmitKey(ctx, "k3", "h3", "shop", "v9", next); a != nil || !g.Good("h3", "v9", next) {
		t.Fatalf("a plan without limits: %+v %+v", a, g)
	}
}

// nonces: a nonce is accepted once per credential (16 concurrent callers
// racing with the same one: exactly one wins), another credential's
// same nonce is its own, an expired one may be used again, and a sweep
// forgets exactly the expired ones.
func nonces(t *testing.T, s store.Consumers) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	exp := now.Add(5 * time.Minute)
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.UseNonce(ctx, "k1", "nonce-0123456789abcdef", exp, now)
			switch weft.Code(err) {
			case "":
				wins.Add(1)
			case weft.EConflict:
			default:
				t.Errorf("use: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of 16 racing uses of one nonce were accepted", wins.Load())
	}
	must(t, s.UseNonce(ctx, "k2", "nonce-0123456789abcdef", exp, now))
	must(t, s.UseNonce(ctx, "k1", "another-nonce-0000", now.Add(time.Minute), now))
	if err := s.UseNonce(ctx, "k1", "nonce-0123456789abcdef", exp, exp.Add(-time.Microsecond)); weft.Code(err) != weft.EConflict {
		t.Fatalf("a replay just before expiry: %v", err)
	}
	must(t, s.UseNonce(ctx, "k1", "nonce-0123456789abcdef", exp.Add(5*time.Minute), exp))
	n, err := s.SweepNonces(ctx, now.Add(2*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("swept %d, want 1 (another-nonce)", n)
	}
	must(t, s.UseNonce(ctx, "k1", "another-nonce-0000", now.Add(3*time.Minute), now.Add(2*time.Minute)))
	if err := s.UseNonce(ctx, "k2", "nonce-0123456789abcdef", exp, now.Add(time.Minute)); weft.Code(err) != weft.EConflict {
		t.Fatalf("k2's nonce after the sweep: %v", err)
	}
	// UseNonceAdmit: a fresh nonce is counted, a replay neither accepted
	// nor counted; 16 racing uses of one nonce are counted once.
	lim := store.Limits{QuotaDay: 100}
	a, err := s.UseNonceAdmit(ctx, "k3", "n3-0000000000000001", exp, "c/p", lim, now)
	must(t, err)
	if !a.Allowed || a.DayRemaining != 99 {
		t.Fatalf("fresh: %+v", a)
	}
	if _, err := s.UseNonceAdmit(ctx, "k3", "n3-0000000000000001", exp, "c/p", lim, now); weft.Code(err) != weft.EConflict {
		t.Fatalf("replay: %v", err)
	}
	wins.Store(0)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.UseNonceAdmit(ctx, "k3", "n3-0000000000000002", exp, "c/p", lim, now); err == nil {
				wins.Add(1)
			} else if weft.Code(err) != weft.EConflict {
				t.Errorf("race: %v", err)
			}
		}()
	}
	wg.Wait()
	u, err := s.Usage(ctx, "c/p", lim, now)
	must(t, err)
	if wins.Load() != 1 || u.DayRemaining != 98 {
		t.Fatalf("racing: %d accepted, %d left (want 1 and 98)", wins.Load(), u.DayRemaining)
	}
	a, err = s.UseNonceAdmit(ctx, "k3", "n3-0000000000000003", exp, "c/p", store.Limits{QuotaDay: 2}, now)
	must(t, err)
	if a.Allowed || a.Limit != "day" {
		t.Fatalf("over the quota: %+v", a)
	}
}

// apiUsage: a process's row of a minute is replaced by its next save;
// rows of several processes and minutes are summed per product, version
// and consumer (and route when asked), within the window only; pruning
// deletes the old minutes.
func apiUsage(t *testing.T, s store.UsageStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	m := t0.Unix() / 60
	row := func(min int64, proc, route, consumer string, calls, c4, c5, c429, dur int64, bucket int) store.APIUsage {
		u := store.APIUsage{Minute: min, Process: proc, Product: "shop", Version: "v1", Route: route, Consumer: consumer,
			Calls: calls, ClientErrors: c4, ServerErrors: c5, RateLimited: c429, DurationUS: dur}
		u.Hist[bucket] = calls
		return u
	}
	must(t, s.SaveAPIUsage(ctx, []store.APIUsage{row(m, "p1", "GET /orders/{id}", "acme", 5, 1, 0, 0, 500, 3)}))
	// The same key again: replaced (cumulative), not added.
	must(t, s.SaveAPIUsage(ctx, []store.APIUsage{row(m, "p1", "GET /orders/{id}", "acme", 10, 2, 1, 1, 1000, 3),
		row(m, "p2", "GET /orders/{id}", "acme", 4, 0, 0, 0, 400, 5),
		row(m, "p2", "POST /orders", "acme", 6, 6, 0, 6, 600, 1),
		row(m+1, "p1", "GET /orders/{id}", "beta", 1, 0, 0, 0, 100, 0),
		row(m-120, "p1", "GET /orders/{id}", "acme", 100, 0, 0, 0, 100, 0)}))
	sums, err := s.SumAPIUsage(ctx, store.UsageQuery{Since: t0, Until: t0.Add(time.Hour)})
	must(t, err)
	if len(sums) != 2 || sums[0].Consumer != "acme" || sums[0].Calls != 20 || sums[0].ClientErrors != 8 || sums[0].ServerErrors != 1 ||
		sums[0].RateLimited != 7 || sums[0].DurationUS != 2000 || sums[0].Hist[3] != 10 || sums[0].Hist[5] != 4 || sums[0].Hist[1] != 6 || sums[1].Calls != 1 {
		t.Fatalf("sums: %+v", sums)
	}
	byRoute, err := s.SumAPIUsage(ctx, store.UsageQuery{Since: t0, Until: t0.Add(time.Hour), Consumer: "acme", ByRoute: true})
	must(t, err)
	if len(byRoute) != 2 || byRoute[0].Route != "GET /orders/{id}" || byRoute[0].Calls != 14 || byRoute[1].Route != "POST /orders" {
		t.Fatalf("by route: %+v", byRoute)
	}
	if got, _ := s.SumAPIUsage(ctx, store.UsageQuery{Since: t0, Until: t0.Add(time.Hour), Product: "other"}); len(got) != 0 {
		t.Fatalf("another product: %+v", got)
	}
	n, err := s.PruneAPIUsage(ctx, t0)
	must(t, err)
	if n != 1 {
		t.Fatalf("pruned %d", n)
	}
}

// admitVerified: a call of a credential verified under a grant is
// counted while the grants' epoch read with it holds; every change to a
// plan, a consumer, a subscription or a key moves the epoch, so the
// remembered grant no longer holds (nothing used or counted) until it is
// read again; a nonce is used once (16 racing uses: one fresh, one count).
func admitVerified(t *testing.T, s store.Consumers) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	lim := store.Limits{RatePerSecond: 100, Burst: 100, QuotaDay: 50}
	_, err := s.SavePlan(ctx, store.Plan{Name: "p", Limits: lim})
	must(t, err)
	_, err = s.SavePlan(ctx, store.Plan{Name: "none"})
	must(t, err)
	_, err = s.SaveConsumer(ctx, store.Consumer{Name: "app"})
	must(t, err)
	_, err = s.Subscribe(ctx, store.Subscription{Consumer: "app", Product: "shop", Version: "v1", Plan: "p"})
	must(t, err)
	must(t, s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k1", Consumer: "app", Hash: "h1", CreatedAt: now}))
	read := func() store.VerifiedCall {
		t.Helper()
		g, err := s.KeyGrant(ctx, "k1", "shop")
		must(t, err)
		return store.VerifiedCall{KeyID: "k1", Consumer: "app", Product: "shop", Epoch: g.Epoch, Limits: lim}
	}
	used := func() int64 {
		u, err := s.Usage(ctx, store.Bucket("app", "shop"), lim, now)
		must(t, err)
		return lim.QuotaDay - u.DayRemaining
	}
	vc := read()
	held, fresh, a, err := s.AdmitVerified(ctx, vc, now)
	must(t, err)
	if !held || !fresh || a == nil || !a.Allowed || a.DayRemaining != 49 {
		t.Fatalf("a good call: held %v fresh %v %+v", held, fresh, a)
	}
	stale := func(what string, v store.VerifiedCall) {
		t.Helper()
		before := used()
		held, _, a, err := s.AdmitVerified(ctx, v, now)
		must(t, err)
		if held || a != nil || used() != before {
			t.Fatalf("%s: held %v, counted %+v (%d -> %d)", what, held, a, before, used())
		}
	}
	v := vc
	v.Epoch++
	stale("another epoch", v)
	// A nonce: used once; a replay is held but not fresh and not counted;
	// the nonce of a call that was not held was not used.
	v.Nonce, v.NonceExpires = "nonce-0000000000000001", now.Add(time.Minute)
	stale("a nonce under another epoch", v)
	v.Epoch = vc.Epoch
	if held, fresh, a, err := s.AdmitVerified(ctx, v, now); err != nil || !held || !fresh || a == nil || a.DayRemaining != 48 {
		t.Fatalf("a fresh nonce: held %v fresh %v %+v %v", held, fresh, a, err)
	}
	before := used()
	if held, fresh, a, err := s.AdmitVerified(ctx, v, now); err != nil || !held || fresh || a != nil || used() != before {
		t.Fatalf("a replay: held %v fresh %v %+v %v", held, fresh, a, err)
	}
	var wins atomic.Int64
	var wg sync.WaitGroup
	v.Nonce = "nonce-race-000000001"
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			held, fresh, _, err := s.AdmitVerified(ctx, v, now)
			if err != nil || !held {
				t.Errorf("race: held %v %v", held, err)
			}
			if fresh {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || used() != before+1 {
		t.Fatalf("racing: %d fresh, %d counted", wins.Load(), used()-before)
	}
	// Every change moves the epoch: the grant read before no longer holds,
	// the grant read after does.
	for _, c := range []struct {
		what   string
		change func() error
	}{
		{"a disabled consumer", func() error { _, err := s.SaveConsumer(ctx, store.Consumer{Name: "app", Disabled: true}); return err }},
		{"a changed plan", func() error {
			_, err := s.SavePlan(ctx, store.Plan{Name: "p", Limits: store.Limits{QuotaDay: 10}})
			return err
		}},
		{"a new subscription", func() error {
			_, err := s.Subscribe(ctx, store.Subscription{Consumer: "app", Product: "shop", Plan: "none"})
			return err
		}},
		{"a removed subscription", func() error { return s.Unsubscribe(ctx, "app", "shop") }},
		{"a new key", func() error {
			return s.CreateConsumerKey(ctx, store.ConsumerKey{ID: "k2", Consumer: "app", Hash: "h2", CreatedAt: now})
		}},
		{"an expiry", func() error { return s.ExpireConsumerKey(ctx, "app", "k2", now.Add(time.Hour)) }},
		{"a revocation", func() error { return s.RevokeConsumerKey(ctx, "app", "k2", now) }},
		{"a new plan", func() error { _, err := s.SavePlan(ctx, store.Plan{Name: "p2"}); return err }},
		{"a deleted plan", func() error { return s.DeletePlan(ctx, "p2") }},
	} {
		what, change := c.what, c.change
		vc = read()
		if held, _, _, err := s.AdmitVerified(ctx, vc, now); err != nil || !held {
			t.Fatalf("before %s: %v %v", what, held, err)
		}
		if err := change(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		stale(what, vc)
		// Put back what the next change expects.
		_, err = s.SaveConsumer(ctx, store.Consumer{Name: "app"})
		must(t, err)
		_, err = s.SavePlan(ctx, store.Plan{Name: "p", Limits: lim})
		must(t, err)
		_, err = s.Subscribe(ctx, store.Subscription{Consumer: "app", Product: "shop", Version: "v1", Plan: "p"})
		must(t, err)
	}
	// A failed change does not move it.
	vc = read()
	if err := s.RevokeConsumerKey(ctx, "app", "no-such-key", now); weft.Code(err) != weft.ENotFound {
		t.Fatalf("revoke an unknown key: %v", err)
	}
	if held, _, _, err := s.AdmitVerified(ctx, vc, now); err != nil || !held {
		t.Fatalf("after a failed change: %v %v", held, err)
	}
	// A plan without limits: held, nothing counted.
	vc.Limits = store.Limits{}
	if held, fresh, a, err := s.AdmitVerified(ctx, vc, now); err != nil || !held || !fresh || a != nil {
		t.Fatalf("no limits: %v %v %+v %v", held, fresh, a, err)
	}
}
