package nl2flow

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/qdranttest"
	"github.com/weftio/weft/connectors"
)

type countingEmbedder struct{ texts atomic.Int64 }

func (c *countingEmbedder) Name() string { return "counting" }
func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return ai.Builtin{}.Embed(ctx, texts)
}

// Retrieval for the model's prompt ranks with the shared search: the
// operations a request is about come first, every operation is still
// listed once, and operations are embedded once, not per request; through
// Qdrant (the in-process one) when Vectors is a Qdrant index.
func TestRankSharedSearch(t *testing.T) {
	srv := qdranttest.Start(t)
	q, err := ai.NewQdrant(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cc := connectors.NewCatalog(&connectors.Connector{Name: "crm", Title: "CRM", Operations: []*connectors.Operation{
		{Name: "listContacts", Title: "List contacts", Description: "List contacts, newest first"},
		{Name: "createInvoice", Title: "Create invoice", Description: "Bill a customer"},
		{Name: "deleteContact", Title: "Delete contact", Description: "Delete a contact"},
	}}, &connectors.Connector{Name: "chat", Title: "Chat", Operations: []*connectors.Operation{
		{Name: "postMessage", Title: "Post message", Description: "Send a message to a channel"},
	}})
	for _, conn := range []string{"crm", "chat"} {
		if err := cc.AddConnection(&connectors.Connection{Name: conn, Connector: conn}); err != nil {
			t.Fatal(err)
		}
	}
	cat := FromConnectors(cc)
	for name, vec := range map[string]ai.VectorIndex{"memory": nil, "qdrant": q} {
		emb := &countingEmbedder{}
		c := &Compiler{Embedder: emb, Vectors: vec}
		for i, tc := range []struct{ text, first string }{
			{"post a message in the sales channel", "chat.postMessage"},
			{"bill the customer", "crm.createInvoice"},
		} {
			before := emb.texts.Load()
			ops, err := c.rank(context.Background(), cat, tc.text)
			if err != nil || len(ops) != len(cat.Ops) || ops[0].Ref != tc.first {
				t.Fatalf("%s: %q: %v %v", name, tc.text, refs(ops), err)
			}
			if i > 0 && emb.texts.Load()-before != 1 {
				t.Fatalf("%s: a second request embedded %d texts", name, emb.texts.Load()-before)
			}
		}
	}
	if srv.Calls("/qdrant.Points/Query") < 2 {
		t.Fatal("retrieval did not query Qdrant")
	}
}

func refs(ops []*Op) []string {
	var out []string
	for _, op := range ops {
		out = append(out, op.Ref)
	}
	return out
}

// eventRecord reads the catalog's structure: a connector's only pollable
// list, or the one nested under another pollable record's id.
func TestEventRecordFromCatalogStructure(t *testing.T) {
	cat := exampleCatalog(t)
	for conn, want := range map[string]string{"hr": "hr.listEmployees", "chat": "chat.listMessages", "tracker": "tracker.listIssues", "crm": "", "erp": ""} {
		got := ""
		if op := cat.eventRecord(conn); op != nil {
			got = op.Ref
		}
		if got != want {
			t.Errorf("%s: %q, want %q", conn, got, want)
		}
	}
}
