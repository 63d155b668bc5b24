package mapper_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/store/sqlite"
)

type downEmbedder struct{}

func (downEmbedder) Name() string { return "ollama:nomic-embed-text" }
func (downEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("dial tcp 127.0.0.1:11434: connection refused")
}

// With the configured model unreachable, suggestions fall back to the
// builtin embedder and say so.
func TestFallbackToBuiltinEmbedder(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ := mapper.NewService(ctx, st, downEmbedder{})
	src, _ := mapper.Parse("a.json", []byte(shopOrder))
	tgt, _ := mapper.Parse("b.json", []byte(erpOrder))
	m, err := svc.Create(ctx, "", src, tgt, 3)
	if err != nil || len(m.Items) == 0 || !strings.Contains(m.Warning, "builtin embedder") {
		t.Fatalf("%v %+v", err, m)
	}
}
