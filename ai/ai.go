// Package ai holds the model backends the mapper and NL-to-flow share:
// embedders (a builtin one that needs no model and no network; Ollama and
// OpenAI-compatible embeddings through langchaingo: NewEmbedder), a
// content-hash cache in front of any embedder, vector indexes (in process,
// and Qdrant), and the one construction of a language model (NewChat,
// through langchaingo) that NL-to-flow and the mapper's re-ranker use.
package ai

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sync"
)

// Embedder turns texts into vectors; similar meaning, close vectors.
type Embedder interface {
	Name() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Cosine is the cosine similarity of a and b (0 when either is zero).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// Cached wraps an embedder with a cache keyed by the hash of each text, so
// a field seen again costs a map lookup. Bounded: when full it is cleared.
type Cached struct {
	E       Embedder
	Max     int // entries (default 100,000)
	mu      sync.Mutex
	entries map[string][]float32
	hits    int
}

// NewCached returns a cache in front of e.
func NewCached(e Embedder, max int) *Cached {
	if max <= 0 {
		max = 100000
	}
	return &Cached{E: e, Max: max, entries: map[string][]float32{}}
}

// Name implements Embedder.
func (c *Cached) Name() string { return c.E.Name() }

// Hits reports how many texts were served from the cache.
func (c *Cached) Hits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits
}

// Embed implements Embedder.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var missIdx []int
	var miss []string
	keys := make([]string, len(texts))
	c.mu.Lock()
	for i, t := range texts {
		h := sha256.Sum256([]byte(c.E.Name() + "\x00" + t))
		keys[i] = hex.EncodeToString(h[:16])
		if v, ok := c.entries[keys[i]]; ok {
			out[i] = v
			c.hits++
		} else {
			missIdx = append(missIdx, i)
			miss = append(miss, t)
		}
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	vs, err := c.E.Embed(ctx, miss)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries)+len(vs) > c.Max {
		c.entries = map[string][]float32{}
	}
	for j, i := range missIdx {
		out[i] = vs[j]
		c.entries[keys[i]] = vs[j]
	}
	c.mu.Unlock()
	return out, nil
}
