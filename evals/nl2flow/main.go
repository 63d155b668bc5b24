// Command nl2flow scores the NL-to-flow compiler over the example catalog
// (examples/weft.yaml) on five splits: the repository's own set
// (evals/nl2flow/data, dev: tuned on; heldout: never tuned on) and the
// external set whose wording comes from other people
// (evals/nl2flow/data/external: dev, dev2, dev3 and dev4 — drawn at random — and heldout).
// Per split it prints the
// valid-flow rate, trigger accuracy, step precision/recall/F1 on the bag of
// operations; for the own set also exact structure, hallucinated operations
// and parameters; for every split unrequested writes and the expected
// calibration error of the confidence, and for the external set silent
// drops (annotated clauses neither compiled nor named in not_understood).
//
//	go run ./evals/nl2flow [-v] [-split dev|heldout|ext-dev|ext-dev2|ext-dev3|ext-dev4|ext-heldout] [-backend builtin|ollama|openai -url URL -model M]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/examplecat"
	"github.com/weftio/weft/nl2flow"
)

type item struct {
	line    int
	style   string
	text    string
	trigger string
	steps   []string
	params  map[string]string
}

func main() {
	root := flag.String("root", ".", "repository root")
	verbose := flag.Bool("v", false, "print every dev request that misses (held-back requests are never printed)")
	trigMiss := flag.Bool("triggers", false, "print every external dev request whose scored gold trigger the draft misses (held-back requests are never printed)")
	only := flag.String("split", "", "dev, heldout, ext-dev, ext-dev2, ext-dev3, ext-dev4 or ext-heldout, a comma-separated list of them, or devs (= dev,ext-dev,ext-dev2,ext-dev3,ext-dev4: no held-back figure printed); default all seven")
	backend := flag.String("backend", "builtin", "builtin | ollama | openai")
	url := flag.String("url", "", "model server (ollama: http://127.0.0.1:11434, openai: http://127.0.0.1:8000/v1)")
	model := flag.String("model", "", "model name")
	show := flag.Int("show", 0, "print the draft for the dev request on this line (with -split)")
	isoBlock := flag.Int("isotonic", 0, "with -calibrate: also fit an isotonic map of the score, each step over at least this many dev drafts (0: logistic only)")
	rate := flag.Float64("rate", 0.5, "with -calibrate: gradient step of the logistic fit")
	lambda := flag.Float64("lambda", 0.01, "with -calibrate: L2 penalty of the logistic fit")
	rounds := flag.Int("rounds", 4000, "with -calibrate: full-batch gradient steps")
	shrink := flag.Float64("shrink", 0, "with -calibrate -isotonic: shrink each step's share towards the dev base rate by this many pseudo-drafts (0: Laplace)")
	drop := flag.String("drop", "", "with -calibrate: comma-separated features left out of the fit (their weights 0)")
	fitOn := flag.String("fit", "devs", "with -calibrate: the dev splits the confidence model is fitted on: devs (own and external) or ext (the external dev splits only; own dev is then only scored)")
	featOut := flag.String("features", "", "write every dev draft's confidence features, outcome and confidence to this TSV file (held-back splits are never written)")
	calib := flag.String("calibrate", "", "refit the confidence model on the dev splits (own and external) and write it to this file (nl2flow/calibration.json)")
	flag.Parse()
	want, err := parseSplits(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *calib != "" && (want["heldout"] || want["ext-heldout"]) && *only != "" {
		fmt.Fprintln(os.Stderr, "-calibrate fits on the dev splits only")
		os.Exit(2)
	}
	var feat *bufio.Writer
	if *featOut != "" {
		fo, err := os.Create(*featOut)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer fo.Close()
		feat = bufio.NewWriter(fo)
		defer feat.Flush()
		fmt.Fprintf(feat, "split\tline\tright\tconfidence\t%s\ttext\n", strings.Join(nl2flow.FeatureNames, "\t"))
	}
	var calX [][]float64
	var calY []bool
	var calSplit []string
	cc, err := examplecat.Load(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cat := nl2flow.FromConnectors(cc)
	comp := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return cat }}
	req := "builtin"
	switch *backend {
	case "builtin":
	case "ollama":
		m, err := nl2flow.NewOllama(orDefault(*url, "http://127.0.0.1:11434"), *model, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		comp.LLM, req = m, "llm"
	case "openai":
		m, err := nl2flow.NewOpenAI(orDefault(*url, "http://127.0.0.1:8000/v1"), *model, os.Getenv("WEFT_AI_API_KEY"), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		comp.LLM, req = m, "llm"
	default:
		fmt.Fprintln(os.Stderr, "backend must be builtin, ollama or openai")
		os.Exit(2)
	}
	fmt.Printf("# nl2flow eval — backend %s, catalog examples/weft.yaml (%d operations)\n", *backend, len(cat.Ops))
	sys, err := loadSystems(filepath.Join(*root, "evals", "nl2flow", "data", "external", "systems.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, split := range allSplits {
		if !want[split] {
			continue
		}
		if *calib != "" && strings.HasSuffix(split, "heldout") {
			continue // never fitted on, never looked at while fitting
		}
		var items []item
		var ext []extItem
		if ex, ok := strings.CutPrefix(split, "ext-"); ok {
			ext, err = loadExternal(externalPath(*root, ex), sys)
			for _, e := range ext {
				items = append(items, e.gold)
			}
		} else {
			items, err = load(filepath.Join(*root, "evals", "nl2flow", "data", split+".txt"))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var sc, scIn, scB score
		var xs, xsIn, xsB extScore
		start := time.Now()
		for i, it := range items {
			d, err := comp.Compile(context.Background(), nl2flow.Request{Text: it.text, Backend: req})
			if req == "llm" && d != nil && d.Backend == "builtin" {
				// The model was not reachable and the builtin answered: that
				// would be scored as the model. Stop instead.
				fmt.Fprintf(os.Stderr, "nl2flow eval: the model did not answer (%s); is the server up at %s?\n", strings.Join(d.Warnings, "; "), *url)
				os.Exit(1)
			}
			r := judge(it, d, err, cat)
			var x extResult
			if ext != nil {
				x = judgeExternal(ext[i], d, r, cat)
				r.trigOK = x.trigOK
			} else {
				x = extResult{trigScored: true, trigOK: r.trigOK, unrequested: unrequestedWrites(goldWrites(it, cat), flowOf(d), cat), right: r.perfect()}
				if d != nil {
					x.conf = d.Confidence
				}
			}
			xs.add(x)
			if *calib == "" {
				bd := baselineDraft(it.text, cat)
				rb := judge(it, bd, nil, cat)
				var xb extResult
				if ext != nil {
					xb = judgeExternal(ext[i], bd, rb, cat)
					rb.trigOK = xb.trigOK
				} else {
					xb = extResult{trigScored: true, trigOK: rb.trigOK, unrequested: unrequestedWrites(goldWrites(it, cat), bd.Flow, cat), right: rb.perfect(), conf: bd.Confidence}
				}
				scB.add(rb)
				xsB.add(xb)
			}
			if *calib != "" && !strings.HasSuffix(split, "heldout") && d != nil {
				calX, calY, calSplit = append(calX, nl2flow.ConfidenceFeatures(d)), append(calY, x.right), append(calSplit, split)
			}
			// Held-back items are never printed one by one: only the split's
			// aggregate line may be seen (and each run that prints it is a look).
			heldout := strings.HasSuffix(split, "heldout")
			if feat != nil && !heldout && d != nil {
				var fs []string
				for _, v := range nl2flow.ConfidenceFeatures(d) {
					fs = append(fs, strconv.FormatFloat(v, 'g', 4, 64))
				}
				fmt.Fprintf(feat, "%s\t%d\t%v\t%.2f\t%s\t%s\n", split, it.line, x.right, d.Confidence, strings.Join(fs, "\t"), strings.ReplaceAll(it.text, "\t", " "))
			}
			if *show == it.line && d != nil && !heldout {
				fmt.Println(d.YAML)
				fmt.Println(strings.Join(d.Explanation, "\n"))
				fmt.Println("questions:", d.Questions, "unknown:", d.NotUnderstood, "fixed:", d.Corrections)
			}
			sc.add(r)
			if ext != nil && !ext[i].needsMissing() {
				scIn.add(r)
				xsIn.add(x)
			}
			miss := !r.perfect()
			if ext != nil {
				miss = !x.right
			}
			if *trigMiss && ext != nil && x.trigScored && !x.trigOK && !heldout {
				got := r.trig
				if tf := steplessTrigger(d); tf != nil {
					got = triggerSig(tf) + " (no steps)"
				}
				fmt.Printf("  %s:%d gold %q draft %q | %s\n", split, it.line, it.trigger, got, it.text)
			}
			if *verbose && miss && !heldout {
				fmt.Printf("  %s:%d [%s] %s\n", split, it.line, it.style, it.text)
				fmt.Printf("      gold:  %s | %s\n", it.trigger, strings.Join(it.steps, " "))
				fmt.Printf("      draft: %s | %s  valid=%v confidence=%.2f\n", r.trig, strings.Join(r.skel, " "), r.valid, x.conf)
				for _, m := range r.missed {
					fmt.Printf("      missed param %s\n", m)
				}
				for _, w := range x.unrequested {
					fmt.Printf("      unrequested write %s\n", w)
				}
				for _, c := range x.droppedWhat {
					fmt.Printf("      silently dropped %s\n", c)
				}
				if err != nil {
					fmt.Printf("      error: %v\n", err)
				}
				if d != nil {
					for _, p := range d.Problems {
						fmt.Printf("      problem: %s %s\n", p.Pos, p.Message)
					}
					for _, u := range d.NotUnderstood {
						fmt.Printf("      not understood: %s\n", u)
					}
				}
			}
		}
		per := float64(time.Since(start).Microseconds()) / 1000 / float64(max(1, len(items)))
		name := map[string]string{"dev": "own-dev", "heldout": "own-heldout", "ext-dev": "ext-dev", "ext-dev2": "ext-dev2", "ext-dev3": "ext-dev3", "ext-dev4": "ext-dev4", "ext-heldout": "ext-heldout"}[split]
		if ext != nil {
			fmt.Printf("%-11s %3d requests  valid %.3f  trigger %.3f (of %d; %d of them right only in a draft with no steps, without those %.3f; on the %d whose gold has a step, in a draft with steps %.3f)  steps %s  (%.2f ms/request)\n            %s\n",
				name, len(items), ratio(sc.valid, sc.n), ratio(xs.trig, xs.trigN), xs.trigN, xs.trigStepless, ratio(xs.trig-xs.trigStepless, xs.trigN),
				xs.trigGoldN, ratio(xs.trigGold, xs.trigGoldN), sc.prf(), per, xs)
			fmt.Printf("  of which %d ask only for what the catalog has:  valid %.3f  trigger %.3f (of %d)  steps %s\n            %s\n",
				scIn.n, ratio(scIn.valid, scIn.n), ratio(xsIn.trig, xsIn.trigN), xsIn.trigN, scIn.prf(), xsIn)
		} else {
			fmt.Printf("%-11s %3d requests  %s  (%.2f ms/request)\n            %s\n", name, len(items), sc, per, xs)
		}
		if *calib == "" {
			trig := ratio(scB.trig, scB.n)
			if ext != nil {
				trig = ratio(xsB.trig, xsB.trigN)
			}
			fmt.Printf("  baseline (nearest operation by shared words, manual trigger):  valid %.3f  trigger %.3f  steps %s\n            %s\n",
				ratio(scB.valid, scB.n), trig, scB.prf(), xsB)
		}
	}
	if *calib != "" {
		opt := nl2flow.FitOptions{Rate: *rate, Lambda: *lambda, Rounds: *rounds}
		mask, err := dropMask(*drop)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		calX = masked(calX, mask)
		fitIn := map[string]bool{}
		switch *fitOn {
		case "devs":
			for _, sp := range devSplits {
				fitIn[sp] = true
			}
		case "ext":
			for _, sp := range devSplits {
				fitIn[sp] = strings.HasPrefix(sp, "ext-")
			}
		default:
			fmt.Fprintln(os.Stderr, "-fit must be devs or ext")
			os.Exit(2)
		}
		var fitX [][]float64
		var fitY []bool
		for i := range calX {
			if fitIn[calSplit[i]] {
				fitX, fitY = append(fitX, calX[i]), append(fitY, calY[i])
			}
		}
		cmd := fmt.Sprintf("go run ./evals/nl2flow -split devs -calibrate FILE -fit %s -isotonic %d -shrink %g -rate %g -lambda %g -rounds %d", *fitOn, *isoBlock, *shrink, opt.Rate, opt.Lambda, opt.Rounds)
		if *drop != "" {
			cmd += " -drop " + *drop
		}
		how := fmt.Sprintf("logistic regression (rate %g, L2 %g, %d rounds) fitted by `%s` on %d drafts of %s (right = the eval's notion for each set)", opt.Rate, opt.Lambda, opt.Rounds, cmd, len(fitX), map[string]string{"devs": "the own dev split and the external dev, dev2, dev3 and dev4 splits", "ext": "the external dev, dev2, dev3 and dev4 splits"}[*fitOn])
		if *drop != "" {
			how += "; features left out: " + *drop
		}
		if *isoBlock > 0 {
			how += fmt.Sprintf(", then an isotonic map of its score (pool-adjacent-violators, steps of at least %d drafts", *isoBlock)
			if *shrink > 0 {
				how += fmt.Sprintf(", each step's share shrunk towards the dev base rate by %g pseudo-drafts)", *shrink)
			} else {
				how += ", Laplace-smoothed)"
			}
		}
		how += "; chosen by the leave-one-split-out calibration error over the external dev splits that command prints"
		c := nl2flow.FitCalibration(fitX, fitY, how+"; held-back splits never used", opt)
		c.RecalibrateShrunk(fitX, fitY, *isoBlock, *shrink)
		b, _ := json.MarshalIndent(c, "", " ")
		if err := os.WriteFile(*calib, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s: bias %.3f weights %v over %v\n", *calib, c.Bias, c.Weights, c.Features)
		crossValidate(calX, calY, calSplit, fitIn, *isoBlock, *shrink, opt)
	}
}

// crossValidate prints the out-of-fold calibration error of the
// confidence model on each dev split (five folds by position: each draft
// scored by a model fitted without it), beside the in-sample figure, so a
// fit that only memorises the dev drafts shows.
func crossValidate(xs [][]float64, ys []bool, splits []string, fitIn map[string]bool, iso int, shrink float64, opt nl2flow.FitOptions) {
	const folds = 5
	oof := make([]float64, len(xs))
	for k := 0; k < folds; k++ {
		var tx [][]float64
		var ty []bool
		for i := range xs {
			if i%folds != k && fitIn[splits[i]] {
				tx, ty = append(tx, xs[i]), append(ty, ys[i])
			}
		}
		m := nl2flow.FitCalibration(tx, ty, "fold", opt)
		m.RecalibrateShrunk(tx, ty, iso, shrink)
		for i := range xs {
			if i%folds == k {
				oof[i] = m.Confidence(xs[i])
			}
		}
	}
	// Each feature's mean over right and wrong drafts, per split: which
	// signals tell them apart.
	for _, sp := range devSplits {
		var line []string
		for j, name := range nl2flow.FeatureNames {
			var sr, sw float64
			var nr, nw int
			for i := range xs {
				if splits[i] != sp {
					continue
				}
				if ys[i] {
					sr, nr = sr+xs[i][j], nr+1
				} else {
					sw, nw = sw+xs[i][j], nw+1
				}
			}
			line = append(line, fmt.Sprintf("%s %.2f/%.2f", name, sr/float64(max(1, nr)), sw/float64(max(1, nw))))
		}
		fmt.Printf("  %-8s feature means, right/wrong: %s\n", sp, strings.Join(line, ", "))
	}
	var fx [][]float64
	var fy []bool
	for i := range xs {
		if fitIn[splits[i]] {
			fx, fy = append(fx, xs[i]), append(fy, ys[i])
		}
	}
	full := nl2flow.FitCalibration(fx, fy, "all", opt)
	full.RecalibrateShrunk(fx, fy, iso, shrink)
	// Across splits: fitted without one dev split, scored on it — data the
	// fit never saw, as held-back data is; the nearest thing on dev to how
	// the fit transfers (for ext-dev2, drawn at random after the compiler
	// was fitted to the other two, the closest to the held-back split).
	cross, crossAUC := map[string]float64{}, map[string]float64{}
	for _, sp := range devSplits {
		var tx [][]float64
		var ty []bool
		for i := range xs {
			if splits[i] != sp && fitIn[splits[i]] {
				tx, ty = append(tx, xs[i]), append(ty, ys[i])
			}
		}
		m := nl2flow.FitCalibration(tx, ty, "cross", opt)
		m.RecalibrateShrunk(tx, ty, iso, shrink)
		var conf []float64
		var right []bool
		for i := range xs {
			if splits[i] == sp {
				conf, right = append(conf, m.Confidence(xs[i])), append(right, ys[i])
			}
		}
		cross[sp], crossAUC[sp] = ece(conf, right), auc(conf, right)
	}
	// The criterion a setting is chosen by: over the external dev splits,
	// each scored by a fit that never saw it (the held-back split is
	// external, and the fit never sees it either).
	var lo []string
	var sum, worst float64
	var n int
	for _, sp := range devSplits {
		if strings.HasPrefix(sp, "ext-") {
			lo = append(lo, fmt.Sprintf("%s %.3f", sp, cross[sp]))
			sum, worst, n = sum+cross[sp], max(worst, cross[sp]), n+1
		}
	}
	fmt.Printf("  leave-one-split-out ECE over the external dev splits: mean %.3f, worst %.3f (%s)\n", sum/float64(max(n, 1)), worst, strings.Join(lo, ", "))
	for _, sp := range devSplits {
		var in, out []float64
		var right []bool
		for i := range xs {
			if splits[i] == sp {
				in, out, right = append(in, full.Confidence(xs[i])), append(out, oof[i]), append(right, ys[i])
			}
		}
		fmt.Printf("  %-8s %3d drafts  ECE in-sample %.3f, out-of-fold (%d folds) %.3f, fitted without this split %.3f; AUC out-of-fold %.3f, fitted without this split %.3f (how well the confidence ranks right drafts above wrong ones)\n", sp, len(in), ece(in, right), folds, ece(out, right), cross[sp], auc(out, right), crossAUC[sp])
		if strings.HasPrefix(sp, "ext-") {
			// What a perfectly calibrated confidence would show by chance on
			// a split of the held-back size: outcomes drawn at each draft's
			// own out-of-fold confidence.
			mean, p90 := eceFloor(out, 88, 2000)
			fmt.Printf("  %-8s ECE of a perfectly calibrated confidence on 88 such drafts, by chance alone: mean %.3f, 90th percentile %.3f\n", sp, mean, p90)
		}
	}
}

// auc is the share of (right, wrong) pairs of drafts whose confidences
// are in that order (ties count a half): 0.5 is no separation at all.
func auc(conf []float64, right []bool) float64 {
	var pairs, good float64
	for i := range conf {
		if !right[i] {
			continue
		}
		for j := range conf {
			if right[j] {
				continue
			}
			pairs++
			switch {
			case conf[i] > conf[j]:
				good++
			case conf[i] == conf[j]:
				good += 0.5
			}
		}
	}
	if pairs == 0 {
		return 0.5
	}
	return good / pairs
}

// eceFloor draws n drafts from conf with outcomes right at each one's own
// confidence, rounds times, and returns the mean and 90th percentile of
// their ECE: the error sampling alone gives a calibrated confidence.
func eceFloor(conf []float64, n, rounds int) (float64, float64) {
	if len(conf) == 0 {
		return 0, 0
	}
	r := rand.New(rand.NewSource(1))
	var es []float64
	var sum float64
	for k := 0; k < rounds; k++ {
		c := make([]float64, n)
		y := make([]bool, n)
		for i := range c {
			c[i] = conf[r.Intn(len(conf))]
			y[i] = r.Float64() < c[i]
		}
		e := ece(c, y)
		es, sum = append(es, e), sum+e
	}
	sort.Float64s(es)
	return sum / float64(rounds), es[rounds*9/10]
}

// dropMask reads -drop: the features to leave out of the fit.
func dropMask(s string) (map[int]bool, error) {
	m := map[int]bool{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := false
		for j, n := range nl2flow.FeatureNames {
			if n == f {
				m[j], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("-drop: unknown feature %q (features: %s)", f, strings.Join(nl2flow.FeatureNames, ", "))
		}
	}
	return m, nil
}

// masked zeroes the left-out features (a zero column keeps its weight at
// zero in the fit), on copies.
func masked(xs [][]float64, mask map[int]bool) [][]float64 {
	if len(mask) == 0 {
		return xs
	}
	out := make([][]float64, len(xs))
	for i, x := range xs {
		y := append([]float64{}, x...)
		for j := range mask {
			if j != 2 { // broken is read by Confidence itself (0), not only weighted
				y[j] = 0
			}
		}
		out[i] = y
	}
	return out
}

// allSplits are the splits in the order they are printed.
var allSplits = []string{"dev", "heldout", "ext-dev", "ext-dev2", "ext-dev3", "ext-dev4", "ext-heldout"}

// devSplits are the splits a confidence model may be fitted on.
var devSplits = []string{"dev", "ext-dev", "ext-dev2", "ext-dev3", "ext-dev4"}

// parseSplits reads -split: empty for all seven, "devs" for the five dev splits,
// or a comma-separated list of split names.
func parseSplits(s string) (map[string]bool, error) {
	all := allSplits
	want := map[string]bool{}
	switch strings.TrimSpace(s) {
	case "":
		for _, a := range all {
			want[a] = true
		}
		return want, nil
	case "devs":
		for _, d := range devSplits {
			want[d] = true
		}
		return want, nil
	}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		ok := false
		for _, a := range all {
			ok = ok || a == p
		}
		if !ok {
			return nil, fmt.Errorf("-split: unknown split %q (dev, heldout, ext-dev, ext-dev2, ext-dev3, ext-dev4, ext-heldout, devs)", p)
		}
		want[p] = true
	}
	return want, nil
}

// goldWrites are the connectors an own-set gold outline changes (conn, and
// conn:delete for a destructive operation): the own set has no write
// annotations, so its gold steps stand for what was asked.
func goldWrites(it item, cat *nl2flow.Catalog) []string {
	var out []string
	for _, t := range it.steps {
		if op, ok := cat.Op(t); ok && !op.Hints.ReadOnly {
			out = append(out, op.Connector)
			if op.Hints.Destructive {
				out = append(out, op.Connector+":delete")
			}
		}
	}
	return out
}

func flowOf(d *nl2flow.Draft) *flow.Flow {
	if d == nil {
		return nil
	}
	return d.Flow
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func load(path string) ([]item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []item
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 fields separated by |, got %d", path, n, len(parts))
		}
		it := item{line: n, style: strings.TrimSpace(parts[0]), text: strings.TrimSpace(parts[1]),
			trigger: strings.Join(strings.Fields(parts[2]), " "), steps: skeletonTokens(parts[3]), params: map[string]string{}}
		for _, p := range strings.Split(parts[4], ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
				it.params[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		out = append(out, it)
	}
	return out, sc.Err()
}

// skeletonTokens splits "if(a b) else(c) d" into if( a b ) else( c ) d.
func skeletonTokens(s string) []string {
	s = strings.ReplaceAll(s, "(", "( ")
	s = strings.ReplaceAll(s, ")", " )")
	return strings.Fields(s)
}

type result struct {
	valid, trigOK, structOK bool
	tp, fp, fn              int
	halluc, ops             int
	pOK, pAll               int
	trig                    string
	skel                    []string
	missed                  []string
}

func (r result) perfect() bool {
	return r.valid && r.trigOK && r.structOK && r.fp == 0 && r.fn == 0 && r.pOK == r.pAll
}

type score struct {
	n, valid, trig, structure int
	tp, fp, fn                int
	halluc, ops               int
	pOK, pAll                 int
}

func (s *score) add(r result) {
	s.n++
	s.valid += b2i(r.valid)
	s.trig += b2i(r.trigOK)
	s.structure += b2i(r.structOK)
	s.tp += r.tp
	s.fp += r.fp
	s.fn += r.fn
	s.halluc += r.halluc
	s.ops += r.ops
	s.pOK += r.pOK
	s.pAll += r.pAll
}

func (s score) String() string {
	p := ratio(s.tp, s.tp+s.fp)
	r := ratio(s.tp, s.tp+s.fn)
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return fmt.Sprintf("valid %.3f  trigger %.3f  steps P %.3f R %.3f F1 %.3f  structure %.3f  hallucinated %.3f  params %.3f",
		ratio(s.valid, s.n), ratio(s.trig, s.n), p, r, f, ratio(s.structure, s.n), ratio(s.halluc, s.ops), ratio(s.pOK, s.pAll))
}

// prf is step precision, recall and F1 on the bag of operations.
func (s score) prf() string {
	p := ratio(s.tp, s.tp+s.fp)
	r := ratio(s.tp, s.tp+s.fn)
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return fmt.Sprintf("P %.3f R %.3f F1 %.3f", p, r, f)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// judge scores one draft against its gold outline.
func judge(it item, d *nl2flow.Draft, err error, cat *nl2flow.Catalog) result {
	r := result{pAll: len(it.params)}
	for k, v := range it.params {
		r.missed = append(r.missed, k+"="+v)
	}
	goldOps := map[string]int{}
	for _, t := range it.steps {
		if strings.Contains(t, ".") {
			goldOps[t]++
		}
	}
	if err != nil || d == nil {
		for _, n := range goldOps {
			r.fn += n
		}
		return r
	}
	r.valid = d.Valid
	var f *flow.Flow = d.Flow
	draftOps := map[string]int{}
	if f != nil {
		r.trig = triggerSig(f)
		r.skel = skeleton(f.Steps)
		flow.Walk(f.Steps, func(s *flow.Step) {
			if s.Kind == flow.KindCall {
				draftOps[s.Call]++
			}
		})
		if f.Trigger.Poll != nil {
			if _, ok := cat.Op(f.Trigger.Poll.Operation); !ok {
				r.halluc++
			}
			r.ops++
		}
	} else {
		// Not even parseable: count the calls a YAML reading finds.
		var doc any
		if yaml.Unmarshal([]byte(d.YAML), &doc) == nil {
			collectCalls(doc, draftOps)
		}
	}
	for op, n := range draftOps {
		r.ops += n
		if _, ok := cat.Op(op); !ok {
			r.halluc += n
		}
		g := goldOps[op]
		r.tp += min(n, g)
		if n > g {
			r.fp += n - g
		}
	}
	for op, g := range goldOps {
		if n := draftOps[op]; g > n {
			r.fn += g - n
		}
	}
	r.trigOK = r.trig == it.trigger
	r.structOK = r.trigOK && strings.Join(r.skel, " ") == strings.Join(it.steps, " ")
	if f != nil {
		facts := factsOf(f)
		r.missed = nil
		for k, v := range it.params {
			if facts.match(k, v) {
				r.pOK++
			} else {
				r.missed = append(r.missed, k+"="+v)
			}
		}
	}
	return r
}

func collectCalls(v any, into map[string]int) {
	switch x := v.(type) {
	case map[string]any:
		if c, ok := x["call"].(string); ok {
			into[c]++
		}
		for _, e := range x {
			collectCalls(e, into)
		}
	case []any:
		for _, e := range x {
			collectCalls(e, into)
		}
	}
}

func triggerSig(f *flow.Flow) string {
	t := f.Trigger
	switch {
	case t.Poll != nil:
		return "poll " + t.Poll.Operation
	case t.Schedule != nil:
		tz := t.Schedule.Timezone
		if tz == "" {
			tz = "UTC"
		}
		return "schedule " + strings.Join(strings.Fields(t.Schedule.Cron), " ") + " " + tz
	case t.Webhook != nil:
		return "webhook"
	}
	return "manual"
}

func skeleton(steps []*flow.Step) []string {
	var out []string
	for _, s := range steps {
		switch s.Kind {
		case flow.KindCall:
			out = append(out, s.Call)
		case flow.KindIf:
			out = append(out, "if(")
			out = append(out, skeleton(s.Then)...)
			out = append(out, ")")
			if len(s.Else) > 0 {
				out = append(out, "else(")
				out = append(out, skeleton(s.Else)...)
				out = append(out, ")")
			}
		case flow.KindForeach:
			out = append(out, "each(")
			out = append(out, skeleton(s.Do)...)
			out = append(out, ")")
		}
	}
	return out
}

// facts are what a draft says: literal arguments, expressions, conditions
// and loop sources.
type facts struct {
	lits  map[string]string   // op.key or trigger.key -> literal
	exprs map[string][]string // op.key -> expression sources
	conds []string
	each  []string
}

func factsOf(f *flow.Flow) facts {
	fs := facts{lits: map[string]string{}, exprs: map[string][]string{}}
	addTpl := func(prefix string, t *flow.Template) {
		if t == nil || t.Map == nil {
			return
		}
		for k, v := range t.Map {
			switch {
			case v.Expr != nil:
				fs.exprs[prefix+k] = append(fs.exprs[prefix+k], v.Expr.Source)
			case v.Map == nil && v.List == nil:
				fs.lits[prefix+k] = fmt.Sprint(v.Lit)
			}
		}
	}
	if p := f.Trigger.Poll; p != nil {
		addTpl("trigger.", p.Input)
	}
	flow.Walk(f.Steps, func(s *flow.Step) {
		switch s.Kind {
		case flow.KindCall:
			addTpl(s.Call+".", s.With)
		case flow.KindIf:
			fs.conds = append(fs.conds, s.Cond.Source)
		case flow.KindForeach:
			fs.each = append(fs.each, s.Items.Source)
		}
	})
	return fs
}

var condRe = regexp.MustCompile(`\.(\w+)\s*(==|!=|>=|<=|>|<)\s*("[^"]*"|[\w.\-]+)`)

func (fs facts) match(k, v string) bool {
	switch {
	case k == "if":
		parts := strings.Fields(v)
		if len(parts) < 3 {
			return false
		}
		return fs.hasCond(parts[0], parts[1], strings.Join(parts[2:], " "))
	case k == "each":
		for _, e := range fs.each {
			if strings.Contains(e, v) {
				return true
			}
		}
		return false
	case strings.HasPrefix(k, "trigger."):
		f := strings.TrimPrefix(k, "trigger.")
		return fs.lits[k] == v || fs.hasCond(f, "==", v)
	case strings.HasPrefix(v, "@"):
		for _, e := range fs.exprs[k] {
			if strings.Contains(e, strings.TrimPrefix(v, "@")) {
				return true
			}
		}
		return false
	}
	if fs.lits[k] == v {
		return true
	}
	for _, e := range fs.exprs[k] { // "=\"Kick-off\"" carries the literal too
		if strings.Contains(e, strconv.Quote(v)) {
			return true
		}
	}
	return false
}

func (fs facts) hasCond(field, op, val string) bool {
	for _, c := range fs.conds {
		for _, m := range condRe.FindAllStringSubmatch(c, -1) {
			if m[1] != field || m[2] != op {
				continue
			}
			got := strings.Trim(m[3], `"`)
			if got == val {
				return true
			}
			a, e1 := strconv.ParseFloat(got, 64)
			b, e2 := strconv.ParseFloat(val, 64)
			if e1 == nil && e2 == nil && a == b {
				return true
			}
		}
	}
	return false
}
