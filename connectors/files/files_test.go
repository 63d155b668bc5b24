package files_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/files"
)

func op(t *testing.T, x *connectors.Connector, conn *connectors.Connection, name string, in map[string]any) (map[string]any, error) {
	t.Helper()
	for _, o := range x.Operations {
		if o.Name == name {
			out, err := o.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn})
			m, _ := out.(map[string]any)
			return m, err
		}
	}
	t.Fatalf("no op %s", name)
	return nil, nil
}

func TestFilesReadWriteListMove(t *testing.T) {
	dir := t.TempDir()
	x := files.New(files.Options{MaxReadBytes: 1 << 20})
	conn := &connectors.Connection{Name: "drop", Connector: "files", Config: map[string]any{"dir": dir}}
	if err := x.Check(conn); err != nil {
		t.Fatal(err)
	}
	ok := func(out map[string]any, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// CSV round trip, with a header, quoting and a byte-order mark.
	os.WriteFile(filepath.Join(dir, "in.csv"), []byte("\ufeffid,name,note\n1,Ada,\"likes, commas\"\n2,Bob,\n"), 0o644)
	out := ok(op(t, x, conn, "read", map[string]any{"path": "in.csv"}))
	recs := out["records"].([]any)
	if len(recs) != 2 || recs[0].(map[string]any)["id"] != "1" || recs[0].(map[string]any)["note"] != "likes, commas" {
		t.Fatalf("csv: %v", recs)
	}
	ok(op(t, x, conn, "write", map[string]any{"path": "out/orders.csv", "columns": []any{"id", "total"}, "records": []any{
		map[string]any{"id": "a", "total": 1.5}, map[string]any{"id": "b,c", "total": nil}}}))
	b, _ := os.ReadFile(filepath.Join(dir, "out/orders.csv"))
	if string(b) != "id,total\na,1.5\n\"b,c\",\n" {
		t.Fatalf("csv written: %q", b)
	}
	ok(op(t, x, conn, "write", map[string]any{"path": "out/orders.csv", "mode": "append", "columns": []any{"id", "total"}, "records": []any{map[string]any{"id": "d", "total": 2}}}))
	b, _ = os.ReadFile(filepath.Join(dir, "out/orders.csv"))
	if !strings.HasSuffix(string(b), "\nd,2\n") || strings.Count(string(b), "id,total") != 1 {
		t.Fatalf("csv appended: %q", b)
	}
	// NDJSON and JSON.
	ok(op(t, x, conn, "write", map[string]any{"path": "events.ndjson", "records": []any{map[string]any{"n": 1}, map[string]any{"n": 2}}}))
	out = ok(op(t, x, conn, "read", map[string]any{"path": "events.ndjson"}))
	if out["count"] != int64(2) {
		t.Fatalf("ndjson: %v", out)
	}
	ok(op(t, x, conn, "write", map[string]any{"path": "cfg.json", "data": map[string]any{"a": []any{1.0, 2.0}}}))
	out = ok(op(t, x, conn, "read", map[string]any{"path": "cfg.json"}))
	if out["data"].(map[string]any)["a"].([]any)[1] != 2.0 {
		t.Fatalf("json: %v", out)
	}
	if _, err := op(t, x, conn, "write", map[string]any{"path": "cfg.json", "mode": "create", "data": 1}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("create over existing: %v", err)
	}
	// List (oldest first, pattern, hidden and temp files skipped), then move.
	os.WriteFile(filepath.Join(dir, ".partial.csv.tmp"), []byte("x"), 0o644)
	out = ok(op(t, x, conn, "list", map[string]any{"pattern": "*.csv"}))
	if l := out["files"].([]any); len(l) != 1 || l[0].(map[string]any)["path"] != "in.csv" {
		t.Fatalf("list: %v", l)
	}
	out = ok(op(t, x, conn, "list", map[string]any{"recursive": true, "pattern": "*.csv"}))
	if l := out["files"].([]any); len(l) != 2 {
		t.Fatalf("recursive list: %v", l)
	}
	ok(op(t, x, conn, "move", map[string]any{"from": "in.csv", "to": "archive/in.csv"}))
	if _, err := os.Stat(filepath.Join(dir, "archive/in.csv")); err != nil {
		t.Fatal(err)
	}
	// Bad input and limits: clear permanent errors.
	os.WriteFile(filepath.Join(dir, "big.ndjson"), []byte(strings.Repeat("{\"a\":1}\n", 200000)), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.ndjson"), []byte("{\"a\":1}\n{oops\n"), 0o644)
	os.Symlink("/etc", filepath.Join(dir, "escape"))
	for _, c := range []struct {
		op   string
		in   map[string]any
		want string
	}{
		{"read", map[string]any{"path": "../etc/passwd"}, "leaves the connection's directory"},
		{"read", map[string]any{"path": "/etc/passwd"}, "must be relative"},
		{"read", map[string]any{"path": "escape/passwd"}, "leaves the connection's directory"},
		{"read", map[string]any{"path": "missing.csv"}, "does not exist"},
		{"read", map[string]any{"path": "big.ndjson"}, "read limit"},
		{"read", map[string]any{"path": "bad.ndjson"}, "bad.ndjson:2: not JSON"},
		{"write", map[string]any{"path": "x.json", "mode": "append", "data": 1}, "cannot be appended"},
		{"write", map[string]any{"path": "x.csv"}, "give records"},
	} {
		_, err := op(t, x, conn, c.op, c.in)
		class, _ := connectors.Classify(err)
		if err == nil || !strings.Contains(err.Error(), c.want) || class != connectors.Permanent {
			t.Errorf("%s %v: %v (%s), want %q", c.op, c.in, err, class, c.want)
		}
	}
	if err := x.Check(&connectors.Connection{Name: "x", Config: map[string]any{"dir": filepath.Join(dir, "nope")}}); err == nil {
		t.Fatal("missing dir accepted")
	}
}
