package nl2flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tmc/langchaingo/llms/openai"
	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/prompts"
)

// Model is a chat model that answers with one JSON object (an *ai.Chat:
// ai.NewChat is the one construction of a language model, shared with the
// mapper's re-ranker).
type Model interface {
	Name() string
	Generate(ctx context.Context, prompt string) (string, error)
}

// NewOllama is a Model served by Ollama's /api/chat, in JSON mode
// (format: "json"), through langchaingo (ai.NewChat).
func NewOllama(serverURL, model string, hc *http.Client) (*ai.Chat, error) {
	return ai.NewChat(ai.LLMConfig{Provider: ai.ProviderOllama, URL: serverURL, Model: model, HTTP: hc})
}

// NewOpenAI is a Model served by any OpenAI-compatible /v1/chat/completions
// (vLLM, llama.cpp server, LM Studio, OpenAI), with structured output
// (response_format json_schema: the answer's envelope and the flow's
// top-level shape), through langchaingo (ai.NewChat).
func NewOpenAI(baseURL, model, token string, hc *http.Client) (*ai.Chat, error) {
	return ai.NewChat(ai.LLMConfig{Provider: ai.ProviderOpenAI, URL: baseURL, Model: model, Token: token, HTTP: hc, Format: DraftFormat()})
}

// DraftFormat constrains an OpenAI-compatible server's answer to the
// draft's JSON shape: {flow: {name, trigger, steps[]}, explanation[],
// questions[]}. The flow's inner structure is checked by the compiler (the
// full flow schema is too recursive for most servers' grammar engines).
func DraftFormat() *openai.ResponseFormat {
	type prop = openai.ResponseFormatJSONSchemaProperty
	strs := &prop{Type: "array", Items: &prop{Type: "string"}}
	obj := &prop{Type: "object", AdditionalProperties: true}
	return &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.ResponseFormatJSONSchema{
		Name: "weft_draft_flow",
		Schema: &prop{Type: "object", Required: []string{"flow", "explanation", "questions"}, Properties: map[string]*prop{
			"flow": {Type: "object", AdditionalProperties: true, Required: []string{"name", "trigger", "steps"}, Properties: map[string]*prop{
				"name":        {Type: "string", Description: "lower-case letters, digits and -"},
				"description": {Type: "string"},
				"trigger":     obj,
				"steps":       {Type: "array", Items: obj},
			}},
			"explanation": strs,
			"questions":   strs,
		}},
	}}
}

// promptOp is one retrieved operation as the prompt shows it.
type promptOp struct {
	Ref, Connection, Title, Inputs, Record string
	Pollable, Destructive                  bool
}

type composeData struct {
	Request    string
	Operations []promptOp
	Existing   string
}

type repairData struct {
	Request  string
	Answer   string
	Problems []string
}

// retrieve picks the operations the prompt shows: those the builtin
// compiler's reading of the request uses (its trigger and steps), then the
// rest ranked by the shared embedder, up to k. The model sees a short,
// relevant list, which is what keeps it from inventing operations.
func (c *Compiler) retrieve(ctx context.Context, cat *Catalog, text string, k int) ([]*Op, error) {
	var out []*Op
	seen := map[string]bool{}
	b := &builtin{cat: cat, emb: c.embedder()}
	if p, _, err := b.compile(ctx, text); err == nil && p != nil {
		if p.Trigger.Op != nil {
			out, seen[p.Trigger.Op.Ref] = append(out, p.Trigger.Op), true
		}
		p.walk(func(s *StepPlan) {
			if s.Op != nil && !seen[s.Op.Ref] {
				out, seen[s.Op.Ref] = append(out, s.Op), true
			}
		})
	}
	ranked, err := c.rank(ctx, cat, text)
	if err != nil {
		return nil, err
	}
	for _, op := range ranked {
		if len(out) >= k {
			break
		}
		if !seen[op.Ref] {
			out, seen[op.Ref] = append(out, op), true
		}
	}
	return out, nil
}

// rank orders the catalog for the request with the shared search
// (ai/search: BM25 over the operations' words fused with embedding
// similarity), the operations it finds first, then the rest in catalog
// order. Only operations added or changed since the last request are
// embedded.
func (c *Compiler) rank(ctx context.Context, cat *Catalog, text string) ([]*Op, error) {
	c.idxMu.Lock()
	if c.idx == nil {
		c.idx = search.New(search.Options{Embedder: c.embedder(), Vectors: c.Vectors, Collection: "weft_nl2flow_operations"})
	}
	idx := c.idx
	c.idxMu.Unlock()
	docs := make([]search.Doc, 0, len(cat.Ops))
	for _, op := range cat.Ops {
		docs = append(docs, search.Doc{ID: op.Ref, Name: op.Ref, Title: op.Title,
			Description: strings.Join([]string{op.Description, op.Verb, op.Object, strings.Join(op.System, " ")}, " ")})
	}
	if _, err := idx.Set(ctx, docs); err != nil {
		return nil, err
	}
	hits, err := idx.Search(ctx, text, len(docs), nil)
	if err != nil {
		return nil, err
	}
	out := make([]*Op, 0, len(cat.Ops))
	seen := map[string]bool{}
	for _, h := range hits {
		if op, ok := cat.Op(h.ID); ok && !seen[h.ID] {
			out, seen[h.ID] = append(out, op), true
		}
	}
	for _, op := range cat.Ops {
		if !seen[op.Ref] {
			out = append(out, op)
		}
	}
	return out, nil
}

func promptOps(ops []*Op) []promptOp {
	var out []promptOp
	for _, op := range ops {
		req := map[string]bool{}
		for _, r := range op.required() {
			req[r] = true
		}
		var ins []string
		props := op.inputProps()
		for _, k := range sortedKeys(props) {
			t := typeOf(props[k])
			if es := enumValues(props[k]); len(es) > 0 {
				t = strings.Join(es, "|")
			}
			star := ""
			if req[k] {
				star = "*"
			}
			ins = append(ins, k+star+":"+t)
		}
		po := promptOp{Ref: op.Ref, Connection: op.Connection, Title: op.Title, Inputs: strings.Join(ins, ", "),
			Pollable: op.Trigger != nil, Destructive: op.Hints.Destructive}
		if op.Trigger != nil {
			var fs []string
			rf := op.recordFields()
			for _, k := range sortedKeys(rf) {
				if es := enumValues(rf[k]); len(es) > 0 {
					fs = append(fs, k+"("+strings.Join(es, "|")+")")
				} else {
					fs = append(fs, k)
				}
			}
			po.Record = strings.Join(fs, ", ")
		}
		out = append(out, po)
	}
	return out
}

// answer is what the model returns.
type answer struct {
	Flow        map[string]any `json:"flow"`
	Explanation []string       `json:"explanation"`
	Questions   []string       `json:"questions"`
}

// parseAnswer reads the model's JSON, tolerating code fences and prose
// around it.
func parseAnswer(s string) (*answer, error) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "{"); i > 0 {
		s = s[i:]
	}
	if j := strings.LastIndex(s, "}"); j >= 0 && j < len(s)-1 {
		s = s[:j+1]
	}
	var a answer
	if err := bounded.UnmarshalJSON("the answer", []byte(s), &a, bounded.Limits{}); err != nil {
		return nil, fmt.Errorf("the answer is not one JSON object: %s", weft.Message(err))
	}
	if a.Flow == nil {
		// A bare flow document is accepted too.
		var f map[string]any
		if json.Unmarshal([]byte(s), &f) == nil && f["trigger"] != nil {
			a.Flow = f
		} else {
			return nil, errors.New(`the answer has no "flow" object`)
		}
	}
	return &a, nil
}

// llm drafts with the model: retrieve, generate, compile, repair.
func (c *Compiler) llm(ctx context.Context, cat *Catalog, text, existing string) (*Draft, error) {
	ops, err := c.retrieve(ctx, cat, text, 14)
	if err != nil {
		return nil, err
	}
	compose, err := prompts.Get("compose_flow")
	if err != nil {
		return nil, err
	}
	repair, err := prompts.Get("repair_flow")
	if err != nil {
		return nil, err
	}
	prompt, err := compose.Execute(composeData{Request: text, Operations: promptOps(ops), Existing: existing})
	if err != nil {
		return nil, err
	}
	d := &Draft{Backend: c.LLM.Name()}
	lic := licensedText(text, cat)
	for attempt := 0; attempt <= c.repairs(); attempt++ {
		d.Attempts = attempt + 1
		out, err := c.LLM.Generate(ctx, prompt)
		if err != nil {
			if errors.Is(err, ai.ErrUnreachable) && attempt == 0 {
				return nil, err
			}
			return nil, weft.Errorf(weft.EUnavailable, "the language model failed: %v", err)
		}
		a, perr := parseAnswer(out)
		var probs []weft.Problem
		if perr != nil {
			probs = []weft.Problem{{Message: perr.Error()}}
		} else {
			// The write licence: no step changes a system the request
			// does not ask to change (deletes included), whatever the
			// model answered.
			var removed []string
			a.Flow["steps"] = gateAnswer(a.Flow["steps"], lic, cat, &removed)
			d.Warnings = append(d.Warnings, removed...)
			src, yerr := yaml.Marshal(a.Flow)
			if yerr != nil {
				probs = []weft.Problem{{Message: yerr.Error()}}
			} else {
				f, ps := Check(string(src), cat, text)
				d.YAML, d.Flow, probs = string(src), f, ps
				d.Explanation, d.Questions = a.Explanation, a.Questions
			}
		}
		d.Problems = probs
		if len(probs) == 0 {
			break
		}
		var msgs []string
		for _, p := range probs {
			if p.Pos != "" {
				msgs = append(msgs, p.Pos+": "+p.Message)
			} else {
				msgs = append(msgs, p.Message)
			}
		}
		prompt, err = repair.Execute(repairData{Request: text, Answer: out, Problems: msgs})
		if err != nil {
			return nil, err
		}
	}
	loopQuestion(d)
	d.finish()
	return d, nil
}
