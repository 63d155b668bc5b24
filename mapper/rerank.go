package mapper

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/prompts"
)

// Chat is a language model that answers one prompt with one JSON object
// (nl2flow.Model has the same shape).
type Chat interface {
	Name() string
	Generate(ctx context.Context, prompt string) (string, error)
}

// Re-ranker bounds: what one Rerank call shows a model and accepts back.
const (
	DefaultRerankK       = 5                // candidates shown per source field
	MaxRerankK           = 10               // at most
	DefaultRerankBatch   = 20               // source fields per model call
	MaxRerankBatch       = 50               // at most
	MaxRerankFields      = 400              // source fields re-ranked per mapping; the rest keep the builtin order
	DefaultRerankTimeout = 45 * time.Second // the whole re-ranking, every batch (under the CLI's 60 s request timeout)
	MaxRerankAnswer      = 64 << 10         // bytes of one answer (the HTTP clients cut the response body there too)
	maxPromptText        = 160              // characters of a description, an example list, a schema name
)

// Reranker asks a language model to re-order each source field's top
// candidates (as found by Suggest). The model only orders: it never adds
// a target outside the candidates, and Suggest's abstentions stand. Any
// failure keeps the builtin order and says why in the report.
type Reranker struct {
	Model   Chat
	K       int           // candidates shown per source field (default 5, 2 to 10)
	Batch   int           // source fields per model call (default 20, at most 50)
	Timeout time.Duration // the whole re-ranking (default 45 s)
}

// RerankReport says what the re-ranker did.
type RerankReport struct {
	Backend   string `json:"backend"`
	Fields    int    `json:"fields"`             // source fields whose order the model decided
	Reordered int    `json:"reordered"`          // of those, whose first candidate changed
	Changed   int    `json:"changed"`            // suggestions whose target changed
	Fallback  string `json:"fallback,omitempty"` // why the builtin order was kept, for some or all fields
}

// rerankField is one source field as the prompt shows it.
type rerankField struct {
	Path, Type, Description, Examples string
	Candidates                        []rerankField
}

type rerankData struct {
	Source, SourceDescription, Target, TargetDescription string
	Fields                                               []rerankField
}

// rerankAnswer is the model's answer.
type rerankAnswer struct {
	Rankings []struct {
		Source  string   `json:"source"`
		Targets []string `json:"targets"`
	} `json:"rankings"`
}

func (r *Reranker) bounds() (k, batch int, timeout time.Duration) {
	k, batch, timeout = r.K, r.Batch, r.Timeout
	if k <= 0 {
		k = DefaultRerankK
	}
	k = min(max(k, 2), MaxRerankK) // one candidate is no ranking
	if batch <= 0 {
		batch = DefaultRerankBatch
	}
	batch = min(batch, MaxRerankBatch)
	if timeout <= 0 {
		timeout = DefaultRerankTimeout
	}
	return
}

// clip keeps prompt text on one line and short.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxPromptText {
		s = string(r[:maxPromptText]) + "…"
	}
	return s
}

func promptField(f *Field) rerankField {
	pf := rerankField{Path: f.Path, Type: f.Type, Description: clip(f.Description)}
	var ex []string
	for _, e := range f.Examples {
		if len(ex) == 3 {
			break
		}
		ex = append(ex, fmt.Sprint(e))
	}
	pf.Examples = clip(strings.Join(ex, ", "))
	if pf.Description == "" && f.Context != "" {
		pf.Description = clip(f.Context)
	}
	return pf
}

// Rerank returns res with each source field's top candidates in the
// model's order (candidates below the top k keep their place after them)
// and the suggestions moved where the model's first choice is a target no
// other suggestion takes. res itself is not changed. On any error the
// builtin order is kept (for the failed batch, or all of it) and the
// report's Fallback says why, without the model's answer or credentials.
func (r *Reranker) Rerank(ctx context.Context, src, tgt *Schema, res *Result) (*Result, *RerankReport) {
	rep := &RerankReport{}
	if r == nil || r.Model == nil || res == nil || src == nil || tgt == nil {
		rep.Fallback = "no language model configured"
		return res, rep
	}
	rep.Backend = r.Model.Name()
	k, batchSize, timeout := r.bounds()
	out := *res
	out.Candidates = make(map[string][]Candidate, len(res.Candidates))
	for p, cs := range res.Candidates {
		out.Candidates[p] = append([]Candidate(nil), cs...)
	}
	out.Suggestions = append([]Suggestion(nil), res.Suggestions...)
	var todo []*Field
	skipped := 0
	for i := range src.Fields {
		cs := out.Candidates[src.Fields[i].Path]
		if len(cs) < 2 || !promptSafe(src.Fields[i].Path) || !promptSafe(cs[0].Target) || !promptSafe(cs[1].Target) {
			continue // nothing to order, or a path the prompt cannot quote on one line
		}
		if len(todo) == MaxRerankFields {
			skipped++
			continue
		}
		todo = append(todo, &src.Fields[i])
	}
	var why []string
	if skipped > 0 {
		why = append(why, fmt.Sprintf("%d source fields past the first %d kept the builtin order", skipped, MaxRerankFields))
	}
	if len(todo) == 0 {
		if len(why) > 0 {
			rep.Fallback = strings.Join(why, "; ")
		}
		return &out, rep
	}
	tmpl, err := prompts.Get("rerank_mapping")
	if err != nil {
		rep.Fallback = "builtin order kept: " + err.Error()
		return res, rep
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nb := (len(todo) + batchSize - 1) / batchSize
	invented := 0
	newFirst := map[string]bool{} // source paths whose first candidate the model changed
	for b := 0; b < nb; b++ {
		batch := todo[b*batchSize : min(len(todo), (b+1)*batchSize)]
		order, inv, err := r.rankBatch(ctx, tmpl, src, tgt, batch, out.Candidates, k)
		invented += inv
		if err != nil {
			where := ""
			if nb > 1 {
				where = fmt.Sprintf(" (batch %d of %d, %d fields)", b+1, nb, len(batch))
			}
			why = append(why, "builtin order kept"+where+": "+err.Error())
			if ctx.Err() != nil && b+1 < nb {
				why = append(why, fmt.Sprintf("builtin order kept for the %d later batches: the re-ranking's %s ran out", nb-b-1, timeout))
				break
			}
			continue
		}
		for path, targets := range order {
			cs := out.Candidates[path]
			first := cs[0].Target
			out.Candidates[path] = reorder(cs, targets)
			rep.Fields++
			if out.Candidates[path][0].Target != first {
				rep.Reordered++
				newFirst[path] = true
			}
		}
	}
	if invented > 0 {
		why = append(why, fmt.Sprintf("%d answers named a target outside the field's candidates or a field not asked about: builtin order kept for them", invented))
	}
	rep.Fallback = strings.Join(why, "; ")
	if len(newFirst) == 0 {
		return &out, rep
	}
	rep.Changed = moveSuggestions(&out, src, tgt, r.Model.Name(), newFirst)
	return &out, rep
}

// rankBatch asks the model about one batch and returns, per source path,
// the model's order of its shown candidates; inv counts rankings refused
// because they named something outside what was asked.
func (r *Reranker) rankBatch(ctx context.Context, tmpl *prompts.Prompt, src, tgt *Schema, batch []*Field, cands map[string][]Candidate, k int) (map[string][]string, int, error) {
	data := rerankData{Source: clip(src.Name), SourceDescription: clip(src.Description), Target: clip(tgt.Name), TargetDescription: clip(tgt.Description)}
	shown := map[string]map[string]bool{}
	for _, f := range batch {
		pf := promptField(f)
		shown[f.Path] = map[string]bool{}
		cs := cands[f.Path]
		for _, c := range cs[:min(k, len(cs))] {
			if !promptSafe(c.Target) {
				continue
			}
			shown[f.Path][c.Target] = true
			if tf := fieldByPath(tgt, c.Target); tf != nil {
				pf.Candidates = append(pf.Candidates, promptField(tf))
			} else {
				pf.Candidates = append(pf.Candidates, rerankField{Path: c.Target})
			}
		}
		data.Fields = append(data.Fields, pf)
	}
	prompt, err := tmpl.Execute(data)
	if err != nil {
		return nil, 0, err
	}
	text, err := r.Model.Generate(ctx, prompt)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("the language model did not answer in time (%v)", ctx.Err())
		}
		return nil, 0, fmt.Errorf("the language model failed: %s", oneLine(err.Error()))
	}
	a, err := parseRerank(text)
	if err != nil {
		return nil, 0, err
	}
	order := map[string][]string{}
	inv := 0
	for _, rk := range a.Rankings {
		allowed, ok := shown[rk.Source]
		if !ok || order[rk.Source] != nil {
			inv++
			continue
		}
		var ts []string
		seen := map[string]bool{}
		bad := false
		for _, t := range rk.Targets {
			if !allowed[t] {
				bad = true
				break
			}
			if !seen[t] {
				seen[t] = true
				ts = append(ts, t)
			}
		}
		if bad {
			inv++
			continue
		}
		if len(ts) > 0 {
			order[rk.Source] = ts
		}
	}
	if len(order) == 0 {
		return nil, inv, errors.New("the answer ranks none of the fields asked about")
	}
	return order, inv, nil
}

// promptSafe: a path the prompt can quote as it is (the answer must copy
// it exactly): one line, printable, at most 200 bytes.
func promptSafe(p string) bool {
	if p == "" || len(p) > 200 {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// oneLine keeps an error message short and on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// parseRerank reads the model's answer: one JSON object {"rankings": [...]}
// (a code fence around it is tolerated), nothing else.
func parseRerank(s string) (*rerankAnswer, error) {
	if len(s) > MaxRerankAnswer {
		return nil, fmt.Errorf("the answer is over %d bytes", MaxRerankAnswer)
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "```json"), "```")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	var a rerankAnswer
	if err := bounded.UnmarshalJSON("the answer", []byte(s), &a, bounded.Limits{MaxBytes: MaxRerankAnswer, MaxDepth: 8}); err != nil {
		return nil, fmt.Errorf("the answer is not the JSON object asked for: %s", oneLine(weft.Message(err)))
	}
	if a.Rankings == nil {
		return nil, errors.New(`the answer has no "rankings" list`)
	}
	return &a, nil
}

// reorder puts targets (a subset of cs's, in the model's order) first,
// then the rest of cs in its order. The scores follow the order: the
// field's builtin scores, highest first, go to the new order's places, so
// that a reader ranking by score (score.py) sees the model's order and a
// threshold keeps its meaning.
func reorder(cs []Candidate, targets []string) []Candidate {
	scores := make([]float64, len(cs))
	for i, c := range cs {
		scores[i] = c.Score
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(scores)))
	out := order(cs, targets)
	for i := range out {
		out[i].Score = scores[i]
	}
	return out
}

func order(cs []Candidate, targets []string) []Candidate {
	out := make([]Candidate, 0, len(cs))
	used := map[string]bool{}
	for _, t := range targets {
		for _, c := range cs {
			if c.Target == t && !used[t] {
				out = append(out, c)
				used[t] = true
			}
		}
	}
	for _, c := range cs {
		if !used[c.Target] {
			out = append(out, c)
		}
	}
	return out
}

// moveSuggestions moves a one-source suggestion whose source's first
// candidate the model changed (newFirst) to that candidate when no other
// suggestion takes it; the builtin assignment stands everywhere else, and
// sources Suggest abstained on stay unmapped. It returns how many moved.
func moveSuggestions(res *Result, src, tgt *Schema, backend string, newFirst map[string]bool) int {
	taken := map[string]bool{}
	for _, s := range res.Suggestions {
		taken[s.Target] = true
	}
	moved := 0
	for i := range res.Suggestions {
		sg := &res.Suggestions[i]
		if len(sg.Sources) != 1 || !newFirst[sg.Sources[0]] {
			continue
		}
		cs := res.Candidates[sg.Sources[0]]
		if len(cs) == 0 || cs[0].Target == sg.Target || taken[cs[0].Target] {
			continue
		}
		sf, tf := fieldByPath(src, sg.Sources[0]), fieldByPath(tgt, cs[0].Target)
		if sf == nil || tf == nil {
			continue
		}
		taken[sg.Target] = false
		taken[tf.Path] = true
		*sg = Suggestion{Target: tf.Path, Sources: sg.Sources, Confidence: cs[0].Score, Expr: convert(sf, tf),
			Reason: fmt.Sprintf("%s ranked it first (the builtin mapper's choice was %s)", backend, sg.Target)}
		moved++
	}
	sort.Slice(res.Suggestions, func(a, b int) bool { return res.Suggestions[a].Target < res.Suggestions[b].Target })
	have := map[string]bool{}
	for _, s := range res.Suggestions {
		have[s.Target] = true
	}
	res.UnmatchedRequired = nil
	for _, t := range tgt.Fields {
		if t.Required && !have[t.Path] {
			res.UnmatchedRequired = append(res.UnmatchedRequired, t.Path)
		}
	}
	return moved
}
