package ai

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
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
		c[p.ID] = memPoint{p, unit(p.Vector)}
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
	hits := make([]Hit, 0, len(c))
	for _, p := range c {
		var dot float64
		if len(p.unit) == len(q) {
			for i, x := range q {
				dot += float64(x) * float64(p.unit[i])
			}
		}
		hits = append(hits, Hit{ID: p.ID, Score: dot, Payload: p.Payload})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].ID < hits[j].ID
	})
	if k > 0 && len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
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
