package mapper

import (
	"errors"
	"net/http"

	"github.com/tmc/langchaingo/llms/openai"

	"github.com/weftio/weft/ai"
)

// NewOllamaChat is the re-ranker's model served by Ollama's /api/chat
// (format "json"), through langchaingo: ai.NewChat, the construction
// NL-to-flow shares. hc carries the egress policy (nil: a plain client);
// either way the response body is cut at maxRerankResponse.
func NewOllamaChat(serverURL, model string, hc *http.Client) (Chat, error) {
	return newChat(RerankLLM(ai.LLMConfig{Provider: ai.ProviderOllama, URL: serverURL, Model: model, HTTP: hc}))
}

// NewOpenAIChat is the re-ranker's model served by any OpenAI-compatible
// /v1/chat/completions, with structured output (the rankings' shape),
// through langchaingo (ai.NewChat). The token is sent as the bearer token,
// nowhere else.
func NewOpenAIChat(baseURL, model, token string, hc *http.Client) (Chat, error) {
	if model == "" {
		return nil, errors.New("the OpenAI-compatible re-ranker needs a model name")
	}
	return newChat(RerankLLM(ai.LLMConfig{Provider: ai.ProviderOpenAI, URL: baseURL, Model: model, Token: token, HTTP: hc}))
}

// newChat is ai.NewChat as a Chat (nil, not a nil *ai.Chat, on error).
func newChat(c ai.LLMConfig) (Chat, error) {
	m, err := ai.NewChat(c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RerankLLM is c with what the re-ranker asks of any model: the rankings'
// shape for structured output and its bound on a response.
func RerankLLM(c ai.LLMConfig) ai.LLMConfig {
	c.Format = rankingsFormat()
	c.MaxResponse = maxRerankResponse
	return c
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
