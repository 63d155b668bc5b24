package ai

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An httptest server speaking Ollama's /api/embed request and response
// shapes (not a real model): the embedder sends one batched request with
// the model and inputs, and reads embeddings back in order.
func TestOllamaEmbedAgainstFakeOllamaServer(t *testing.T) {
	var got struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path != "/api/embed" || r.Method != "POST" {
			http.NotFound(w, r)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		if got.Model == "missing" {
			w.WriteHeader(404)
			json.NewEncoder(w).Encode(map[string]any{"error": `model "missing" not found, try pulling it first`})
			return
		}
		var embs [][]float32
		for _, in := range got.Input {
			embs = append(embs, []float32{float32(len(in)), 1, 0})
		}
		json.NewEncoder(w).Encode(map[string]any{"model": got.Model, "embeddings": embs, "total_duration": 1234, "prompt_eval_count": len(got.Input)})
	}))
	defer srv.Close()
	o, err := NewOllama(srv.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := NewCached(o, 0).Embed(context.Background(), []string{"customer_email", "", "zip"})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || got.Model != "nomic-embed-text" || len(got.Input) != 3 || got.Input[1] != " " || len(vs) != 3 || vs[2][0] != 3 {
		t.Fatalf("calls %d request %+v vectors %v", calls, got, vs)
	}
	bad, _ := NewOllama(srv.URL, "missing", nil)
	if _, err := bad.Embed(context.Background(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing model: %v", err)
	}
	if _, err := NewOllama("not a url", "", nil); err == nil {
		t.Fatal("bad URL accepted")
	}
}
