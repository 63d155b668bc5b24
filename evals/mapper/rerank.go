package main

// The language-model re-ranker in the same harness: -backend ollama|openai
// -model M -url U adds a "weft+BACKEND" method, the builtin mapper's
// candidates re-ordered by the model (mapper.Reranker), scored exactly as
// the others, with how often it fell back to the builtin order.

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/weftio/weft/mapper"
)

// The re-ranker's flags (here, beside its code).
var (
	backend  = flag.String("backend", "", "ollama or openai: also score the builtin mapper with a language model re-ranking its top candidates")
	llmModel = flag.String("model", "", "-backend: the model name")
	llmURL   = flag.String("url", "", "-backend: the model server (ollama default http://127.0.0.1:11434; openai e.g. http://127.0.0.1:8000/v1)")
	rerankK  = flag.Int("k", mapper.DefaultRerankK, "-backend: candidates shown to the model per source field")
)

// rerankStats counts what the re-ranker did over a run.
type rerankStats struct {
	cases, fellBack, fields, reordered, moved int
	firstWhy                                  string
}

func (s *rerankStats) String() string {
	line := fmt.Sprintf("re-ranker: %d cases, %d source fields ordered by the model, %d with a new first candidate, %d suggestions moved; fell back (some or all fields) on %d cases",
		s.cases, s.fields, s.reordered, s.moved, s.fellBack)
	if s.firstWhy != "" {
		line += "; first reason: " + s.firstWhy
	}
	return line
}

// newChat builds the model the way the server does (cmd/weft mapReranker).
func newChat(backend, model, url, key string, hc *http.Client) (mapper.Chat, error) {
	switch backend {
	case "ollama":
		if url == "" {
			url = "http://127.0.0.1:11434"
		}
		return mapper.NewOllamaChat(url, model, hc)
	case "openai":
		if url == "" {
			return nil, fmt.Errorf("-backend openai needs -url (e.g. http://127.0.0.1:8000/v1)")
		}
		return mapper.NewOpenAIChat(url, model, key, hc)
	}
	return nil, fmt.Errorf("-backend must be ollama or openai, got %q", backend)
}

// rerankMethod is the mapper with the re-ranker over its candidates.
func rerankMethod(ctx context.Context, o mapper.Options, rr *mapper.Reranker, stats *rerankStats) method {
	base := weftMethod(ctx, o)
	base.name = "weft+" + strings.SplitN(rr.Model.Name(), "/", 2)[0]
	base.rank = func(c *extCase) ([]pred, [][2]string) {
		res, err := mapper.Suggest(ctx, c.src, c.tgt, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, c.Name, err)
			os.Exit(1)
		}
		res, rep := rr.Rerank(ctx, c.src, c.tgt, res)
		stats.cases++
		stats.fields += rep.Fields
		stats.reordered += rep.Reordered
		stats.moved += rep.Changed
		if rep.Fallback != "" {
			stats.fellBack++
			if stats.firstWhy == "" {
				stats.firstWhy = c.Name + ": " + rep.Fallback
			}
		}
		return resultPreds(c, res)
	}
	return base
}

// resultPreds turns a mapper result into the harness's ranked pairs and
// mapping.
func resultPreds(c *extCase, res *mapper.Result) ([]pred, [][2]string) {
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
}

// rerankTimeout bounds one case's re-ranking in the eval (a large schema
// pair takes several batches).
const rerankTimeout = 5 * time.Minute
