package gateway_test

import (
	"testing"
	"time"

	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/monitor"
)

// GET /api/predictions lists what the predictor forecasts: what, when, why.
func TestPredictionsEndpoint(t *testing.T) {
	al := monitor.NewAlerter(nil, nil, nil)
	srv := newServer(t, gateway.Config{Alerts: al})
	code, body, _ := call(t, "GET", srv.URL+"/api/predictions", "", nil)
	if ps, _ := body["predictions"].([]any); code != 200 || ps == nil || len(ps) != 0 {
		t.Fatalf("no predictor: %d %v", code, body)
	}
	pr := monitor.NewPredictor(monitor.DefaultPredictParams())
	al.Predict(pr)
	now := time.Now()
	pr.ObserveExpiry("connection:crm", "tls certificate crm.example", now, now.Add(-87*24*time.Hour), now.Add(3*24*time.Hour)) // 3 % left
	pr.Evaluate(now)
	code, body, _ = call(t, "GET", srv.URL+"/api/predictions", "", nil)
	ps, _ := body["predictions"].([]any)
	if code != 200 || len(ps) != 1 {
		t.Fatalf("%d %v", code, body)
	}
	p := ps[0].(map[string]any)
	if p["kind"] != "expiry" || p["subject"] != "connection:crm" || p["when"] == "" || p["why"] == "" || p["what"] == "" {
		t.Fatalf("%v", p)
	}
}
