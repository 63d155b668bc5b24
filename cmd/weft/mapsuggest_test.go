package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/mapper"
)

// mapFiles writes a CSV source and a sample-payload target.
func mapFiles(t *testing.T) (src, tgt string) {
	t.Helper()
	dir := t.TempDir()
	src, tgt = filepath.Join(dir, "leads.csv"), filepath.Join(dir, "contact.json")
	if err := os.WriteFile(src, []byte("First Name,Last Name,E-mail,Tel,Organisation\nGrace,Hopper,grace@example.com,+1 212 555 0100,Navy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tgt, []byte(`{"full_name":"Ada Lovelace","email_address":"ada@example.com","work_email":"ada@work.example","phone":"+44 20 7946 0018","company":"Analytical Ltd"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return src, tgt
}

func runCLI(args ...string) (string, int) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String() + errOut.String(), code
}

// weft map suggest on two files needs no server: computed here, printed,
// nothing sent (noServer fails the test on any request) and nothing stored.
func TestMapSuggestOffline(t *testing.T) {
	noServer(t)
	src, tgt := mapFiles(t)
	out, code := runCLI("map", "suggest", "--source", src, "--target", tgt)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{"mapping (not stored): leads.csv -> contact", "email_address", "E-mail", "full_name", "First Name+Last Name", "not stored: add --save"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	out, code = runCLI("map", "suggest", "--source", src, "--target", tgt, "--json", "--top", "3")
	var m mapper.Mapping
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	got := map[string]string{}
	for _, it := range m.Items {
		got[it.Target] = strings.Join(it.Sources, "+")
	}
	if m.ID != "" || got["full_name"] != "First Name+Last Name" || got["phone"] != "Tel" || m.Rerank != nil {
		t.Fatalf("%+v", m)
	}
	for p, cs := range m.Candidates {
		if len(cs) > 3 {
			t.Fatalf("%s: %d candidates at --top 3", p, len(cs))
		}
	}
	// Bad input is a clear error, still without a server.
	empty := filepath.Join(t.TempDir(), "empty.json")
	os.WriteFile(empty, []byte(`{"name": "nothing", "fields": []}`), 0o600)
	if out, code := runCLI("map", "suggest", "--source", empty, "--target", tgt); code == 0 || !strings.Contains(out, "has no fields") {
		t.Fatalf("empty: %d %s", code, out)
	}
	if out, code := runCLI("map", "suggest", "--source", src, "--target", filepath.Join(t.TempDir(), "missing.json")); code == 0 || !strings.Contains(out, "no such file") {
		t.Fatalf("missing: %d %s", code, out)
	}
	// The local re-ranker's flags are refused where the server suggests.
	if out, code := runCLI("map", "suggest", "--source", src, "--target", tgt, "--save", "--llm", "ollama"); code == 0 || !strings.Contains(out, "the server suggests with its own ai settings") {
		t.Fatalf("--save --llm: %d %s", code, out)
	}
	if out, code := runCLI("map", "suggest", "--source", src, "--target", tgt, "--llm", "gpt"); code == 0 || !strings.Contains(out, "ai.llm must be builtin, ollama or openai") {
		t.Fatalf("--llm gpt: %d %s", code, out)
	}
}

// A table: side is read by the server: with none reachable, a clear error.
func TestMapSuggestTableNeedsServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	t.Setenv("WEFT_SERVER", "http://"+addr)
	src, _ := mapFiles(t)
	out, code := runCLI("map", "suggest", "--source", src, "--target", "table:crm.contacts")
	if code == 0 || !strings.Contains(out, "a table: side is read through the server's database connection, so it needs the server") || !strings.Contains(out, "cannot reach the weft server") {
		t.Fatalf("%d %s", code, out)
	}
}

// --save stores the suggestion on the server for review; without it the
// server stores nothing (the console's flow, POST /api/mappings, still
// stores; "preview": true does not).
func TestMapSuggestSave(t *testing.T) {
	_, cli := cliAgainstServer(t, "tok-map-0123456789")
	src, tgt := mapFiles(t)
	if out, code := cli("", "map", "suggest", "--source", src, "--target", tgt); code != 0 {
		t.Fatalf("local: %d %s", code, out)
	}
	if out, code := cli("", "map", "list", "--json"); code != 0 || strings.Contains(out, "leads.csv") {
		t.Fatalf("stored without --save: %s", out)
	}
	out, code := cli("", "map", "suggest", "--source", src, "--target", tgt, "--save", "--json", "--name", "leads to contacts")
	var m mapper.Mapping
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil || m.ID == "" {
		t.Fatalf("--save: %d %v %s", code, err, out)
	}
	if out, code := cli("", "map", "list"); code != 0 || !strings.Contains(out, m.ID) || !strings.Contains(out, "leads to contacts") {
		t.Fatalf("list: %d %s", code, out)
	}
	if out, code := cli("", "map", "accept", m.ID, "--all", "--reviewer", "ana"); code != 0 || !strings.Contains(out, "accepted") {
		t.Fatalf("accept: %d %s", code, out)
	}
	// The API: a preview is proposed, not stored; a plain POST is stored.
	post := func(preview bool) (int, map[string]any) {
		body, _ := json.Marshal(map[string]any{"source": map[string]any{"name": "a", "doc": json.RawMessage(`{"email":"x@y.z"}`)},
			"target": map[string]any{"name": "b", "doc": json.RawMessage(`{"email_address":"x@y.z"}`)}, "preview": preview})
		req, _ := http.NewRequest("POST", os.Getenv("WEFT_SERVER")+"/api/mappings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+os.Getenv("WEFT_API_TOKEN"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, m := post(true); code != 200 || m["id"] != "" || len(anyList(m["items"])) != 1 {
		t.Fatalf("preview: %d %v", code, m)
	}
	if code, m := post(false); code != 201 || m["id"] == "" {
		t.Fatalf("create: %d %v", code, m)
	}
	out, _ = cli("", "map", "list", "--json")
	var list struct{ Mappings []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Mappings) != 2 {
		t.Fatalf("want 2 stored mappings (--save and the plain POST): %v %s", err, out)
	}
}

// The re-ranker, chosen by flags, on two files: an httptest Ollama
// reverses email's candidates; the output says what the model did.
func TestMapSuggestOfflineWithReranker(t *testing.T) {
	noServer(t)
	src, tgt := mapFiles(t)
	var hits atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		data, _ := io.ReadAll(r.Body)
		var body struct {
			Model    string `json:"model"`
			Messages []struct{ Content string }
		}
		_ = json.Unmarshal(data, &body)
		answer := `{"rankings": [{"source": "E-mail", "targets": ["work_email", "email_address"]}]}`
		if r.URL.Path != "/api/chat" || body.Model != "tiny" || !strings.Contains(body.Messages[0].Content, "Source field E-mail") {
			answer = "not what was asked"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"model": body.Model, "message": map[string]any{"role": "assistant", "content": answer}, "done": true})
	}))
	defer model.Close()
	out, code := runCLI("map", "suggest", "--source", src, "--target", tgt, "--json", "--llm", "ollama", "--llm-url", model.URL, "--llm-model", "tiny")
	var m mapper.Mapping
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil {
		t.Fatalf("%d %v %s", code, err, out)
	}
	if hits.Load() != 1 || m.Rerank == nil || m.Rerank.Backend != "ollama/tiny" || m.Rerank.Fallback != "" || m.Rerank.Fields != 1 {
		t.Fatalf("hits %d, rerank %+v, warning %q", hits.Load(), m.Rerank, m.Warning)
	}
	if cs := m.Candidates["E-mail"]; len(cs) < 2 || cs[0].Target != "work_email" {
		t.Fatalf("E-mail's candidates %v", cs)
	}
	// A model server that is down: the builtin order, said.
	model.Close()
	out, code = runCLI("map", "suggest", "--source", src, "--target", tgt, "--llm", "ollama", "--llm-url", model.URL, "--llm-model", "tiny")
	if code != 0 || !strings.Contains(out, "re-ranked by ollama/tiny: 0 source fields") || !strings.Contains(out, "warning: re-ranker ollama/tiny: builtin order kept") {
		t.Fatalf("%d %s", code, out)
	}
}

// The server's re-ranker dials through the egress policy, like NL-to-flow's
// model: refused, counted, and the builtin order kept with the reason.
func TestMapRerankerEgress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	deny := egress.MustNew("localhost:11434")
	rr, err := mapReranker(AIConfig{LLM: "openai", LLMURL: srv.URL + "/v1", LLMModel: "m", llmKey: "sk-secret-key"}, deny)
	if err != nil || rr == nil {
		t.Fatal(err)
	}
	src, _ := mapper.FromFieldList([]byte(`{"name":"a","fields":[{"name":"email"}]}`))
	tgt, _ := mapper.FromFieldList([]byte(`{"name":"b","fields":[{"name":"email_address"},{"name":"work_email"}]}`))
	res, err := mapper.Suggest(t.Context(), src, tgt, mapper.Options{})
	if err != nil || len(res.Candidates["email"]) < 2 {
		t.Fatalf("%v %v", err, res.Candidates)
	}
	_, rep := rr.Rerank(t.Context(), src, tgt, res)
	if !strings.Contains(rep.Fallback, "refused by the egress policy") || strings.Contains(rep.Fallback, "sk-secret") || hits.Load() != 0 || deny.Refused() != 1 {
		t.Fatalf("fallback %q, hits %d, refused %d", rep.Fallback, hits.Load(), deny.Refused())
	}
	if rr, err := mapReranker(AIConfig{}, nil); rr != nil || err != nil {
		t.Fatalf("builtin: %v %v", rr, err)
	}
	if _, err := mapReranker(AIConfig{LLM: "openai"}, nil); err == nil {
		t.Fatal("openai without url and model accepted")
	}
}

// --config: the local re-ranker takes the file's ai section and egress
// policy; a model server outside the allow list is refused, said, and the
// builtin proposal printed.
func TestMapSuggestOfflineConfigEgress(t *testing.T) {
	noServer(t)
	src, tgt := mapFiles(t)
	var hits atomic.Int32
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer model.Close()
	cfg := filepath.Join(t.TempDir(), "weft.yaml")
	os.WriteFile(cfg, []byte("ai:\n  llm: ollama\n  llm_url: "+model.URL+"\n  llm_model: tiny\negress:\n  allow: [\"localhost:11434\"]\n"), 0o600)
	out, code := runCLI("map", "suggest", "--source", src, "--target", tgt, "--config", cfg)
	if code != 0 || hits.Load() != 0 || !strings.Contains(out, "refused by the egress policy") || !strings.Contains(out, "email_address") {
		t.Fatalf("%d, %d hits: %s", code, hits.Load(), out)
	}
}

// --config with an embeddings model: the local suggestion embeds with it
// (an httptest server speaking /v1/embeddings), as the server's would;
// with that server gone, the builtin embedder, said.
func TestMapSuggestOfflineConfigEmbedder(t *testing.T) {
	noServer(t)
	src, tgt := mapFiles(t)
	var texts atomic.Int32
	emb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		data, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/embeddings" || json.Unmarshal(data, &body) != nil || body.Model != "bge-small" {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		texts.Add(int32(len(body.Input)))
		var out []map[string]any
		for i, in := range body.Input {
			out = append(out, map[string]any{"object": "embedding", "index": i, "embedding": []float32{float32(len(in)), 1, float32(strings.Count(in, "e"))}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": out, "model": body.Model, "usage": map[string]any{"prompt_tokens": 1, "total_tokens": 1}})
	}))
	defer emb.Close()
	cfg := filepath.Join(t.TempDir(), "weft.yaml")
	os.WriteFile(cfg, []byte("ai:\n  embedder: openai\n  embed_url: "+emb.URL+"/v1\n  embed_model: bge-small\n"), 0o600)
	out, code := runCLI("map", "suggest", "--source", src, "--target", tgt, "--config", cfg, "--json")
	var m mapper.Mapping
	if err := json.Unmarshal([]byte(out), &m); code != 0 || err != nil || m.Warning != "" || len(m.Items) == 0 {
		t.Fatalf("%d %v %s", code, err, out)
	}
	if texts.Load() == 0 {
		t.Fatal("the configured embedder was not used")
	}
	emb.Close()
	out, code = runCLI("map", "suggest", "--source", src, "--target", tgt, "--config", cfg)
	if code != 0 || !strings.Contains(out, "the openai:bge-small embedder failed") || !strings.Contains(out, "email_address") {
		t.Fatalf("%d %s", code, out)
	}
}
