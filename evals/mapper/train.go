package main

// -train: fits the mapper's logistic regression on pairs from the
// development data (the external dev sets and the own dev split; never the
// held-back split), reports leave-one-dataset-out figures, and writes
// mapper/model/weights.json.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/weftio/weft/mapper"
)

// trainCase is a case with its signals and labels computed once.
type trainCase struct {
	c *extCase
	x [][][]float64
	y [][]bool
}

type trainSet struct {
	name  string
	cases []*trainCase
}

func prepare(ctx context.Context, d dataset) (trainSet, error) {
	ts := trainSet{name: d.name}
	for _, c := range d.cases {
		x, err := mapper.Signals(ctx, c.src, c.tgt, mapper.Options{})
		if err != nil {
			return ts, fmt.Errorf("%s %s: %v", d.name, c.Name, err)
		}
		gold := map[[2]string]bool{}
		for _, g := range c.Gold {
			gold[[2]string{g.Source, g.Target}] = true
		}
		y := make([][]bool, len(x))
		for i := range x {
			y[i] = make([]bool, len(x[i]))
			for j := range x[i] {
				y[i][j] = gold[[2]string{c.src.Fields[i].Path, c.tgt.Fields[j].Path}]
			}
		}
		ts.cases = append(ts.cases, &trainCase{c: c, x: x, y: y})
	}
	return ts, nil
}

// fit trains both stages on sets. The first stage is fitted on all of
// them; the second (candidate-level calibration) on first-stage
// probabilities that are cross-fitted (each set's from a first stage
// fitted on the other sets), so that it learns how far an unseen set's
// probabilities can be trusted; the thresholds are calibrated on the same
// cross-fitted probabilities. With one set, no second stage.
func fit(sets []trainSet, lambda float64, mask map[string]bool) (*mapper.Model, error) {
	m, err := fitStage1(sets, lambda, mask)
	if err != nil {
		return nil, err
	}
	probs := make([][][][]float64, len(sets)) // set, case: first-stage probabilities
	if len(sets) > 1 {
		for k := range sets {
			var rest []trainSet
			for l := range sets {
				if l != k {
					rest = append(rest, sets[l])
				}
			}
			mk, err := fitStage1(rest, lambda, mask)
			if err != nil {
				return nil, err
			}
			probs[k] = stage1Probs(mk, sets[k])
		}
		var x [][]float64
		var y, w []float64
		for k, s := range sets {
			n := 0
			for _, c := range s.cases {
				n += len(c.x) * len(c.x[0])
			}
			for ci, c := range s.cases {
				cx := mapper.CandidateSignals(probs[k][ci], s.cases[ci].x)
				for i := range cx {
					for j := range cx[i] {
						x = append(x, cx[i][j])
						lab := 0.0
						if c.y[i][j] {
							lab = 1
						}
						y = append(y, lab)
						w = append(w, 1/float64(n)/float64(len(sets))*1e4)
					}
				}
			}
		}
		ws, b, err := mapper.FitLogistic(x, y, w, stage2Lambda, 50)
		if err != nil {
			return nil, err
		}
		m.Stage2Features, m.Stage2, m.Stage2Bias = mapper.CandidateNames(), ws, b
		m.Floor = stage2Floor
		for k, s := range sets {
			for ci := range probs[k] {
				probs[k][ci] = m.Rescore(probs[k][ci], s.cases[ci].x)
			}
		}
	} else {
		probs[0] = stage1Probs(m, sets[0])
	}
	m.Threshold, m.Mutual, m.Extra = calibrate(probs, sets)
	return m, nil
}

// stage2Lambda: the second stage's L2 penalty (six signals, thousands of
// pairs: light). stage2Floor: candidates listed from this probability: 0,
// every field lists its top candidates (Options.Top bounds the list) — the
// second stage pushes all but the leading one or two far down, and a
// floor above 0 hid ranked alternatives a reviewer (or a ranking metric)
// needs when the first is wrong; abstention is the thresholds' job.
const (
	stage2Lambda = 1
	stage2Floor  = 0
)

func stage1Probs(m *mapper.Model, s trainSet) [][][]float64 {
	var out [][][]float64
	for _, c := range s.cases {
		p := make([][]float64, len(c.x))
		for i := range c.x {
			p[i] = make([]float64, len(c.x[i]))
			for j := range c.x[i] {
				p[i][j] = m.Prob(c.x[i][j])
			}
		}
		out = append(out, p)
	}
	return out
}

// fitStage1 fits the first stage on sets, each set weighing the same in
// total; mask zeroes the named signals (an ablation).
func fitStage1(sets []trainSet, lambda float64, mask map[string]bool) (*mapper.Model, error) {
	var x [][]float64
	var y, w []float64
	total := 0
	for _, s := range sets {
		for _, c := range s.cases {
			total += len(c.x) * len(c.x[0])
		}
	}
	names := mapper.FeatureNames()
	for _, s := range sets {
		n := 0
		for _, c := range s.cases {
			n += len(c.x) * len(c.x[0])
		}
		wt := float64(total) / float64(len(sets)) / float64(n)
		for _, c := range s.cases {
			for i := range c.x {
				for j := range c.x[i] {
					x = append(x, masked(c.x[i][j], names, mask))
					lab := 0.0
					if c.y[i][j] {
						lab = 1
					}
					y = append(y, lab)
					w = append(w, wt)
				}
			}
		}
	}
	ws, b, err := mapper.FitLogistic(x, y, w, lambda, 50)
	if err != nil {
		return nil, err
	}
	m := &mapper.Model{Features: names, Weights: ws, Bias: b, Lambda: lambda, Floor: 0.01}
	for _, s := range sets {
		m.Data = append(m.Data, s.name)
	}
	if len(mask) > 0 {
		m.Weights = masked(m.Weights, m.Features, mask)
	}
	return m, nil
}

func masked(v []float64, names []string, mask map[string]bool) []float64 {
	if len(mask) == 0 {
		return v
	}
	out := append([]float64(nil), v...)
	for k, n := range names {
		if mask[n] || mask[strings.TrimPrefix(strings.TrimPrefix(n, "rel_"), "col_")] {
			out[k] = 0
		}
	}
	return out
}

// calibrate picks the threshold, the threshold for mutually best pairs
// and the 1:n threshold that give the best F1 of the proposed mapping,
// averaged over the training sets.
func calibrate(probs [][][][]float64, sets []trainSet) (float64, float64, float64) {
	props := make([][]*mapper.Proposal, len(sets))
	for k := range sets {
		for _, p := range probs[k] {
			props[k] = append(props[k], mapper.NewProposal(p))
		}
	}
	f1At := func(t, tm, e float64) float64 {
		f := 0.0
		for k, s := range sets {
			tp, np, ng := 0, 0, 0
			for ci, c := range s.cases {
				for jt, is := range props[k][ci].At(t, tm, e) {
					np++
					if c.y[is][jt] {
						tp++
					}
				}
				ng += len(c.c.Gold)
			}
			_, _, f1 := prf(tp, np, ng)
			f += f1 / float64(len(sets))
		}
		return f
	}
	bestF, bt, bm, be := -1.0, 0.5, 0.5, 0.9
	for t := 0.02; t < 0.951; t += 0.01 {
		for tm := 0.02; tm <= t+1e-9; tm += 0.02 {
			for e := t; e < 1.001; e += 0.05 {
				if f := f1At(t, tm, e); f > bestF+1e-9 {
					bestF, bt, bm, be = f, t, tm, e
				}
			}
		}
	}
	return round2(bt), round2(bm), round2(be)
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

// train runs the leave-one-dataset-out evaluation, then fits on all sets
// and writes the model file.
func train(ctx context.Context, sets []dataset, lambda float64, mask map[string]bool, out, predsDir string) error {
	var ts []trainSet
	for _, d := range sets {
		t, err := prepare(ctx, d)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	fmt.Printf("# leave one dataset out (fitted on the others, scored on it; lambda %g)\n", lambda)
	var notes []string
	for k := range ts {
		var rest []trainSet
		for l := range ts {
			if l != k {
				rest = append(rest, ts[l])
			}
		}
		m, err := fit(rest, lambda, mask)
		if err != nil {
			return err
		}
		mm := *m
		sum := runDataset(sets[k], []method{weftMethod(ctx, mapper.Options{Top: 5, Model: &mm}), trigramMethod}, predsDir)
		fmt.Printf("  (threshold %.2f, mutual best %.2f, 1:n %.2f)\n", m.Threshold, m.Mutual, m.Extra)
		s := sum["weft"]
		notes = append(notes, fmt.Sprintf("%s acc@1 %.3f MRR %.3f F1 %.3f", sets[k].name, s.acc1, s.mrr, s.mf1))
	}
	m, err := fit(ts, lambda, mask)
	if err != nil {
		return err
	}
	m.Version = "2"
	m.Command = "go run ./evals/mapper -train"
	if len(mask) > 0 {
		var ks []string
		for k := range mask {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		m.Command += " -without " + strings.Join(ks, ",")
	}
	if lambda != 10 {
		m.Command += fmt.Sprintf(" -lambda %g", lambda)
	}
	m.Note = "leave-one-dataset-out: " + strings.Join(notes, "; ")
	for i := range m.Weights {
		m.Weights[i] = float64(int64(m.Weights[i]*1e4)) / 1e4
	}
	m.Bias = float64(int64(m.Bias*1e4)) / 1e4
	for i := range m.Stage2 {
		m.Stage2[i] = float64(int64(m.Stage2[i]*1e4)) / 1e4
	}
	m.Stage2Bias = float64(int64(m.Stage2Bias*1e4)) / 1e4
	b, _ := json.MarshalIndent(m, "", " ")
	fmt.Printf("# fitted on all (threshold %.2f, mutual best %.2f, 1:n %.2f) -> %s\n", m.Threshold, m.Mutual, m.Extra, out)
	for i, n := range m.Features {
		fmt.Printf("  %-11s %+.3f\n", n, m.Weights[i])
	}
	fmt.Printf("  %-11s %+.3f\n", "bias", m.Bias)
	for i, n := range m.Stage2Features {
		fmt.Printf("  2: %-8s %+.3f\n", n, m.Stage2[i])
	}
	fmt.Printf("  2: %-8s %+.3f\n", "bias", m.Stage2Bias)
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// diagnose prints each signal's own ranking quality (acc@1, MRR of the
// gold target when the source's targets are ranked by that signal alone).
func diagnose(ctx context.Context, sets []dataset) error {
	names := mapper.FeatureNames()
	fmt.Printf("# each signal alone: acc@1 / MRR per dataset\n%-11s", "signal")
	var ts []trainSet
	for _, d := range sets {
		t, err := prepare(ctx, d)
		if err != nil {
			return err
		}
		ts = append(ts, t)
		fmt.Printf(" %22s", d.name)
	}
	fmt.Println()
	for k, n := range names {
		fmt.Printf("%-11s", n)
		for _, t := range ts {
			hits, rr, nq := 0, 0.0, 0
			for _, c := range t.cases {
				for i := range c.x {
					var gold []int
					for j := range c.y[i] {
						if c.y[i][j] {
							gold = append(gold, j)
						}
					}
					if len(gold) == 0 {
						continue
					}
					nq++
					order := make([]int, len(c.x[i]))
					for j := range order {
						order[j] = j
					}
					sort.SliceStable(order, func(a, b int) bool { return c.x[i][order[a]][k] > c.x[i][order[b]][k] })
					for r, j := range order {
						if c.y[i][j] {
							rr += 1 / float64(r+1)
							if r == 0 {
								hits++
							}
							break
						}
					}
				}
			}
			fmt.Printf("          %.3f / %.3f", ratio(hits, nq), rr/float64(max(nq, 1)))
		}
		fmt.Println()
	}
	return nil
}
