// Package files is the built-in files connector: list, read and write CSV,
// JSON, NDJSON and text files inside a connection's directory, and move or
// delete them. Every path is relative to that directory and cannot leave it
// (os.Root: no "..", no absolute paths, no symlink escapes). Reads stream
// and stop at a size limit; writes are atomic (temp file, then rename).
//
// files.list backs the "new file" poll trigger: cursor modified, key path.
package files

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/bounded"
)

// jsonLimits bound the structure of JSON read from files; their size is
// MaxReadBytes's to bound.
var jsonLimits = bounded.Limits{MaxBytes: 1 << 62}

// notJSON says why bytes were refused: the decoder's own words for bad
// syntax, the limit's for the rest (too deep, bad UTF-8).
func notJSON(err error) string {
	if cause := errors.Unwrap(err); cause != nil {
		return "not JSON: " + cause.Error()
	}
	return weft.Message(err)
}

// Options bound reads.
type Options struct {
	MaxReadBytes int64 // a file read at most this big (default 64 MiB)
	MaxList      int   // files listed at most (default 10,000)
}

// New returns the files connector.
func New(o Options) *connectors.Connector {
	if o.MaxReadBytes <= 0 {
		o.MaxReadBytes = 64 << 20
	}
	if o.MaxList <= 0 {
		o.MaxList = 10000
	}
	f := &files{opts: o}
	pathProp := map[string]any{"type": "string", "description": "path relative to the connection's directory"}
	format := map[string]any{"enum": []any{"csv", "json", "ndjson", "text"}, "description": "default: from the file extension"}
	obj := connectors.ObjectSchema
	return &connectors.Connector{
		Name: "files", Title: "Files", Version: "1.0.0",
		Description: "Read and write CSV, JSON, NDJSON and text files in a directory; list, move and delete them; trigger on new or changed files.",
		Config: map[string]any{"type": "object", "required": []any{"dir"}, "properties": map[string]any{
			"dir": map[string]any{"type": "string", "description": "the directory this connection may read and write"}}},
		Check: func(c *connectors.Connection) error {
			d, _ := c.Config["dir"].(string)
			if d == "" {
				return errors.New("a files connection needs config.dir")
			}
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				return fmt.Errorf("files: config.dir %q is not a directory", d)
			}
			return nil
		},
		Triggers: []connectors.Trigger{{Name: "new_file", Operation: "list", Items: "files", Cursor: "modified", Key: "path",
			Description: "New or changed files: poll files.list (path, pattern) and start a run per file."}},
		Operations: []*connectors.Operation{
			{Name: "list", Title: "List files", Description: "List the files in a folder (recursively with recursive), matching a glob pattern, oldest first.",
				Input: obj(nil, map[string]any{"path": pathProp, "pattern": map[string]any{"type": "string", "description": "glob on the file name, e.g. *.csv"},
					"recursive": map[string]any{"type": "boolean"}}),
				Output: map[string]any{"type": "object", "properties": map[string]any{"files": map[string]any{"type": "array", "items": map[string]any{"type": "object",
					"properties": map[string]any{"path": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"}, "size": map[string]any{"type": "integer"}, "modified": map[string]any{"type": "string"}}}}}},
				Hints: connectors.Hints{ReadOnly: true, Idempotent: true}, Invoke: f.list},
			{Name: "read", Title: "Read a file", Description: "Read a CSV (records keyed by the header row), JSON, NDJSON (one record per line) or text file.",
				Input: obj([]string{"path"}, map[string]any{"path": pathProp, "format": format,
					"delimiter": map[string]any{"type": "string", "description": "CSV field separator (default ,)"}}),
				Output: map[string]any{"type": "object", "properties": map[string]any{"records": map[string]any{"type": "array"}, "data": map[string]any{},
					"text": map[string]any{"type": "string"}, "count": map[string]any{"type": "integer"}}},
				Hints: connectors.Hints{ReadOnly: true, Idempotent: true}, Invoke: f.read},
			{Name: "write", Title: "Write a file", Description: "Write records as CSV or NDJSON, data as JSON, or text; mode create (fail if it exists), overwrite or append (CSV, NDJSON, text).",
				Input: obj([]string{"path"}, map[string]any{"path": pathProp, "format": format,
					"records": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}, "data": map[string]any{}, "text": map[string]any{"type": "string"},
					"columns": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "CSV column order (default: the first record's keys, sorted)"},
					"mode":    map[string]any{"enum": []any{"create", "overwrite", "append"}, "default": "overwrite"}}),
				Output: map[string]any{"type": "object", "properties": map[string]any{"path": map[string]any{"type": "string"}, "bytes": map[string]any{"type": "integer"}}},
				Invoke: f.write},
			{Name: "move", Title: "Move a file", Description: "Move or rename a file within the directory (e.g. to an archive folder after processing).",
				Input:  obj([]string{"from", "to"}, map[string]any{"from": pathProp, "to": pathProp}),
				Output: map[string]any{"type": "object"}, Hints: connectors.Hints{Idempotent: false}, Invoke: f.move},
			{Name: "delete", Title: "Delete a file", Description: "Delete one file.",
				Input:  obj([]string{"path"}, map[string]any{"path": pathProp}),
				Output: map[string]any{"type": "object"}, Hints: connectors.Hints{Destructive: true, Idempotent: true}, Invoke: f.delete},
		},
	}
}

type files struct{ opts Options }

func permanent(format string, args ...any) error {
	return &connectors.Error{Class: connectors.Permanent, Message: "files: " + fmt.Sprintf(format, args...)}
}

// root opens the connection's directory as an os.Root.
func root(conn *connectors.Connection) (*os.Root, error) {
	if conn == nil {
		return nil, permanent("name a files connection (its config.dir is the directory)")
	}
	d, _ := conn.Config["dir"].(string)
	if d == "" {
		return nil, permanent("connection %s has no config.dir", conn.Name)
	}
	r, err := os.OpenRoot(d)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("files: opening %s: %v", d, err)}
	}
	return r, nil
}

// rootAndPath opens the connection's directory and checks the call's
// "path" input; the caller closes the root.
func rootAndPath(c connectors.Call) (*os.Root, string, error) {
	p, err := clean(str(c.Input["path"]))
	if err != nil {
		return nil, "", err
	}
	r, err := root(c.Connection)
	if err != nil {
		return nil, "", err
	}
	return r, p, nil
}

// clean checks a relative path and normalises it.
func clean(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") {
		return "", permanent("path %q must be relative to the connection's directory", p)
	}
	c := path.Clean(filepath.ToSlash(p))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", permanent("path %q leaves the connection's directory", p)
	}
	return c, nil
}

func fileErr(err error, p string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return permanent("%s does not exist", p)
	case errors.Is(err, fs.ErrExist):
		return permanent("%s already exists (mode create)", p)
	case errors.Is(err, fs.ErrPermission):
		return permanent("%s: permission denied", p)
	case strings.Contains(err.Error(), "escapes") || strings.Contains(err.Error(), "path escapes"):
		return permanent("%s leaves the connection's directory", p)
	}
	return &connectors.Error{Class: connectors.Retryable, Message: fmt.Sprintf("files: %s: %v", p, err)}
}

func (f *files) list(ctx context.Context, c connectors.Call) (any, error) {
	r, dir, err := rootAndPath(c)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	pattern := str(c.Input["pattern"])
	if pattern != "" {
		if _, err := path.Match(pattern, "x"); err != nil {
			return nil, permanent("pattern %q: %v", pattern, err)
		}
	}
	recursive, _ := c.Input["recursive"].(bool)
	type entry struct {
		path, name string
		size       int64
		mod        time.Time
	}
	var out []entry
	err = fs.WalkDir(r.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p != dir && !recursive {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") { // hidden and in-progress (.tmp) files
			return nil
		}
		if pattern != "" {
			if ok, _ := path.Match(pattern, d.Name()); !ok {
				return nil
			}
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		out = append(out, entry{p, d.Name(), info.Size(), info.ModTime()})
		if len(out) > f.opts.MaxList {
			return fmt.Errorf("more than %d files", f.opts.MaxList)
		}
		return nil
	})
	if err != nil {
		return nil, fileErr(err, dir)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].mod.Equal(out[j].mod) {
			return out[i].mod.Before(out[j].mod)
		}
		return out[i].path < out[j].path
	})
	list := make([]any, 0, len(out))
	for _, e := range out {
		list = append(list, map[string]any{"path": e.path, "name": e.name, "size": e.size, "modified": e.mod.UTC().Format(time.RFC3339Nano)})
	}
	return map[string]any{"files": list, "count": int64(len(list))}, nil
}

func formatOf(in map[string]any, p string) (string, error) {
	if f := str(in["format"]); f != "" {
		switch f {
		case "csv", "json", "ndjson", "text":
			return f, nil
		}
		return "", permanent("format must be csv, json, ndjson or text, got %q", f)
	}
	switch strings.ToLower(path.Ext(p)) {
	case ".csv":
		return "csv", nil
	case ".json":
		return "json", nil
	case ".ndjson", ".jsonl":
		return "ndjson", nil
	}
	return "text", nil
}

// limited fails once more than max bytes were read.
type limited struct {
	r   io.Reader
	n   int64
	max int64
}

var errTooBig = errors.New("too big")

func (l *limited) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, errTooBig
	}
	return n, err
}

func (f *files) read(ctx context.Context, c connectors.Call) (any, error) {
	r, p, err := rootAndPath(c)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	format, err := formatOf(c.Input, p)
	if err != nil {
		return nil, err
	}
	fh, err := r.Open(p)
	if err != nil {
		return nil, fileErr(err, p)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && fi.Size() > f.opts.MaxReadBytes {
		return nil, permanent("%s is %d bytes; the read limit is %d", p, fi.Size(), f.opts.MaxReadBytes)
	}
	lr := &limited{r: fh, max: f.opts.MaxReadBytes}
	tooBig := func(err error) error {
		if errors.Is(err, errTooBig) {
			return permanent("%s is larger than the read limit of %d bytes", p, f.opts.MaxReadBytes)
		}
		return nil
	}
	switch format {
	case "csv":
		cr := csv.NewReader(bufio.NewReader(lr))
		if d := str(c.Input["delimiter"]); d != "" {
			cr.Comma = []rune(d)[0]
		}
		cr.FieldsPerRecord = 0
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err == io.EOF {
			return map[string]any{"records": []any{}, "count": int64(0)}, nil
		}
		if err != nil {
			if e := tooBig(err); e != nil {
				return nil, e
			}
			return nil, permanent("%s: %v", p, err)
		}
		header = append([]string(nil), header...)
		if len(header) > 0 {
			header[0] = strings.TrimPrefix(header[0], "\ufeff") // a byte-order mark from spreadsheet exports
		}
		records := []any{}
		for {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			row, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				if e := tooBig(err); e != nil {
					return nil, e
				}
				return nil, permanent("%s: %v", p, err)
			}
			m := make(map[string]any, len(header))
			for i, h := range header {
				if i < len(row) {
					m[h] = row[i]
				}
			}
			records = append(records, m)
		}
		return map[string]any{"records": records, "count": int64(len(records))}, nil
	case "ndjson":
		sc := bufio.NewScanner(lr)
		sc.Buffer(make([]byte, 64<<10), int(min(f.opts.MaxReadBytes, 16<<20)))
		records := []any{}
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var v any
			if err := bounded.UnmarshalJSON("the line", b, &v, jsonLimits); err != nil {
				return nil, permanent("%s:%d: %s", p, line, notJSON(err))
			}
			records = append(records, v)
		}
		if err := sc.Err(); err != nil {
			if e := tooBig(err); e != nil {
				return nil, e
			}
			return nil, permanent("%s:%d: %v", p, line+1, err)
		}
		return map[string]any{"records": records, "count": int64(len(records))}, nil
	case "json":
		b, err := io.ReadAll(lr)
		if err != nil {
			if e := tooBig(err); e != nil {
				return nil, e
			}
			return nil, fileErr(err, p)
		}
		var v any
		if err := bounded.UnmarshalJSON("the file", b, &v, jsonLimits); err != nil {
			return nil, permanent("%s: %s", p, notJSON(err))
		}
		return map[string]any{"data": v}, nil
	}
	b, err := io.ReadAll(lr)
	if err != nil {
		if e := tooBig(err); e != nil {
			return nil, e
		}
		return nil, fileErr(err, p)
	}
	return map[string]any{"text": string(b)}, nil
}

func (f *files) write(ctx context.Context, c connectors.Call) (any, error) {
	r, p, err := rootAndPath(c)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if p == "." {
		return nil, permanent("path is required")
	}
	format, err := formatOf(c.Input, p)
	if err != nil {
		return nil, err
	}
	mode := str(c.Input["mode"])
	if mode == "" {
		mode = "overwrite"
	}
	if mode != "create" && mode != "overwrite" && mode != "append" {
		return nil, permanent("mode must be create, overwrite or append, got %q", mode)
	}
	if mode == "append" && format == "json" {
		return nil, permanent("a JSON document cannot be appended to; use ndjson")
	}
	exists := false
	if _, err := r.Stat(p); err == nil {
		exists = true
	}
	var buf bytes.Buffer
	records, _ := c.Input["records"].([]any)
	switch format {
	case "csv":
		if records == nil {
			return nil, permanent("write csv: give records")
		}
		cols := strList(c.Input["columns"])
		if len(cols) == 0 && len(records) > 0 {
			m, _ := records[0].(map[string]any)
			for k := range m {
				cols = append(cols, k)
			}
			sort.Strings(cols)
		}
		w := csv.NewWriter(&buf)
		if !(mode == "append" && exists) {
			_ = w.Write(cols)
		}
		row := make([]string, len(cols))
		for i, rec := range records {
			m, ok := rec.(map[string]any)
			if !ok {
				return nil, permanent("records[%d] is not an object", i)
			}
			for j, col := range cols {
				row[j] = cell(m[col])
			}
			_ = w.Write(row)
		}
		w.Flush()
	case "ndjson":
		if records == nil {
			return nil, permanent("write ndjson: give records")
		}
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for _, rec := range records {
			if err := enc.Encode(rec); err != nil {
				return nil, permanent("records: %v", err)
			}
		}
	case "json":
		data, ok := c.Input["data"]
		if !ok {
			if records == nil {
				return nil, permanent("write json: give data (or records)")
			}
			data = records
		}
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return nil, permanent("data: %v", err)
		}
		buf.Write(append(b, '\n'))
	default:
		buf.WriteString(str(c.Input["text"]))
	}
	if dir := path.Dir(p); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return nil, fileErr(err, dir)
		}
	}
	if mode == "create" && exists {
		return nil, permanent("%s already exists (mode create)", p)
	}
	if mode == "append" {
		fh, err := r.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fileErr(err, p)
		}
		if _, err := fh.Write(buf.Bytes()); err != nil {
			fh.Close()
			return nil, fileErr(err, p)
		}
		if err := fh.Close(); err != nil {
			return nil, fileErr(err, p)
		}
		return map[string]any{"path": p, "bytes": int64(buf.Len())}, nil
	}
	// Atomic: readers (and the new-file trigger, which skips dot files)
	// never see a half-written file.
	tmp := path.Join(path.Dir(p), fmt.Sprintf(".%s.%d.tmp", path.Base(p), time.Now().UnixNano()))
	if err := r.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return nil, fileErr(err, p)
	}
	if err := r.Rename(tmp, p); err != nil {
		_ = r.Remove(tmp)
		return nil, fileErr(err, p)
	}
	return map[string]any{"path": p, "bytes": int64(buf.Len())}, nil
}

func (f *files) move(ctx context.Context, c connectors.Call) (any, error) {
	r, err := root(c.Connection)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	from, err := clean(str(c.Input["from"]))
	if err != nil {
		return nil, err
	}
	to, err := clean(str(c.Input["to"]))
	if err != nil {
		return nil, err
	}
	if dir := path.Dir(to); dir != "." {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			return nil, fileErr(err, dir)
		}
	}
	if err := r.Rename(from, to); err != nil {
		return nil, fileErr(err, from)
	}
	return map[string]any{"from": from, "to": to}, nil
}

func (f *files) delete(ctx context.Context, c connectors.Call) (any, error) {
	r, p, err := rootAndPath(c)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fileErr(err, p)
	}
	return map[string]any{"deleted": p}, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// cell renders a value for a CSV cell: strings as is, the rest as JSON.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}
