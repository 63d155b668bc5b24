package ai

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewChatConfig(t *testing.T) {
	for _, c := range []LLMConfig{{Provider: "gpt"}, {Provider: ""}, {Provider: ProviderOpenAI, URL: "http://x/v1"}, {Provider: ProviderOpenAI, Model: "m"},
		{Provider: ProviderOllama, URL: "not a url"}, {Provider: ProviderOpenAI, URL: "file:///etc", Model: "m"}} {
		if _, err := NewChat(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	m, err := NewChat(LLMConfig{Provider: ProviderOllama})
	if err != nil || m.Name() != "ollama/llama3.1" {
		t.Fatalf("ollama defaults: %v %v", m, err)
	}
}

// Nothing listening: ErrUnreachable (NL-to-flow falls back to its builtin
// compiler on it), for both providers. A body past MaxResponse is refused
// with the bound named.
func TestChatUnreachableAndBounded(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	u := down.URL
	down.Close()
	for _, c := range []LLMConfig{{Provider: ProviderOllama, URL: u}, {Provider: ProviderOpenAI, URL: u + "/v1", Model: "m"}} {
		m, err := NewChat(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Generate(context.Background(), "hi"); !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: %v", c.Provider, err)
		}
	}
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"model":"m","message":{"role":"assistant","content":"` + strings.Repeat("x", 5000) + `"},"done":true}`))
	}))
	defer big.Close()
	m, _ := NewChat(LLMConfig{Provider: ProviderOllama, URL: big.URL, Model: "m", MaxResponse: 1000})
	if _, err := m.Generate(context.Background(), "hi"); err == nil || !strings.Contains(err.Error(), "over 1000 bytes") {
		t.Fatalf("large response: %v", err)
	}
	m, _ = NewChat(LLMConfig{Provider: ProviderOllama, URL: big.URL, Model: "m"})
	if out, err := m.Generate(context.Background(), "hi"); err != nil || len(out) != 5000 {
		t.Fatalf("within the default bound: %d %v", len(out), err)
	}
}
