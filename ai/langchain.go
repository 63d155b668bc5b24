package ai

import (
	"context"

	"github.com/tmc/langchaingo/embeddings"
)

// LangChain adapts any Embedder to langchaingo's embeddings.Embedder, so
// langchaingo chains and vector stores use the same backends (and cache).
type LangChain struct{ E Embedder }

var _ embeddings.Embedder = LangChain{}

// EmbedDocuments implements embeddings.Embedder.
func (l LangChain) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	return l.E.Embed(ctx, texts)
}

// EmbedQuery implements embeddings.Embedder.
func (l LangChain) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	vs, err := l.E.Embed(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}
