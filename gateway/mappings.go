package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/mapper"
)

func (s *Server) mappingRoutes(r chi.Router) {
	s.route(r, http.MethodGet, "/mappings", access.MappingsRead, func(w http.ResponseWriter, r *http.Request) {
		f, err := s.listFilter(r, access.MappingsRead)
		if err != nil {
			writeErr(w, err)
			return
		}
		ms, err := s.cfg.Mapper.List(r.Context())
		if err != nil {
			writeErr(w, err)
			return
		}
		ms = slices.DeleteFunc(ms, func(m map[string]any) bool { ns, _ := m["namespace"].(string); return !f.keep(ns) })
		writeJSON(w, http.StatusOK, map[string]any{"mappings": ms})
	})
	s.route(r, http.MethodPost, "/mappings", access.MappingsWrite, s.createMapping)
	s.resource(r, http.MethodGet, "/mappings/{id}", access.MappingsRead, s.mappingResolver(), func(w http.ResponseWriter, r *http.Request) {
		m, err := s.cfg.Mapper.Get(r.Context(), chi.URLParam(r, "id"))
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	s.resource(r, http.MethodPost, "/mappings/{id}/reviews", access.MappingsWrite, s.mappingResolver(), func(w http.ResponseWriter, r *http.Request) {
		data, err := s.readBody(w, r)
		if err != nil {
			writeErr(w, err)
			return
		}
		var reviews []mapper.Review
		if err := decodeJSON(data, &reviews); err != nil {
			var one mapper.Review
			if err2 := decodeJSON(data, &one); err2 != nil {
				writeErr(w, weft.Errorf(weft.EInvalid, `body must be a review {"target", "action": accept|reject|edit, "expr", "reviewer", "note"} or a list of them`))
				return
			}
			reviews = []mapper.Review{one}
		}
		m, err := s.cfg.Mapper.Apply(r.Context(), chi.URLParam(r, "id"), reviews)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	s.resource(r, http.MethodGet, "/mappings/{id}/export", access.MappingsRead, s.mappingResolver(), func(w http.ResponseWriter, r *http.Request) {
		y, err := s.cfg.Mapper.Export(r.Context(), chi.URLParam(r, "id"), r.URL.Query().Get("root"), r.URL.Query().Get("step"))
		if err != nil {
			writeErr(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write([]byte(y))
	})
}

// schemaInput is one side of a mapping request: a document (field list,
// JSON Schema or sample payload), CSV text, or a database table.
type schemaInput struct {
	Name       string          `json:"name"`
	Doc        json.RawMessage `json:"doc"`
	CSV        string          `json:"csv"`
	Connection string          `json:"connection"`
	Table      string          `json:"table"`
}

func (s *Server) createMapping(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req struct {
		Name      string      `json:"name"`
		Namespace string      `json:"namespace"`
		Source    schemaInput `json:"source"`
		Target    schemaInput `json:"target"`
		Top       int         `json:"top"`
		Preview   bool        `json:"preview"` // propose without storing (200, no id)
	}
	if err := decodeJSON(data, &req); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"name", "namespace", "source": {"doc" | "csv" | "connection"+"table"}, "target": {...}, "top", "preview"}: %s`, weft.Message(err)))
		return
	}
	ns := access.NamespaceOr(req.Namespace)
	if err := access.CheckNamespace(ns); err != nil {
		writeErr(w, err)
		return
	}
	if err := allow(r, access.MappingsWrite, ns); err != nil {
		writeErr(w, err)
		return
	}
	// A table read through a connection: the connection must be the
	// mapping's namespace's (and readable by the caller).
	for _, in := range []schemaInput{req.Source, req.Target} {
		if in.Table == "" {
			continue
		}
		if err := s.allowResource(r, access.ConnectionsRead, s.connectionResolver(), in.Connection); err != nil {
			writeErr(w, err)
			return
		}
		if c, _ := s.e.Catalog().LookupConnection(in.Connection); c != nil && access.NamespaceOr(c.Namespace) != ns {
			writeErr(w, weft.Errorf(weft.EUnprocessable, "connection %q belongs to namespace %q: a mapping in %q reads only its own namespace's connections", in.Connection, access.NamespaceOr(c.Namespace), ns))
			return
		}
	}
	src, err := s.schemaOf(r.Context(), req.Source, "source")
	if err != nil {
		writeErr(w, err)
		return
	}
	tgt, err := s.schemaOf(r.Context(), req.Target, "target")
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Preview {
		m, err := s.cfg.Mapper.Propose(r.Context(), ns, req.Name, src, tgt, req.Top)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	m, err := s.cfg.Mapper.CreateIn(r.Context(), ns, req.Name, src, tgt, req.Top)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) schemaOf(ctx context.Context, in schemaInput, side string) (*mapper.Schema, error) {
	name := in.Name
	if name == "" {
		name = side
	}
	switch {
	case in.Table != "":
		return s.tableSchema(ctx, in.Connection, in.Table)
	case in.CSV != "":
		return mapper.FromCSV(name, strings.NewReader(in.CSV))
	case len(in.Doc) > 0:
		sc, err := mapper.Parse(name, in.Doc)
		if err != nil {
			return nil, err
		}
		if sc.Name == "" || sc.Name == side {
			sc.Name = name
		}
		return sc, nil
	}
	return nil, weft.Errorf(weft.EInvalid, "%s: give doc, csv, or connection and table", side)
}

var tableRe = lazy.NewRegexp(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// tableSchema introspects a table through a database connection: column
// names and types, plus a few sample rows as examples.
func (s *Server) tableSchema(ctx context.Context, connection, table string) (*mapper.Schema, error) {
	if !tableRe.MatchString(table) {
		return nil, weft.Errorf(weft.EInvalid, "table %q is not a table name", table)
	}
	conn, ok := s.e.Catalog().LookupConnection(connection)
	if !ok {
		return nil, weft.Errorf(weft.ENotFound, "no connection %q", connection)
	}
	var q string
	var args []any
	schema, tbl := "", table
	if i := strings.IndexByte(table, '.'); i >= 0 {
		schema, tbl = table[:i], table[i+1:]
	}
	switch conn.Connector {
	case "postgres":
		if schema == "" {
			schema = "public"
		}
		q, args = `SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, []any{schema, tbl}
	case "mysql":
		q, args = `SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`, []any{tbl}
	case "sqlite":
		q, args = `SELECT name, type, CASE WHEN "notnull" = 1 THEN 'NO' ELSE 'YES' END AS nullable FROM pragma_table_info(?)`, []any{tbl}
	default:
		return nil, weft.Errorf(weft.EInvalid, "connection %q is a %s connection, not a database", connection, conn.Connector)
	}
	cols, err := s.query(ctx, conn, q, args)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "table %s has no columns (does it exist?)", table)
	}
	sample, _ := s.query(ctx, conn, "SELECT * FROM "+table+" LIMIT 5", nil)
	type fl struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Examples []any  `json:"examples,omitempty"`
		Required bool   `json:"required,omitempty"`
	}
	doc := struct {
		Name   string `json:"name"`
		Fields []fl   `json:"fields"`
	}{Name: connection + "." + table}
	for _, c := range cols {
		name := fmt.Sprint(lower(c, "name"))
		f := fl{Name: name, Type: sqlType(fmt.Sprint(lower(c, "type"))), Required: fmt.Sprint(lower(c, "nullable")) == "NO"}
		for _, row := range sample {
			if v := row[name]; v != nil {
				f.Examples = append(f.Examples, v)
			}
		}
		doc.Fields = append(doc.Fields, f)
	}
	b, _ := json.Marshal(doc)
	return mapper.FromFieldList(b)
}

func lower(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	return m[strings.ToUpper(k)]
}

func (s *Server) query(ctx context.Context, conn *connectors.Connection, q string, args []any) ([]map[string]any, error) {
	op, ok := s.e.Catalog().Operation(conn.Connector + ".query")
	if !ok {
		return nil, weft.Errorf(weft.EUnavailable, "no query operation for %s", conn.Connector)
	}
	out, err := op.Invoke(ctx, connectors.Call{Input: map[string]any{"sql": q, "args": args}, Connection: conn})
	if err != nil {
		return nil, weft.Errorf(weft.EUnavailable, "introspecting through %s: %v", conn.Name, err)
	}
	var rows []map[string]any
	for _, r := range out.(map[string]any)["rows"].([]any) {
		rows = append(rows, r.(map[string]any))
	}
	return rows, nil
}

func sqlType(t string) string {
	t = strings.ToLower(t)
	switch {
	case strings.Contains(t, "int"):
		return "integer"
	case strings.Contains(t, "numeric"), strings.Contains(t, "decimal"), strings.Contains(t, "real"), strings.Contains(t, "double"), strings.Contains(t, "float"):
		return "number"
	case strings.Contains(t, "bool"):
		return "boolean"
	case strings.Contains(t, "timestamp"), strings.Contains(t, "datetime"):
		return "datetime"
	case t == "date":
		return "date"
	case strings.Contains(t, "json"):
		return "object"
	}
	return "string"
}
