// Package qdranttest is an in-process Qdrant for tests: a gRPC server on a
// loopback port that speaks Qdrant's real API, built on the service
// definitions generated in github.com/qdrant/go-client, holding collections
// in memory. It implements what a vector index needs (health check;
// collections: create, exists, get, list, delete; points: upsert, query by
// a dense vector, get, count, delete by ids) with Qdrant's semantics: cosine
// collections normalise vectors on upsert and score by dot product, a
// vector of the wrong size is refused, an unknown collection is NotFound.
// Anything else answers codes.Unimplemented, so a client that starts
// relying on more fails loudly instead of passing against a stub.
package qdranttest

import (
	"context"
	"fmt"
	"math"
	"net"
	"sort"
	"sync"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Version is the Qdrant version the server reports (the go-client's own,
// so the client's compatibility check passes).
const Version = "1.17.1"

// MaxLimit bounds a query's limit, as a guard against runaway tests.
const MaxLimit = 100000

type point struct {
	vec     []float32
	payload map[string]*qdrant.Value
	id      *qdrant.PointId
}

type collection struct {
	dim      int
	distance qdrant.Distance
	points   map[string]*point
}

// Server is the in-memory Qdrant.
type Server struct {
	qdrant.UnimplementedQdrantServer
	APIKey string // when set, every call must carry it (header api-key), as Qdrant's

	mu    sync.Mutex
	cols  map[string]*collection
	calls map[string]int
	srv   *grpc.Server
	addr  string
}

// Start serves a fresh Server on 127.0.0.1 until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen serves a fresh Server on addr (host:port; port 0 picks one).
func Listen(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("qdranttest: %w", err)
	}
	s := &Server{cols: map[string]*collection{}, calls: map[string]int{}, addr: l.Addr().String()}
	s.srv = grpc.NewServer(grpc.UnaryInterceptor(s.intercept))
	qdrant.RegisterQdrantServer(s.srv, s)
	qdrant.RegisterCollectionsServer(s.srv, collectionsService{s: s})
	qdrant.RegisterPointsServer(s.srv, pointsService{s: s})
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// URL is the WEFT_QDRANT_URL that reaches the server.
func (s *Server) URL() string {
	if s.APIKey != "" {
		return "http://" + s.addr + "?api_key=" + s.APIKey
	}
	return "http://" + s.addr
}

// Close stops the server.
func (s *Server) Close() { s.srv.Stop() }

// Calls reports how many times a gRPC method was called (its full name,
// e.g. "/qdrant.Points/Upsert").
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Len is the number of points in a collection (-1: no such collection).
func (s *Server) Len(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cols[name]
	if !ok {
		return -1
	}
	return len(c.points)
}

func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	s.mu.Lock()
	s.calls[info.FullMethod]++
	key := s.APIKey
	s.mu.Unlock()
	if key != "" {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("api-key"); len(got) != 1 || got[0] != key {
			return nil, status.Error(codes.PermissionDenied, "Invalid api-key")
		}
	}
	return h(ctx, req)
}

// HealthCheck implements qdrant.QdrantServer.
func (s *Server) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	return &qdrant.HealthCheckReply{Title: "qdrant - vector search engine (qdranttest, in memory)", Version: Version}, nil
}

func notFound(name string) error {
	return status.Errorf(codes.NotFound, "Not found: Collection `%s` doesn't exist!", name)
}

// col returns a collection; the caller holds s.mu.
func (s *Server) col(name string) (*collection, error) {
	c, ok := s.cols[name]
	if !ok {
		return nil, notFound(name)
	}
	return c, nil
}

type collectionsService struct {
	qdrant.UnimplementedCollectionsServer
	s *Server
}

func (c collectionsService) CollectionExists(_ context.Context, r *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.cols[r.GetCollectionName()]
	return &qdrant.CollectionExistsResponse{Result: &qdrant.CollectionExists{Exists: ok}}, nil
}

func (c collectionsService) Create(_ context.Context, r *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	name := r.GetCollectionName()
	if name == "" {
		return nil, status.Error(codes.InvalidArgument, "Validation error in body: collection_name: must not be empty")
	}
	p := r.GetVectorsConfig().GetParams()
	if p == nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest: only a single unnamed dense vector per point (VectorsConfig.Params) is implemented")
	}
	if p.GetSize() == 0 || p.GetSize() > 65536 {
		return nil, status.Errorf(codes.InvalidArgument, "Validation error in body: vectors.size: value %d invalid, must be from 1 to 65536", p.GetSize())
	}
	switch p.GetDistance() {
	case qdrant.Distance_Cosine, qdrant.Distance_Dot, qdrant.Distance_Euclid:
	default:
		return nil, status.Errorf(codes.Unimplemented, "qdranttest: distance %v is not implemented", p.GetDistance())
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if _, ok := c.s.cols[name]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "Wrong input: Collection `%s` already exists!", name)
	}
	c.s.cols[name] = &collection{dim: int(p.GetSize()), distance: p.GetDistance(), points: map[string]*point{}}
	return &qdrant.CollectionOperationResponse{Result: true}, nil
}

func (c collectionsService) Delete(_ context.Context, r *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	_, ok := c.s.cols[r.GetCollectionName()]
	delete(c.s.cols, r.GetCollectionName())
	return &qdrant.CollectionOperationResponse{Result: ok}, nil
}

func (c collectionsService) List(context.Context, *qdrant.ListCollectionsRequest) (*qdrant.ListCollectionsResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var names []string
	for n := range c.s.cols {
		names = append(names, n)
	}
	sort.Strings(names)
	out := &qdrant.ListCollectionsResponse{}
	for _, n := range names {
		out.Collections = append(out.Collections, &qdrant.CollectionDescription{Name: n})
	}
	return out, nil
}

func (c collectionsService) Get(_ context.Context, r *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	col, err := c.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	n := uint64(len(col.points))
	return &qdrant.GetCollectionInfoResponse{Result: &qdrant.CollectionInfo{
		Status: qdrant.CollectionStatus_Green, PointsCount: &n,
		Config: &qdrant.CollectionConfig{Params: &qdrant.CollectionParams{VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(col.dim), Distance: col.distance})}},
	}}, nil
}

type pointsService struct {
	qdrant.UnimplementedPointsServer
	s *Server
}

func idKey(id *qdrant.PointId) (string, error) {
	switch v := id.GetPointIdOptions().(type) {
	case *qdrant.PointId_Num:
		return fmt.Sprintf("n:%d", v.Num), nil
	case *qdrant.PointId_Uuid:
		if len(v.Uuid) != 36 {
			return "", status.Errorf(codes.InvalidArgument, "Unable to parse UUID: %s", v.Uuid)
		}
		return "u:" + v.Uuid, nil
	}
	return "", status.Error(codes.InvalidArgument, "Wrong input: a point needs an id")
}

func denseOf(v *qdrant.Vectors) ([]float32, error) {
	vec := v.GetVector()
	if vec == nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest: only a single unnamed vector per point is implemented")
	}
	if d := vec.GetDense(); d != nil {
		return d.GetData(), nil
	}
	if vec.GetSparse() != nil || vec.GetMultiDense() != nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest: only dense vectors are implemented")
	}
	return vec.GetData(), nil //nolint:staticcheck // the deprecated flat form older clients send
}

func normalise(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	s := 1 / math.Sqrt(n)
	for i, x := range v {
		out[i] = float32(float64(x) * s)
	}
	return out
}

func score(d qdrant.Distance, a, b []float32) float32 {
	var dot, dist float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		dd := float64(a[i]) - float64(b[i])
		dist += dd * dd
	}
	if d == qdrant.Distance_Euclid {
		return float32(math.Sqrt(dist))
	}
	return float32(dot) // cosine: both sides are normalised
}

func completed() *qdrant.PointsOperationResponse {
	return &qdrant.PointsOperationResponse{Result: &qdrant.UpdateResult{Status: qdrant.UpdateStatus_Completed}}
}

func (p pointsService) Upsert(_ context.Context, r *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	staged := make(map[string]*point, len(r.GetPoints()))
	for _, ps := range r.GetPoints() {
		k, err := idKey(ps.GetId())
		if err != nil {
			return nil, err
		}
		v, err := denseOf(ps.GetVectors())
		if err != nil {
			return nil, err
		}
		if len(v) != col.dim {
			return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", col.dim, len(v))
		}
		if col.distance == qdrant.Distance_Cosine {
			v = normalise(v)
		} else {
			v = append([]float32(nil), v...)
		}
		staged[k] = &point{vec: v, payload: ps.GetPayload(), id: ps.GetId()}
	}
	for k, pt := range staged { // all or nothing, as one Qdrant batch
		col.points[k] = pt
	}
	return completed(), nil
}

func (p pointsService) Delete(_ context.Context, r *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	ids := r.GetPoints().GetPoints()
	if ids == nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest: only deletion by a list of ids is implemented")
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	for _, id := range ids.GetIds() {
		k, err := idKey(id)
		if err != nil {
			return nil, err
		}
		delete(col.points, k)
	}
	return completed(), nil
}

func withPayload(sel *qdrant.WithPayloadSelector, payload map[string]*qdrant.Value) map[string]*qdrant.Value {
	if sel == nil || !sel.GetEnable() {
		return nil
	}
	return payload
}

func (p pointsService) Query(_ context.Context, r *qdrant.QueryPoints) (*qdrant.QueryResponse, error) {
	if r.GetFilter() != nil || r.GetPrefetch() != nil || r.GetUsing() != "" {
		return nil, status.Error(codes.Unimplemented, "qdranttest: filters, prefetch and named vectors are not implemented")
	}
	q := r.GetQuery().GetNearest().GetDense().GetData()
	if q == nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest: only a nearest-neighbour query by a dense vector is implemented")
	}
	limit := uint64(10) // Qdrant's default
	if r.Limit != nil {
		limit = r.GetLimit()
	}
	if limit > MaxLimit {
		return nil, status.Errorf(codes.InvalidArgument, "qdranttest: limit %d over %d", limit, MaxLimit)
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if len(q) != col.dim {
		return nil, status.Errorf(codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: %d, got %d", col.dim, len(q))
	}
	if col.distance == qdrant.Distance_Cosine {
		q = normalise(q)
	}
	type scored struct {
		key string
		pt  *point
		s   float32
	}
	all := make([]scored, 0, len(col.points))
	for k, pt := range col.points {
		all = append(all, scored{k, pt, score(col.distance, q, pt.vec)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].s != all[j].s {
			if col.distance == qdrant.Distance_Euclid {
				return all[i].s < all[j].s
			}
			return all[i].s > all[j].s
		}
		return all[i].key < all[j].key
	})
	off := int(r.GetOffset())
	if off > len(all) {
		off = len(all)
	}
	all = all[off:]
	if uint64(len(all)) > limit {
		all = all[:limit]
	}
	res := &qdrant.QueryResponse{Result: make([]*qdrant.ScoredPoint, 0, len(all))}
	for _, x := range all {
		res.Result = append(res.Result, &qdrant.ScoredPoint{Id: x.pt.id, Score: x.s, Payload: withPayload(r.GetWithPayload(), x.pt.payload)})
	}
	return res, nil
}

func (p pointsService) Get(_ context.Context, r *qdrant.GetPoints) (*qdrant.GetResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	out := &qdrant.GetResponse{}
	for _, id := range r.GetIds() {
		k, err := idKey(id)
		if err != nil {
			return nil, err
		}
		if pt, ok := col.points[k]; ok {
			out.Result = append(out.Result, &qdrant.RetrievedPoint{Id: pt.id, Payload: withPayload(r.GetWithPayload(), pt.payload)})
		}
	}
	return out, nil
}

func (p pointsService) Count(_ context.Context, r *qdrant.CountPoints) (*qdrant.CountResponse, error) {
	if r.GetFilter() != nil {
		return nil, status.Error(codes.Unimplemented, "qdranttest: filters are not implemented")
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	col, err := p.s.col(r.GetCollectionName())
	if err != nil {
		return nil, err
	}
	return &qdrant.CountResponse{Result: &qdrant.CountResult{Count: uint64(len(col.points))}}, nil
}
