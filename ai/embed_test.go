package ai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// vecFor is the fake servers' "model": a vector from the text's length and
// its first letter, so order and identity are checkable.
func vecFor(s string) []float32 {
	v := []float32{float32(len(s)), 1, 0}
	if s != "" {
		v[2] = float32(s[0])
	}
	return v
}

// ollamaEmbedServer speaks Ollama's POST /api/embed: {"model", "input"
// (a string or a list)} → {"model", "embeddings": [[...]]}; an unknown
// model is a 404 with {"error"}.
func ollamaEmbedServer(t *testing.T) (*httptest.Server, *[]map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/embed" || r.Method != http.MethodPost {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		if body["model"] == "missing" {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": `model "missing" not found, try pulling it first`})
			return
		}
		var inputs []string
		switch in := body["input"].(type) {
		case string:
			inputs = []string{in}
		case []any:
			for _, x := range in {
				s, _ := x.(string)
				inputs = append(inputs, s)
			}
		}
		var embs [][]float32
		for _, in := range inputs {
			if in == "" {
				http.Error(w, `{"error":"input is empty"}`, http.StatusBadRequest)
				return
			}
			embs = append(embs, vecFor(in))
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"model": body["model"], "embeddings": embs, "total_duration": 1234, "load_duration": 10, "prompt_eval_count": len(inputs)})
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

// openAIEmbedServer speaks POST /v1/embeddings: {"model", "input": [...]}
// → {"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
// "model", "usage"}; a wrong key is a 401 with OpenAI's error object.
func openAIEmbedServer(t *testing.T, key string, mangle func([]map[string]any) []map[string]any) (*httptest.Server, *[]map[string]any) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
			return
		}
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		in, _ := body["input"].([]any)
		var out []map[string]any
		for i, x := range in {
			s, _ := x.(string)
			out = append(out, map[string]any{"object": "embedding", "index": i, "embedding": vecFor(s)})
		}
		if mangle != nil {
			out = mangle(out)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": out, "model": body["model"],
			"usage": map[string]any{"prompt_tokens": len(in), "total_tokens": len(in)}})
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func TestEmbedderOllamaHTTPTestServer(t *testing.T) {
	ctx := context.Background()
	srv, bodies := ollamaEmbedServer(t)
	e, err := NewEmbedder(EmbedConfig{Provider: ProviderOllama, URL: srv.URL, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "ollama:nomic-embed-text" {
		t.Fatalf("name %q", e.Name())
	}
	texts := []string{"customer email", "", "zip\ncode"}
	vs, err := e.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0][0] != 14 || vs[0][2] != 'c' || vs[1][0] != 1 || vs[2][0] != 8 {
		t.Fatalf("vectors %v", vs)
	}
	if texts[2] != "zip\ncode" {
		t.Fatal("the caller's texts were changed")
	}
	if len(*bodies) == 0 || (*bodies)[0]["model"] != "nomic-embed-text" {
		t.Fatalf("requests %v", *bodies)
	}
	// The cache: the same texts again cost no request.
	n := len(*bodies)
	if _, err := e.Embed(ctx, texts[:1]); err != nil || len(*bodies) != n {
		t.Fatalf("a cached text was sent again (%d requests, %v)", len(*bodies)-n, err)
	}
	// The server's error is the caller's.
	bad, _ := NewEmbedder(EmbedConfig{Provider: ProviderOllama, URL: srv.URL, Model: "missing", HTTP: srv.Client()})
	if _, err := bad.Embed(ctx, []string{"x"}); err == nil || !strings.Contains(err.Error(), "ollama:missing") {
		t.Fatalf("missing model: %v", err)
	}
	// Nothing listening: ErrUnreachable, for the callers' fallback.
	down := httptest.NewServer(http.NotFoundHandler())
	u := down.URL
	down.Close()
	gone, _ := NewEmbedder(EmbedConfig{Provider: ProviderOllama, URL: u})
	if _, err := gone.Embed(ctx, []string{"x"}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestEmbedderOpenAICompatibleHTTPTestServer(t *testing.T) {
	ctx := context.Background()
	srv, bodies := openAIEmbedServer(t, "sk-test", nil)
	e, err := NewEmbedder(EmbedConfig{Provider: ProviderOpenAI, URL: srv.URL + "/v1", Model: "bge-small", Token: "sk-test", HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, EmbedBatch+6) // two batches
	for i := range texts {
		texts[i] = strings.Repeat("a", i+1)
	}
	vs, err := e.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v[0] != float32(i+1) {
			t.Fatalf("vector %d is %v: out of order", i, v)
		}
	}
	if len(*bodies) != 2 || (*bodies)[0]["model"] != "bge-small" || len((*bodies)[0]["input"].([]any)) != EmbedBatch {
		t.Fatalf("requests %d, first %v", len(*bodies), (*bodies)[0]["model"])
	}
	// A wrong key: the server's 401 comes back, the key does not.
	wrong, _ := NewEmbedder(EmbedConfig{Provider: ProviderOpenAI, URL: srv.URL + "/v1", Model: "bge-small", Token: "sk-wrong-secret", HTTP: srv.Client()})
	if _, err := wrong.Embed(ctx, []string{"x"}); err == nil || strings.Contains(err.Error(), "sk-wrong") {
		t.Fatalf("wrong key: %v", err)
	}
	// A server answering with vectors of two lengths, or too few: refused.
	ragged, _ := openAIEmbedServer(t, "k", func(d []map[string]any) []map[string]any {
		d[len(d)-1]["embedding"] = []float32{1, 2}
		return d
	})
	r, _ := NewEmbedder(EmbedConfig{Provider: ProviderOpenAI, URL: ragged.URL + "/v1", Model: "m", Token: "k", HTTP: ragged.Client()})
	if _, err := r.Embed(ctx, []string{"one", "two"}); err == nil || !strings.Contains(err.Error(), "dimensions") {
		t.Fatalf("ragged: %v", err)
	}
	short, _ := openAIEmbedServer(t, "k", func(d []map[string]any) []map[string]any { return d[:1] })
	s, _ := NewEmbedder(EmbedConfig{Provider: ProviderOpenAI, URL: short.URL + "/v1", Model: "m", Token: "k", HTTP: short.Client()})
	if _, err := s.Embed(ctx, []string{"one", "two"}); err == nil {
		t.Fatal("one embedding for two inputs was accepted")
	}
}

func TestNewEmbedderConfig(t *testing.T) {
	if e, err := NewEmbedder(EmbedConfig{}); err != nil || e.Name() != (Builtin{}).Name() {
		t.Fatalf("default: %v %v", e, err)
	}
	for _, c := range []EmbedConfig{{Provider: "gpt"}, {Provider: ProviderOpenAI, URL: "http://x/v1"}, {Provider: ProviderOpenAI, Model: "m"},
		{Provider: ProviderOllama, URL: "not a url"}, {Provider: ProviderOpenAI, URL: "ftp://x", Model: "m"}} {
		if _, err := NewEmbedder(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
