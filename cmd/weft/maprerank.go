package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/mapper"
)

// mapReranker builds the mapper's language-model re-ranker from the same
// settings and the same construction as NL-to-flow's model (llmConfig,
// ai.NewChat); nil when ai.llm is builtin or unset. Its HTTP client dials
// through the egress policy when there is one.
func mapReranker(c AIConfig, pol *egress.Policy) (*mapper.Reranker, error) {
	lc, ok, err := llmConfig(c, pol, " (mapper)")
	if err != nil || !ok {
		return nil, err
	}
	m, err := ai.NewChat(mapper.RerankLLM(lc))
	if err != nil {
		return nil, err
	}
	return &mapper.Reranker{Model: m}, nil
}

// localSuggest is `weft map suggest` on two files, computed here.
type localSuggest struct {
	source, target, name, namespace string
	top                             int
	config, llm, llmURL, llmModel   string
}

// localSchema reads one side the way the server reads a file sent to it.
func localSchema(arg, side string) (*mapper.Schema, error) {
	in, err := schemaArg(arg)
	if err != nil {
		return nil, err
	}
	name, _ := in["name"].(string)
	if csv, ok := in["csv"].(string); ok {
		return mapper.FromCSV(name, strings.NewReader(csv))
	}
	doc, _ := in["doc"].(json.RawMessage)
	sc, err := mapper.Parse(name, doc)
	if err != nil {
		msg := weft.Message(err)
		if weft.Code(err) == weft.EInternal {
			msg = err.Error()
		}
		return nil, weft.Errorf(weft.EInvalid, "%s %s: %s", side, arg, msg)
	}
	if sc.Name == "" || sc.Name == side {
		sc.Name = name
	}
	return sc, nil
}

// suggestLocal computes a mapping proposal with the builtin mapper (and
// the re-ranker when one is chosen) and prints it; nothing is stored and
// no Weft server is contacted.
func suggestLocal(c *client, stdout io.Writer, o localSuggest) error {
	src, err := localSchema(o.source, "source")
	if err != nil {
		return err
	}
	tgt, err := localSchema(o.target, "target")
	if err != nil {
		return err
	}
	aic := AIConfig{}
	var pol *egress.Policy
	if o.config != "" {
		cfg, err := loadConfig(o.config, os.Environ())
		if err != nil {
			return weft.Errorf(weft.EInvalid, "%v", err)
		}
		aic, pol = cfg.AI, cfg.egress
	} else {
		aic.llmKey = os.Getenv("WEFT_AI_API_KEY")
	}
	if o.llm != "" {
		aic.LLM = o.llm
	}
	if o.llmURL != "" {
		aic.LLMURL = o.llmURL
	}
	if o.llmModel != "" {
		aic.LLMModel = o.llmModel
	}
	rr, err := mapReranker(aic, pol)
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	// The configured embedder (builtin unless --config names a model),
	// as the server's suggestions use.
	emb, err := embedder(aic, pol)
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	svc := &mapper.Service{Reranker: rr, Embedder: emb}
	m, err := svc.Propose(context.Background(), o.namespace, o.name, src, tgt, o.top)
	if err != nil {
		return err
	}
	if c.json {
		c.printJSON(m)
		return nil
	}
	var doc map[string]any
	b, _ := json.Marshal(m)
	_ = json.Unmarshal(b, &doc)
	printMapping(stdout, doc)
	fmt.Fprintln(stdout, "computed locally, not stored: add --save to store it on the server for review")
	return nil
}
