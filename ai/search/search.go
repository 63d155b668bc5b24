// Package search is the one ranked search over named documents (catalog
// operations, MCP tools) that the connector catalog, the MCP gateway's
// search_tools and NL-to-flow retrieval share.
//
// A query is ranked two ways and the two rankings are fused:
//
//   - lexically, with BM25 over the document's words (names split on
//     camelCase, snake_case and digits), the name's words counting
//     NameWeight times (BM25F-style field weighting);
//   - by meaning, the cosine similarity of the query's embedding (the
//     shared ai.Embedder: builtin by default) with each document's,
//     the document vectors held in an ai.VectorIndex (in process by
//     default; Qdrant when configured).
//
// Fusion is CombSUM of the two scores, each scaled by its ranking's best,
// which needs no weight between them. A document enters the semantic ranking
// only when its similarity stands out from chance (MinSimilarity), so a
// query about nothing in the index finds nothing.
//
// Documents are embedded when they are added or change (Set compares
// content hashes), never per query: a query costs one embedding.
package search

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/weftio/weft/ai"
)

// Bounds on input.
const (
	MaxQueryBytes = 1024   // longer queries are cut (at a rune boundary)
	MaxLimit      = 1000   // a larger limit is lowered to this
	MaxDocs       = 100000 // Set refuses more documents
)

// BM25's k1 and b: the usual values from the literature (Robertson &
// Zaragoza), not tuned here.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// NameWeight is how many times a word of a document's name counts against
// one of its title or description ("names weigh more", as before).
const NameWeight = 3

// Doc is one searchable document.
type Doc struct {
	ID          string // unique; what a Hit returns
	Name        string // an identifier (createInvoice, crm__list_deals): split into words
	Title       string
	Description string
}

func (d Doc) text() string { return d.Name + "\n" + d.Title + "\n" + d.Description }

// Hit is a found document, best first. Score is in (0, 1]: 1 is first in
// both rankings.
type Hit struct {
	ID    string
	Score float64
}

// Options configure an Index.
type Options struct {
	Embedder ai.Embedder    // nil: ai.Builtin, cached
	Vectors  ai.VectorIndex // nil: an ai.MemoryIndex of its own
	// Collection names the documents' vectors in Vectors (a shared
	// Qdrant holds several). The embedder's name is appended, so changing
	// the embedder never mixes vectors of different models.
	Collection string
	// MinSimilarity is the cosine a document needs to enter the semantic
	// ranking without sharing a word with the query (0: chance level for
	// the embedder's dimension, see chanceLevel).
	MinSimilarity float64
}

// Index is a ranked search over a set of documents; safe for concurrent use.
type Index struct {
	emb        ai.Embedder
	vec        ai.VectorIndex
	collection string
	minSim     float64

	mu     sync.RWMutex
	docs   map[string]*entry
	df     map[string]int
	avgLen float64
	dim    int
}

type entry struct {
	doc  Doc
	hash string
	tf   map[string]float64 // weighted term frequencies
	len  float64
}

// New returns an empty index.
func New(o Options) *Index {
	e := o.Embedder
	if e == nil {
		e = ai.NewCached(ai.Builtin{}, 0)
	}
	v := o.Vectors
	if v == nil {
		v = ai.NewMemoryIndex()
	}
	col := o.Collection
	if col == "" {
		col = "weft_search"
	}
	return &Index{emb: e, vec: v, collection: ai.CollectionName(col, e.Name()), minSim: o.MinSimilarity, docs: map[string]*entry{}, df: map[string]int{}}
}

// Collection is the vector collection the index writes.
func (x *Index) Collection() string { return x.collection }

// Len is the number of documents.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.docs)
}

// Words splits text into lower-case search terms: identifiers split on
// case changes, separators and digits, a plural "s" dropped.
func Words(text string) []string {
	var out []string
	for _, w := range ai.Split(text) {
		w = strings.ToLower(w)
		if len([]rune(w)) < 2 && !isDigits(w) {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

func isDigits(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return w != ""
}

// stem folds the regular English plural (deals → deal, invoices →
// invoice, addresses → address), the one inflection that tool names and
// requests disagree on all the time.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "sses"):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:n-1]
	}
	return w
}

func termsOf(d Doc) (map[string]float64, float64) {
	tf := map[string]float64{}
	var n float64
	for _, w := range Words(d.Name) {
		tf[w] += NameWeight
		n += NameWeight
	}
	for _, w := range Words(d.Title + " " + d.Description) {
		tf[w]++
		n++
	}
	return tf, n
}

func hashOf(d Doc) string {
	h := sha256.Sum256([]byte(d.text()))
	return hex.EncodeToString(h[:12])
}

// Set makes docs the index's whole content: new and changed documents are
// embedded and written to the vector index, removed ones deleted, the rest
// left alone. It returns how many documents were embedded.
func (x *Index) Set(ctx context.Context, docs []Doc) (int, error) {
	if len(docs) > MaxDocs {
		return 0, fmt.Errorf("search: %d documents, at most %d", len(docs), MaxDocs)
	}
	next := make(map[string]Doc, len(docs))
	for _, d := range docs {
		if d.ID == "" {
			return 0, errors.New("search: a document needs an id")
		}
		next[d.ID] = d
	}
	x.mu.RLock()
	var changed []Doc
	var gone []string
	for id, d := range next {
		if e, ok := x.docs[id]; !ok || e.hash != hashOf(d) {
			changed = append(changed, d)
		}
	}
	for id := range x.docs {
		if _, ok := next[id]; !ok {
			gone = append(gone, id)
		}
	}
	x.mu.RUnlock()
	if err := x.write(ctx, changed, gone); err != nil {
		return 0, err
	}
	return len(changed), nil
}

// Upsert adds or replaces documents (embedding only those that changed).
func (x *Index) Upsert(ctx context.Context, docs ...Doc) error {
	var changed []Doc
	x.mu.RLock()
	for _, d := range docs {
		if d.ID == "" {
			x.mu.RUnlock()
			return errors.New("search: a document needs an id")
		}
		if e, ok := x.docs[d.ID]; !ok || e.hash != hashOf(d) {
			changed = append(changed, d)
		}
	}
	n := len(x.docs)
	x.mu.RUnlock()
	if n+len(changed) > MaxDocs {
		return fmt.Errorf("search: more than %d documents", MaxDocs)
	}
	return x.write(ctx, changed, nil)
}

// Delete removes documents.
func (x *Index) Delete(ctx context.Context, ids ...string) error { return x.write(ctx, nil, ids) }

func (x *Index) write(ctx context.Context, changed []Doc, gone []string) error {
	if len(changed) == 0 && len(gone) == 0 {
		return nil
	}
	var points []ai.Point
	if len(changed) > 0 {
		texts := make([]string, len(changed))
		for i, d := range changed {
			texts[i] = d.text()
		}
		vs, err := x.emb.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("search: embedding %d documents: %w", len(changed), err)
		}
		if len(vs) != len(changed) {
			return fmt.Errorf("search: the embedder returned %d vectors for %d documents", len(vs), len(changed))
		}
		for i, d := range changed {
			points = append(points, ai.Point{ID: d.ID, Vector: vs[i]})
		}
		if err := x.vec.Upsert(ctx, x.collection, points); err != nil {
			return fmt.Errorf("search: %w", err)
		}
	}
	if len(gone) > 0 {
		if err := x.vec.Delete(ctx, x.collection, gone); err != nil {
			return fmt.Errorf("search: %w", err)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range gone {
		if e, ok := x.docs[id]; ok {
			x.forget(e)
			delete(x.docs, id)
		}
	}
	for i, d := range changed {
		if e, ok := x.docs[d.ID]; ok {
			x.forget(e)
		}
		tf, n := termsOf(d)
		e := &entry{doc: d, hash: hashOf(d), tf: tf, len: n}
		x.docs[d.ID] = e
		for w := range tf {
			x.df[w]++
		}
		x.dim = len(points[i].Vector)
	}
	var total float64
	for _, e := range x.docs {
		total += e.len
	}
	x.avgLen = 0
	if len(x.docs) > 0 {
		x.avgLen = total / float64(len(x.docs))
	}
	return nil
}

// rewrite writes every document's vector again.
func (x *Index) rewrite(ctx context.Context) error {
	x.mu.RLock()
	docs := make([]Doc, 0, len(x.docs))
	for _, e := range x.docs {
		docs = append(docs, e.doc)
	}
	x.mu.RUnlock()
	return x.write(ctx, docs, nil)
}

// forget removes an entry's terms from the document frequencies; the
// caller holds x.mu.
func (x *Index) forget(e *entry) {
	for w := range e.tf {
		if x.df[w]--; x.df[w] <= 0 {
			delete(x.df, w)
		}
	}
}

// chanceLevel is the cosine similarity two unrelated texts reach by chance
// in dim dimensions: three standard deviations of the cosine of random
// directions (1/sqrt(dim)). Embedders whose unrelated texts sit well above
// zero (neural models) should set Options.MinSimilarity.
func chanceLevel(dim int) float64 {
	if dim <= 0 {
		return 1
	}
	return 3 / math.Sqrt(float64(dim))
}

// Search ranks the documents for query, best first, at most limit (≤ 0:
// 10). allow, when not nil, hides the documents it refuses: they are
// neither returned nor counted. When the embedder or the vector index
// fails, the lexical ranking is returned with the error.
func (x *Index) Search(ctx context.Context, query string, limit int, allow func(id string) bool) ([]Hit, error) {
	if limit <= 0 {
		limit = 10
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	query = cut(query, MaxQueryBytes)
	if strings.TrimSpace(query) == "" {
		return nil, nil
	}
	lex := x.lexical(query, allow)
	sem, err := x.semantic(ctx, query, allow)
	return fuse(lex, sem, limit), err
}

func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !isRuneStart(s[max]) {
		max--
	}
	return s[:max]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

type ranked struct {
	id    string
	score float64
}

func sortRanked(r []ranked) {
	slices.SortFunc(r, func(a, b ranked) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return strings.Compare(a.id, b.id)
	})
}

// lexical is BM25 over the weighted terms; documents sharing no word with
// the query are left out.
func (x *Index) lexical(query string, allow func(string) bool) []ranked {
	words := Words(query)
	sort.Strings(words) // a fixed order: float sums, hence ties, are reproducible
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := float64(len(x.docs))
	type term struct {
		w   string
		idf float64
	}
	var terms []term
	for i, w := range words {
		if i > 0 && words[i-1] == w {
			continue
		}
		if df := float64(x.df[w]); df > 0 {
			terms = append(terms, term{w, math.Log(1 + (n-df+0.5)/(df+0.5))})
		}
	}
	if len(terms) == 0 {
		return nil
	}
	var out []ranked
	for id, e := range x.docs {
		if allow != nil && !allow(id) {
			continue
		}
		var s float64
		norm := 1 - bm25B + bm25B*e.len/x.avgLen
		for _, t := range terms {
			if tf := e.tf[t.w]; tf > 0 {
				s += t.idf * tf * (bm25K1 + 1) / (tf + bm25K1*norm)
			}
		}
		if s > 0 {
			out = append(out, ranked{id, s})
		}
	}
	sortRanked(out)
	return out
}

// semantic asks the vector index for the documents nearest the query.
func (x *Index) semantic(ctx context.Context, query string, allow func(string) bool) ([]ranked, error) {
	x.mu.RLock()
	n, dim := len(x.docs), x.dim
	x.mu.RUnlock()
	if n == 0 {
		return nil, nil
	}
	vs, err := x.emb.Embed(ctx, []string{query})
	if err != nil || len(vs) != 1 {
		return nil, fmt.Errorf("search: embedding the query: %w", err)
	}
	if len(vs[0]) != dim {
		return nil, fmt.Errorf("search: the query's vector has %d dimensions, the documents' %d", len(vs[0]), dim)
	}
	// Every document may be hidden by allow, so ask for all of them (and
	// as many again for stale points a shared Qdrant may still hold): the
	// index is exact in process and cheap at catalog sizes in Qdrant.
	hits, err := x.vec.Search(ctx, x.collection, vs[0], 2*n)
	if errors.Is(err, ai.ErrNoCollection) {
		// The vector store lost the collection (a Qdrant wiped or
		// replaced): write every document again, once, and retry.
		if err = x.rewrite(ctx); err == nil {
			hits, err = x.vec.Search(ctx, x.collection, vs[0], 2*n)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	floor := x.minSim
	if floor <= 0 {
		floor = chanceLevel(dim)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]ranked, 0, len(hits))
	for _, h := range hits {
		if _, ok := x.docs[h.ID]; !ok { // a stale point (another process, an earlier run)
			continue
		}
		if h.Score < floor || (allow != nil && !allow(h.ID)) {
			continue
		}
		out = append(out, ranked{h.ID, h.Score})
	}
	sortRanked(out)
	return out, nil
}

// fuse is CombSUM (Fox & Shaw, 1994) of the two scores, each divided by
// its ranking's best, halved: first in both is 1. It needs no weight
// between the two; on the NL-to-flow dev requests (go run ./evals/search)
// it ranked the first relevant operation higher than reciprocal-rank
// fusion at equal recall@10.
func fuse(lex, sem []ranked, limit int) []Hit {
	score := map[string]float64{}
	for _, l := range [][]ranked{lex, sem} {
		if len(l) == 0 || l[0].score <= 0 {
			continue
		}
		best := l[0].score
		for _, r := range l {
			score[r.id] += r.score / best / 2
		}
	}
	all := make([]ranked, 0, len(score))
	for id, s := range score {
		all = append(all, ranked{id, s})
	}
	sortRanked(all)
	if len(all) > limit {
		all = all[:limit]
	}
	out := make([]Hit, len(all))
	for i, r := range all {
		out[i] = Hit{ID: r.id, Score: r.score}
	}
	return out
}
