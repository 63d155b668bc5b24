package ai

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Qdrant is a VectorIndex on a Qdrant server (gRPC, github.com/qdrant/go-client);
// configure with WEFT_QDRANT_URL (e.g. http://qdrant:6334?api_key=...).
type Qdrant struct {
	// Timeout bounds each call (default 10 s), so an unreachable server
	// costs a search its semantic half, not its answer.
	Timeout time.Duration
	client  *qdrant.Client
	mu      sync.Mutex
	ready   map[string]bool
}

// QdrantConfig parses a WEFT_QDRANT_URL.
func QdrantConfig(raw string) (*qdrant.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("qdrant: bad URL %q (want http://host:6334)", raw)
	}
	port := 6334
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("qdrant: bad port in %q", raw)
		}
	}
	return &qdrant.Config{Host: u.Hostname(), Port: port, APIKey: u.Query().Get("api_key"), UseTLS: u.Scheme == "https"}, nil
}

// NewQdrant returns the index on the Qdrant at raw; opts are extra gRPC
// dial options (e.g. grpc.WithContextDialer for an egress policy). The
// client asks the server's version once (a warning is logged when it is
// unreachable); calls dial as needed.
func NewQdrant(raw string, opts ...grpc.DialOption) (*Qdrant, error) {
	cfg, err := QdrantConfig(raw)
	if err != nil {
		return nil, err
	}
	cfg.GrpcOptions = append(cfg.GrpcOptions, opts...)
	// The client's version check would block the caller up to a minute
	// on an unreachable server; calls are bounded by Timeout instead.
	cfg.SkipCompatibilityCheck = true
	c, err := qdrant.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("qdrant: %w", err)
	}
	return &Qdrant{client: c, ready: map[string]bool{}, Timeout: 10 * time.Second}, nil
}

// pointID maps any string id to a UUID-shaped id Qdrant accepts (stable);
// the original id travels in the payload.
func pointID(id string) *qdrant.PointId {
	h := sha256.Sum256([]byte(id))
	x := hex.EncodeToString(h[:16])
	return qdrant.NewIDUUID(x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32])
}

// UpsertRequest builds the Qdrant request for points (exported for tests).
func UpsertRequest(collection string, points []Point) *qdrant.UpsertPoints {
	wait := true
	req := &qdrant.UpsertPoints{CollectionName: collection, Wait: &wait}
	for _, p := range points {
		payload := map[string]any{"weft_id": p.ID}
		for k, v := range p.Payload {
			payload[k] = v
		}
		req.Points = append(req.Points, &qdrant.PointStruct{Id: pointID(p.ID), Vectors: qdrant.NewVectors(p.Vector...), Payload: qdrant.NewValueMap(payload)})
	}
	return req
}

// SearchRequest builds the Qdrant query (exported for tests).
func SearchRequest(collection string, vector []float32, k int) *qdrant.QueryPoints {
	limit := uint64(k)
	return &qdrant.QueryPoints{CollectionName: collection, Query: qdrant.NewQuery(vector...), Limit: &limit, WithPayload: qdrant.NewWithPayload(true)}
}

func (q *Qdrant) ensure(ctx context.Context, collection string, dim int) error {
	q.mu.Lock()
	ok := q.ready[collection]
	q.mu.Unlock()
	if ok {
		return nil
	}
	exists, err := q.client.CollectionExists(ctx, collection)
	if err != nil {
		return fmt.Errorf("qdrant: %w", err)
	}
	if !exists {
		err := q.client.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: collection,
			VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(dim), Distance: qdrant.Distance_Cosine})})
		if err != nil {
			return fmt.Errorf("qdrant: %w", err)
		}
	}
	q.mu.Lock()
	q.ready[collection] = true
	q.mu.Unlock()
	return nil
}

// Upsert implements VectorIndex.
func (q *Qdrant) Upsert(ctx context.Context, collection string, points []Point) error {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	if len(points) == 0 {
		return nil
	}
	if err := q.ensure(ctx, collection, len(points[0].Vector)); err != nil {
		return err
	}
	_, err := q.client.Upsert(ctx, UpsertRequest(collection, points))
	if status.Code(err) == codes.NotFound { // the collection went away: create it again next time
		q.mu.Lock()
		delete(q.ready, collection)
		q.mu.Unlock()
	}
	return err
}

// Search implements VectorIndex.
func (q *Qdrant) Search(ctx context.Context, collection string, vector []float32, k int) ([]Hit, error) {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	exists, err := q.client.CollectionExists(ctx, collection)
	if err != nil {
		return nil, fmt.Errorf("qdrant: %w", err)
	}
	if !exists {
		q.mu.Lock()
		delete(q.ready, collection)
		q.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrNoCollection, collection)
	}
	res, err := q.client.Query(ctx, SearchRequest(collection, vector, k))
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, 0, len(res))
	for _, sp := range res {
		h := Hit{Score: float64(sp.GetScore()), Payload: map[string]string{}}
		for k, v := range sp.GetPayload() {
			if k == "weft_id" {
				h.ID = v.GetStringValue()
				continue
			}
			h.Payload[k] = v.GetStringValue()
		}
		hits = append(hits, h)
	}
	return hits, nil
}

// Delete implements VectorIndex.
func (q *Qdrant) Delete(ctx context.Context, collection string, ids []string) error {
	ctx, cancel := q.bound(ctx)
	defer cancel()
	var pids []*qdrant.PointId
	for _, id := range ids {
		pids = append(pids, pointID(id))
	}
	wait := true
	_, err := q.client.Delete(ctx, &qdrant.DeletePoints{CollectionName: collection, Wait: &wait, Points: qdrant.NewPointsSelector(pids...)})
	if status.Code(err) == codes.NotFound { // no collection: nothing to delete
		return nil
	}
	return err
}

func (q *Qdrant) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if q.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, q.Timeout)
}
