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
	assoc    map[string]int    // "source concept|target concept" learned from accepted pairs whose names differ
	same     map[[2]string]int // the very same pair of paths: accepted minus rejected
}

// NewMemory returns an empty memory.
func NewMemory() *Memory {
	return &Memory{accepted: map[string]int{}, rejected: map[string]int{}, assoc: map[string]int{}, same: map[[2]string]int{}}
}

// pathKey names a pair of fields by their paths, case and separators aside.
func pathKey(s, t *Field) [2]string { return [2]string{normName(s.Path), normName(t.Path)} }

func conceptsOf(f *Field) []string { return ai.Concepts(ai.Words(f.Name)) }

// keyOf is the memory's key for a pair, from the two names' concepts.
func keyOf(sc, tc []string) string { return strings.Join(sc, "_") + "->" + strings.Join(tc, "_") }

// Record notes a reviewed pair.
func (m *Memory) Record(s, t *Field, accepted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, tc := conceptsOf(s), conceptsOf(t)
	k := keyOf(sc, tc)
	if accepted {
		m.accepted[k]++
		m.same[pathKey(s, t)]++
	} else {
		m.rejected[k]++
		m.same[pathKey(s, t)]--
	}
	// Word associations: an accepted "position -> job title" teaches that
	// position and job go together; a rejection unteaches.
	shared := map[string]bool{}
	for _, a := range sc {
		for _, b := range tc {
			if a == b {
				shared[a] = true
			}
		}
	}
	for _, a := range sc {
		for _, b := range tc {
			if a == b || shared[a] || shared[b] || a == "id" || b == "id" || a == "name" || b == "name" {
				continue
			}
			if accepted {
				m.assoc[a+"|"+b]++
			} else {
				m.assoc[a+"|"+b]--
			}
		}
	}
}

// Len is the number of remembered pairs.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.accepted) + len(m.rejected)
}

// An association is used once two reviews support it (one accepted
// renaming is an anecdote: on the dev split, associations learned from a
// single review raised as many wrong pairs as right ones), and then closes
// assoc_gain of the distance to 1.
// (assoc_gain and the other gains: vocab/params.json, memory.)
const assocMin = 2

// adjust moves score by what was reviewed about s and t.
func (m *Memory) adjust(s, t *Field, score float64) float64 {
	return m.adjustKeys(pathKey(s, t), conceptsOf(s), conceptsOf(t), score)
}

// adjustKeys is adjust with the pair's path key and the two names'
// concepts given (the pair scorer has them per field already).
func (m *Memory) adjustKeys(pk [2]string, sc, tc []string, score float64) float64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	// The very same fields (the same paths) were reviewed: that decision
	// holds. Similarly named fields elsewhere were: it leans the same way,
	// less, since the same names can mean other things in other schemas.
	switch d := m.same[pk]; {
	case d > 0:
		return score + (1-score)*par.Memory.Accept
	case d < 0:
		return score * par.Memory.Reject
	}
	k := keyOf(sc, tc)
	a, r := m.accepted[k], m.rejected[k]
	switch {
	case a > r:
		return score + (1-score)*par.Memory.SimilarGain
	case r > a:
		return score * par.Memory.SimilarKeep
	}
	// Only the heads (the last words: what each field is) are read: an
	// association between a modifier and another field's head raised
	// unrelated pairs (card summary <- order id).
	best := 0
	if len(sc) > 0 && len(tc) > 0 {
		best = m.assoc[sc[len(sc)-1]+"|"+tc[len(tc)-1]]
	}
	if best >= assocMin {
		return score + (1-score)*par.Memory.AssocGain
	}
	return score
}
