package ai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/ollama"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/weftio/weft/internal/egress"
)

// The language-model providers, all through langchaingo.
const (
	ProviderOllama = "ollama" // Ollama's /api/chat and /api/embed
	ProviderOpenAI = "openai" // any OpenAI-compatible /v1/chat/completions and /v1/embeddings
)

// DefaultOllamaURL is where an Ollama server listens unless told otherwise.
const DefaultOllamaURL = "http://127.0.0.1:11434"

// DefaultMaxResponse bounds one HTTP response body from a model server
// unless LLMConfig.MaxResponse says otherwise: below the 512,000-byte line
// langchaingo's Ollama client reads, whose overflow it would drop silently.
const DefaultMaxResponse = 480 << 10

// ErrUnreachable marks a model server that could not be reached (refused,
// no route, DNS): a caller with a builtin fallback uses it.
var ErrUnreachable = errors.New("model unreachable")

// LLMConfig is one language model, the way the server's ai settings, the
// CLI and the evals describe it. NewChat builds it; NL-to-flow and the
// mapper's re-ranker share that one construction.
type LLMConfig struct {
	Provider string // ollama | openai
	URL      string // ollama: default DefaultOllamaURL; openai: required (e.g. http://127.0.0.1:8000/v1)
	Model    string // ollama: default llama3.1; openai: required
	Token    string // openai: the bearer token (WEFT_AI_API_KEY), sent nowhere else
	// HTTP carries the egress policy (nil: a plain client).
	HTTP *http.Client
	// Format is the answer's JSON Schema for OpenAI-compatible structured
	// output (nil: JSON mode). Ollama answers in JSON mode either way.
	Format *openai.ResponseFormat
	// MaxResponse bounds each response body (0: DefaultMaxResponse).
	MaxResponse int64
}

// Chat is a language model answering one prompt with one JSON object, at
// temperature 0, through langchaingo.
type Chat struct {
	label string
	llm   llms.Model
	max   int64
	over  *atomic.Int64 // response bodies cut at max
}

// NewChat builds the model c describes. Nothing dials out until Generate.
func NewChat(c LLMConfig) (*Chat, error) {
	max := c.MaxResponse
	if max <= 0 {
		max = DefaultMaxResponse
	}
	hc, over := capped(c.HTTP, max)
	switch c.Provider {
	case ProviderOllama:
		u, model := orDefault(c.URL, DefaultOllamaURL), orDefault(c.Model, "llama3.1")
		if err := checkURL(u); err != nil {
			return nil, err
		}
		m, err := ollama.New(ollama.WithServerURL(u), ollama.WithModel(model), ollama.WithFormat("json"), ollama.WithHTTPClient(hc))
		if err != nil {
			return nil, err
		}
		return &Chat{label: "ollama/" + model, llm: m, max: max, over: over}, nil
	case ProviderOpenAI:
		if c.URL == "" || c.Model == "" {
			return nil, errors.New("an OpenAI-compatible model needs its URL (e.g. http://127.0.0.1:8000/v1) and its model name")
		}
		if err := checkURL(c.URL); err != nil {
			return nil, err
		}
		opts := []openai.Option{openai.WithBaseURL(c.URL), openai.WithModel(c.Model), openai.WithToken(token(c.Token)), openai.WithHTTPClient(legibleRefusal{hc})}
		if c.Format != nil {
			opts = append(opts, openai.WithResponseFormat(c.Format))
		}
		m, err := openai.New(opts...)
		if err != nil {
			return nil, err
		}
		return &Chat{label: "openai/" + c.Model, llm: m, max: max, over: over}, nil
	}
	return nil, fmt.Errorf("the language model must be ollama or openai, got %q", c.Provider)
}

// Name is provider/model.
func (c *Chat) Name() string { return c.label }

// Generate sends prompt as the one user message, in JSON mode at
// temperature 0, and returns the answer's text. A server that cannot be
// reached is an error wrapping ErrUnreachable.
func (c *Chat) Generate(ctx context.Context, prompt string) (string, error) {
	msgs := []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, prompt)}
	cut := c.over.Load()
	resp, err := c.llm.GenerateContent(ctx, msgs, llms.WithJSONMode(), llms.WithTemperature(0))
	if c.over.Load() != cut {
		return "", fmt.Errorf("the model server's response is over %d bytes", c.max)
	}
	if err != nil {
		if isUnreachable(err) {
			return "", fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		return "", err
	}
	if len(resp.Choices) == 0 {
		return "", errors.New("the model returned no choices")
	}
	return resp.Choices[0].Content, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// token: local servers take any token; langchaingo requires one.
func token(t string) string { return orDefault(t, "none") }

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bad model server URL %q (want http://host:port)", raw)
	}
	return nil
}

func isUnreachable(err error) bool {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ue) || errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused")
}

// capped returns a client like hc whose response bodies fail past max
// bytes, and the count of bodies cut (langchaingo's Ollama client drops a
// read error, so the count is what tells).
func capped(hc *http.Client, max int64) (*http.Client, *atomic.Int64) {
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
	c.Transport = capTransport{rt, max, over}
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
	resp.Body = &capBody{rc: resp.Body, left: t.n, max: t.n, over: t.over}
	return resp, nil
}

type capBody struct {
	rc        io.ReadCloser
	left, max int64
	over      *atomic.Int64
	cut       bool
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
		return 0, fmt.Errorf("the model server's response is over %d bytes", b.max)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *capBody) Close() error { return b.rc.Close() }

// legibleRefusal keeps a transport error legible: langchaingo's OpenAI
// client replaces a bare network error with "failed to reach API server",
// which would hide that the egress policy, not the network, stopped the
// call, or that nothing listens (ErrUnreachable, for the callers'
// fallback). Wrapped, the error keeps its chain.
type legibleRefusal struct{ c *http.Client }

func (d legibleRefusal) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	var re *egress.RefusedError
	switch {
	case err == nil:
		return resp, nil
	case errors.As(err, &re):
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, re)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return nil, err
	}
	return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
}
