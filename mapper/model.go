package mapper

// The learned combination: a logistic regression over the general
// signals (signals.go) and the first matcher's hand-weighted blend, with
// its weights, decision threshold and candidate floor in model/weights.json.
// The weights are fitted by `go run ./evals/mapper -train` on pairs from
// the external development sets and the repository's own dev split.

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/weftio/weft/ai"
)

// Model is a fitted logistic regression over the pair signals.
type Model struct {
	Version   string    `json:"version"`
	Command   string    `json:"command"`  // how it was fitted
	Data      []string  `json:"data"`     // what it was fitted on
	Features  []string  `json:"features"` // FeatureNames, in order
	Weights   []float64 `json:"weights"`
	Bias      float64   `json:"bias"`
	Lambda    float64   `json:"lambda"`    // the L2 penalty it was fitted with
	Threshold float64   `json:"threshold"` // a pair is proposed from this probability
	// Mutual: a pair that is both its source's and its target's most
	// likely one is proposed from this probability (at most Threshold).
	Mutual float64 `json:"mutual"`
	// Extra: a further target for a source that already has one (1:n)
	// is proposed from this probability.
	Extra float64 `json:"extra"`
	// Floor: candidates below this probability are not listed.
	Floor float64 `json:"floor"`
	// The second stage (candidate-level calibration): a pair's probability
	// given where its first-stage probability stands among its source's
	// and its target's candidates (CandidateNames, in order). Empty: the
	// first stage's probabilities are the scores.
	Stage2Features []string  `json:"stage2_features,omitempty"`
	Stage2         []float64 `json:"stage2,omitempty"`
	Stage2Bias     float64   `json:"stage2_bias,omitempty"`
	// Fit figures, for the record.
	Note string `json:"note,omitempty"`
}

//go:embed model/weights.json
var weightsJSON []byte

var defaultModel, defaultModelErr = ParseModel(weightsJSON)

// DefaultModel is the embedded model.
func DefaultModel() (*Model, error) { return defaultModel, defaultModelErr }

// ParseModel reads a model file and checks it against the signals this
// code computes.
func ParseModel(data []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("mapper model: %v", err)
	}
	if len(m.Features) != len(m.Weights) {
		return nil, fmt.Errorf("mapper model: %d features and %d weights", len(m.Features), len(m.Weights))
	}
	names := FeatureNames()
	if len(m.Features) != len(names) {
		return nil, fmt.Errorf("mapper model: fitted on %d signals, this code computes %d (refit: go run ./evals/mapper -train)", len(m.Features), len(names))
	}
	for i, n := range names {
		if m.Features[i] != n {
			return nil, fmt.Errorf("mapper model: signal %d is %q in the file and %q here (refit: go run ./evals/mapper -train)", i, m.Features[i], n)
		}
	}
	if len(m.Stage2) > 0 {
		cn := CandidateNames()
		if len(m.Stage2) != len(cn) || len(m.Stage2Features) != len(cn) {
			return nil, fmt.Errorf("mapper model: the second stage has %d weights for %d signals, this code computes %d (refit: go run ./evals/mapper -train)", len(m.Stage2), len(m.Stage2Features), len(cn))
		}
		for i, n := range cn {
			if m.Stage2Features[i] != n {
				return nil, fmt.Errorf("mapper model: second-stage signal %d is %q in the file and %q here (refit: go run ./evals/mapper -train)", i, m.Stage2Features[i], n)
			}
		}
	}
	for _, x := range append(append([]float64{m.Bias, m.Threshold, m.Mutual, m.Extra, m.Floor, m.Stage2Bias}, m.Weights...), m.Stage2...) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("mapper model: a weight is not a number")
		}
	}
	if m.Mutual == 0 {
		m.Mutual = m.Threshold
	}
	if m.Threshold <= 0 || m.Threshold >= 1 || m.Extra <= 0 || m.Extra > 1 || m.Floor < 0 || m.Floor >= 1 || m.Mutual < 0 || m.Mutual > m.Threshold {
		return nil, fmt.Errorf("mapper model: threshold %v, mutual %v, extra %v, floor %v out of range", m.Threshold, m.Mutual, m.Extra, m.Floor)
	}
	return &m, nil
}

// Prob is the model's probability that a pair with signals x maps.
func (m *Model) Prob(x []float64) float64 {
	z := m.Bias
	for i, w := range m.Weights {
		z += w * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// The second stage's signals, in order: each from the first stage's
// probability matrix (logits clipped to ±clipLogit).
const (
	cLogit    = iota // the pair's logit
	cRowGap          // its logit minus the best of its source's row (0 for the best)
	cColGap          // the same in its target's column
	cRowLead         // its logit minus the best other of its row (positive for the best alone)
	cColLead         // the same in its column
	cAssigned        // the pair is in the 1:1 assignment of maximum total probability
	cLegacy          // the first matcher's blend (fLegacy)
	nCandidate
)

const clipLogit = 8

var candidateNames = [nCandidate]string{"logit", "row_gap", "col_gap", "row_lead", "col_lead", "assigned", "legacy"}

// CandidateNames names the second stage's signals, in order.
func CandidateNames() []string { return append([]string(nil), candidateNames[:]...) }

func logit(p float64) float64 {
	z := math.Log(p / (1 - p))
	if math.IsNaN(z) {
		return 0
	}
	return math.Max(-clipLogit, math.Min(clipLogit, z))
}

// CandidateSignals computes the second stage's signals of every pair of a
// first-stage probability matrix (source × target) and its signals f
// (source × target × FeatureNames).
func CandidateSignals(p [][]float64, f [][][]float64) [][][]float64 {
	n := len(p)
	if n == 0 {
		return nil
	}
	m := len(p[0])
	z := make([][]float64, n)
	for i := range p {
		z[i] = make([]float64, m)
		for j := range p[i] {
			z[i][j] = logit(p[i][j])
		}
	}
	// the best and the second best of each row and column
	top2 := func(get func(k int) float64, n int) (float64, float64, int) {
		b1, b2, at := -clipLogit-1.0, -clipLogit-1.0, -1
		for k := 0; k < n; k++ {
			v := get(k)
			if v > b1 {
				b1, b2, at = v, b1, k
			} else if v > b2 {
				b2 = v
			}
		}
		return b1, b2, at
	}
	rowB1, rowB2, rowAt := make([]float64, n), make([]float64, n), make([]int, n)
	for i := range z {
		rowB1[i], rowB2[i], rowAt[i] = top2(func(k int) float64 { return z[i][k] }, m)
	}
	colB1, colB2, colAt := make([]float64, m), make([]float64, m), make([]int, m)
	for j := 0; j < m; j++ {
		colB1[j], colB2[j], colAt[j] = top2(func(k int) float64 { return z[k][j] }, n)
	}
	rows := assign(p)
	clip := func(x float64) float64 { return math.Max(-clipLogit, math.Min(clipLogit, x)) }
	x := make([][][]float64, n)
	for i := range z {
		x[i] = make([][]float64, m)
		for j := range z[i] {
			v := make([]float64, nCandidate)
			v[cLogit] = z[i][j]
			v[cRowGap] = z[i][j] - rowB1[i]
			v[cColGap] = z[i][j] - colB1[j]
			other := rowB1[i]
			if rowAt[i] == j {
				other = rowB2[i]
			}
			v[cRowLead] = clip(z[i][j] - other)
			other = colB1[j]
			if colAt[j] == i {
				other = colB2[j]
			}
			v[cColLead] = clip(z[i][j] - other)
			if rows[i] == j {
				v[cAssigned] = 1
			}
			v[cLegacy] = f[i][j][fLegacy]
			x[i][j] = v
		}
	}
	return x
}

// Rescore is the second stage: each pair's probability given its
// first-stage probability and where that stands among its source's and
// its target's candidates. Without a second stage, p itself.
func (m *Model) Rescore(p [][]float64, f [][][]float64) [][]float64 {
	if len(m.Stage2) == 0 || len(p) == 0 {
		return p
	}
	x := CandidateSignals(p, f)
	out := make([][]float64, len(p))
	for i := range x {
		out[i] = make([]float64, len(x[i]))
		for j := range x[i] {
			z := m.Stage2Bias
			for k, w := range m.Stage2 {
				z += w * x[i][j][k]
			}
			out[i][j] = 1 / (1 + math.Exp(-z))
		}
		// The second stage says how far to trust a pair, not which of a
		// source's targets is likelier: the first stage's order within
		// the row stands (a candidate scores at most the one ranked above
		// it).
		order := make([]int, len(p[i]))
		for j := range order {
			order[j] = j
		}
		sort.SliceStable(order, func(a, b int) bool { return p[i][order[a]] > p[i][order[b]] })
		ceiling := 1.0
		for _, j := range order {
			out[i][j] = math.Min(out[i][j], ceiling)
			ceiling = out[i][j]
		}
	}
	return out
}

// The signals, in the order of a feature vector.
const (
	fTri       = iota // 3-gram Sørensen–Dice of the split names
	fTriPath          // the same over the paths
	fTok              // idf-weighted cosine of the names' words
	fEmbName          // the embedder's cosine of the names
	fDesc             // tf-idf cosine of the two descriptions
	fNameDesc         // how much of one name the other's description mentions
	fEmbDesc          // the embedder's cosine of descriptions (or one description and the other name)
	fCtx              // how much of one name the other's table text mentions
	fType             // type compatibility
	fSample           // overlap of example values
	fPattern          // overlap of value classes (date, e-mail, number …)
	fShape            // overlap of value shapes
	fKindSame         // the values are the same kind (date, e-mail, number …) by format or examples
	fKindClash        // both kinds are known and differ
	fHasDesc          // both fields have a description
	fHasVal           // both fields have examples
	fHead             // 3-gram similarity of the names' last words (what each value is: id, time, date)
	fFuzzyDesc        // how much of one name the other's description mentions, words matched by 3-grams
	fParent           // 3-gram similarity of the parents' names
	fSibling          // the parents' other fields match each other (sibling agreement)
	fLegacy           // the first matcher's hand-weighted blend
	nBase
)

// relBases: the signals that also enter as their distance below the best
// of the source's row ("rel_") and of the target's column ("col_"); what
// a signal says about a pair depends on what else the field could map to,
// and these distances transfer across schemas better than raw values.
var relBases = []int{fTri, fTok, fDesc, fLegacy, fFuzzyDesc}

// nFeatures: the base signals and, for each of relBases, its row and
// column distances (at nBase+2k and nBase+2k+1).
var nFeatures = nBase + 2*len(relBases)

var baseNames = [nBase]string{"tri", "tri_path", "tok", "emb_name", "desc", "name_desc", "emb_desc", "ctx", "type",
	"sample", "pattern", "shape", "kind_same", "kind_clash", "has_desc", "has_val", "head", "fuzzy_desc", "parent", "sibling", "legacy"}

var featureNames = func() []string {
	out := append([]string(nil), baseNames[:]...)
	for _, k := range relBases {
		out = append(out, "rel_"+baseNames[k], "col_"+baseNames[k])
	}
	return out
}()

// FeatureNames names the signals of a feature vector, in order.
func FeatureNames() []string { return append([]string(nil), featureNames...) }

// fieldText is what the signals read of a field, computed once.
type fieldText struct {
	split      string // the name's words joined by spaces
	grams      grams
	pathGrams  grams
	parGrams   grams
	name       []string // the name's words
	nameVec    map[string]float64
	descVec    map[string]float64
	descSet    map[string]bool
	ctxSet     map[string]bool
	head       grams // the last word's 3-grams
	nameGrams  []grams
	descWords  []string
	descGrams  []grams // each description word's 3-grams
	kind       string  // valueKind
	vals       map[string]bool
	cls, shp   map[string]float64 // value classes and shapes of the examples
	hasDesc    bool
	hasExample bool
}

// describe prepares the fields of both schemas; the idf weights come from
// the two schemas' fields together.
func describe(src, tgt *Schema) (st, tt []fieldText, nameIDF, descIDF *idf) {
	nameIDF, descIDF = newIDF(), newIDF()
	prep := func(sc *Schema) []fieldText {
		out := make([]fieldText, len(sc.Fields))
		for i := range sc.Fields {
			f := &sc.Fields[i]
			ft := &out[i]
			ft.split = splitName(f.Name)
			ft.grams = trigrams(ft.split)
			ft.pathGrams = trigrams(splitName(strings.ReplaceAll(f.Path, "[]", "")))
			if f.Parent != "" {
				ft.parGrams = trigrams(splitName(lastSegment(f.Parent)))
			}
			ft.name = tokens(f.Name)
			if len(ft.name) > 0 {
				ft.head = trigrams(ft.name[len(ft.name)-1])
			}
			for _, w := range ft.name {
				ft.nameGrams = append(ft.nameGrams, trigrams(w))
			}
			nameIDF.add(ft.name)
			d := tokens(f.Description)
			ft.hasDesc = len(d) > 0
			descIDF.add(d)
			ft.descSet = wordSet(d)
			ft.descWords = uniq(d)
			for _, w := range ft.descWords {
				ft.descGrams = append(ft.descGrams, trigrams(w))
			}
			ft.ctxSet = wordSet(tokens(f.Context + " " + sc.Description))
			ft.hasExample = len(f.Examples) > 0
			ft.kind = valueKind(f)
			if ft.hasExample {
				ft.vals, ft.cls, ft.shp = exampleStrings(f.Examples), classes(f.Examples), shapes(f.Examples)
			}
		}
		return out
	}
	st, tt = prep(src), prep(tgt)
	for _, fs := range [][]fieldText{st, tt} {
		for i := range fs {
			fs[i].nameVec = nameIDF.vector(fs[i].name)
		}
	}
	for k, fs := range [][]fieldText{st, tt} {
		sc := src
		if k == 1 {
			sc = tgt
		}
		for i := range fs {
			fs[i].descVec = descIDF.vector(tokens(sc.Fields[i].Description))
		}
	}
	return st, tt, nameIDF, descIDF
}

// signals computes every pair's feature vector from the first matcher's
// scores (its blend, and the embedder's vectors of each field).
func signals(src, tgt *Schema, sc *scored) [][][]float64 {
	legacy := sc.legacy
	st, tt, _, descIDF := describe(src, tgt)
	n, m := len(src.Fields), len(tgt.Fields)
	x := make([][][]float64, n)
	for i := range x {
		x[i] = make([][]float64, m)
		s, a := &src.Fields[i], &st[i]
		for j := range x[i] {
			t, b := &tgt.Fields[j], &tt[j]
			v := make([]float64, nFeatures)
			v[fTri] = dice(a.grams, b.grams)
			v[fTriPath] = dice(a.pathGrams, b.pathGrams)
			v[fTok] = cosineSparse(a.nameVec, b.nameVec)
			v[fEmbName] = math.Max(0, ai.Cosine(sc.sv[i].name, sc.tv[j].name))
			if a.hasDesc && b.hasDesc {
				v[fDesc] = cosineSparse(a.descVec, b.descVec)
				v[fHasDesc] = 1
			}
			v[fNameDesc] = math.Max(descIDF.coverage(a.name, b.descSet), descIDF.coverage(b.name, a.descSet))
			switch {
			case a.hasDesc && b.hasDesc:
				v[fEmbDesc] = math.Max(0, ai.Cosine(sc.sv[i].desc, sc.tv[j].desc))
			case a.hasDesc:
				v[fEmbDesc] = math.Max(0, ai.Cosine(sc.sv[i].desc, sc.tv[j].name))
			case b.hasDesc:
				v[fEmbDesc] = math.Max(0, ai.Cosine(sc.sv[i].name, sc.tv[j].desc))
			}
			if a.kind != "" && b.kind != "" {
				if a.kind == b.kind {
					v[fKindSame] = 1
				} else {
					v[fKindClash] = 1
				}
			}
			v[fHead] = dice(a.head, b.head)
			v[fFuzzyDesc] = math.Max(fuzzyCoverage(descIDF, a, b), fuzzyCoverage(descIDF, b, a))
			v[fCtx] = math.Max(descIDF.coverage(a.name, b.ctxSet), descIDF.coverage(b.name, a.ctxSet))
			v[fType] = typeCompat(s, t)
			if a.hasExample && b.hasExample {
				v[fSample] = setJaccard(a.vals, b.vals)
				v[fPattern] = minOverlap(a.cls, b.cls)
				v[fShape] = minOverlap(a.shp, b.shp)
				v[fHasVal] = 1
			}
			if a.parGrams != nil && b.parGrams != nil {
				v[fParent] = dice(a.parGrams, b.parGrams)
			}
			v[fLegacy] = legacy[i][j]
			x[i][j] = v
		}
	}
	siblingAgreement(src, tgt, x)
	for k, b := range relBases {
		relative(x, b, nBase+2*k, nBase+2*k+1)
	}
	return x
}

// fuzzyCoverage: the idf-weighted share of a's name words that b's
// description has, each word counted by its best 3-gram match there
// (dischtime and "discharged" meet part-way).
func fuzzyCoverage(d *idf, a, b *fieldText) float64 {
	if len(a.name) == 0 || len(b.descWords) == 0 {
		return 0
	}
	have, all := 0.0, 0.0
	for k, w := range a.name {
		x := d.weight(w)
		all += x
		best := 0.0
		for l, dw := range b.descWords {
			if dw == w {
				best = 1
				break
			}
			best = math.Max(best, dice(a.nameGrams[k], b.descGrams[l]))
		}
		have += x * best
	}
	return have / all
}

func uniq(ws []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// relative sets, for signal k, its distance below the best of the
// source's row (into row) and of the target's column (into col): 0 for the
// best candidate either way, negative for the others.
func relative(x [][][]float64, k, row, col int) {
	n := len(x)
	if n == 0 {
		return
	}
	m := len(x[0])
	colMax := make([]float64, m)
	for j := range colMax {
		colMax[j] = math.Inf(-1)
	}
	for i := range x {
		rowMax := math.Inf(-1)
		for j := range x[i] {
			rowMax = math.Max(rowMax, x[i][j][k])
			colMax[j] = math.Max(colMax[j], x[i][j][k])
		}
		for j := range x[i] {
			x[i][j][row] = x[i][j][k] - rowMax
		}
	}
	for i := range x {
		for j := range x[i] {
			x[i][j][col] = x[i][j][k] - colMax[j]
		}
	}
}

// siblingAgreement: for nested fields, how well the other fields under the
// same two parents match each other by name (the best 3-gram similarity
// of each other source sibling, averaged): two address objects whose
// other fields correspond make their city fields likelier to correspond.
func siblingAgreement(src, tgt *Schema, x [][][]float64) {
	type pp struct{ s, t string }
	sum := map[pp]float64{}
	cnt := map[pp]int{}
	for i := range src.Fields {
		if src.Fields[i].Parent == "" {
			continue
		}
		best := map[string]float64{}
		for j := range tgt.Fields {
			if tgt.Fields[j].Parent == "" {
				continue
			}
			p := tgt.Fields[j].Parent
			best[p] = math.Max(best[p], x[i][j][fTri])
		}
		for p, b := range best {
			k := pp{src.Fields[i].Parent, p}
			sum[k] += b
			cnt[k]++
		}
	}
	for i := range src.Fields {
		for j := range tgt.Fields {
			k := pp{src.Fields[i].Parent, tgt.Fields[j].Parent}
			if c := cnt[k]; c > 1 {
				// the pair's own share left out
				x[i][j][fSibling] = (sum[k] - x[i][j][fTri]) / float64(c-1)
			}
		}
	}
}

// Signals returns the feature vector of every (source, target) pair, in
// FeatureNames order: the training data of the model.
func Signals(ctx context.Context, src, tgt *Schema, o Options) ([][][]float64, error) {
	if src == nil || tgt == nil || len(src.Fields) == 0 || len(tgt.Fields) == 0 {
		return nil, invalid("both schemas need fields")
	}
	if o.Embedder == nil {
		o.Embedder = defaultEmbedder
	}
	sc, err := legacyScores(ctx, src, tgt, o)
	if err != nil {
		return nil, err
	}
	return signals(src, tgt, sc), nil
}

// scoreFields scores every pair: the first matcher's blend and signals,
// the general signals, and the model's probability (adjusted by the
// review memory, when there is one).
func scoreFields(ctx context.Context, src, tgt *Schema, o Options) (*scored, error) {
	sc, err := legacyScores(ctx, src, tgt, o)
	if err != nil {
		return nil, err
	}
	if o.FirstMatcher {
		sc.prob = sc.legacy
		sc.first = sc.legacy
		o.Memory.apply(ctx, src, tgt, sc)
		return sc, nil
	}
	x := signals(src, tgt, sc)
	p := make([][]float64, len(x))
	for i := range x {
		p[i] = make([]float64, len(x[i]))
		for j := range x[i] {
			p[i][j] = o.Model.Prob(x[i][j])
		}
	}
	sc.first = p
	sc.prob = o.Model.Rescore(p, x)
	o.Memory.apply(ctx, src, tgt, sc)
	return sc, nil
}

// FitLogistic fits a logistic regression by Newton's method (iteratively
// reweighted least squares) with an L2 penalty lambda on the weights (not
// the bias); w weighs each example. It returns the weights and the bias.
func FitLogistic(x [][]float64, y, w []float64, lambda float64, iters int) ([]float64, float64, error) {
	if len(x) == 0 || len(x) != len(y) || len(y) != len(w) {
		return nil, 0, fmt.Errorf("fit: %d rows, %d labels, %d weights", len(x), len(y), len(w))
	}
	d := len(x[0]) + 1 // the bias last
	beta := make([]float64, d)
	for it := 0; it < iters; it++ {
		g := make([]float64, d)
		h := make([][]float64, d)
		for k := range h {
			h[k] = make([]float64, d)
		}
		for r, row := range x {
			z := beta[d-1]
			for k, v := range row {
				z += beta[k] * v
			}
			p := 1 / (1 + math.Exp(-z))
			e := w[r] * (p - y[r])
			q := w[r] * math.Max(p*(1-p), 1e-9)
			for k := 0; k < d; k++ {
				xk := 1.0
				if k < d-1 {
					xk = row[k]
				}
				g[k] += e * xk
				if xk == 0 {
					continue
				}
				for l := 0; l <= k; l++ {
					xl := 1.0
					if l < d-1 {
						xl = row[l]
					}
					h[k][l] += q * xk * xl
				}
			}
		}
		for k := 0; k < d; k++ {
			for l := 0; l < k; l++ {
				h[l][k] = h[k][l]
			}
			if k < d-1 {
				g[k] += lambda * beta[k]
				h[k][k] += lambda
			}
		}
		h[d-1][d-1] += 1e-9
		step, err := solve(h, g)
		if err != nil {
			return nil, 0, err
		}
		change := 0.0
		for k := range beta {
			beta[k] -= step[k]
			change = math.Max(change, math.Abs(step[k]))
		}
		if change < 1e-8 {
			break
		}
	}
	return beta[:d-1], beta[d-1], nil
}

// solve solves a·x = b by Gaussian elimination with partial pivoting.
func solve(a [][]float64, b []float64) ([]float64, error) {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(append([]float64(nil), a[i]...), b[i])
	}
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		if math.Abs(m[p][c]) < 1e-12 {
			return nil, fmt.Errorf("fit: singular system (a signal is constant or duplicated)")
		}
		m[c], m[p] = m[p], m[c]
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k <= n; k++ {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for k := r + 1; k < n; k++ {
			s -= m[r][k] * x[k]
		}
		x[r] = s / m[r][r]
	}
	return x, nil
}
