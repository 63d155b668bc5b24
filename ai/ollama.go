package ai

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ollama/ollama/api"
)

// Ollama embeds through an Ollama server's /api/embed (e.g. the model
// nomic-embed-text), with github.com/ollama/ollama/api.
type Ollama struct {
	Model  string
	client *api.Client
}

// NewOllama returns an embedder for the Ollama server at base (e.g.
// http://127.0.0.1:11434). Nothing dials out until Embed is called. hc
// (nil: a plain client) carries the egress policy.
func NewOllama(base, model string, hc *http.Client) (*Ollama, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("ollama: bad URL %q", base)
	}
	if model == "" {
		model = "nomic-embed-text"
	}
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Ollama{Model: model, client: api.NewClient(u, hc)}, nil
}

// Name implements Embedder.
func (o *Ollama) Name() string { return "ollama:" + o.Model }

// Embed implements Embedder: one request for the whole batch.
func (o *Ollama) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	// Ollama rejects empty inputs; embed a space and keep positions.
	in := make([]string, len(texts))
	for i, t := range texts {
		if t == "" {
			t = " "
		}
		in[i] = t
	}
	resp, err := o.client.Embed(ctx, &api.EmbedRequest{Model: o.Model, Input: in})
	if err != nil {
		return nil, fmt.Errorf("ollama embed (%s): %w", o.Model, err)
	}
	if len(resp.Embeddings) != len(texts) {
		return nil, fmt.Errorf("ollama embed (%s): %d embeddings for %d inputs", o.Model, len(resp.Embeddings), len(texts))
	}
	return resp.Embeddings, nil
}
