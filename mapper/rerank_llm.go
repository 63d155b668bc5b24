package mapper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/weftio/weft/internal/egress"
)

// langChat is a Chat over a langchaingo model, in JSON mode at
// temperature 0.
type langChat struct {
	label string
	llm   llms.Model
	over  *atomic.Int64 // responses cut at maxRerankResponse (langchaingo's Ollama client drops the read error)
}

func (l *langChat) Name() string { return l.label }

func (l *langChat) Generate(ctx context.Context, prompt string) (string, error) {
	msgs := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, prompt)}
	cut := l.over.Load()
	resp, err := l.llm.GenerateContent(ctx, msgs, llms.WithJSONMode(), llms.WithTemperature(0))
	if l.over.Load() != cut {
		return "", fmt.Errorf("the model server's response is over %d bytes", maxRerankResponse)
	}
	if err != nil {
		return "", err
	}
	if len(resp.Choices) == 0 {
		return "", errors.New("the model returned no choices")
	}
	return resp.Choices[0].Content, nil
}

// NewOllamaChat is the re-ranker's model served by Ollama's /api/chat
// (format "json"), through langchaingo. hc carries the egress policy (nil:
// a plain client); either way the response body is cut at
// MaxRerankAnswer plus room for the envelope.
func NewOllamaChat(serverURL, model string, hc *http.Client) (Chat, error) {
	if model == "" {
		model = "llama3.1"
	}
	c, over := capped(hc)
	m, err := ollama.New(ollama.WithServerURL(serverURL), ollama.WithModel(model), ollama.WithFormat("json"),
		ollama.WithHTTPClient(c))
	if err != nil {
		return nil, err
	}
	return &langChat{label: "ollama/" + model, llm: m, over: over}, nil
}

// NewOpenAIChat is the re-ranker's model served by any OpenAI-compatible
// /v1/chat/completions, with structured output (the rankings' shape),
// through langchaingo. The token is sent as the bearer token, nowhere else.
func NewOpenAIChat(baseURL, model, token string, hc *http.Client) (Chat, error) {
	if model == "" {
		return nil, errors.New("the OpenAI-compatible re-ranker needs a model name")
	}
	if token == "" {
		token = "none" // local servers take any token; langchaingo requires one
	}
	c, over := capped(hc)
	m, err := openai.New(openai.WithBaseURL(baseURL), openai.WithModel(model), openai.WithToken(token),
		openai.WithResponseFormat(rankingsFormat()), openai.WithHTTPClient(legibleRefusal{c}))
	if err != nil {
		return nil, err
	}
	return &langChat{label: "openai/" + model, llm: m, over: over}, nil
}

// rankingsFormat constrains the answer to {rankings: [{source, targets[]}]}.
func rankingsFormat() *openai.ResponseFormat {
	type prop = openai.ResponseFormatJSONSchemaProperty
	return &openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.ResponseFormatJSONSchema{
		Name: "weft_mapping_rankings",
		Schema: &prop{Type: "object", Required: []string{"rankings"}, Properties: map[string]*prop{
			"rankings": {Type: "array", Items: &prop{Type: "object", Required: []string{"source", "targets"}, Properties: map[string]*prop{
				"source":  {Type: "string"},
				"targets": {Type: "array", Items: &prop{Type: "string"}},
			}}},
		}},
	}}
}

// maxRerankResponse bounds one HTTP response body from the model server:
// the answer, JSON-escaped, plus its envelope (below the 512 KB line
// langchaingo's Ollama client reads, whose overflow it would drop silently).
const maxRerankResponse = 4 * MaxRerankAnswer

// capped returns a client like hc whose response bodies fail past
// maxRerankResponse bytes, and the count of bodies cut.
func capped(hc *http.Client) (*http.Client, *atomic.Int64) {
	c := &http.Client{}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	over := &atomic.Int64{}
	c.Transport = capTransport{rt, maxRerankResponse, over}
	return c, over
}

type capTransport struct {
	rt   http.RoundTripper
	n    int64
	over *atomic.Int64
}

func (t capTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &capBody{rc: resp.Body, left: t.n, over: t.over}
	return resp, nil
}

type capBody struct {
	rc   io.ReadCloser
	left int64
	over *atomic.Int64
	cut  bool
}

func (b *capBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 && err != nil {
			return 0, err // the body ended exactly at the limit
		}
		if !b.cut {
			b.cut = true
			b.over.Add(1)
		}
		return 0, fmt.Errorf("the model server's response is over %d bytes", maxRerankResponse)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *capBody) Close() error { return b.rc.Close() }

// legibleRefusal keeps an egress refusal visible: langchaingo's OpenAI
// client replaces every network error with "failed to reach API server".
type legibleRefusal struct{ c *http.Client }

func (d legibleRefusal) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	var re *egress.RefusedError
	if err != nil && errors.As(err, &re) {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, re)
	}
	return resp, err
}
