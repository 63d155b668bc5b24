package mapper

import (
	"strings"
	"sync"

	"github.com/weftio/weft/ai"
)

// Memory holds reviewed decisions: accepted pairs raise the score of the
// same (and similarly named) pairs later, rejected ones lower it. Keys are
// normalised field names, so "cust_email -> emailAddress" also informs
// "customerEmail -> email_address".
type Memory struct {
	mu       sync.RWMutex
	accepted map[string]int
	rejected map[string]int
}

// NewMemory returns an empty memory.
func NewMemory() *Memory {
	return &Memory{accepted: map[string]int{}, rejected: map[string]int{}}
}

func memKey(s, t *Field) string {
	return strings.Join(ai.Concepts(ai.Words(s.Name)), "_") + "->" + strings.Join(ai.Concepts(ai.Words(t.Name)), "_")
}

// Record notes a reviewed pair.
func (m *Memory) Record(s, t *Field, accepted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(s, t)
	if accepted {
		m.accepted[k]++
	} else {
		m.rejected[k]++
	}
}

// Len is the number of remembered pairs.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.accepted) + len(m.rejected)
}

func (m *Memory) adjust(s, t *Field, score float64) float64 {
	m.mu.RLock()
	a, r := m.accepted[memKey(s, t)], m.rejected[memKey(s, t)]
	m.mu.RUnlock()
	switch {
	case a > r:
		return score + (1-score)*0.6
	case r > a:
		return score * 0.4
	}
	return score
}
