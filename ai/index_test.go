package ai_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/indextest"
	"github.com/weftio/weft/ai/qdranttest"
)

func TestMemoryIndexContract(t *testing.T) {
	idx := ai.NewMemoryIndex()
	indextest.Run(t, func(*testing.T) ai.VectorIndex { return idx })
}

// The Qdrant index runs the same contract against the in-process Qdrant
// (ai/qdranttest: Qdrant's gRPC API on a loopback port) every time, through
// the real go-client, with an API key as a real server would require.
func TestQdrantIndexContract(t *testing.T) {
	srv := qdranttest.Start(t)
	srv.APIKey = "k-contract"
	q, err := ai.NewQdrant(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	indextest.Run(t, func(*testing.T) ai.VectorIndex { return q })
	if srv.Calls("/qdrant.Points/Upsert") == 0 || srv.Calls("/qdrant.Points/Query") == 0 || srv.Calls("/qdrant.Points/Delete") == 0 {
		t.Fatal("the contract did not go through Qdrant's gRPC API")
	}
	bad, err := ai.NewQdrant("http://" + strings.TrimPrefix(strings.SplitN(srv.URL(), "?", 2)[0], "http://") + "?api_key=wrong")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Search(context.Background(), "any", []float32{1}, 1); err == nil {
		t.Fatal("a wrong API key was accepted")
	}
}

// With WEFT_QDRANT_URL set, the contract also runs against that server (a
// real Qdrant); unset, TestQdrantIndexContract above is the check.
func TestQdrantIndexContractExternal(t *testing.T) {
	url := os.Getenv("WEFT_QDRANT_URL")
	if url == "" {
		return
	}
	q, err := ai.NewQdrant(url)
	if err != nil {
		t.Fatal(err)
	}
	indextest.Run(t, func(*testing.T) ai.VectorIndex { return q })
}

func TestQdrantRequests(t *testing.T) {
	cfg, err := ai.QdrantConfig("https://qdrant.internal:6335?api_key=k-1")
	if err != nil || cfg.Host != "qdrant.internal" || cfg.Port != 6335 || cfg.APIKey != "k-1" || !cfg.UseTLS {
		t.Fatalf("%+v %v", cfg, err)
	}
	if _, err := ai.QdrantConfig("not a url"); err == nil {
		t.Fatal("bad URL accepted")
	}
	up := ai.UpsertRequest("fields", []ai.Point{{ID: "crm.email", Vector: []float32{0.1, 0.2}, Payload: map[string]string{"text": "email"}}})
	p := up.GetPoints()[0]
	if up.GetCollectionName() != "fields" || !up.GetWait() || p.GetPayload()["weft_id"].GetStringValue() != "crm.email" ||
		p.GetPayload()["text"].GetStringValue() != "email" || len(p.GetVectors().GetVector().GetDense().GetData()) != 2 || p.GetId().GetUuid() == "" {
		t.Fatalf("upsert request %v", up)
	}
	again := ai.UpsertRequest("fields", []ai.Point{{ID: "crm.email", Vector: []float32{1, 0}}})
	if again.GetPoints()[0].GetId().GetUuid() != p.GetId().GetUuid() {
		t.Fatal("point ids are not stable")
	}
	q := ai.SearchRequest("fields", []float32{0.3, 0.4}, 7)
	if q.GetCollectionName() != "fields" || q.GetLimit() != 7 || len(q.GetQuery().GetNearest().GetDense().GetData()) != 2 {
		t.Fatalf("query request %v", q)
	}
}

// A small k keeps its k best as it goes: the same hits, in the same order
// (score, then id), as sorting the whole collection.
func TestMemoryIndexSmallKMatchesFullSort(t *testing.T) {
	ctx := context.Background()
	idx := ai.NewMemoryIndex()
	var pts []ai.Point
	for i := 0; i < 300; i++ {
		// few distinct vectors: many ties, broken by id
		pts = append(pts, ai.Point{ID: fmt.Sprintf("p%03d", (i*7)%300), Vector: []float32{float32(i % 5), float32(i % 3), 1}})
	}
	if err := idx.Upsert(ctx, "c", pts); err != nil {
		t.Fatal(err)
	}
	q := []float32{1, 2, 0.5}
	all, _ := idx.Search(ctx, "c", q, 0)
	for _, k := range []int{1, 2, 8, 63, 64} {
		got, _ := idx.Search(ctx, "c", q, k)
		if len(got) != k {
			t.Fatalf("k %d: %d hits", k, len(got))
		}
		for i := range got {
			if got[i].ID != all[i].ID || got[i].Score != all[i].Score {
				t.Fatalf("k %d, hit %d: %+v, the full sort has %+v", k, i, got[i], all[i])
			}
		}
	}
}
