package qdranttest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weftio/weft/ai/qdranttest"
)

func client(t *testing.T, srv *qdranttest.Server) *qdrant.Client {
	t.Helper()
	cfg := &qdrant.Config{}
	cfg.Host, cfg.Port = splitAddr(t, srv.URL())
	c, err := qdrant.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func splitAddr(t *testing.T, url string) (string, int) {
	t.Helper()
	var port int
	if _, err := fmt.Sscanf(url, "http://127.0.0.1:%d", &port); err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1", port
}

func code(err error) codes.Code { return status.Code(err) }

// The server answers as Qdrant does: health with its version, cosine
// scores of normalised vectors, NotFound for an unknown collection,
// InvalidArgument for a vector of the wrong size, AlreadyExists for a
// second create, Unimplemented for what it does not implement.
func TestServerSemantics(t *testing.T) {
	srv := qdranttest.Start(t)
	c := client(t, srv)
	ctx := context.Background()
	h, err := c.HealthCheck(ctx)
	if err != nil || h.GetVersion() != qdranttest.Version {
		t.Fatalf("health %v %v", h, err)
	}
	if _, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "none", Query: qdrant.NewQuery(1, 0)}); code(err) != codes.NotFound {
		t.Fatalf("unknown collection: %v", err)
	}
	create := &qdrant.CreateCollection{CollectionName: "c", VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine})}
	if err := c.CreateCollection(ctx, create); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateCollection(ctx, create); code(err) != codes.AlreadyExists {
		t.Fatalf("second create: %v", err)
	}
	wait := true
	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Wait: &wait, Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectors(3, 0), Payload: qdrant.NewValueMap(map[string]any{"k": "x"})},
		{Id: qdrant.NewIDNum(2), Vectors: qdrant.NewVectors(1, 1)},
		{Id: qdrant.NewIDNum(3), Vectors: qdrant.NewVectors(0, -2)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDNum(4), Vectors: qdrant.NewVectors(1, 2, 3)}}}); code(err) != codes.InvalidArgument || srv.Len("c") != 3 {
		t.Fatalf("wrong size: %v (%d points)", err, srv.Len("c"))
	}
	limit := uint64(2)
	res, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(10, 0), Limit: &limit, WithPayload: qdrant.NewWithPayload(true)})
	if err != nil || len(res) != 2 || res[0].GetId().GetNum() != 1 || res[0].GetScore() < 0.999 || res[0].GetPayload()["k"].GetStringValue() != "x" ||
		res[1].GetId().GetNum() != 2 || res[1].GetScore() < 0.70 || res[1].GetScore() > 0.71 {
		t.Fatalf("query %v %v", res, err)
	}
	if n, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "c"}); err != nil || n != 3 {
		t.Fatalf("count %d %v", n, err)
	}
	if _, err := c.Delete(ctx, &qdrant.DeletePoints{CollectionName: "c", Wait: &wait, Points: qdrant.NewPointsSelector(qdrant.NewIDNum(1))}); err != nil || srv.Len("c") != 2 {
		t.Fatalf("delete %v %d", err, srv.Len("c"))
	}
	if _, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "c", Query: qdrant.NewQuery(1, 0), Filter: &qdrant.Filter{}}); code(err) != codes.Unimplemented {
		t.Fatalf("filter: %v", err)
	}
	if _, err := c.Delete(ctx, &qdrant.DeletePoints{CollectionName: "c", Points: qdrant.NewPointsSelectorFilter(&qdrant.Filter{})}); code(err) != codes.Unimplemented {
		t.Fatalf("delete by filter: %v", err)
	}
	if _, err := c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "c"}); code(err) != codes.Unimplemented {
		t.Fatalf("scroll: %v", err)
	}
	if ok, err := c.CollectionExists(ctx, "c"); err != nil || !ok {
		t.Fatalf("exists %v %v", ok, err)
	}
	if err := c.DeleteCollection(ctx, "c"); err != nil || srv.Len("c") != -1 {
		t.Fatalf("delete collection %v", err)
	}
}
