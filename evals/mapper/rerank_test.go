package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftio/weft/mapper"
)

// The harness's re-ranker path against an httptest server speaking
// Ollama's /api/chat: the model's order reaches the scored predictions
// (by score, as score.py reads them) and the run's counts.
func TestRerankMethodAgainstFakeOllama(t *testing.T) {
	src, err := mapper.FromFieldList([]byte(`{"name":"lead","fields":[{"name":"email","type":"string"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := mapper.FromFieldList([]byte(`{"name":"contact","fields":[{"name":"work_email","type":"string"},{"name":"email_address","type":"string"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mapper.Suggest(context.Background(), src, tgt, mapper.Options{Top: 5})
	if err != nil || len(res.Candidates["email"]) != 2 {
		t.Fatalf("%v %v", err, res.Candidates)
	}
	second := res.Candidates["email"][1].Target // the model puts the builtin's second first
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		first := res.Candidates["email"][0].Target
		_ = json.NewEncoder(w).Encode(map[string]any{"model": "m", "done": true, "message": map[string]any{"role": "assistant",
			"content": `{"rankings": [{"source": "email", "targets": ["` + second + `", "` + first + `"]}]}`}})
	}))
	defer srv.Close()
	chat, err := newChat("ollama", "m", srv.URL, "", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	c := &extCase{Name: "one", src: src, tgt: tgt}
	c.Gold = append(c.Gold, struct {
		Source string `json:"source"`
		Target string `json:"target"`
	}{"email", second})
	stats := &rerankStats{}
	m := rerankMethod(context.Background(), mapper.Options{Top: 5}, &mapper.Reranker{Model: chat}, stats)
	ps, _ := m.rank(c)
	with := scoreCase(c, ps, m.threshold, nil, false)
	bps, _ := weftMethod(context.Background(), mapper.Options{Top: 5}).rank(c)
	without := scoreCase(c, bps, m.threshold, nil, false)
	if m.name != "weft+ollama" || with.hits1 != 1 || without.hits1 != 0 {
		t.Fatalf("%s: acc@1 hits with the re-ranker %d, without %d", m.name, with.hits1, without.hits1)
	}
	if stats.cases != 1 || stats.fields != 1 || stats.reordered != 1 || stats.fellBack != 0 {
		t.Fatalf("%+v", stats)
	}
	// Down: the builtin order, counted and said.
	srv.Close()
	ps, _ = m.rank(c)
	if s := scoreCase(c, ps, m.threshold, nil, false); s.hits1 != 0 || stats.fellBack != 1 || !strings.Contains(stats.String(), "fell back (some or all fields) on 1 cases") {
		t.Fatalf("%+v %s", s, stats)
	}
	if _, err := newChat("openai", "m", "", "", nil); err == nil {
		t.Fatal("openai without -url accepted")
	}
	if _, err := newChat("gpt", "m", "", "", nil); err == nil {
		t.Fatal("unknown backend accepted")
	}
}
