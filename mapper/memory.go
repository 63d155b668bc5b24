package mapper

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/ai"
)

// Memory holds reviewed decisions: accepted pairs raise the score of the
// same (and similarly named) pairs later, rejected ones lower it. Keys are
// normalised field names, so "cust_email -> emailAddress" also informs
// "customerEmail -> email_address".
//
// Every reviewed pair is also a point in an ai.VectorIndex (in process by
// default, Qdrant when configured): its vector is the two field names'
// embeddings side by side, each scaled to unit length. A pair no exact
// rule speaks for (same paths, same concepts, a learned association)
// takes the evidence of the reviewed pairs nearest to it: those whose
// source and target names both embed close to its own (nearMin). With a
// configured embeddings model this is what carries a review to fields
// named in other words.
type Memory struct {
	mu       sync.RWMutex
	accepted map[string]int
	rejected map[string]int
	assoc    map[string]int    // "source concept|target concept" learned from accepted pairs whose names differ
	same     map[[2]string]int // the very same pair of paths: accepted minus rejected

	index      ai.VectorIndex
	emb        ai.Embedder
	collection string
	syncMu     sync.Mutex    // one Sync at a time
	pending    []reviewPoint // recorded, not yet written to the index (guarded by mu)
	gone       []string      // ids to delete from the index (guarded by mu)
	indexed    int           // points written (guarded by mu)
	seq        int           // ids of anonymous records (guarded by mu)
	err        error         // the index's last failure, nil after a success (guarded by mu)
	failures   int           // failures in a row (guarded by mu)
	retryAt    time.Time     // no index call before this, after a failure (guarded by mu)
	now        func() time.Time
}

// After a failure of the index (or the embedder) the memory leaves it
// alone for a while, doubling from backoffMin to backoffMax with each
// failure in a row: a vector index that hangs would otherwise cost every
// suggestion its timeout. Meanwhile suggestions use the exact rules.
const (
	backoffMin = time.Second
	backoffMax = time.Minute
)

// reviewPoint is one reviewed pair on its way to the index.
type reviewPoint struct {
	id, source, target, sourcePath, targetPath string
	accepted                                   bool
}

// ReviewCollection prefixes the review memory's collection in the vector
// index (the embedder's name is appended: ai.CollectionName).
const ReviewCollection = "weft_mapper_reviews"

// Bounds of the nearest-review evidence: reviewed pairs read per source
// field, and points written per upsert.
const (
	nearK     = 8
	syncBatch = 256
)

// NewMemory returns an empty memory on an in-process index with the
// builtin embedder.
func NewMemory() *Memory { return NewMemoryOn(nil, nil) }

// NewMemoryOn returns an empty memory whose reviewed pairs live in idx
// (nil: in process), embedded by e (nil: the builtin embedder). e should
// be the embedder suggestions use, so one model's vectors serve both.
func NewMemoryOn(idx ai.VectorIndex, e ai.Embedder) *Memory {
	if idx == nil {
		idx = ai.NewMemoryIndex()
	}
	if e == nil {
		e = defaultEmbedder
	}
	return &Memory{accepted: map[string]int{}, rejected: map[string]int{}, assoc: map[string]int{}, same: map[[2]string]int{},
		index: idx, emb: e, collection: ai.CollectionName(ReviewCollection, e.Name()), now: time.Now}
}

// Collection is the vector collection the memory writes.
func (m *Memory) Collection() string { return m.collection }

// pathKey names a pair of fields by their paths, case and separators aside.
func pathKey(s, t *Field) [2]string { return [2]string{normName(s.Path), normName(t.Path)} }

func conceptsOf(f *Field) []string { return ai.Concepts(ai.Words(f.Name)) }

// keyOf is the memory's key for a pair, from the two names' concepts.
func keyOf(sc, tc []string) string { return strings.Join(sc, "_") + "->" + strings.Join(tc, "_") }

// Record notes a reviewed pair.
func (m *Memory) Record(s, t *Field, accepted bool) { m.RecordID("", s, t, accepted) }

// RecordID notes a reviewed pair under id, its point in the index (a later
// record under the same id replaces the point; "": a new point). The
// point reaches the index at the next Sync or suggestion.
func (m *Memory) RecordID(id string, s, t *Field, accepted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" {
		m.seq++
		id = fmt.Sprintf("review-%d", m.seq)
	}
	m.gone = slices.DeleteFunc(m.gone, func(g string) bool { return g == id }) // the latest word on an id wins
	m.pending = append(m.pending, reviewPoint{id: id, source: nameText(s), target: nameText(t), sourcePath: s.Path, targetPath: t.Path, accepted: accepted})
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

// Forget removes the point id from the index (a reviewed item that no
// longer names one source field); the counts keep what was reviewed.
func (m *Memory) Forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = slices.DeleteFunc(m.pending, func(p reviewPoint) bool { return p.id == id })
	m.gone = append(m.gone, id)
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

// adjust moves score by what was reviewed about s and t (the exact rules).
func (m *Memory) adjust(s, t *Field, score float64) float64 {
	out, _ := m.adjustKeys(pathKey(s, t), conceptsOf(s), conceptsOf(t), score)
	return out
}

// adjustKeys is adjust with the pair's path key and the two names'
// concepts given (the pair scorer has them per field already); ok is false
// when no exact rule spoke for the pair.
func (m *Memory) adjustKeys(pk [2]string, sc, tc []string, score float64) (float64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	// The very same fields (the same paths) were reviewed: that decision
	// holds. Similarly named fields elsewhere were: it leans the same way,
	// less, since the same names can mean other things in other schemas.
	switch d := m.same[pk]; {
	case d > 0:
		return score + (1-score)*par.Memory.Accept, true
	case d < 0:
		return score * par.Memory.Reject, true
	}
	k := keyOf(sc, tc)
	a, r := m.accepted[k], m.rejected[k]
	switch {
	case a > r:
		return score + (1-score)*par.Memory.SimilarGain, true
	case r > a:
		return score * par.Memory.SimilarKeep, true
	}
	// Only the heads (the last words: what each field is) are read: an
	// association between a modifier and another field's head raised
	// unrelated pairs (card summary <- order id).
	best := 0
	if len(sc) > 0 && len(tc) > 0 {
		best = m.assoc[sc[len(sc)-1]+"|"+tc[len(tc)-1]]
	}
	if best >= assocMin {
		return score + (1-score)*par.Memory.AssocGain, true
	}
	return score, false
}

// Err is the index's last failure (nil once a write or search succeeds):
// while it fails, suggestions go without the nearest-review evidence.
func (m *Memory) Err() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.err
}

// failed records a failure of the index (or the embedder) and when to try
// again; the caller holds m.mu.
func (m *Memory) failed(err error) error {
	m.err = fmt.Errorf("the mapper's review memory (%s): %w", m.collection, err)
	m.failures++
	m.retryAt = m.now().Add(min(backoffMax, backoffMin<<min(m.failures-1, 10)))
	return m.err
}

// backingOff is the last failure while the memory leaves the index alone.
func (m *Memory) backingOff() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.err != nil && m.now().Before(m.retryAt) {
		return m.err
	}
	return nil
}

// Sync writes the recorded pairs to the index (and deletes the forgotten
// ones). What fails stays pending for the next Sync.
//
// After a failure Sync does not call the index again before a backoff
// (1 s, doubling to a minute) has passed: it returns the last failure.
func (m *Memory) Sync(ctx context.Context) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	if err := m.backingOff(); err != nil {
		return err
	}
	m.mu.Lock()
	pend, gone := m.pending, m.gone
	m.pending, m.gone = nil, nil
	m.mu.Unlock()
	requeue := func(from int, err error) error {
		m.mu.Lock()
		m.pending = append(append([]reviewPoint(nil), pend[from:]...), m.pending...)
		m.gone = append(append([]string(nil), gone...), m.gone...)
		err = m.failed(err)
		m.mu.Unlock()
		return err
	}
	for from := 0; from < len(pend); from += syncBatch {
		batch := pend[from:min(from+syncBatch, len(pend))]
		texts := make([]string, 0, 2*len(batch))
		for _, p := range batch {
			texts = append(texts, p.source, p.target)
		}
		vs, err := m.emb.Embed(ctx, texts)
		if err != nil {
			return requeue(from, err)
		}
		pts := make([]ai.Point, len(batch))
		for k, p := range batch {
			verdict := Accepted
			if !p.accepted {
				verdict = Rejected
			}
			pts[k] = ai.Point{ID: p.id, Vector: pairVector(vs[2*k], vs[2*k+1]), Payload: map[string]string{
				"source": p.source, "target": p.target, "source_path": p.sourcePath, "target_path": p.targetPath, "verdict": verdict}}
		}
		if err := m.index.Upsert(ctx, m.collection, pts); err != nil {
			return requeue(from, err)
		}
		m.mu.Lock()
		m.indexed += len(pts)
		m.mu.Unlock()
	}
	if len(gone) > 0 {
		if err := m.index.Delete(ctx, m.collection, gone); err != nil {
			pend = nil
			return requeue(0, err)
		}
	}
	if len(pend) > 0 || len(gone) > 0 {
		m.answered()
	}
	return nil
}

// answered clears the last failure: the index answered.
func (m *Memory) answered() {
	m.mu.Lock()
	m.err, m.failures = nil, 0
	m.mu.Unlock()
}

// pairVector is a reviewed pair's point: both names' vectors at unit
// length, side by side, the whole at unit length. Its cosine with a query
// holding a source vector and zeros is that source's cosine with the
// pair's source over √2.
func pairVector(s, t []float32) []float32 {
	v := make([]float32, 0, len(s)+len(t))
	v = append(v, unitVec(s, math.Sqrt2)...)
	return append(v, unitVec(t, math.Sqrt2)...)
}

// unitVec is v scaled to length 1/by (zeros stay zeros).
func unitVec(v []float32, by float64) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	f := 1 / (math.Sqrt(n) * by)
	for i, x := range v {
		out[i] = float32(float64(x) * f)
	}
	return out
}

// near is the nearest-review evidence for every pair of src × tgt: the
// accepted minus the rejected reviewed pairs whose source name and target
// name both embed at nearMin or closer to the pair's own (nil: no
// reviewed pair is near any). The index is searched once per source
// field, for the nearK reviewed pairs with the closest source.
func (m *Memory) near(ctx context.Context, src, tgt *Schema) ([][]int, error) {
	if err := m.Sync(ctx); err != nil {
		return nil, err
	}
	m.mu.RLock()
	n := m.indexed
	m.mu.RUnlock()
	if n == 0 {
		return nil, nil
	}
	minSim := par.Memory.NearMin
	texts := make([]string, 0, len(src.Fields)+len(tgt.Fields))
	for i := range src.Fields {
		texts = append(texts, nameText(&src.Fields[i]))
	}
	for j := range tgt.Fields {
		texts = append(texts, nameText(&tgt.Fields[j]))
	}
	vs, err := m.emb.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	sv, tv := vs[:len(src.Fields)], vs[len(src.Fields):]
	tu := make([][]float32, len(tv))
	for j, v := range tv {
		tu[j] = unitVec(v, 1)
	}
	type vote struct {
		target string
		sign   int
	}
	votes := make([][]vote, len(src.Fields))
	reviewed := map[string]bool{} // reviewed target names to embed
	for i, v := range sv {
		q := append(unitVec(v, 1), make([]float32, len(v))...)
		hits, err := m.index.Search(ctx, m.collection, q, nearK)
		if errors.Is(err, ai.ErrNoCollection) {
			continue
		}
		if err != nil {
			m.mu.Lock()
			err = m.failed(err)
			m.mu.Unlock()
			return nil, err
		}
		for _, h := range hits {
			if h.Score*math.Sqrt2 < minSim {
				continue
			}
			sign := 1
			if h.Payload["verdict"] == Rejected {
				sign = -1
			}
			votes[i] = append(votes[i], vote{h.Payload["target"], sign})
			reviewed[h.Payload["target"]] = true
		}
	}
	if len(sv) > 0 {
		m.answered()
	}
	if len(reviewed) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(reviewed))
	for t := range reviewed {
		names = append(names, t)
	}
	rv, err := m.emb.Embed(ctx, names)
	if err != nil {
		return nil, err
	}
	// Each reviewed target name's cosine with each target field, once.
	close := map[string][]bool{}
	for k, t := range names {
		u := sparseOf(unitVec(rv[k], 1))
		row := make([]bool, len(tu))
		for j := range tu {
			row[j] = u.dot(tu[j]) >= minSim
		}
		close[t] = row
	}
	out := make([][]int, len(src.Fields))
	found := false
	for i := range out {
		out[i] = make([]int, len(tgt.Fields))
		for _, vt := range votes[i] {
			for j, ok := range close[vt.target] {
				if ok {
					out[i][j] += vt.sign
					found = true
				}
			}
		}
	}
	if !found {
		return nil, nil
	}
	return out, nil
}

// sparse is a vector as its non-zero entries (the builtin embedder's
// hashed features are mostly zeros), or whole when it is not sparse.
type sparse struct {
	n     int
	idx   []int32
	val   []float32
	dense []float32
}

func sparseOf(v []float32) sparse {
	nz := 0
	for _, x := range v {
		if x != 0 {
			nz++
		}
	}
	if nz > len(v)/4 {
		return sparse{n: len(v), dense: v}
	}
	s := sparse{n: len(v), idx: make([]int32, 0, nz), val: make([]float32, 0, nz)}
	for i, x := range v {
		if x != 0 {
			s.idx, s.val = append(s.idx, int32(i)), append(s.val, x)
		}
	}
	return s
}

// dot is s·b (0 when the lengths differ).
func (s sparse) dot(b []float32) float64 {
	if s.n != len(b) {
		return 0
	}
	var d float64
	if s.dense != nil {
		for i, x := range s.dense {
			d += float64(x) * float64(b[i])
		}
		return d
	}
	for k, i := range s.idx {
		d += float64(s.val[k]) * float64(b[i])
	}
	return d
}

// nearAdjust moves score by the nearest reviews' net vote: as similarly
// named reviewed pairs do (similar_gain, similar_keep).
func nearAdjust(vote int, score float64) float64 {
	switch {
	case vote > 0:
		return score + (1-score)*par.Memory.SimilarGain
	case vote < 0:
		return score * par.Memory.SimilarKeep
	}
	return score
}

// apply adjusts every pair's probability by the review memory (nil: none):
// an exact rule when one speaks, else the nearest reviews' vote. When the
// index fails the exact rules still apply (Err says why).
func (m *Memory) apply(ctx context.Context, src, tgt *Schema, sc *scored) {
	if m == nil {
		return
	}
	near, _ := m.near(ctx, src, tgt)
	for i := range sc.prob {
		for j := range sc.prob[i] {
			p, ok := m.adjustKeys([2]string{sc.sv[i].pnorm, sc.tv[j].pnorm}, sc.sv[i].words, sc.tv[j].words, sc.prob[i][j])
			if !ok && near != nil {
				p = nearAdjust(near[i][j], p)
			}
			sc.prob[i][j] = p
		}
	}
}
