// Command mapper scores the schema mapper on evals/mapper/data: per split
// (dev: used to set the matcher's weights; heldout: never tuned on) it
// prints precision, recall, F1 of the proposed mapping, accuracy@1/@3 and
// MRR of the ranked candidates, next to a baseline (normalised exact-name
// match) measured in the same run, and the effect of the review loop
// (reviews of half the pairs fed back, scored on the other half).
//
// First it scores the external development sets (../shared/data/mapping-dev,
// when present) and the own splits the way score.py there does: acc@1,
// acc@3, MRR over the source fields that have a gold target, P/R/F1 of the
// pairs scored at or above the method's threshold, and for the mapper the
// P/R/F1 of its proposed mapping, next to the exact-name and 3-gram
// Sørensen baselines in the same run.
//
//	go run ./evals/mapper [-data evals/mapper/data] [-external ../shared/data/mapping-dev] [-split dev] [-preds DIR] [-v]
//	go run ./evals/mapper -backend ollama|openai -model M [-url U]   adds the language-model re-ranker (key: WEFT_AI_API_KEY)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/mapper"
)

type pair struct {
	ID     string              `json:"id"`
	Domain string              `json:"domain"`
	Source json.RawMessage     `json:"source"`
	Target json.RawMessage     `json:"target"`
	Gold   map[string][]string `json:"gold"`
	src    *mapper.Schema
	tgt    *mapper.Schema
}

type scores struct {
	tp, fp, fn          int
	ranked, at1, at3    int
	rr                  float64
	suggestions, abstns int
}

func (s *scores) add(o scores) {
	s.tp += o.tp
	s.fp += o.fp
	s.fn += o.fn
	s.ranked += o.ranked
	s.at1 += o.at1
	s.at3 += o.at3
	s.rr += o.rr
}

func (s scores) String() string {
	p := ratio(s.tp, s.tp+s.fp)
	r := ratio(s.tp, s.tp+s.fn)
	f := 0.0
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return fmt.Sprintf("P %.3f  R %.3f  F1 %.3f  acc@1 %.3f  acc@3 %.3f  MRR %.3f  (%d gold pairs)",
		p, r, f, ratio(s.at1, s.ranked), ratio(s.at3, s.ranked), s.rr/float64(max(1, s.ranked)), s.tp+s.fn)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func load(dir string) ([]*pair, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	var out []*pair
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var p pair
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		if p.src, err = mapper.FromFieldList(p.Source); err != nil {
			return nil, fmt.Errorf("%s source: %v", f, err)
		}
		if p.tgt, err = mapper.FromFieldList(p.Target); err != nil {
			return nil, fmt.Errorf("%s target: %v", f, err)
		}
		out = append(out, &p)
	}
	return out, nil
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// score compares a proposal with the gold mapping.
func score(p *pair, pred map[string][]string, cands map[string][]mapper.Candidate, verbose bool) scores {
	var s scores
	for t, srcs := range pred {
		if g, ok := p.Gold[t]; ok && same(g, srcs) {
			s.tp++
		} else {
			s.fp++
			if verbose {
				fmt.Printf("    wrong   %-45s <- %v (gold %v)\n", t, srcs, p.Gold[t])
			}
		}
	}
	for t, g := range p.Gold {
		if got, ok := pred[t]; !ok || !same(got, g) {
			s.fn++
			if verbose && !ok {
				fmt.Printf("    missed  %-45s <- %v\n", t, g)
			}
		}
		if len(g) != 1 {
			continue
		}
		// Ranking: where the gold target sits among the source field's candidates.
		s.ranked++
		for i, c := range cands[g[0]] {
			if c.Target == t {
				if i == 0 {
					s.at1++
				}
				if i < 3 {
					s.at3++
				}
				s.rr += 1 / float64(i+1)
				break
			}
		}
	}
	return s
}

func weft(ctx context.Context, p *pair, mem *mapper.Memory) (map[string][]string, map[string][]mapper.Candidate, time.Duration) {
	res, err := mapper.Suggest(ctx, p.src, p.tgt, mapper.Options{Top: 5, Memory: mem})
	if err != nil {
		fmt.Fprintln(os.Stderr, p.ID, err)
		os.Exit(1)
	}
	pred := map[string][]string{}
	for _, s := range res.Suggestions {
		pred[s.Target] = s.Sources
	}
	return pred, res.Candidates, res.Took
}

// baseline: a target field takes the source field whose normalised name
// (case and separators ignored) is the same.
func baseline(p *pair) (map[string][]string, map[string][]mapper.Candidate) {
	norm := func(s string) string { return strings.Join(ai.Split(s), "") }
	pred := map[string][]string{}
	cands := map[string][]mapper.Candidate{}
	for _, t := range p.tgt.Fields {
		for _, s := range p.src.Fields {
			if norm(s.Name) == norm(t.Name) {
				if _, taken := pred[t.Path]; !taken {
					pred[t.Path] = []string{s.Path}
				}
				cands[s.Path] = append(cands[s.Path], mapper.Candidate{Target: t.Path, Score: 1})
			}
		}
	}
	return pred, cands
}

// review feeds a reviewer's decisions on p back: each proposal accepted
// when it is right, rejected when not; each gold pair recorded as accepted
// (the reviewer's edit).
func review(p *pair, pred map[string][]string, mem *mapper.Memory) {
	field := func(s *mapper.Schema, path string) *mapper.Field {
		for i := range s.Fields {
			if s.Fields[i].Path == path {
				return &s.Fields[i]
			}
		}
		return nil
	}
	for t, srcs := range pred {
		if len(srcs) != 1 {
			continue
		}
		sf, tf := field(p.src, srcs[0]), field(p.tgt, t)
		if sf != nil && tf != nil {
			mem.Record(sf, tf, same(p.Gold[t], srcs))
		}
	}
	for t, g := range p.Gold {
		if len(g) == 1 {
			if sf, tf := field(p.src, g[0]), field(p.tgt, t); sf != nil && tf != nil {
				mem.Record(sf, tf, true)
			}
		}
	}
}

func main() {
	data := flag.String("data", "evals/mapper/data", "dataset root (dev/, heldout/)")
	verbose := flag.Bool("v", false, "list every wrong and missed mapping")
	only := flag.String("split", "", "dev or heldout (default both); tune with -split dev -v, never on heldout")
	external := flag.String("external", "../shared/data/mapping-dev", "external development sets (<dir>/*/cases.json)")
	predsDir := flag.String("preds", "", "write each method's predictions on the external sets here (score.py's format)")
	doTrain := flag.Bool("train", false, "fit the model on the external dev sets and the own dev split (never heldout), print leave-one-dataset-out figures, write -weights")
	modelOut := flag.String("weights", "mapper/model/weights.json", "where -train writes the model (the flag was -model before -model named the re-ranker's language model)")
	lambda := flag.Float64("lambda", 10, "-train: the L2 penalty")
	without := flag.String("without", "", "-train: signals left out (comma-separated names, an ablation)")
	threshold := flag.Float64("threshold", 0, "the mapper's threshold (default: the model's)")
	diag := flag.Bool("diag", false, "with -train: print each signal's own ranking quality instead")
	withoutLex := flag.String("without-lexicon", "", "ablation: lexicon parts left out (comma-separated: concept:NAME, abbreviations, ambiguous, stop, segment, order, agent, net, count_of)")
	withoutWords := flag.String("without-words", "", "ablation: lists of mapper/vocab/words.json left out (comma-separated)")
	flag.Parse()
	ctx := context.Background()
	if err := ablate(*withoutLex, *withoutWords); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *doTrain {
		sets, err := loadExternal(*external)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pairs, err := load(filepath.Join(*data, "dev"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sets = append(sets, dataset{name: "own dev", cases: asCases(pairs)})
		mask := map[string]bool{}
		for _, w := range strings.Split(*without, ",") {
			if w = strings.TrimSpace(w); w != "" {
				mask[w] = true
			}
		}
		if *diag {
			if err := diagnose(ctx, sets); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			return
		}
		if err := train(ctx, sets, *lambda, mask, *modelOut, *predsDir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	methods := []method{weftMethod(ctx, mapper.Options{Top: 5, Threshold: *threshold}), weftMethod(ctx, mapper.Options{Top: 5, FirstMatcher: true}), exactMethod, trigramMethod}
	var stats *rerankStats
	if *backend != "" {
		chat, err := newChat(*backend, *llmModel, *llmURL, os.Getenv("WEFT_AI_API_KEY"), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		stats = &rerankStats{}
		rr := &mapper.Reranker{Model: chat, K: *rerankK, Timeout: rerankTimeout}
		methods = append(methods[:1], append([]method{rerankMethod(ctx, mapper.Options{Top: 5, Threshold: *threshold}, rr, stats)}, methods[1:]...)...)
		defer func() { fmt.Println(stats) }()
	}
	fmt.Printf("# mapper eval — builtin embedder (%s), top 5; score.py's metrics (micro unless marked)\n", builtinName())
	if st, err := os.Stat(*external); err != nil || !st.IsDir() {
		fmt.Printf("external dev sets: %s not found; skipped\n", *external)
	} else {
		sets, err := loadExternal(*external)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, d := range sets {
			runDataset(d, methods, *predsDir)
		}
	}
	for _, split := range []string{"dev", "heldout"} {
		if *only != "" && *only != split {
			continue
		}
		pairs, err := load(filepath.Join(*data, split))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		runDataset(dataset{name: "own " + split, cases: asCases(pairs)}, methods, "")
	}
	fmt.Printf("# the own splits as before (gold per target field; the model's threshold), with the review loop\n")
	for _, split := range []string{"dev", "heldout"} {
		if *only != "" && *only != split {
			continue
		}
		pairs, err := load(filepath.Join(*data, split))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var w, b scores
		var took time.Duration
		for _, p := range pairs {
			pred, cands, d := weft(ctx, p, nil)
			took += d
			if *verbose {
				fmt.Printf("  %s/%s\n", split, p.ID)
			}
			w.add(score(p, pred, cands, *verbose))
			bp, bc := baseline(p)
			b.add(score(p, bp, bc, false))
		}
		fmt.Printf("%-8s %2d pairs  weft:     %s  (%.1f ms/pair)\n", split, len(pairs), w, float64(took.Microseconds())/1000/float64(len(pairs)))
		fmt.Printf("%-8s %2d pairs  baseline: %s\n", split, len(pairs), b)
		// Review loop: feed back reviews of the first half, score the second half.
		half := len(pairs) / 2
		mem := mapper.NewMemory()
		for _, p := range pairs[:half] {
			pred, _, _ := weft(ctx, p, nil)
			review(p, pred, mem)
		}
		var before, after scores
		for _, p := range pairs[half:] {
			pred, cands, _ := weft(ctx, p, nil)
			before.add(score(p, pred, cands, false))
			pred, cands, _ = weft(ctx, p, mem)
			after.add(score(p, pred, cands, false))
		}
		fmt.Printf("%-8s review loop (%d reviewed pairs fed back, %d remembered decisions; scored on the other %d):\n", split, half, mem.Len(), len(pairs)-half)
		fmt.Printf("           before: %s\n           after:  %s\n", before, after)
		// The same systems suggested again after their review (a second
		// flow between the same two apps): what the exact-pair memory does.
		var again0, again1 scores
		for _, p := range pairs[:half] {
			pred, cands, _ := weft(ctx, p, nil)
			again0.add(score(p, pred, cands, false))
			pred, cands, _ = weft(ctx, p, mem)
			again1.add(score(p, pred, cands, false))
		}
		fmt.Printf("%-8s the %d reviewed pairs suggested again:\n           before: %s\n           after:  %s\n", split, half, again0, again1)
	}
}

// ablate leaves parts of the lexicon and lists of the mapper's words out,
// before anything is embedded.
func ablate(lex, words string) error {
	split := func(s string) []string {
		var out []string
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
		return out
	}
	if parts := split(lex); len(parts) > 0 {
		l, err := ai.DefaultLexicon()
		if err != nil {
			return err
		}
		n, err := l.Without(parts...)
		if err != nil {
			return err
		}
		ai.UseLexicon(n)
		fmt.Printf("# without lexicon parts: %s\n", strings.Join(parts, ", "))
	}
	// always re-read: a list matched by concept follows the lexicon
	if err := mapper.WithoutWords(split(words)...); err != nil {
		return err
	}
	if lists := split(words); len(lists) > 0 {
		fmt.Printf("# without mapper word lists: %s\n", strings.Join(lists, ", "))
	}
	return nil
}
