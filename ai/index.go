package ai

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Point is one stored vector with its text payload.
type Point struct {
	ID      string
	Vector  []float32
	Payload map[string]string
}

// Hit is a search result.
type Hit struct {
	ID      string
	Score   float64
	Payload map[string]string
}

// VectorIndex stores vectors by collection and finds the nearest.
type VectorIndex interface {
	Upsert(ctx context.Context, collection string, points []Point) error
	Search(ctx context.Context, collection string, vector []float32, k int) ([]Hit, error)
	Delete(ctx context.Context, collection string, ids []string) error
}

// ErrNoCollection is returned when searching a collection never written.
var ErrNoCollection = errors.New("no such collection")

// Memory is the in-process index (the default): exact cosine search.
type MemoryIndex struct {
	mu   sync.RWMutex
	cols map[string]map[string]memPoint
}

// memPoint is a stored point with its vector scaled to unit length once,
// so a search is one dot product per point.
type memPoint struct {
	Point
	unit []float32
	// A mostly-zero vector (the builtin embedder's hashed features) is
	// kept as its non-zero entries too: its dot product is a few dozen
	// multiplications instead of the dimension's.
	nz  []int32
	nzv []float32
}

func newMemPoint(p Point) memPoint {
	u := unit(p.Vector)
	mp := memPoint{Point: p, unit: u}
	n := 0
	for _, x := range u {
		if x != 0 {
			n++
		}
	}
	if n < len(u)/4 {
		mp.nz, mp.nzv = make([]int32, 0, n), make([]float32, 0, n)
		for i, x := range u {
			if x != 0 {
				mp.nz, mp.nzv = append(mp.nz, int32(i)), append(mp.nzv, x)
			}
		}
	}
	return mp
}

// dot is the point's unit vector times q (0 when the sizes differ).
func (p *memPoint) dot(q []float32) float64 {
	if len(p.unit) != len(q) {
		return 0
	}
	var d float64
	if p.nz != nil {
		for k, i := range p.nz {
			d += float64(q[i]) * float64(p.nzv[k])
		}
		return d
	}
	for i, x := range q {
		d += float64(x) * float64(p.unit[i])
	}
	return d
}

func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	s := 1 / math.Sqrt(n)
	for i, x := range v {
		out[i] = float32(float64(x) * s)
	}
	return out
}

// NewMemoryIndex returns an empty index.
func NewMemoryIndex() *MemoryIndex { return &MemoryIndex{cols: map[string]map[string]memPoint{}} }

// Upsert implements VectorIndex.
func (m *MemoryIndex) Upsert(_ context.Context, collection string, points []Point) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cols[collection]
	if c == nil {
		c = map[string]memPoint{}
		m.cols[collection] = c
	}
	for _, p := range points {
		if p.ID == "" {
			return fmt.Errorf("index: a point needs an id")
		}
		for _, q := range c {
			if len(q.Vector) != len(p.Vector) {
				return fmt.Errorf("index: collection %s holds %d-dimensional vectors, not %d", collection, len(q.Vector), len(p.Vector))
			}
			break
		}
		c[p.ID] = newMemPoint(p)
	}
	return nil
}

// Search implements VectorIndex.
func (m *MemoryIndex) Search(_ context.Context, collection string, vector []float32, k int) ([]Hit, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.cols[collection]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoCollection, collection)
	}
	q := unit(vector)
	if k > 0 && k <= topKSmall && k < len(c) {
		// A few nearest of many: kept in order as they are found, no
		// sort of the whole collection.
		top := make([]Hit, 0, k+1)
		for _, p := range c {
			h := Hit{ID: p.ID, Score: p.dot(q), Payload: p.Payload}
			if len(top) == k && hitOrder(h, top[k-1]) >= 0 {
				continue
			}
			i, _ := slices.BinarySearchFunc(top, h, hitOrder)
			top = slices.Insert(top, i, h)
			if len(top) > k {
				top = top[:k]
			}
		}
		return top, nil
	}
	hits := make([]Hit, 0, len(c))
	for _, p := range c {
		hits = append(hits, Hit{ID: p.ID, Score: p.dot(q), Payload: p.Payload})
	}
	slices.SortFunc(hits, hitOrder)
	if k > 0 && len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
}

// topKSmall: up to this k a search keeps its k best as it goes.
const topKSmall = 64

// hitOrder: higher score first, then id.
func hitOrder(a, b Hit) int {
	if a.Score != b.Score {
		return cmp.Compare(b.Score, a.Score)
	}
	return strings.Compare(a.ID, b.ID)
}

// Delete implements VectorIndex.
func (m *MemoryIndex) Delete(_ context.Context, collection string, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.cols[collection], id)
	}
	return nil
}

// CollectionName is a Qdrant-safe collection name for prefix and the
// embedder's name: changing the embedder never mixes vectors of two
// models (or two dimensions) in one collection.
func CollectionName(prefix, embedder string) string {
	var b strings.Builder
	for _, r := range prefix + "_" + embedder {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 200 {
		h := sha256.Sum256([]byte(s))
		s = s[:180] + "_" + hex.EncodeToString(h[:6])
	}
	return s
}
