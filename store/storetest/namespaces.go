package storetest

import (
	"context"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// namespaces: the namespace table, and the namespace each owned resource
// (flow, connection, mapping, MCP key) records.
func namespaces(t *testing.T, s store.Store) {
	ctx := context.Background()
	ns, err := s.Namespaces(ctx)
	must(t, err)
	if len(ns) != 1 || ns[0].Name != store.DefaultNamespace {
		t.Fatalf("a new store has %+v, want only default", ns)
	}
	must(t, s.CreateNamespace(ctx, store.Namespace{Name: "team-a", Description: "Team A"}))
	if err := s.CreateNamespace(ctx, store.Namespace{Name: "team-a"}); weft.Code(err) != weft.EConflict {
		t.Fatalf("duplicate namespace: %v", err)
	}
	ns, _ = s.Namespaces(ctx)
	if len(ns) != 2 || ns[1].Name != "team-a" || ns[1].Description != "Team A" || ns[1].CreatedAt.IsZero() {
		t.Fatalf("namespaces %+v", ns)
	}

	// Flows: a new flow without a namespace goes to default; a redeploy
	// without one keeps it; naming one moves the flow; an unknown one is
	// invalid and changes nothing.
	fv, err := s.DeployFlow(ctx, "a-flow", "team-a", "a.yaml", []byte("v1"))
	must(t, err)
	if fv.Namespace != "team-a" {
		t.Fatalf("deployed %+v", fv)
	}
	_, err = s.DeployFlow(ctx, "d-flow", "", "d.yaml", []byte("v1"))
	must(t, err)
	_, err = s.DeployFlow(ctx, "a-flow", "", "a.yaml", []byte("v2"))
	must(t, err)
	if got, _ := s.GetFlow(ctx, "a-flow", 0); got.Namespace != "team-a" || got.Version != 2 {
		t.Fatalf("redeploy without a namespace: %+v", got)
	}
	if got, _ := s.GetFlow(ctx, "a-flow", 1); got.Namespace != "team-a" {
		t.Fatalf("an old version's namespace: %+v", got)
	}
	if _, err := s.DeployFlow(ctx, "a-flow", "nowhere", "a.yaml", []byte("v3")); weft.Code(err) != weft.EInvalid {
		t.Fatalf("deploy to an unknown namespace: %v", err)
	}
	if vs, _ := s.ListFlowVersions(ctx, "a-flow"); len(vs) != 2 {
		t.Fatalf("a refused deploy left a version: %d", len(vs))
	}
	fs, err := s.ListFlows(ctx)
	must(t, err)
	got := map[string]string{}
	for _, f := range fs {
		got[f.Name] = f.Namespace
	}
	if got["a-flow"] != "team-a" || got["d-flow"] != store.DefaultNamespace {
		t.Fatalf("listed namespaces %v", got)
	}
	_, err = s.DeployFlow(ctx, "d-flow", "team-a", "d.yaml", []byte("v2"))
	must(t, err)
	if got, _ := s.GetFlow(ctx, "d-flow", 0); got.Namespace != "team-a" {
		t.Fatalf("moved flow %+v", got)
	}

	// Runs are listed by flow: the filter a caller's namespaces become.
	now := time.Now()
	for _, f := range []string{"a-flow", "d-flow", "other"} {
		_, _, err := s.CreateRun(ctx, &store.Run{Flow: f, Version: 1, Status: store.RunSucceeded, TriggerKind: "manual", CreatedAt: now, StartedAt: now}, false)
		must(t, err)
	}
	runs, err := s.ListRuns(ctx, store.RunFilter{Flows: []string{"a-flow", "d-flow"}})
	must(t, err)
	if len(runs) != 2 || slices.ContainsFunc(runs, func(r *store.Run) bool { return r.Flow == "other" }) {
		t.Fatalf("filtered runs %d", len(runs))
	}

	// Connections, MCP keys and mappings.
	must(t, s.SaveConnection(ctx, store.SealedConnection{Name: "crm", Connector: "http", Namespace: "team-a", KeyID: "k", Sealed: []byte("x")}))
	must(t, s.SaveConnection(ctx, store.SealedConnection{Name: "erp", Connector: "http", KeyID: "k", Sealed: []byte("x")}))
	if err := s.SaveConnection(ctx, store.SealedConnection{Name: "bad", Connector: "http", Namespace: "nowhere", KeyID: "k", Sealed: []byte("x")}); weft.Code(err) != weft.EInvalid {
		t.Fatalf("connection in an unknown namespace: %v", err)
	}
	cs, err := s.Connections(ctx)
	must(t, err)
	if len(cs) != 2 || cs[0].Namespace != "team-a" || cs[1].Namespace != store.DefaultNamespace {
		t.Fatalf("connections %+v", cs)
	}
	n, err := s.Reseal(ctx, func(c store.SealedConnection) (store.SealedConnection, error) {
		return store.SealedConnection{KeyID: "k2", Sealed: c.Sealed}, nil
	})
	must(t, err)
	if cs, _ = s.Connections(ctx); n != 2 || cs[0].Namespace != "team-a" {
		t.Fatalf("reseal lost the namespace: %+v", cs)
	}
	must(t, s.CreateAPIKey(ctx, store.APIKey{ID: "ka", Name: "a", Namespace: "team-a", Hash: "ha", Scopes: []string{"*"}, CreatedAt: now}))
	must(t, s.CreateAPIKey(ctx, store.APIKey{ID: "kd", Name: "d", Hash: "hd", Scopes: []string{"*"}, CreatedAt: now}))
	if err := s.CreateAPIKey(ctx, store.APIKey{ID: "kx", Name: "x", Namespace: "nowhere", Hash: "hx", CreatedAt: now}); weft.Code(err) != weft.EInvalid {
		t.Fatalf("key in an unknown namespace: %v", err)
	}
	if k, err := s.APIKeyByHash(ctx, "ha"); err != nil || k.Namespace != "team-a" {
		t.Fatalf("key %+v %v", k, err)
	}
	if ks, _ := s.APIKeys(ctx); len(ks) != 2 || ks[1].Namespace != store.DefaultNamespace {
		t.Fatalf("keys %+v", ks)
	}
	must(t, s.SaveMapping(ctx, store.MappingDoc{ID: "m1", Name: "m", Namespace: "team-a", Doc: []byte("{}")}))
	must(t, s.SaveMapping(ctx, store.MappingDoc{ID: "m2", Name: "m", Doc: []byte("{}")}))
	if m, err := s.Mapping(ctx, "m1"); err != nil || m.Namespace != "team-a" {
		t.Fatalf("mapping %+v %v", m, err)
	}
	if ms, _ := s.Mappings(ctx); len(ms) != 2 || ms[1].Namespace != store.DefaultNamespace {
		t.Fatalf("mappings %+v", ms)
	}
}

// MigrationsUpTo is the migrations of fsys numbered up to last (and those
// numbered in also): a database as an older Weft left it.
func MigrationsUpTo(t testing.TB, fsys fs.FS, last int, also ...int) fs.FS {
	t.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, n := range names {
		v, err := strconv.Atoi(strings.SplitN(n, "_", 2)[0])
		if err != nil || v > last && !slices.Contains(also, v) {
			continue
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &fstest.MapFile{Data: b}
	}
	return out
}

// PreNamespaceRows are rows a Weft from before namespaces (migration
// 009) wrote: a flow with two versions, a connection, a mapping and an
// MCP key (the same SQL on SQLite and PostgreSQL).
var PreNamespaceRows = []string{
	`INSERT INTO flow_versions (name, version, file, source, created_at) VALUES ('orders', 1, 'orders.yaml', 'v1', 1), ('orders', 2, 'orders.yaml', 'v2', 2)`,
	`INSERT INTO flows (name, active_version, updated_at) VALUES ('orders', 2, 2)`,
	`INSERT INTO connections (name, connector, key_id, sealed, updated_at) VALUES ('crm', 'http', 'k1', 'sealed', 3)`,
	`INSERT INTO mappings (id, name, doc, created_at, updated_at) VALUES ('m1', 'orders', '{}', 4, 4)`,
	`INSERT INTO api_keys (id, name, hash, scopes, rate_per_min, created_at) VALUES ('key1', 'claude', 'h1', '["*"]', 0, 5)`,
}

// CheckMigratedToDefault: after migration 010, everything PreNamespaceRows
// wrote is in the default namespace, which exists.
func CheckMigratedToDefault(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	ns, err := s.Namespaces(ctx)
	must(t, err)
	if len(ns) != 1 || ns[0].Name != store.DefaultNamespace {
		t.Fatalf("namespaces after migration: %+v", ns)
	}
	fs, err := s.ListFlows(ctx)
	must(t, err)
	if len(fs) != 1 || fs[0].Name != "orders" || fs[0].Namespace != store.DefaultNamespace || fs[0].ActiveVersion != 2 {
		t.Fatalf("flows after migration: %+v", fs)
	}
	if fv, err := s.GetFlow(ctx, "orders", 1); err != nil || fv.Namespace != store.DefaultNamespace || string(fv.Source) != "v1" {
		t.Fatalf("flow version after migration: %+v %v", fv, err)
	}
	cs, err := s.Connections(ctx)
	must(t, err)
	if len(cs) != 1 || cs[0].Namespace != store.DefaultNamespace || string(cs[0].Sealed) != "sealed" {
		t.Fatalf("connections after migration: %+v", cs)
	}
	if m, err := s.Mapping(ctx, "m1"); err != nil || m.Namespace != store.DefaultNamespace {
		t.Fatalf("mapping after migration: %+v %v", m, err)
	}
	if k, err := s.APIKeyByHash(ctx, "h1"); err != nil || k.Namespace != store.DefaultNamespace || k.Name != "claude" {
		t.Fatalf("key after migration: %+v %v", k, err)
	}
	// And the migrated install goes on: a redeploy keeps default.
	fv, err := s.DeployFlow(ctx, "orders", "", "orders.yaml", []byte("v3"))
	must(t, err)
	if fv.Namespace != store.DefaultNamespace || fv.Version != 3 {
		t.Fatalf("redeploy after migration: %+v", fv)
	}
}
