package monitor

import (
	"context"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/store"
)

func finished(flow, status string, at time.Time, id string) *store.Run {
	return &store.Run{ID: id, Flow: flow, Status: status, FinishedAt: &at}
}

// Failure spikes fire once, resolve, then stay quiet for the cooldown; a
// flow that goes silent raises its own alert and resolves when it runs.
func TestAlerterRulesWithAFakeClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var sent []Alert
	a := NewAlerter([]Rule{
		{Name: "spike", Flow: "orders", ErrorRate: 0.5, MinRuns: 4, Window: time.Minute, Severity: "critical"},
		{Name: "silent", Flow: "nightly*", MinRuns: 3, Window: 10 * time.Minute, Silent: 5 * time.Minute},
	}, func(_ context.Context, al Alert) error { mu.Lock(); sent = append(sent, al); mu.Unlock(); return nil }, nil)
	a.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		a.ObserveRun(finished("orders", store.RunSucceeded, now, "ok"))
	}
	a.Evaluate(ctx)
	if len(sent) != 0 {
		t.Fatalf("healthy: %v", sent)
	}
	for i := 0; i < 5; i++ {
		a.ObserveRun(finished("orders", store.RunDead, now, "bad"))
	}
	a.Evaluate(ctx)
	a.Evaluate(ctx) // no repeat while open
	if len(sent) != 1 || sent[0].Status != "firing" || sent[0].Severity != "critical" {
		t.Fatalf("spike: %+v", sent)
	}
	now = now.Add(2 * time.Minute) // the failures age out of the window
	for i := 0; i < 6; i++ {
		a.ObserveRun(finished("orders", store.RunSucceeded, now, "ok"))
	}
	a.Evaluate(ctx)
	if len(sent) != 2 || sent[1].Status != "resolved" || sent[1].ID != sent[0].ID {
		t.Fatalf("resolve: %+v", sent)
	}
	for i := 0; i < 5; i++ {
		a.ObserveRun(finished("orders", store.RunFailed, now, "bad"))
	}
	a.Evaluate(ctx)
	if len(sent) != 2 {
		t.Fatalf("fired inside the cooldown: %+v", sent[2:])
	}
	// A nightly flow that ran steadily, then stopped.
	for i := 0; i < 4; i++ {
		a.ObserveRun(finished("nightly-report", store.RunSucceeded, now.Add(time.Duration(i)*time.Minute), "n"))
	}
	now = now.Add(4 * time.Minute)
	a.Evaluate(ctx)
	n := len(sent)
	now = now.Add(6 * time.Minute)
	a.Evaluate(ctx)
	if len(sent) != n+1 || sent[n].Rule != "silent" || sent[n].Flow != "nightly-report" {
		t.Fatalf("silent: %+v", sent[n:])
	}
	a.ObserveRun(finished("nightly-report", store.RunSucceeded, now, "n"))
	a.Evaluate(ctx)
	if len(sent) != n+2 || sent[n+1].Status != "resolved" {
		t.Fatalf("silent resolve: %+v", sent[n:])
	}
	if len(a.Alerts()) != 2 || !a.Ack(sent[0].ID, "oncall") || a.Ack("nope", "x") {
		t.Fatal("alerts / ack")
	}
}

// The binomial burst rule judges failures against the flow's own usual
// rate: 3 failures in 4 runs of a flow that rarely fails fire; 3 in 10 of
// a flow that often fails do not; one failure never does.
func TestBurstRuleBinomial(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var sent []Alert
	a := NewAlerter([]Rule{{Name: "burst", Kind: "burst", Window: 10 * time.Minute, Severity: "critical"}},
		func(_ context.Context, al Alert) error { sent = append(sent, al); return nil }, nil)
	a.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 200; i++ { // a quiet flow: 200 runs over the day, 2 failed
		st := store.RunSucceeded
		if i%100 == 0 {
			st = store.RunFailed
		}
		a.ObserveRun(finished("rare", st, now.Add(-20*time.Hour+time.Duration(i)*5*time.Minute), "r"))
		st = store.RunSucceeded
		if i%4 == 0 {
			st = store.RunFailed // a flaky flow: a quarter fail
		}
		a.ObserveRun(finished("flaky", st, now.Add(-20*time.Hour+time.Duration(i)*5*time.Minute), "f"))
	}
	a.ObserveRun(finished("rare", store.RunFailed, now.Add(-time.Minute), "one"))
	a.Evaluate(ctx)
	if len(sent) != 0 {
		t.Fatalf("one failure fired: %+v", sent)
	}
	for i, st := range []string{store.RunFailed, store.RunSucceeded, store.RunDead} {
		a.ObserveRun(finished("rare", st, now.Add(-time.Duration(i)*time.Second), "x"))
	}
	for i := 0; i < 10; i++ {
		st := store.RunSucceeded
		if i < 3 {
			st = store.RunFailed
		}
		a.ObserveRun(finished("flaky", st, now.Add(-time.Duration(i)*time.Second), "y"))
	}
	a.Evaluate(ctx)
	if len(sent) != 1 || sent[0].Flow != "rare" || sent[0].Value >= 0.001 || len(sent[0].RunIDs) != 3 {
		t.Fatalf("%+v", sent)
	}
	now = now.Add(15 * time.Minute)
	a.ObserveRun(finished("rare", store.RunSucceeded, now, "ok"))
	a.Evaluate(ctx)
	if len(sent) != 2 || sent[1].Status != "resolved" {
		t.Fatalf("%+v", sent)
	}
	if p := binomialTail(4, 3, 0.02); p < 3e-5 || p > 4e-5 { // 4·0.02³·0.98 + 0.02⁴
		t.Fatalf("binomialTail(4,3,0.02) = %v", p)
	}
}

// The anomaly rule feeds the detector one bucket at a time: an agent key
// that calls about ten times a minute (Poisson noise) for three hours
// raises nothing; when it surges to four times that, the rule fires within
// a few minutes with the value and the expected range, and resolves once
// the traffic is back to normal.
func TestAnomalyRuleOnRunsSeries(t *testing.T) {
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	now := start
	var sent []Alert
	a := NewAlerter([]Rule{{Name: "volume", Flow: "mcp:*", Kind: "anomaly", Metric: "runs", Severity: "warning"}},
		func(_ context.Context, al Alert) error { sent = append(sent, al); return nil }, nil)
	a.now = func() time.Time { return now }
	ctx := context.Background()
	r := rand.New(rand.NewSource(4))
	minute := func(m int, rate float64) {
		n := poissonDraw(r, rate)
		for i := 0; i < n; i++ {
			a.ObserveRun(finished("mcp:all", store.RunSucceeded, start.Add(time.Duration(m)*time.Minute+time.Duration(i)*time.Second/time.Duration(n+1)), "call"))
		}
		now = start.Add(time.Duration(m+1) * time.Minute)
		a.Evaluate(ctx)
	}
	for m := 0; m < 180; m++ {
		minute(m, 10)
	}
	if len(sent) != 0 {
		t.Fatalf("steady traffic fired: %+v", sent[0])
	}
	m := 180
	for ; m < 190 && len(sent) == 0; m++ {
		minute(m, 40)
	}
	if len(sent) != 1 || sent[0].Status != "firing" || !strings.Contains(sent[0].Message, "expected") || m-180 > 5 || len(sent[0].RunIDs) == 0 {
		t.Fatalf("after %d surge minutes: %+v", m-180, sent)
	}
	for ; m < 260 && len(sent) < 2; m++ {
		minute(m, 10)
	}
	if len(sent) != 2 || sent[1].Status != "resolved" {
		t.Fatalf("%+v", sent)
	}
}

// agentTraffic drives an alerter with one agent key's MCP calls, a minute
// at a time (Poisson counts), on a fake clock.
type agentTraffic struct {
	a          *Alerter
	start, now time.Time
	m          int // the minute being fed
	r          *rand.Rand
}

func newAgentTraffic(rule Rule, send func(al Alert, minute int)) *agentTraffic {
	tr := &agentTraffic{start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), r: rand.New(rand.NewSource(4))}
	tr.now = tr.start
	tr.a = NewAlerter([]Rule{rule}, func(_ context.Context, al Alert) error { send(al, tr.m); return nil }, nil)
	tr.a.now = func() time.Time { return tr.now }
	return tr
}

// minute feeds one minute of calls at rate, then evaluates.
func (tr *agentTraffic) minute(rate float64) {
	n := poissonDraw(tr.r, rate)
	for i := 0; i < n; i++ {
		at := tr.start.Add(time.Duration(tr.m)*time.Minute + time.Duration(i)*time.Second/time.Duration(n+1))
		tr.a.ObserveRun(finished("mcp:all", store.RunSucceeded, at, "call"))
	}
	tr.now = tr.start.Add(time.Duration(tr.m+1) * time.Minute)
	tr.a.Evaluate(context.Background())
	tr.m++
}

// Past both warm-ups (a day and a half of steady traffic), a surge that
// lasts half an hour fires within minutes and stays open while it lasts
// (the shape detector scores a novelty once, not for as long as it
// lasts), and resolves when the traffic is back to its usual level.
func TestAnomalyAlertStaysOpenWhileTheSurgeLasts(t *testing.T) {
	var sent []Alert
	var at []int
	tr := newAgentTraffic(Rule{Name: "volume", Flow: "mcp:*", Kind: "anomaly", Metric: "runs", Severity: "warning"},
		func(al Alert, m int) { sent, at = append(sent, al), append(at, m) })
	for tr.m < 2000 {
		tr.minute(10)
	}
	if len(sent) != 0 {
		t.Fatalf("steady traffic fired: %+v", sent[0])
	}
	for tr.m < 2030 {
		tr.minute(40)
	}
	if len(sent) != 1 || sent[0].Status != "firing" || at[0] > 2005 {
		t.Fatalf("during the surge: %+v at %v", sent, at)
	}
	for tr.m < 2100 && len(sent) < 2 {
		tr.minute(10)
	}
	if len(sent) != 2 || sent[1].Status != "resolved" || at[1] > 2040 {
		t.Fatalf("after the surge: %+v at %v", sent, at)
	}
}

// With `for`, an anomaly rule fires only for an anomaly that lasts: a
// half-hour surge fires once `for` has passed (it holds the alert pending
// while the value stays outside the range expected before it, though its
// score falls after the first minute); a one-minute spike, which fires a
// rule without `for`, does not.
func TestAnomalyRuleForNeedsTheAnomalyToLast(t *testing.T) {
	for _, forDur := range []time.Duration{0, 5 * time.Minute} {
		var fired []int
		tr := newAgentTraffic(Rule{Name: "volume", Flow: "mcp:*", Kind: "anomaly", Metric: "runs", For: forDur, Severity: "warning"},
			func(al Alert, m int) {
				if al.Status == "firing" {
					fired = append(fired, m)
				}
			})
		for tr.m < 2000 {
			tr.minute(10)
		}
		for tr.m < 2030 { // a surge
			tr.minute(40)
		}
		for tr.m < 2300 {
			tr.minute(10)
		}
		tr.minute(80) // a spike
		for tr.m < 2400 {
			tr.minute(10)
		}
		switch {
		case forDur == 0 && (len(fired) != 2 || fired[0] > 2002 || fired[1] > 2303):
			t.Fatalf("without for: fired at %v (want the surge and the spike)", fired)
		case forDur > 0 && (len(fired) != 1 || fired[0] < 2005 || fired[0] > 2008):
			t.Fatalf("with for: 5m: fired at %v (want the surge, about five minutes in)", fired)
		}
	}
}

func poissonDraw(r *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// Several flows failing in the same evaluation make one notification that
// lists them; each keeps its own alert (to ack and resolve).
func TestAlertsGroupedPerRule(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var sent []Alert
	a := NewAlerter([]Rule{{Name: "spike", Flow: "*", ErrorRate: 0.5, MinRuns: 3, Window: time.Minute, Severity: "critical"}},
		func(_ context.Context, al Alert) error { sent = append(sent, al); return nil }, nil)
	a.now = func() time.Time { return now }
	for _, f := range []string{"a", "b", "c"} {
		for i := 0; i < 3; i++ {
			a.ObserveRun(finished(f, store.RunFailed, now, f+"-run"))
		}
	}
	a.Evaluate(context.Background())
	if len(sent) != 1 || len(sent[0].Group) != 3 || !strings.Contains(sent[0].Message, "3 flows") || len(a.Alerts()) != 3 {
		t.Fatalf("%+v (%d alerts)", sent, len(a.Alerts()))
	}
}

// Raise: one notification per rule and flow while open; a repeat updates
// the alert; Resolve closes it.
func TestRaiseOncePerFlowUntilResolved(t *testing.T) {
	var sent []Alert
	a := NewAlerter(nil, func(_ context.Context, al Alert) error { sent = append(sent, al); return nil }, nil)
	ctx := context.Background()
	first := a.Raise(ctx, "feedback-loop", "twin", "critical", "loop 1", []string{"r1"})
	second := a.Raise(ctx, "feedback-loop", "twin", "critical", "loop 2", []string{"r2"})
	if len(sent) != 1 || sent[0].Flow != "twin" || sent[0].Status != "firing" {
		t.Fatalf("notifications %+v", sent)
	}
	if second.ID != first.ID || second.Runs != 2 || second.Message != "loop 2" || len(second.RunIDs) != 2 {
		t.Errorf("repeat: %+v", second)
	}
	a.Raise(ctx, "feedback-loop", "other", "critical", "loop", nil)
	if len(sent) != 2 {
		t.Errorf("another flow: want its own notification, got %d", len(sent))
	}
	if !a.Resolve(ctx, "feedback-loop", "twin", "fixed") || a.Resolve(ctx, "feedback-loop", "twin", "again") {
		t.Error("Resolve: true once, then false")
	}
	var statuses []string
	for _, al := range a.Alerts() {
		if al.Flow == "twin" {
			statuses = append(statuses, al.Status)
		}
	}
	if len(statuses) != 1 || statuses[0] != "resolved" {
		t.Errorf("twin alerts %v", statuses)
	}
	a.Evaluate(ctx) // the rules leave a raised alert alone
	a.Raise(ctx, "feedback-loop", "twin", "critical", "back", nil)
	if len(sent) != 3 {
		t.Errorf("after resolve, a new loop notifies again: %d", len(sent))
	}
}
