package engine

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// trouble turns a trigger source's pull outcomes into one raised alert
// after the trouble has lasted a while and one resolved alert when it ends,
// instead of one per failed pull. Callers serialise calls (the flow's lock).
type trouble struct {
	since    time.Time // when the current trouble began (zero: none)
	alerting bool      // a raised alert is not resolved yet
}

// observe records one outcome (bad: the pull found trouble) at now and
// says whether to raise or resolve the alert; after is how long trouble
// must last before it is raised.
func (t *trouble) observe(bad bool, now time.Time, after time.Duration) (raise, resolve bool) {
	if !bad {
		t.since = time.Time{}
		if t.alerting {
			t.alerting = false
			return false, true
		}
		return false, false
	}
	if t.since.IsZero() {
		t.since = now
	}
	if !t.alerting && now.Sub(t.since) >= after {
		t.alerting = true
		return true, false
	}
	return false, false
}

// sourceName is a per-flow name on an outside system (a replication slot,
// a durable consumer): "weft_", a safe form of the flow's name (lower-case
// letters, digits, _ and the extra runes; others become _; at most 40),
// and a hash of the whole name so that two flows never share one.
func sourceName(flowName, extra string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(flowName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || strings.ContainsRune(extra, r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	h := fnv.New32a()
	h.Write([]byte(flowName))
	return fmt.Sprintf("weft_%s_%08x", b.String(), h.Sum32())
}
