package mapper

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTrigramDice(t *testing.T) {
	if d := TrigramDice("birthDate", "birth_date"); !near(d, 1) {
		t.Errorf("same words, other separators: %v, want 1", d)
	}
	if d := TrigramDice("abc", "xyz"); d != 0 {
		t.Errorf("nothing in common: %v, want 0", d)
	}
	if d := TrigramDice("", "x"); d != 0 {
		t.Errorf("empty: %v", d)
	}
	// " ab" "abc" "bc " against " ab" "abd" "bd ": one of three in common.
	if d := TrigramDice("abc", "abd"); !near(d, 2.0/6) {
		t.Errorf("abc/abd: %v, want 1/3", d)
	}
	if a, b := TrigramDice("gender", "gender_concept_id"), TrigramDice("gender", "care_site_id"); a <= b {
		t.Errorf("a shared word should score higher: %v <= %v", a, b)
	}
}

func TestTokensAndIDF(t *testing.T) {
	if got := tokens("visitDetail_id x"); len(got) != 3 || got[0] != "visit" || got[2] != "id" {
		t.Fatalf("tokens: %v", got)
	}
	d := newIDF()
	d.add([]string{"visit", "id"})
	d.add([]string{"visit", "start"})
	d.add([]string{"visit", "end"})
	if d.weight("visit") >= d.weight("start") {
		t.Errorf("a word in every document weighs %v, a rare one %v", d.weight("visit"), d.weight("start"))
	}
	if d.weight("unseen") < d.weight("start") {
		t.Errorf("an unseen word weighs less than a rare one")
	}
	a, b := d.vector([]string{"visit", "start"}), d.vector([]string{"visit", "end"})
	c := d.vector([]string{"start"})
	if s := cosineSparse(a, a); !near(s, 1) {
		t.Errorf("self cosine %v", s)
	}
	if cosineSparse(a, c) <= cosineSparse(a, b) {
		t.Errorf("sharing the rare word should count more than sharing the common one: %v <= %v", cosineSparse(a, c), cosineSparse(a, b))
	}
	if d.vector(nil) != nil {
		t.Errorf("empty vector")
	}
	set := wordSet([]string{"start", "of", "the", "visit"})
	if cv := d.coverage([]string{"visit", "start"}, set); !near(cv, 1) {
		t.Errorf("full coverage %v", cv)
	}
	if cv := d.coverage([]string{"visit", "end"}, set); cv <= 0 || cv >= 0.5 {
		t.Errorf("only the common word covered: %v, want below one half", cv)
	}
	if d.coverage(nil, set) != 0 || d.coverage([]string{"x"}, nil) != 0 {
		t.Errorf("empty coverage")
	}
}

func TestValueSignals(t *testing.T) {
	a := &Field{Examples: []any{"F", "M"}}
	b := &Field{Examples: []any{"m", "f", "x"}}
	if o := sampleOverlap(a, b); !near(o, 2.0/3) {
		t.Errorf("sample overlap %v, want 2/3", o)
	}
	if o := sampleOverlap(a, &Field{}); o != 0 {
		t.Errorf("no examples: %v", o)
	}
	d1 := &Field{Examples: []any{"2024-01-02", "2023-12-31"}}
	d2 := &Field{Examples: []any{"1999-05-06"}}
	e := &Field{Examples: []any{"a@b.io"}}
	if p := patternOverlap(d1, d2); !near(p, 1) {
		t.Errorf("dates against dates: %v", p)
	}
	if p := patternOverlap(d1, e); p != 0 {
		t.Errorf("dates against e-mails: %v", p)
	}
	if s := shapeOverlap(a, &Field{Examples: []any{"K", "Q"}}); !near(s, 1) {
		t.Errorf("one-letter codes: %v", s)
	}
	if s := shapeOverlap(a, d1); s != 0 {
		t.Errorf("letters against dates: %v", s)
	}
	for _, c := range []struct {
		f    Field
		want string
	}{
		{Field{Format: "date"}, "date"},
		{Field{Format: "email"}, "email"},
		{Field{Type: "boolean"}, "bool"},
		{Field{Examples: []any{"2024-01-02T10:00:00Z"}}, "date"},
		{Field{Examples: []any{1.0, 2.5}}, "number"},
		{Field{Examples: []any{"#1001"}}, "text"},
		{Field{}, ""},
	} {
		if got := valueKind(&c.f); got != c.want {
			t.Errorf("valueKind(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestFuzzyCoverage(t *testing.T) {
	src := &Schema{Name: "a", Fields: []Field{{Path: "dischtime", Name: "dischtime"}}}
	tgt := &Schema{Name: "b", Fields: []Field{
		{Path: "end", Name: "end", Description: "when the patient was discharged"},
		{Path: "start", Name: "start", Description: "when the stay began"}}}
	st, tt, _, d := describe(src, tgt)
	hit, miss := fuzzyCoverage(d, &st[0], &tt[0]), fuzzyCoverage(d, &st[0], &tt[1])
	if hit <= miss || hit >= 1 {
		t.Errorf("dischtime in \"discharged\" %v, in \"began\" %v", hit, miss)
	}
}

func TestRelativeAndSiblings(t *testing.T) {
	x := [][][]float64{{{0.2}, {0.8}}, {{0.5}, {0.1}}}
	for i := range x {
		for j := range x[i] {
			x[i][j] = append(x[i][j], 0, 0)
		}
	}
	relative(x, 0, 1, 2)
	if !near(x[0][1][1], 0) || !near(x[0][0][1], -0.6) || !near(x[1][0][2], 0) || !near(x[0][0][2], -0.3) {
		t.Fatalf("relative: %v", x)
	}
	src := &Schema{Fields: []Field{{Path: "a.city", Name: "city", Parent: "a"}, {Path: "a.zip", Name: "zip", Parent: "a"}}}
	tgt := &Schema{Fields: []Field{{Path: "b.city", Name: "city", Parent: "b"}, {Path: "b.zip", Name: "zip", Parent: "b"}}}
	y := make([][][]float64, 2)
	for i := range y {
		y[i] = make([][]float64, 2)
		for j := range y[i] {
			y[i][j] = make([]float64, nFeatures)
			y[i][j][fTri] = TrigramDice(src.Fields[i].Name, tgt.Fields[j].Name)
		}
	}
	siblingAgreement(src, tgt, y)
	if !near(y[0][0][fSibling], 1) {
		t.Errorf("city/city: the zips agree, want 1: %v", y[0][0][fSibling])
	}
}

func TestFitLogisticAndSolve(t *testing.T) {
	if x, err := solve([][]float64{{2, 1}, {1, 3}}, []float64{3, 5}); err != nil || !near(x[0], 0.8) || !near(x[1], 1.4) {
		t.Fatalf("solve: %v %v", x, err)
	}
	if _, err := solve([][]float64{{1, 1}, {1, 1}}, []float64{1, 1}); err == nil {
		t.Fatalf("singular system solved")
	}
	// One signal decides (label 1 above 0.5), a second is noise.
	var x [][]float64
	var y, w []float64
	for i := 0; i < 200; i++ {
		a, b := float64(i%20)/19, float64((i*7)%13)/12
		x = append(x, []float64{a, b})
		lab := 0.0
		if a > 0.5 {
			lab = 1
		}
		y, w = append(y, lab), append(w, 1)
	}
	ws, bias, err := FitLogistic(x, y, w, 0.1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if ws[0] < 5 || math.Abs(ws[1]) > ws[0]/5 {
		t.Errorf("weights %v: the deciding signal should dominate", ws)
	}
	m := &Model{Weights: ws, Bias: bias}
	if m.Prob([]float64{0.9, 0.5}) < 0.8 || m.Prob([]float64{0.1, 0.5}) > 0.2 {
		t.Errorf("probabilities %v %v", m.Prob([]float64{0.9, 0.5}), m.Prob([]float64{0.1, 0.5}))
	}
	if _, _, err := FitLogistic(nil, nil, nil, 1, 5); err == nil {
		t.Errorf("no rows fitted")
	}
}

func TestPropose(t *testing.T) {
	p := [][]float64{
		{0.9, 0.7, 0.1},
		{0.8, 0.2, 0.05},
	}
	// 1:1: source 0 -> 1 and source 1 -> 0 (total 1.5 beats 0.9+0.2);
	// target 2 stays free (too unlikely).
	got := Propose(p, 0.5, 0.95)
	if len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Fatalf("1:1: %v", got)
	}
	// With a lower 1:n threshold target 2 still finds no likely source.
	if got := Propose(p, 0.5, 0.5); len(got) != 2 {
		t.Fatalf("1:n: %v", got)
	}
	// Source 0 is the only likely source of targets 0 and 1.
	q := [][]float64{{0.9, 0.8}, {0.1, 0.1}}
	if got := Propose(q, 0.5, 0.7); len(got) != 2 || got[0] != 0 || got[1] != 0 {
		t.Fatalf("1:n: %v", got)
	}
	if got := Propose(q, 0.5, 0.85); len(got) != 1 {
		t.Fatalf("1:n above its threshold: %v", got)
	}
}

func TestModelFile(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Weights) != int(nFeatures) || m.Command == "" || len(m.Data) == 0 {
		t.Fatalf("embedded model: %d weights, command %q, data %v", len(m.Weights), m.Command, m.Data)
	}
	for _, bad := range []string{
		`{`,
		`{"features": ["tri"], "weights": [1, 2]}`,
		`{"features": ["tri"], "weights": [1], "threshold": 0.5, "extra": 0.5}`,
	} {
		if _, err := ParseModel([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	b := strings.Replace(string(weightsJSON), `"threshold": `, `"threshold": 7`, 1)
	if _, err := ParseModel([]byte(b)); err == nil {
		t.Errorf("accepted a threshold out of range")
	}
}

func TestContextAndDescriptionRead(t *testing.T) {
	s, err := FromFieldList([]byte(`{"name": "OMOP person", "description": "one row per person",
		"fields": [{"name": "person_id", "description": "the person's id", "context": "the person table"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Description != "one row per person" || s.Fields[0].Context != "the person table" || s.Fields[0].Description != "the person's id" {
		t.Fatalf("%+v", s)
	}
	st, _, _, _ := describe(s, s)
	if !st[0].ctxSet["table"] || !st[0].ctxSet["row"] {
		t.Fatalf("the context and the schema's description are read: %v", st[0].ctxSet)
	}
}

func TestProposalMutualBest(t *testing.T) {
	p := NewProposal([][]float64{
		{0.15, 0.02},
		{0.01, 0.12},
	})
	if got := p.At(0.2, 0.2, 1); len(got) != 0 {
		t.Fatalf("below the threshold: %v", got)
	}
	// Both pairs are their row's and column's best: the mutual threshold applies.
	if got := p.At(0.2, 0.13, 1); len(got) != 1 || got[0] != 0 {
		t.Fatalf("mutual best from 0.13: %v", got)
	}
	q := NewProposal([][]float64{
		{0.15, 0.16},
		{0.01, 0.17},
	})
	// Source 0's assigned target 0 is not its row's best (0.16 > 0.15): not mutual.
	if got := q.At(0.2, 0.1, 1); len(got) != 1 || got[1] != 1 {
		t.Fatalf("only the mutual pair: %v", got)
	}
}

func TestCandidateSignals(t *testing.T) {
	p := [][]float64{
		{0.9, 0.5, 0.1},
		{0.6, 0.2, 0.3},
	}
	f := make([][][]float64, 2)
	for i := range f {
		f[i] = make([][]float64, 3)
		for j := range f[i] {
			f[i][j] = make([]float64, nFeatures)
			f[i][j][fLegacy] = float64(i+j) / 10
		}
	}
	x := CandidateSignals(p, f)
	if len(x) != 2 || len(x[0]) != 3 || len(x[0][0]) != int(nCandidate) {
		t.Fatalf("shape: %d × %d × %d", len(x), len(x[0]), len(x[0][0]))
	}
	v := x[0][0] // its row's and its column's best, assigned
	if !near(v[cLogit], logit(0.9)) || v[cRowGap] != 0 || v[cColGap] != 0 || v[cAssigned] != 1 {
		t.Fatalf("the best pair: %v", v)
	}
	if !near(v[cRowLead], logit(0.9)-logit(0.5)) || !near(v[cColLead], logit(0.9)-logit(0.6)) {
		t.Fatalf("the best pair's leads: %v", v)
	}
	v = x[1][0] // below 0.9 in its column, its row's best, not assigned (0.9 + 0.3 > 0.6 + 0.5)
	if !near(v[cColGap], logit(0.6)-logit(0.9)) || v[cRowGap] != 0 || v[cAssigned] != 0 || !near(v[cColLead], v[cColGap]) {
		t.Fatalf("a column's second: %v", v)
	}
	if x[1][2][cAssigned] != 1 || !near(x[1][2][cLegacy], 0.3) {
		t.Fatalf("the other assigned pair: %v", x[1][2])
	}
	// probabilities of 0 and 1 stay finite
	y := CandidateSignals([][]float64{{0, 1}}, [][][]float64{{make([]float64, nFeatures), make([]float64, nFeatures)}})
	for _, v := range y[0] {
		for _, z := range v {
			if math.IsNaN(z) || math.Abs(z) > 2*clipLogit {
				t.Fatalf("not clipped: %v", y)
			}
		}
	}
}

func TestRescoreKeepsTheRowOrder(t *testing.T) {
	m := &Model{Stage2: make([]float64, nCandidate), Stage2Features: CandidateNames()}
	// a second stage that likes the column's best: it raises (1, 1) but may
	// not put it above (1, 0) in its row
	m.Stage2[cColLead] = 2
	p := [][]float64{
		{0.9, 0.2},
		{0.5, 0.45},
	}
	f := [][][]float64{{make([]float64, nFeatures), make([]float64, nFeatures)}, {make([]float64, nFeatures), make([]float64, nFeatures)}}
	q := m.Rescore(p, f)
	for i := range p {
		for j := range p[i] {
			for k := range p[i] {
				if p[i][j] > p[i][k] && q[i][j] < q[i][k] {
					t.Fatalf("row %d reordered: %v -> %v", i, p[i], q[i])
				}
			}
		}
	}
	if q[1][1] != q[1][0] {
		t.Fatalf("the lower candidate capped at the one above: %v", q[1])
	}
	if q[0][0] < 0.5 || q[0][1] > q[0][0] {
		t.Fatalf("the clear best: %v", q[0])
	}
	if got := (&Model{}).Rescore(p, f); &got[0][0] != &p[0][0] {
		t.Fatalf("without a second stage, the first's probabilities")
	}
	// the model file names the second stage's signals
	b := strings.Replace(string(weightsJSON), `"row_gap"`, `"row_gaps"`, 1)
	if _, err := ParseModel([]byte(b)); err == nil {
		t.Errorf("accepted a second stage with another signal")
	}
	d, err := DefaultModel()
	if err != nil || len(d.Stage2) != int(nCandidate) {
		t.Fatalf("the embedded model's second stage: %v %v", d.Stage2, err)
	}
}

// The relative signals: every base in relBases has a row and a column
// distance, named after it, filled by signals().
func TestRelativeSignalsPerBase(t *testing.T) {
	names := FeatureNames()
	if len(names) != nFeatures {
		t.Fatalf("%d names for %d features", len(names), nFeatures)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("signal %q twice", n)
		}
		seen[n] = true
	}
	for _, b := range relBases {
		if !seen["rel_"+baseNames[b]] || !seen["col_"+baseNames[b]] {
			t.Errorf("no row/column distance for %q", baseNames[b])
		}
	}
	src := &Schema{Fields: []Field{{Path: "discharge_date", Name: "discharge_date"}}}
	tgt := &Schema{Fields: []Field{
		{Path: "end_date", Name: "end_date", Description: "date of the patient's discharge"},
		{Path: "start_date", Name: "start_date", Description: "date of the patient's admission"},
	}}
	x, err := Signals(t.Context(), src, tgt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	k := -1
	for i, n := range names {
		if n == "rel_fuzzy_desc" {
			k = i
		}
	}
	if k < 0 {
		t.Fatal("no rel_fuzzy_desc")
	}
	if x[0][0][fFuzzyDesc] <= x[0][1][fFuzzyDesc] || !near(x[0][0][k], 0) || !near(x[0][1][k], x[0][1][fFuzzyDesc]-x[0][0][fFuzzyDesc]) {
		t.Errorf("fuzzy_desc %v / %v, rel %v / %v", x[0][0][fFuzzyDesc], x[0][1][fFuzzyDesc], x[0][0][k], x[0][1][k])
	}
}

// Sums over maps settle to the same value whatever the iteration order:
// two fields with the same description get exactly the same signal, so
// ties break the same way every run.
func TestSparseCosineSettles(t *testing.T) {
	d := newIDF()
	words := strings.Fields("the patient age at the anchor year shifted year of admission range of years group")
	d.add(words)
	d.add(words[:5])
	a := d.vector(words)
	first := cosineSparse(a, d.vector(words[3:]))
	for i := 0; i < 50; i++ {
		rev := append([]string(nil), words...)
		for l, r := 0, len(rev)-1; l < r; l, r = l+1, r-1 {
			rev[l], rev[r] = rev[r], rev[l]
		}
		if got := cosineSparse(d.vector(rev), d.vector(words[3:])); got != first {
			t.Fatalf("run %d: %v, then %v", i, first, got)
		}
	}
	if o := minOverlap(map[string]float64{"a": 0.1, "b": 0.2, "c": 0.7}, map[string]float64{"c": 0.7, "b": 0.2, "a": 0.1}); o != 1 {
		t.Errorf("minOverlap of equal maps: %v, want exactly 1", o)
	}
}
