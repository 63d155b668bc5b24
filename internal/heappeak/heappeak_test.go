package heappeak

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"
)

func TestSamplerSeesAnAllocation(t *testing.T) {
	raw := Rows(20_000)
	if !json.Valid(raw) || len(raw) < 20_000*80 {
		t.Fatalf("Rows: %d bytes, valid %v", len(raw), json.Valid(raw))
	}
	s := Start()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the sampler looks while the document is live
	p := s.Stop()
	runtime.KeepAlive(v)
	if p < float64(len(raw)) {
		t.Fatalf("peak %.0f bytes above base while holding a decoded %d-byte document", p, len(raw))
	}
}
