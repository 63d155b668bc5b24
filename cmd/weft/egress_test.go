package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/monitor"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "weft.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEgressConfig(t *testing.T) {
	c, err := loadConfig(writeConfig(t, "egress:\n  allow: [\"127.0.0.1\", \"::1\", \"localhost\", \"*.example.com:443\", \"10.0.0.0/8\", \"[::1]:5432\"]\n  log_refused: false\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.egress == nil || !c.egress.Allowed("localhost", 8080) || !c.egress.Allowed("api.example.com", 443) || c.egress.Allowed("api.example.com", 80) {
		t.Fatal("egress policy not built from the config")
	}
	if c, err := loadConfig(writeConfig(t, "addr: 127.0.0.1:8080\n"), nil); err != nil || c.egress != nil {
		t.Fatalf("no egress section: no policy (%v)", err)
	}
	for body, want := range map[string]string{
		"egress:\n  allow: [\"10.0.0.0/33\"]\n":    "egress.allow[0]",
		"egress:\n  allow: [\"host:99999\"]\n":     "bad port",
		"egress:\n  allow: [\"a\"]\n  deny: [x]\n": "deny",
	} {
		if _, err := loadConfig(writeConfig(t, body), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %q", body, err, want)
		}
	}
}

// The AI backends' HTTP clients dial through the policy: an httptest
// Ollama/OpenAI-compatible server is used when allowed and refused
// (counted, logged, in /metrics) when not.
func TestEgressAIBackends(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/embed":
			_ = json.NewEncoder(w).Encode(map[string]any{"model": "m", "embeddings": [][]float32{{1, 2, 3}}})
		case "/v1/embeddings":
			_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": "e", "data": []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float32{1, 2, 3}}}})
		case "/v1/chat/completions":
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "m",
				"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": `{"ok":true}`}}}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	cfg := AIConfig{Embedder: "ollama", OllamaURL: srv.URL, LLM: "openai", LLMURL: srv.URL + "/v1", LLMModel: "m"}
	use := func(pol *egress.Policy) (embErr, llmErr error) {
		emb, comp, err := aiBackends(nil, cfg, pol)
		if err != nil {
			t.Fatal(err)
		}
		_, embErr = emb.Embed(context.Background(), []string{"x"})
		_, llmErr = comp.LLM.Generate(context.Background(), "say ok")
		return
	}
	allow := egress.MustNew("127.0.0.1:" + port)
	if e, l := use(allow); e != nil || l != nil {
		t.Fatalf("allowed: embed %v, llm %v", e, l)
	}
	var logs bytes.Buffer
	deny := egress.MustNew("localhost:11434")
	deny.Log = slog.New(slog.NewTextHandler(&logs, nil))
	e, l := use(deny)
	for _, err := range []error{e, l} {
		if err == nil || !strings.Contains(err.Error(), "egress: dial to 127.0.0.1:"+port+" refused by the egress policy") {
			t.Fatalf("refused: %v (embed %v, llm %v)", err, e, l)
		}
	}
	if !strings.Contains(logs.String(), `by="ai embedder ollama"`) || !strings.Contains(logs.String(), `by="ai llm openai"`) {
		t.Fatalf("log: %s", logs.String())
	}
	// The Ollama chat model too.
	oc := cfg
	oc.LLM, oc.LLMURL = "ollama", srv.URL
	comp, err := newComposer(nil, oc, nil, deny)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := comp.LLM.Generate(context.Background(), "say ok"); err == nil || !strings.Contains(err.Error(), "refused by the egress policy") {
		t.Fatalf("ollama llm refused: %v", err)
	}
	// The OpenAI-compatible embedder too: allowed, then refused.
	ec := AIConfig{Embedder: "openai", EmbedURL: srv.URL + "/v1", EmbedModel: "e"}
	for _, pol := range []*egress.Policy{allow, deny} {
		emb, err := embedder(ec, pol)
		if err != nil {
			t.Fatal(err)
		}
		_, err = emb.Embed(context.Background(), []string{"x"})
		if (pol == allow) != (err == nil) || (err != nil && !strings.Contains(err.Error(), "refused by the egress policy")) {
			t.Fatalf("openai embedder (allowed %v): %v", pol == allow, err)
		}
	}
	if !strings.Contains(logs.String(), `by="ai embedder openai"`) {
		t.Fatalf("log: %s", logs.String())
	}
	if _, err := embedder(AIConfig{Embedder: "openai", EmbedModel: "e"}, nil); err == nil || !strings.Contains(err.Error(), "ai.embed_url") {
		t.Fatalf("openai embedder without a URL: %v", err)
	}
	if deny.Refused() < 4 {
		t.Fatalf("refused %d", deny.Refused())
	}
	m := monitor.NewMetrics()
	m.Register(deny.Collector())
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `weft_egress_refused_total{target="127.0.0.1:`+port+`"}`) {
		t.Fatalf("/metrics lacks the refusal counter:\n%s", rec.Body.String())
	}
}
