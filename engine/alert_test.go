package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/store"
)

// tracker is an issue tracker's API in miniature: POST /issues opens one
// (for an alert id), POST /issues/{alert}/close closes it.
type tracker struct {
	mu     sync.Mutex
	opened map[string]string // alert id -> title
	closed map[string]int    // alert id -> times closed
	calls  int
}

func (tr *tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.calls++
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	switch {
	case r.Method == "POST" && r.URL.Path == "/issues":
		id, _ := in["alert"].(string)
		if _, dup := tr.opened[id]; dup {
			w.WriteHeader(http.StatusConflict)
			return
		}
		tr.opened[id], _ = in["title"].(string)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"number": 1}`)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/close"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/issues/"), "/close")
		if _, ok := tr.opened[id]; !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		tr.closed[id]++
		fmt.Fprint(w, `{}`)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// A failure burst fires the alert, the alert's flow opens an issue; the
// resolution closes it. Re-evaluating a firing alert starts nothing more.
func TestAlertTriggerOpensAndClosesAnIssue(t *testing.T) {
	tr := &tracker{opened: map[string]string{}, closed: map[string]int{}}
	ts := httptest.NewServer(tr)
	defer ts.Close()
	e := newEngine(t)
	ctx := context.Background()
	deploy(t, e, `name: payments
trigger: {manual: {}}
steps:
  - fail: {message: upstream down, code: down}
`)
	deploy(t, e, strings.ReplaceAll(`name: on-alert
trigger:
  alert: {rule: "failure-*", flow: payments, on: [fired, resolved], severity: [critical]}
steps:
  - id: act
    if: =trigger.event == 'fired'
    then:
      - id: open
        call: http.request
        connection: local
        with: {method: POST, url: "TRACKER/issues", body: {alert: =trigger.body.id, title: =trigger.body.flow + ' ' + trigger.body.message}}
    else:
      - id: close
        call: http.request
        connection: local
        with: {method: POST, url: ="TRACKER/issues/" + trigger.body.id + "/close", body: {}}
`, "TRACKER", ts.URL))
	alerter := monitor.NewAlerter([]monitor.Rule{{Name: "failure-spike", Flow: "payments", ErrorRate: 0.5, MinRuns: 3, Window: 3 * time.Second, Severity: "critical"},
		{Name: "other-rule", Flow: "payments", ErrorRate: 0.5, MinRuns: 3, Window: 3 * time.Second, Severity: "critical"}}, nil, slog.New(slog.DiscardHandler))
	if err := alerter.Persist(ctx, e.Store()); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.RunTriggers(tctx, 50*time.Millisecond)
	// The alert flow's first pull marks where it starts.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, _ := e.Store().TriggerCursor(ctx, "on-alert"); c != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the alert trigger never stored a position")
		}
		time.Sleep(20 * time.Millisecond)
	}
	observed := map[string]bool{}
	observe := func() {
		runs, err := e.Store().ListRuns(ctx, store.RunFilter{Flow: "payments", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.FinishedAt != nil && !observed[r.ID] {
				observed[r.ID] = true
				alerter.ObserveRun(r)
			}
		}
	}
	for i := 0; i < 5; i++ { // the failure burst
		res, err := e.Trigger(ctx, engine.Event{Flow: "payments", Kind: "manual", Body: map[string]any{}})
		if err == nil && res.Run.Status == store.RunSucceeded {
			t.Fatal("payments should fail")
		}
	}
	observe()
	for i := 0; i < 10; i++ { // evaluated again and again while firing
		alerter.Evaluate(ctx)
		time.Sleep(100 * time.Millisecond)
	}
	firing := 0
	for _, al := range alerter.Alerts() {
		if al.Status == "firing" {
			firing++
		}
	}
	if firing != 2 {
		t.Fatalf("%d alerts firing, want 2 (failure-spike, other-rule): %+v", firing, alerter.Alerts())
	}
	alertRuns := func(n int) []queueRun {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			runs := queueRuns(t, e.Store(), "on-alert")
			done := 0
			for _, r := range runs {
				if r.status == store.RunSucceeded {
					done++
				}
			}
			if done >= n || time.Now().After(deadline) {
				if done != n || len(runs) != n {
					t.Fatalf("%d alert runs (%d succeeded), want %d: %+v", len(runs), done, n, runs)
				}
				return runs
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	runs := alertRuns(1) // the other rule does not match failure-*
	if runs[0].in["event"] != "fired" || runs[0].in["body"].(map[string]any)["rule"] != "failure-spike" {
		t.Fatalf("run input %+v", runs[0].in)
	}
	time.Sleep(500 * time.Millisecond)
	alertRuns(1) // still one: edge-triggered
	tr.mu.Lock()
	if len(tr.opened) != 1 {
		t.Fatalf("issues opened: %v", tr.opened)
	}
	tr.mu.Unlock()

	// The window passes without failures: the alert resolves, the issue closes.
	time.Sleep(3200 * time.Millisecond)
	for i := 0; i < 5; i++ {
		alerter.Evaluate(ctx)
		time.Sleep(100 * time.Millisecond)
	}
	runs = alertRuns(2)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.opened) != 1 || len(tr.closed) != 1 {
		t.Fatalf("opened %v closed %v", tr.opened, tr.closed)
	}
	for id, n := range tr.closed {
		if n != 1 || tr.opened[id] == "" || !strings.Contains(tr.opened[id], "payments is failing") {
			t.Fatalf("issue %s closed %d times; title %q", id, n, tr.opened[id])
		}
	}
}

func TestAlertTriggerParse(t *testing.T) {
	for src, want := range map[string]string{
		"alert: {on: [fired, opened]}":        `f.yaml:3:23: alert.on: "opened" is not one of fired, resolved`,
		"alert: {severity: [high]}":           `alert.severity: "high" is not one of info, warning, critical`,
		"alert: {rule: '[x'}":                 `alert.rule "[x" is not a glob`,
		"alert: {on: fired}":                  "alert.on must be a list of fired, resolved",
		"alert: {on: [fired, fired]}":         "alert.on lists fired twice",
		"alert: {when: '=trigger.event ==' }": "alert.when",
		"alert: {rules: x}":                   "rules",
	} {
		_, err := flow.Parse("f.yaml", []byte("name: x\ntrigger:\n  "+src+"\nsteps:\n  - set: {a: 1}\n"))
		if err == nil || !strings.Contains(fmt.Sprintf("%v %+v", err, err), want) {
			t.Errorf("%s: err %+v, want %q", src, err, want)
		}
	}
	f, err := flow.Parse("f.yaml", []byte("name: x\ntrigger:\n  alert:\nsteps:\n  - set: {a: =trigger.event}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Trigger.Alert == nil || !f.Trigger.Alert.Matches("resolved", "any", "flow", "info") {
		t.Fatalf("trigger %+v", f.Trigger)
	}
}
