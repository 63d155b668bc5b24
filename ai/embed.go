package ai

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tmc/langchaingo/embeddings"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"
)

// ProviderBuiltin is the embedder that needs no model and no network.
const ProviderBuiltin = "builtin"

// Embedding bounds: what one batch sends and one response may hold.
const (
	EmbedBatch       = 64       // texts per request to an OpenAI-compatible server
	MaxEmbedResponse = 32 << 20 // bytes per response body
	MaxEmbedDim      = 16384    // a longer vector is refused
)

// EmbedConfig is one embeddings model, the way the server's ai settings
// describe it. NewEmbedder builds it.
type EmbedConfig struct {
	Provider string // builtin (default) | ollama | openai
	URL      string // ollama: default DefaultOllamaURL; openai: required (e.g. http://127.0.0.1:8000/v1)
	Model    string // ollama: default nomic-embed-text; openai: required
	Token    string // openai: the bearer token (WEFT_AI_API_KEY)
	HTTP     *http.Client
}

// NewEmbedder builds the embedder c describes behind a content-hash cache:
// the builtin one, or a model served by Ollama (/api/embed) or an
// OpenAI-compatible server (/v1/embeddings) through langchaingo's
// embeddings. Nothing dials out until Embed.
func NewEmbedder(c EmbedConfig) (Embedder, error) {
	switch c.Provider {
	case "", ProviderBuiltin:
		return NewCached(Builtin{}, 0), nil
	case ProviderOllama:
		u, model := orDefault(c.URL, DefaultOllamaURL), orDefault(c.Model, "nomic-embed-text")
		if err := checkURL(u); err != nil {
			return nil, err
		}
		hc, over := capped(c.HTTP, MaxEmbedResponse)
		m, err := ollama.New(ollama.WithServerURL(u), ollama.WithModel(model), ollama.WithHTTPClient(hc))
		if err != nil {
			return nil, err
		}
		// langchaingo's Ollama client sends one text per request.
		e, err := embeddings.NewEmbedder(m, embeddings.WithBatchSize(EmbedBatch), embeddings.WithStripNewLines(false))
		if err != nil {
			return nil, err
		}
		return NewCached(&LangChainEmbedder{Label: "ollama:" + model, E: e, over: over}, 0), nil
	case ProviderOpenAI:
		if c.URL == "" || c.Model == "" {
			return nil, errors.New("an OpenAI-compatible embeddings model needs its URL (e.g. http://127.0.0.1:8000/v1) and its model name")
		}
		if err := checkURL(c.URL); err != nil {
			return nil, err
		}
		hc, over := capped(c.HTTP, MaxEmbedResponse)
		m, err := openai.New(openai.WithBaseURL(c.URL), openai.WithModel(c.Model), openai.WithEmbeddingModel(c.Model),
			openai.WithToken(token(c.Token)), openai.WithHTTPClient(legibleRefusal{hc}))
		if err != nil {
			return nil, err
		}
		e, err := embeddings.NewEmbedder(m, embeddings.WithBatchSize(EmbedBatch), embeddings.WithStripNewLines(false))
		if err != nil {
			return nil, err
		}
		return NewCached(&LangChainEmbedder{Label: "openai:" + c.Model, E: e, over: over}, 0), nil
	}
	return nil, fmt.Errorf("the embedder must be builtin, ollama or openai, got %q", c.Provider)
}

// LangChainEmbedder is an Embedder over a langchaingo embeddings.Embedder.
type LangChainEmbedder struct {
	Label string
	E     embeddings.Embedder
	over  interface{ Load() int64 } // response bodies cut (nil: not counted)
}

// Name implements Embedder.
func (l *LangChainEmbedder) Name() string { return l.Label }

// Embed implements Embedder: one vector per text, in order, all of one
// length. An empty text is sent as one space (servers refuse empty input).
func (l *LangChainEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	in := make([]string, len(texts))
	for i, t := range texts {
		if t == "" {
			t = " "
		}
		in[i] = t
	}
	var cut int64
	if l.over != nil {
		cut = l.over.Load()
	}
	vs, err := l.E.EmbedDocuments(ctx, in)
	if l.over != nil && l.over.Load() != cut {
		return nil, fmt.Errorf("embed (%s): the server's response is over %d bytes", l.Label, MaxEmbedResponse)
	}
	if err != nil {
		if isUnreachable(err) {
			return nil, fmt.Errorf("embed (%s): %w: %v", l.Label, ErrUnreachable, err)
		}
		return nil, fmt.Errorf("embed (%s): %w", l.Label, err)
	}
	if len(vs) != len(texts) {
		return nil, fmt.Errorf("embed (%s): %d embeddings for %d inputs", l.Label, len(vs), len(texts))
	}
	for i, v := range vs {
		if len(v) == 0 || len(v) > MaxEmbedDim || len(v) != len(vs[0]) {
			return nil, fmt.Errorf("embed (%s): embedding %d has %d dimensions (the first has %d; at most %d)", l.Label, i, len(v), len(vs[0]), MaxEmbedDim)
		}
	}
	return vs, nil
}
