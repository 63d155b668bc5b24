package main

// The external development sets (../shared/data/mapping-dev: cases.json
// per dataset, gold as source -> targets, 1:n) and the repository's own
// dev split, scored the way score.py there scores them, for the mapper
// and two baselines in the same run.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/mapper"
)

// extCase is one schema pair of a cases.json.
type extCase struct {
	Name   string          `json:"name"`
	Source json.RawMessage `json:"source"`
	Target json.RawMessage `json:"target"`
	Gold   []struct {
		Source string `json:"source"`
		Target string `json:"target"`
	} `json:"gold"`
	src, tgt *mapper.Schema
}

// dataset is a named list of cases.
type dataset struct {
	name  string
	cases []*extCase
}

// pred is one ranked (source, target) pair, as score.py reads it.
type pred struct {
	Source string  `json:"source"`
	Target string  `json:"target"`
	Score  float64 `json:"score"`
}

// loadCases reads a cases.json.
func loadCases(path string) ([]*extCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []*extCase
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, c := range cs {
		if c.src, err = mapper.FromFieldList(c.Source); err != nil {
			return nil, fmt.Errorf("%s %s source: %v", path, c.Name, err)
		}
		if c.tgt, err = mapper.FromFieldList(c.Target); err != nil {
			return nil, fmt.Errorf("%s %s target: %v", path, c.Name, err)
		}
	}
	return cs, nil
}

// loadExternal reads every <dir>/*/cases.json.
func loadExternal(dir string) ([]dataset, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*", "cases.json"))
	sort.Strings(files)
	var out []dataset
	for _, f := range files {
		cs, err := loadCases(f)
		if err != nil {
			return nil, err
		}
		out = append(out, dataset{name: filepath.Base(filepath.Dir(f)), cases: cs})
	}
	return out, nil
}

// asCases turns the repository's own pairs (gold: target -> sources) into
// cases (gold: source -> target pairs).
func asCases(pairs []*pair) []*extCase {
	var out []*extCase
	for _, p := range pairs {
		c := &extCase{Name: p.ID, src: p.src, tgt: p.tgt}
		ts := make([]string, 0, len(p.Gold))
		for t := range p.Gold {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		for _, t := range ts {
			for _, s := range p.Gold[t] {
				c.Gold = append(c.Gold, struct {
					Source string `json:"source"`
					Target string `json:"target"`
				}{s, t})
			}
		}
		out = append(out, c)
	}
	return out
}

// method ranks targets for a case's source fields; threshold is where its
// scores say "map"; mapping, when not nil, is the 1:1/1:n proposal it
// makes (the mapper's suggestions).
type method struct {
	name      string
	threshold float64
	rank      func(c *extCase) (preds []pred, mapping [][2]string)
}

func weftMethod(ctx context.Context, o mapper.Options) method {
	name := "weft"
	th := o.Threshold
	if o.FirstMatcher {
		name = "first"
		if th == 0 {
			th = 0.3
		}
	} else if th == 0 && o.Model != nil {
		th = o.Model.Threshold
	} else if th == 0 {
		m, err := mapper.DefaultModel()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		th = m.Threshold
	}
	return method{name: name, threshold: th, rank: func(c *extCase) ([]pred, [][2]string) {
		res, err := mapper.Suggest(ctx, c.src, c.tgt, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, c.Name, err)
			os.Exit(1)
		}
		var ps []pred
		for _, f := range c.src.Fields {
			for _, cd := range res.Candidates[f.Path] {
				ps = append(ps, pred{f.Path, cd.Target, cd.Score})
			}
		}
		var m [][2]string
		for _, s := range res.Suggestions {
			for _, sp := range s.Sources {
				m = append(m, [2]string{sp, s.Target})
			}
		}
		return ps, m
	}}
}

// exactMethod is score.py's exact_baseline.py: the normalised last path
// segment (lower case, letters and digits only) is the same.
var exactMethod = method{name: "exact-name", threshold: 0.5, rank: func(c *extCase) ([]pred, [][2]string) {
	norm := func(p string) string {
		if i := strings.LastIndexByte(p, '.'); i >= 0 {
			p = p[i+1:]
		}
		var b strings.Builder
		for _, r := range strings.ToLower(p) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	var ps []pred
	for _, s := range c.src.Fields {
		k := norm(s.Path)
		if k == "" {
			continue
		}
		for _, t := range c.tgt.Fields {
			if norm(t.Path) == k {
				ps = append(ps, pred{s.Path, t.Path, 1})
			}
		}
	}
	return ps, nil
}}

// trigramMethod: Sørensen–Dice over character 3-grams of the names split
// on case and separators (the string baseline of the matching
// literature); every target with a common gram, ranked.
var trigramMethod = method{name: "3-gram", threshold: 0.5, rank: func(c *extCase) ([]pred, [][2]string) {
	var ps []pred
	for _, s := range c.src.Fields {
		var row []pred
		for _, t := range c.tgt.Fields {
			if d := mapper.TrigramDice(s.Name, t.Name); d > 0 {
				row = append(row, pred{s.Path, t.Path, d})
			}
		}
		sort.SliceStable(row, func(a, b int) bool { return row[a].Score > row[b].Score })
		ps = append(ps, row...)
	}
	return ps, nil
}}

// caseScore is score.py's score_case.
type caseScore struct {
	nGold, nQueries                 int
	thrTP, thrPred, t1thrTP, t1thrN int
	hits1, hits3, hits5             int
	rr                              float64
	mapTP, mapPred                  int // the method's own mapping, when it has one
	hasMapping                      bool
}

func scoreCase(c *extCase, ps []pred, threshold float64, mapping [][2]string, hasMapping bool) caseScore {
	type key [2]string
	gold := map[key]bool{}
	bySrc := map[string]map[string]bool{}
	for _, g := range c.Gold {
		gold[key{g.Source, g.Target}] = true
		if bySrc[g.Source] == nil {
			bySrc[g.Source] = map[string]bool{}
		}
		bySrc[g.Source][g.Target] = true
	}
	scores := map[key]float64{}
	order := map[key]int{}
	for i, p := range ps {
		k := key{p.Source, p.Target}
		sc := p.Score
		if math.IsNaN(sc) {
			sc = math.Inf(-1)
		}
		if old, ok := scores[k]; !ok || sc > old {
			scores[k] = sc
		}
		if _, ok := order[k]; !ok {
			order[k] = i
		}
	}
	ranked := make([]key, 0, len(scores))
	for k := range scores {
		ranked = append(ranked, k)
	}
	sort.Slice(ranked, func(a, b int) bool {
		if scores[ranked[a]] != scores[ranked[b]] {
			return scores[ranked[a]] > scores[ranked[b]]
		}
		return order[ranked[a]] < order[ranked[b]]
	})
	rankOf := map[string][]string{}
	var srcOrder []string
	for _, k := range ranked {
		if _, ok := rankOf[k[0]]; !ok {
			srcOrder = append(srcOrder, k[0])
		}
		rankOf[k[0]] = append(rankOf[k[0]], k[1])
	}
	cs := caseScore{nGold: len(gold), nQueries: len(bySrc), hasMapping: hasMapping}
	for _, k := range ranked {
		if scores[k] >= threshold {
			cs.thrPred++
			if gold[k] {
				cs.thrTP++
			}
		}
	}
	for _, s := range srcOrder {
		k := key{s, rankOf[s][0]}
		if scores[k] >= threshold {
			cs.t1thrN++
			if gold[k] {
				cs.t1thrTP++
			}
		}
	}
	for s, gts := range bySrc {
		for i, t := range rankOf[s] {
			if gts[t] {
				cs.rr += 1 / float64(i+1)
				if i < 1 {
					cs.hits1++
				}
				if i < 3 {
					cs.hits3++
				}
				if i < 5 {
					cs.hits5++
				}
				break
			}
		}
	}
	seen := map[key]bool{}
	for _, m := range mapping {
		k := key{m[0], m[1]}
		if seen[k] {
			continue
		}
		seen[k] = true
		cs.mapPred++
		if gold[k] {
			cs.mapTP++
		}
	}
	return cs
}

// summary holds a dataset's micro (pooled) and macro (mean of cases) figures.
type summary struct {
	acc1, acc3, acc5, mrr, p, r, f1, t1p, t1r, t1f1, mp, mr, mf1 float64
}

func prf(tp, npred, ngold int) (float64, float64, float64) {
	p, r := ratio(tp, npred), ratio(tp, ngold)
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return p, r, f
}

func (c caseScore) summary() summary {
	var s summary
	s.acc1, s.acc3, s.acc5 = ratio(c.hits1, c.nQueries), ratio(c.hits3, c.nQueries), ratio(c.hits5, c.nQueries)
	if c.nQueries > 0 {
		s.mrr = c.rr / float64(c.nQueries)
	}
	s.p, s.r, s.f1 = prf(c.thrTP, c.thrPred, c.nGold)
	s.t1p, s.t1r, s.t1f1 = prf(c.t1thrTP, c.t1thrN, c.nGold)
	s.mp, s.mr, s.mf1 = prf(c.mapTP, c.mapPred, c.nGold)
	return s
}

// aggregate pools the cases (micro) and averages them (macro).
func aggregate(rows []caseScore) (micro, macro summary) {
	var tot caseScore
	for _, r := range rows {
		tot.nGold += r.nGold
		tot.nQueries += r.nQueries
		tot.thrTP += r.thrTP
		tot.thrPred += r.thrPred
		tot.t1thrTP += r.t1thrTP
		tot.t1thrN += r.t1thrN
		tot.hits1 += r.hits1
		tot.hits3 += r.hits3
		tot.hits5 += r.hits5
		tot.rr += r.rr
		tot.mapTP += r.mapTP
		tot.mapPred += r.mapPred
		s := r.summary()
		macro.acc1 += s.acc1
		macro.acc3 += s.acc3
		macro.acc5 += s.acc5
		macro.mrr += s.mrr
		macro.p += s.p
		macro.r += s.r
		macro.f1 += s.f1
		macro.t1p += s.t1p
		macro.t1r += s.t1r
		macro.t1f1 += s.t1f1
		macro.mp += s.mp
		macro.mr += s.mr
		macro.mf1 += s.mf1
	}
	micro = tot.summary()
	if n := float64(len(rows)); n > 0 {
		for _, x := range []*float64{&macro.acc1, &macro.acc3, &macro.acc5, &macro.mrr, &macro.p, &macro.r, &macro.f1,
			&macro.t1p, &macro.t1r, &macro.t1f1, &macro.mp, &macro.mr, &macro.mf1} {
			*x /= n
		}
	}
	return micro, macro
}

// runDataset scores every method on a dataset and prints one line per
// method (micro) and its macro acc@1/MRR; with predsDir set it writes each
// method's predictions there for score.py.
func runDataset(d dataset, methods []method, predsDir string) map[string]summary {
	nGold, nq := 0, 0
	for _, c := range d.cases {
		seen := map[string]bool{}
		for _, g := range c.Gold {
			seen[g.Source] = true
		}
		nGold += len(c.Gold)
		nq += len(seen)
	}
	fmt.Printf("%s: %d cases, %d gold pairs, %d query fields\n", d.name, len(d.cases), nGold, nq)
	out := map[string]summary{}
	for _, m := range methods {
		var rows []caseScore
		all := map[string][]pred{}
		hasMap := false
		for _, c := range d.cases {
			ps, mapping := m.rank(c)
			if mapping != nil {
				hasMap = true
			}
			all[c.Name] = ps
			rows = append(rows, scoreCase(c, ps, m.threshold, mapping, mapping != nil))
		}
		mi, ma := aggregate(rows)
		out[m.name] = mi
		line := fmt.Sprintf("  %-11s acc@1 %.3f  acc@3 %.3f  MRR %.3f  @%.2f P %.3f R %.3f F1 %.3f  | macro acc@1 %.3f MRR %.3f",
			m.name, mi.acc1, mi.acc3, mi.mrr, m.threshold, mi.p, mi.r, mi.f1, ma.acc1, ma.mrr)
		if hasMap {
			line += fmt.Sprintf("  | mapping P %.3f R %.3f F1 %.3f", mi.mp, mi.mr, mi.mf1)
		}
		fmt.Println(line)
		if predsDir != "" {
			b, _ := json.MarshalIndent(all, "", " ")
			f := filepath.Join(predsDir, d.name+"."+m.name+".json")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	return out
}

// builtinName is for the header line.
func builtinName() string { return ai.Builtin{}.Name() }
