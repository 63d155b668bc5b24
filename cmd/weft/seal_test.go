package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/storetest"
)

// The composition root seals payloads at rest: a run through the engine
// that openCore builds leaves no payload in the clear in the SQLite file,
// and a second start with the same key reads it back; a start with another
// key refuses, naming where the key came from.
func TestIssue18_ServeSealsPayloadsAtRest(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	st, e, err := openCore(ctx, cfg, quiet, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "mk-serve-payload-31c9"
	if _, _, err := e.Deploy(ctx, "f.yaml", []byte("name: f\ncapture: full\nsteps:\n  - id: a\n    set: {echo: =trigger.body.v}\n")); err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "f", Kind: "manual", Body: map[string]any{"v": marker}})
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("%v %+v", err, res)
	}
	id := res.Run.ID
	st.Close()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, "weft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if dump := storetest.DumpRows(t, db); strings.Contains(dump, marker) || !strings.Contains(dump, "wsl1:") {
		t.Fatalf("payload in the clear (or nothing sealed) in the database file:\n%s", dump)
	}

	st, _, err = openCore(ctx, cfg, quiet, nil, nil, nil) // same key file
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.GetRun(ctx, id)
	st.Close()
	if err != nil || !strings.Contains(string(run.Input), marker) {
		t.Fatalf("restart: %v %+v", err, run)
	}

	cfg.masterKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // another key
	// The start refuses: the stored data keys do not open with it.
	if st, _, err = openCore(ctx, cfg, quiet, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "is this the right master key? it comes from WEFT_MASTER_KEY") {
		if st != nil {
			st.Close()
		}
		t.Fatalf("another key: %v", err)
	}
}

// A master key rotated by configuration (WEFT_MASTER_KEY=NEW,OLD), or a
// rotation interrupted after the new key was written: the start rewraps
// the payload data keys still under OLD, after which NEW alone opens them.
func TestIssue18_StartFinishesPayloadKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := base64.StdEncoding.EncodeToString(seal.NewKey()), base64.StdEncoding.EncodeToString(seal.NewKey())
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	start := func(key string) (store.Store, *engine.Engine, error) {
		cfg.masterKey = key
		return openCore(ctx, cfg, quiet, nil, nil, nil)
	}
	st, e, err := start(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Deploy(ctx, "f.yaml", []byte("name: f\ncapture: full\nsteps:\n  - id: a\n    set: {echo: =trigger.body.v}\n")); err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "f", Kind: "manual", Body: map[string]any{"v": "mk-rotate"}})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, _, err = start(newKey); err == nil { // NEW alone: the data keys are OLD's
		st.Close()
		t.Fatal("a start with only the new key did not refuse")
	}
	st, _, err = start(newKey + "," + oldKey) // the start rewraps under NEW
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, _, err = start(newKey)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.GetRun(ctx, res.Run.ID)
	if err != nil || !strings.Contains(string(run.Input), "mk-rotate") {
		t.Fatalf("after the rotation at start: %v %+v", err, run)
	}
	if st2, _, err := start(oldKey); err == nil {
		st2.Close()
		t.Fatal("the old key still opens the payload data keys")
	}
}
