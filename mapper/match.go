package mapper

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft/ai"
)

// FirstThreshold is the first matcher's threshold: its blend proposes a
// pair of its 1:1 assignment from this score (vocab/params.json).
var FirstThreshold = par.Suggest.FirstThreshold

// Options tune Suggest.
type Options struct {
	Embedder  ai.Embedder // default: ai.Builtin behind a cache
	Top       int         // candidates kept per source field (default 5)
	Threshold float64     // minimum confidence to suggest (default: the model's)
	Memory    *Memory     // reviewed decisions that adjust scores (optional)
	Model     *Model      // the learned combination (default: the embedded model/weights.json)
	// FirstMatcher scores with the first matcher's hand-weighted blend
	// alone (threshold 0.3 unless set), for comparison in the evals.
	FirstMatcher bool
}

// Candidate is one ranked target for a source field.
type Candidate struct {
	Target string  `json:"target"`
	Score  float64 `json:"score"`
}

// Suggestion maps one target field from one or more source fields.
type Suggestion struct {
	Target     string   `json:"target"`
	Sources    []string `json:"sources"`
	Confidence float64  `json:"confidence"`
	Reason     string   `json:"reason"`
	Expr       string   `json:"expr"` // CEL over the source record "src"
}

// Result is a mapping proposal.
type Result struct {
	Source            string                 `json:"source"`
	Target            string                 `json:"target"`
	Suggestions       []Suggestion           `json:"suggestions"`
	Candidates        map[string][]Candidate `json:"candidates"` // source path -> ranked targets (abstains: absent)
	UnmatchedRequired []string               `json:"unmatched_required,omitempty"`
	Took              time.Duration          `json:"took_ns"`
}

// pairFeatures are the signals for one (source, target) pair.
type pairFeatures struct {
	name, path, desc, tok, exact, typ, val, ctx, kind, solo, ref float64
	hasDesc, hasVal, listClash                                   bool
	why                                                          []string
}

var defaultEmbedder = ai.NewCached(ai.Builtin{}, 200000)

// Suggest proposes how to fill tgt's fields from src's.
func Suggest(ctx context.Context, src, tgt *Schema, o Options) (*Result, error) {
	start := time.Now()
	if err := dataErr(); err != nil {
		return nil, err
	}
	if src == nil || tgt == nil || len(src.Fields) == 0 || len(tgt.Fields) == 0 {
		return nil, invalid("both schemas need fields")
	}
	if o.Embedder == nil {
		o.Embedder = defaultEmbedder
	}
	if o.Top <= 0 {
		o.Top = 5
	}
	if o.Model == nil {
		m, err := DefaultModel()
		if err != nil {
			return nil, err
		}
		o.Model = m
	}
	extra := o.Model.Extra
	if o.FirstMatcher {
		extra = 2 // 1:1 only
		if o.Threshold <= 0 {
			o.Threshold = FirstThreshold
		}
		o.Model = &Model{Threshold: o.Threshold, Extra: extra, Floor: o.Threshold * par.Suggest.FirstFloor}
	}
	if o.Threshold <= 0 {
		o.Threshold = o.Model.Threshold
	} else {
		extra = math.Max(extra, o.Threshold)
	}
	sc, err := scoreFields(ctx, src, tgt, o)
	if err != nil {
		return nil, err
	}
	score, feats := sc.prob, sc.feats
	res := &Result{Source: src.Name, Target: tgt.Name, Candidates: map[string][]Candidate{}}
	for i := range src.Fields {
		var cs []Candidate
		var first []float64
		for j := range tgt.Fields {
			if s := score[i][j]; s >= o.Model.Floor {
				cs = append(cs, Candidate{Target: tgt.Fields[j].Path, Score: round3(s)})
				first = append(first, sc.first[i][j])
			}
		}
		idx := make([]int, len(cs))
		for k := range idx {
			idx[k] = k
		}
		// equal scores: the first stage's order (the second caps a
		// candidate at the one above it)
		sort.Slice(idx, func(a, b int) bool {
			ca, cb := cs[idx[a]], cs[idx[b]]
			if ca.Score != cb.Score {
				return ca.Score > cb.Score
			}
			if fa, fb := first[idx[a]], first[idx[b]]; fa != fb {
				return fa > fb
			}
			return ca.Target < cb.Target
		})
		sorted := make([]Candidate, len(cs))
		for k, x := range idx {
			sorted[k] = cs[x]
		}
		cs = sorted
		if len(cs) > o.Top {
			cs = cs[:o.Top]
		}
		if len(cs) > 0 {
			res.Candidates[src.Fields[i].Path] = cs
		}
	}
	// Composites first (a full name from first + last, first / last from a
	// full name): they take their targets out of the 1:1 assignment.
	comp := composites(src, tgt, map[int]int{}, map[int]bool{})
	reserved := map[string]bool{}
	compSrc := map[string]bool{}
	for _, c := range comp {
		reserved[c.Target] = true
		for _, sp := range c.Sources {
			compSrc[sp] = true
		}
	}
	for j := range tgt.Fields {
		if reserved[tgt.Fields[j].Path] {
			for i := range src.Fields {
				score[i][j] = 0
			}
		}
	}
	for i := range src.Fields {
		if compSrc[src.Fields[i].Path] {
			for j := range tgt.Fields {
				if score[i][j] < par.Suggest.CompositeKeep {
					score[i][j] *= par.Suggest.CompositeFactor
				}
			}
		}
	}
	mutual := o.Model.Mutual
	if mutual <= 0 || mutual > o.Threshold {
		mutual = o.Threshold
	}
	assigned := NewProposal(score).At(o.Threshold, mutual, extra)
	for j := range tgt.Fields {
		i, ok := assigned[j]
		if !ok {
			continue
		}
		s, t := &src.Fields[i], &tgt.Fields[j]
		res.Suggestions = append(res.Suggestions, Suggestion{Target: t.Path, Sources: []string{s.Path}, Confidence: round3(score[i][j]),
			Reason: reason(feats[i][j], s, t), Expr: convert(s, t)})
	}
	res.Suggestions = append(res.Suggestions, comp...)
	sort.Slice(res.Suggestions, func(a, b int) bool { return res.Suggestions[a].Target < res.Suggestions[b].Target })
	have := map[string]bool{}
	for _, s := range res.Suggestions {
		have[s.Target] = true
	}
	for _, t := range tgt.Fields {
		if t.Required && !have[t.Path] {
			res.UnmatchedRequired = append(res.UnmatchedRequired, t.Path)
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

// scored holds every pair's signals and scores.
type scored struct {
	legacy [][]float64      // the hand-weighted blend (combine, structural)
	first  [][]float64      // the first stage's probabilities (the order within a source's candidates)
	feats  [][]pairFeatures // its signals, for the reasons
	sv, tv []fieldVecs
	prob   [][]float64 // the learned model's probability that the pair maps
}

// legacyScores is the hand-weighted blend of the first matcher: one of
// the learned model's signals.
func legacyScores(ctx context.Context, src, tgt *Schema, o Options) (*scored, error) {
	sv, err := embedFields(ctx, o.Embedder, src.Fields)
	if err != nil {
		return nil, err
	}
	tv, err := embedFields(ctx, o.Embedder, tgt.Fields)
	if err != nil {
		return nil, err
	}
	annotate(sv, src)
	annotate(tv, tgt)
	n, m := len(src.Fields), len(tgt.Fields)
	kindCount := func(vs []fieldVecs) map[string]int {
		c := map[string]int{}
		for i := range vs {
			c[vs[i].kind]++
		}
		return c
	}
	sCount, tCount := kindCount(sv), kindCount(tv)
	score := make([][]float64, n)
	feats := make([][]pairFeatures, n)
	for i := range src.Fields {
		score[i] = make([]float64, m)
		feats[i] = make([]pairFeatures, m)
		for j := range tgt.Fields {
			f := features(&src.Fields[i], &tgt.Fields[j], sv[i], tv[j])
			// The only date on each side (or only e-mail …) likely go together.
			if k := sv[i].kind; k != "" && k == tv[j].kind && strongKind(k) && sCount[k] == 1 && tCount[k] == 1 {
				f.solo = 1
			}
			s := combine(f)
			score[i][j], feats[i][j] = s, f
		}
	}
	structural(src, tgt, score)
	return &scored{legacy: score, feats: feats, sv: sv, tv: tv}, nil
}

// Propose turns a probability matrix (source × target) into a mapping,
// target -> source: the 1:1 assignment of maximum total probability
// (Hungarian), pairs below threshold dropped; then each target still free
// takes its most likely source when that reaches extra, though the source
// fills another target already (1:n: subject_id is both person_id and
// person_source_value).
func Propose(prob [][]float64, threshold, extra float64) map[int]int {
	return NewProposal(prob).At(threshold, threshold, extra)
}

// Proposal is a probability matrix with its 1:1 assignment solved once,
// to be cut at several thresholds.
type Proposal struct {
	prob   [][]float64
	rows   []int  // source -> assigned target, -1 for none
	mutual []bool // the source's assigned pair is the best of its row and of its column
}

// NewProposal solves the assignment of prob.
func NewProposal(prob [][]float64) *Proposal {
	p := &Proposal{prob: prob, rows: assign(prob), mutual: make([]bool, len(prob))}
	for i, j := range p.rows {
		if j < 0 {
			continue
		}
		best := true
		for k := range prob[i] {
			if prob[i][k] > prob[i][j] {
				best = false
			}
		}
		for k := range prob {
			if prob[k][j] > prob[i][j] {
				best = false
			}
		}
		p.mutual[i] = best
	}
	return p
}

// At is the mapping at the given thresholds: an assigned pair from
// threshold, or from mutual when it is its source's and its target's most
// likely pair; a further target of a source (1:n) from extra.
func (p *Proposal) At(threshold, mutual, extra float64) map[int]int {
	assigned := map[int]int{}
	for i, j := range p.rows {
		if j >= 0 && (p.prob[i][j] >= threshold || p.mutual[i] && p.prob[i][j] >= mutual) {
			assigned[j] = i
		}
	}
	if len(p.prob) == 0 {
		return assigned
	}
	for j := range p.prob[0] {
		if _, ok := assigned[j]; ok {
			continue
		}
		bi := -1
		for i := range p.prob {
			if bi < 0 || p.prob[i][j] > p.prob[bi][j] {
				bi = i
			}
		}
		if bi >= 0 && p.prob[bi][j] >= extra {
			assigned[j] = bi
		}
	}
	return assigned
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

type fieldVecs struct {
	name, path, desc, parent []float32
	ents                     map[string]bool // refEntities, computed once per field
	words                    []string        // the name's concepts, in order
	cset                     map[string]bool // the same, as a set
	norm                     string          // the name without case or separators
	kind                     string          // kindOf
	own                      map[string]bool // the concepts of the schema's own name (shared by its fields)
	pset                     map[string]bool // the concepts of the parent's path, containers left out
	pnorm                    string          // the path without case or separators (the review memory's key)
}

// annotate adds what features needs per field, computed once: features
// runs for every pair, and re-deriving these from the names there was
// most of its time.
func annotate(vs []fieldVecs, sc *Schema) {
	own := conceptSet(sc.Name)
	for i := range vs {
		f := &sc.Fields[i]
		v := &vs[i]
		v.ents = refEntities(f, sc.Name)
		v.words = ai.Concepts(ai.Words(f.Name))
		v.cset = make(map[string]bool, len(v.words))
		for _, w := range v.words {
			v.cset[w] = true
		}
		v.norm = normName(f.Name)
		v.kind = kindOf(f)
		v.pnorm = normName(f.Path)
		v.own = own
		v.pset = map[string]bool{}
		if f.Parent != "" {
			for _, w := range ai.Concepts(ai.Words(f.Parent)) {
				if !vocab().container[w] {
					v.pset[w] = true
				}
			}
		}
	}
}

func nameText(f *Field) string { return f.Name }

func pathText(f *Field) string { return strings.ReplaceAll(f.Path, "[]", "") }

func embedFields(ctx context.Context, e ai.Embedder, fs []Field) ([]fieldVecs, error) {
	texts := make([]string, 0, 4*len(fs))
	for i := range fs {
		texts = append(texts, nameText(&fs[i]), pathText(&fs[i]), fs[i].Description, lastSegment(fs[i].Parent))
	}
	vs, err := e.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embedding fields with %s: %w", e.Name(), err)
	}
	out := make([]fieldVecs, len(fs))
	for i := range fs {
		out[i] = fieldVecs{name: vs[4*i], path: vs[4*i+1], desc: vs[4*i+2], parent: vs[4*i+3]}
	}
	return out, nil
}

func conceptSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, c := range ai.Concepts(ai.Words(s)) {
		out[c] = true
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

func normName(s string) string {
	return strings.Join(ai.Split(s), "")
}

func features(s, t *Field, sv, tv fieldVecs) pairFeatures {
	var f pairFeatures
	f.name = math.Max(0, ai.Cosine(sv.name, tv.name))
	f.path = math.Max(0, ai.Cosine(sv.path, tv.path))
	switch {
	case s.Description != "" && t.Description != "":
		f.desc, f.hasDesc = math.Max(0, ai.Cosine(sv.desc, tv.desc)), true
	case s.Description != "":
		// Only one side says what it holds: read that against the other's name.
		f.desc, f.hasDesc = math.Max(0, ai.Cosine(sv.desc, tv.name)), true
	case t.Description != "":
		f.desc, f.hasDesc = math.Max(0, ai.Cosine(tv.desc, sv.name)), true
	}
	if f.hasDesc && f.desc >= par.Rules.DescAsName {
		// A description that says what the other field is named speaks
		// for the name (externalReference: "the channel's reservation id").
		f.name = math.Max(f.name, f.desc*par.Rules.DescNameWeight)
	}
	f.tok = jaccard(sv.cset, tv.cset)
	if f.hasDesc && f.desc >= par.Rules.DescVerbatim {
		// The description is the other field's name, word for word
		// (product_uom_qty: "Quantity"): it speaks for the words too.
		f.tok = math.Max(f.tok, par.Rules.DescVerbatimTok)
	}
	if sv.norm == tv.norm {
		f.exact = 1
	}
	f.typ = typeCompat(s, t)
	if len(s.Examples) > 0 && len(t.Examples) > 0 {
		f.val, f.hasVal = valueEvidence(s, t), true
	} else if e, n := enumOverlap(s, t); e > 0 {
		// One side lists its allowed values, the other shows examples (or
		// lists its own): shared values (email, phone) are evidence, and
		// two or more shared words say the fields hold the same thing
		// (channel: Email, Phone, Web and type: email, phone, chat).
		f.val, f.hasVal = e, true
		if n >= 2 {
			f.name = math.Max(f.name, par.Rules.EnumWordsName)
			f.tok = math.Max(f.tok, par.Rules.EnumWordsTok)
		}
	}
	if (s.Type == "boolean") != (t.Type == "boolean") && s.Type != "" && t.Type != "" {
		// IsSupplier is whether it is one, not the supplier: a yes/no
		// field's words name what it asks about.
		f.name *= par.Rules.BoolClash
		f.tok *= par.Rules.BoolClash
	}
	if titledName(s, sv, tv) || titledName(t, tv, sv) {
		// A task's (ticket's, meeting's …) own name is its title: ClickUp's
		// name is Jira's summary.
		f.name = math.Max(f.name, par.Rules.TitledName)
		f.tok = math.Max(f.tok, par.Rules.TitledTok)
	}
	if recordDate(sv) && createdStamp(tv) || recordDate(tv) && createdStamp(sv) {
		// An order's date (TxnDate, DocDate, orderDate in an order) is when
		// it was made: the other side's creation time.
		f.name = math.Max(f.name, par.Rules.RecordDateName)
		f.tok = math.Max(f.tok, par.Rules.RecordDateTok)
	}
	// One value per record on one side, one per list item on the other
	// (an invoice's description and a line's): possible (contacts'
	// phone lists flatten), but less likely.
	f.listClash = strings.Contains(s.Path, "[]") != strings.Contains(t.Path, "[]") &&
		!overlaps(sv.pset, tv.pset) // assignees[] and fields.assignee: one wrapped in a list
	if flagStateOf(t, tv.cset, s) != "" || flagStateOf(s, sv.cset, t) != "" {
		// accountEnabled and a status that is ACTIVE or SUSPENDED: the
		// state's own values name the flag.
		f.val, f.hasVal = 1, true
		f.typ = math.Max(f.typ, par.Rules.FlagStateType)
		f.name = math.Max(f.name, par.Rules.FlagStateName)
		f.tok = math.Max(f.tok, par.Rules.FlagStateTok)
	}
	if s.Parent != "" || t.Parent != "" {
		f.ctx = math.Max(0, ai.Cosine(sv.parent, tv.parent))
	}
	if overlaps(sv.ents, tv.ents) {
		f.ref = 1
	}
	if headClash(sv.words, tv.words) {
		// shipment_cost and shipment_status: the same record, different
		// attributes. The shared word is what made them look alike.
		f.name *= par.Rules.HeadPenalty
		f.tok *= par.Rules.HeadPenalty
		f.path *= par.Rules.HeadPenalty
	}
	ks, kt := sv.kind, tv.kind
	if ks != "" && ks == kt {
		f.kind = 1
	} else if ks != kt && (strongKind(ks) && len(t.Examples) > 0 || strongKind(kt) && len(s.Examples) > 0) {
		// One side is a date (e-mail, phone …) and the other's examples say it is not.
		f.typ *= par.Rules.KindClashType
	}
	if bareEntityVsCode(sv.words, tv.words, s) || bareEntityVsCode(tv.words, sv.words, t) {
		// "company" (its name) and "company_number" (its registration):
		// the entity alone is not its number.
		f.name *= par.Rules.EntityCode
		f.tok *= par.Rules.EntityCode
		f.path *= par.Rules.EntityCode
	}
	// A bare "id" (or "name") is the record's own: it does not fill an
	// other entity's id (manager_id, AccountId).
	if bareVsQualified(sv.words, tv.words, tv.own) || bareVsQualified(tv.words, sv.words, sv.own) {
		f.name *= par.Rules.BareName
		f.tok *= par.Rules.BareTok
		f.path *= par.Rules.BarePath
	}
	return f
}

// recordDate: the field is the record's own date, named by nothing but
// the record or a document or transaction word (date, orderDate in an
// order, TxnDate, DocDate).
func recordDate(v fieldVecs) bool {
	n := len(v.words)
	if n == 0 || v.words[n-1] != "date" {
		return false
	}
	for _, w := range v.words[:n-1] {
		if !v.own[w] && !vocab().recordWord[w] {
			return false
		}
	}
	return true
}

// createdStamp: the field is when the record was created (created,
// created_at, OrderCreationDate in an order).
func createdStamp(v fieldVecs) bool {
	has := false
	for _, w := range v.words {
		switch {
		case w == "created":
			has = true
		case w == "date" || w == "timestamp" || v.own[w]:
		default:
			return false
		}
	}
	return has
}

// titledName: f is the bare root name of a record that is not a person
// or an organisation (a task, a product, a meeting …: known by a title),
// and the other field (ov) is a title, subject or summary. For a person
// a title is a job title, not a name.
func titledName(f *Field, fv, ov fieldVecs) bool {
	if f.Parent != "" || len(fv.words) != 1 || fv.words[0] != "name" || len(ov.words) == 0 || ov.words[len(ov.words)-1] != "title" {
		return false
	}
	for w := range fv.own {
		if vocab().party[w] {
			return false
		}
	}
	return true
}

// flagState: a yes/no field (active, enabled) and a state field one of
// whose example values is the flag's own word (a status of ACTIVE or
// SUSPENDED): the flag says whether the state is that value, which it
// returns ("" when the two are not such a pair).
func flagState(flag, state *Field) string { return flagStateOf(flag, conceptSet(flag.Name), state) }

// flagStateOf is flagState with the flag name's concepts given (the pair
// scorer has them per field already).
func flagStateOf(flag *Field, want map[string]bool, state *Field) string {
	if flag.Type != "boolean" || state.Type != "string" || len(state.Examples) == 0 {
		return ""
	}
	for _, e := range state.Examples {
		v, ok := e.(string)
		if !ok {
			continue
		}
		if ws := ai.Words(v); len(ws) == 1 && want[ai.Concept(ws[0])] {
			return v
		}
	}
	return ""
}

func strongKind(k string) bool { return vocab().strongKind[k] }

// bareVsQualified: b (a name's concepts) is a bare id or name, and o
// (the other name's) another entity's id or name; own holds the concepts
// of o's schema.
func bareVsQualified(b, o []string, own map[string]bool) bool {
	if len(b) == 0 || len(o) < 2 {
		return false
	}
	c := b[0]
	if len(b) == 2 && b[1] == "id" {
		c = "id" // "id value"
	} else if len(b) != 1 {
		return false
	}
	if last := o[len(o)-1]; !(c == "id" || c == "name") || (last != c && !(c == "id" && last == "number")) {
		return false
	}
	// The other side's own id (delivery_id in a delivery) is the same
	// thing; so is an id that only says what kind of id it is (custom_id,
	// external_id): no other entity is named.
	for _, w := range o[:len(o)-1] {
		if own[w] || vocab().idKind[w] {
			return false
		}
	}
	return true
}

// bareEntityVsCode: b is one entity word alone (company), o the same
// entity's number or code (company_number), and b's own examples do
// not look like codes.
func bareEntityVsCode(b, o []string, bf *Field) bool {
	if len(b) != 1 || len(o) != 2 || o[0] != b[0] || vocab().generic[b[0]] {
		return false
	}
	if h := o[1]; h != "number" && h != "code" {
		return false
	}
	if bf.Type != "" && bf.Type != "string" {
		return false
	}
	for _, e := range bf.Examples {
		if c := valueClass(e); c == "id" || c == "uuid" || c == "int" || c == "digits" {
			return false
		}
	}
	return true
}

// kindOf is what a field holds, from its name, type, format and examples.
func kindOf(f *Field) string {
	switch f.Format {
	case "date", "date-time", "date-us", "date-eu":
		return "date"
	case "email":
		return "email"
	case "phone":
		return "phone"
	case "currency":
		return "currency"
	case "uri":
		return "url"
	}
	switch topClass(f.Examples) {
	case "date", "datetime", "date_us", "date_eu":
		return "date"
	case "clock":
		return "clock"
	case "email":
		return "email"
	case "phone":
		return "phone"
	case "currency":
		return "currency"
	}
	ws := ai.Words(f.Name)
	if len(ws) == 0 {
		return ""
	}
	last := ai.Concept(ws[len(ws)-1])
	switch {
	case vocab().dateHead[last]:
		return "date"
	}
	if f.Type == "boolean" {
		return "bool"
	}
	return ""
}

// combine blends the signals into one score in [0, 1]. Weights were set on
// the development split of evals/mapper only.
func combine(f pairFeatures) float64 {
	w := &par.Blend
	total := 0.0
	sum := 0.0
	add := func(k string, v, weight float64) {
		sum += v * weight
		total += weight
	}
	add("name", f.name, w.Name)
	add("path", f.path, w.Path)
	add("tok", f.tok, w.Tok)
	add("exact", f.exact, w.Exact)
	add("typ", f.typ, w.Type)
	add("ctx", f.ctx, w.Ctx)
	add("kind", f.kind, w.Kind)
	if f.solo > 0 {
		add("solo", f.solo, w.Solo)
	}
	if f.ref > 0 {
		add("ref", f.ref, w.Ref)
	}
	if f.hasDesc {
		add("desc", f.desc, w.Desc)
	}
	if f.hasVal {
		add("val", f.val, w.Val)
	}
	s := sum / total
	if f.listClash {
		s *= w.ListClash
	}
	if f.typ == 0 {
		s *= w.NoType // an object never fills a number
	}
	return s
}

func typeCompat(s, t *Field) float64 {
	a, b := s.Type, t.Type
	p := &par.Types
	if a == "" || b == "" {
		return p.Unknown
	}
	if a == b {
		if s.Format != "" && t.Format != "" && s.Format != t.Format {
			if dateish(s.Format) && dateish(t.Format) {
				return p.DateFormats
			}
			return p.Formats
		}
		return 1
	}
	num := func(x string) bool { return x == "integer" || x == "number" }
	switch {
	case num(a) && num(b):
		return p.Numbers
	case (num(a) && b == "string") || (a == "string" && num(b)):
		return p.NumberString
	case (a == "boolean" && b == "string") || (a == "string" && b == "boolean"):
		return p.BoolString
	case a == "object" || b == "object" || a == "array" || b == "array":
		return 0
	}
	return p.Other
}
func dateish(f string) bool { return strings.HasPrefix(f, "date") }

// valueEvidence compares example values: the share of matching value
// classes, and exact value overlap.
func valueEvidence(s, t *Field) float64 {
	ca, cb := classes(s.Examples), classes(t.Examples)
	overlap := 0.0
	for k, v := range ca {
		overlap += math.Min(v, cb[k])
	}
	// Date styles are the same kind of value.
	da := ca["date"] + ca["date_us"] + ca["date_eu"] + ca["datetime"]
	db := cb["date"] + cb["date_us"] + cb["date_eu"] + cb["datetime"]
	overlap = math.Max(overlap, math.Min(da, db)*par.Values.DateStyles)
	va, vb := exampleStrings(s.Examples), exampleStrings(t.Examples)
	same := 0
	for k := range va {
		if vb[k] {
			same++
		}
	}
	if same > 0 {
		overlap = math.Max(overlap, par.Values.SharedBase+(1-par.Values.SharedBase)*float64(same)/float64(len(va)))
	}
	return overlap
}

// enumOverlap: the share of one side's listed or example values that the
// other side's enum (or examples) also has, case aside; 0 when either side
// has none or they share none.
func enumOverlap(s, t *Field) (float64, int) {
	if len(s.Enum) == 0 && len(t.Enum) == 0 {
		return 0, 0
	}
	vs, vt := s.Examples, t.Examples
	if len(s.Enum) > 0 {
		vs = s.Enum
	}
	if len(t.Enum) > 0 {
		vt = t.Enum
	}
	if len(vs) == 0 || len(vt) == 0 {
		return 0, 0
	}
	a, b := exampleStrings(vs), exampleStrings(vt)
	same, words := 0, 0
	for k := range a {
		if b[k] {
			same++
			if len(k) > 1 && !isNumber(k) {
				words++
			}
		}
	}
	if same == 0 {
		return 0, 0
	}
	return par.Values.SharedBase + (1-par.Values.SharedBase)*float64(same)/float64(min(len(a), len(b))), words
}

// reason is the one-line explanation of a suggestion.
func reason(f pairFeatures, s, t *Field) string {
	var parts []string
	r := &par.Reason
	switch {
	case f.exact == 1:
		parts = append(parts, "same name")
	case f.tok >= r.Synonyms:
		parts = append(parts, "names are synonyms")
	case f.tok > r.SharedWords:
		parts = append(parts, "names share words")
	case f.name > r.SimilarNames:
		parts = append(parts, "similar names")
	case f.path > r.SimilarPaths:
		parts = append(parts, "similar paths")
	}
	if f.hasDesc && f.desc > r.Descriptions {
		parts = append(parts, "descriptions agree")
	}
	if f.hasVal && f.val > r.Values {
		if c := topClass(s.Examples); c != "" && c != "text" {
			parts = append(parts, "both "+classLabel(c))
		} else {
			parts = append(parts, "example values agree")
		}
	}
	if s.Type != "" && t.Type != "" && s.Type != t.Type {
		parts = append(parts, s.Type+" → "+t.Type)
	} else if s.Format != "" && t.Format != "" && s.Format != t.Format {
		parts = append(parts, s.Format+" → "+t.Format)
	}
	if len(parts) == 0 {
		parts = append(parts, "best remaining match")
	}
	return strings.Join(parts, "; ")
}

func topClass(ex []any) string {
	best, share := "", 0.0
	for c, s := range classes(ex) {
		if s > share {
			best, share = c, s
		}
	}
	return best
}

func classLabel(c string) string { return vocab().classLabel[c] }

// structural raises a pair whose parents already agree: when another
// field of the source's parent matches another field of the target's
// parent well (address.city to location.city), address.line1 to
// location.street is more likely too. Only nested fields take part (two
// top-level fields share no parent worth the name), and a pair with no
// evidence of its own gains nothing.
func structural(src, tgt *Schema, score [][]float64) {
	type pp struct{ s, t string }
	best := map[pp][2]float64{} // the two best scores of sibling pairs under each parent pair
	for i := range src.Fields {
		for j := range tgt.Fields {
			k := pp{src.Fields[i].Parent, tgt.Fields[j].Parent}
			if k.s == "" && k.t == "" {
				continue
			}
			b := best[k]
			if v := score[i][j]; v > b[0] {
				b[1], b[0] = b[0], v
			} else if v > b[1] {
				b[1] = v
			}
			best[k] = b
		}
	}
	// In place: each pair reads only its own score and the best map, both
	// taken before any change.
	for i := range src.Fields {
		for j := range tgt.Fields {
			k := pp{src.Fields[i].Parent, tgt.Fields[j].Parent}
			b, ok := best[k]
			v := score[i][j]
			if !ok || v < par.Structure.Min {
				continue
			}
			// The best other pair under the same two parents.
			other := b[0]
			if v == b[0] {
				other = b[1]
			}
			if st := &par.Structure; other >= st.Agree {
				score[i][j] = v + st.Gain*(other-st.Agree)/(1-st.Agree)*(1-v)
			}
		}
	}
}

func overlaps(a, b map[string]bool) bool {
	for k := range a {
		if b[k] {
			return true
		}
	}
	return false
}

// refEntities: the entities a field is an id (number) of, whether the
// entity is in the name (assignee_id), in the parent
// (fields.assignee.accountId), or, for a record's own bare id, the schema
// itself. Two fields that share one identify the same kind of record.
func refEntities(f *Field, schema string) map[string]bool {
	var segs []string
	for _, seg := range strings.Split(strings.ReplaceAll(f.Path, "[]", ""), ".") {
		if low := strings.ToLower(seg); !vocab().container[low] && low != "value" {
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		return nil
	}
	ws := ai.Concepts(ai.Words(segs[len(segs)-1]))
	if len(ws) == 0 || (ws[len(ws)-1] != "id" && ws[len(ws)-1] != "number") {
		return nil
	}
	out := map[string]bool{}
	for _, w := range ws[:len(ws)-1] {
		out[w] = true
	}
	if len(segs) > 1 {
		for _, w := range ai.Concepts(ai.Words(segs[len(segs)-2])) {
			out[w] = true
		}
	}
	if len(out) == 0 && len(segs) == 1 && len(ws) == 1 {
		for _, w := range ai.Concepts(ai.Words(schema)) {
			out[w] = true
		}
	}
	return out
}

// headClash: two compound names (their concepts) that share a modifier but
// end in different head words (the head says what the value is).
func headClash(wa, wb []string) bool {
	if len(wa) < 2 && len(wb) < 2 || len(wa) == 0 || len(wb) == 0 {
		return false
	}
	ha, hb := wa[len(wa)-1], wb[len(wb)-1]
	if ha == hb || vocab().generic[ha] || vocab().generic[hb] {
		return false
	}
	mods := map[string]bool{}
	for _, w := range wa[:len(wa)-1] {
		mods[w] = true
	}
	mods[ha] = false
	for _, w := range wb {
		if mods[w] && w != hb {
			return true
		}
	}
	// One name is the other's modifier alone ("status" vs "email_status" is
	// not a clash; "shipment" vs "shipment_cost" is).
	return false
}
