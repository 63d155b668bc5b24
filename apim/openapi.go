package apim

import (
	"encoding/json"
	"strings"
)

// OpenAPI is the OpenAPI 3.1 document of a product version, built from its
// routes' schemas; serverURL is where the version is served
// (/apis/orders/v1, or an absolute URL).
func (rs *Routes) OpenAPI(serverURL string) ([]byte, error) {
	p, v := rs.Product, rs.Version
	title := p.Title
	if title == "" {
		title = p.Name
	}
	info := map[string]any{"title": title, "version": v.Name}
	if p.Description != "" {
		info["description"] = p.Description
	}
	paths := map[string]any{}
	for _, rt := range rs.List {
		a := rt.API
		op := map[string]any{"operationId": operationID(rt.Flow), "responses": responses(rt)}
		if a.Summary != "" {
			op["summary"] = a.Summary
		}
		if v.Deprecated() {
			op["deprecated"] = true
		}
		var params []any
		for _, name := range a.Params {
			s := map[string]any{"type": "string"}
			if a.Request.Path != nil {
				if ps := prop(a.Request.Path, name); ps != nil {
					s = ps
				}
			}
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": s})
		}
		if a.Request.Query != nil {
			params = append(params, objectParams(a.Request.Query.Doc, "query")...)
		}
		if a.Request.Headers != nil {
			params = append(params, objectParams(a.Request.Headers.Doc, "header")...)
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if a.Request.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": a.Request.Body.Doc}}}
		}
		item, _ := paths[a.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[a.Path] = item
		}
		item[strings.ToLower(a.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info":    info,
		"servers": []any{map[string]any{"url": serverURL}},
		"paths":   paths,
		"components": map[string]any{"schemas": map[string]any{"Error": map[string]any{
			"type": "object", "required": []any{"error"},
			"properties": map[string]any{"error": map[string]any{
				"type": "object", "required": []any{"code", "message"},
				"properties": map[string]any{
					"code":    map[string]any{"type": "string"},
					"message": map[string]any{"type": "string"},
					"problems": map[string]any{"type": "array", "items": map[string]any{
						"type":       "object",
						"properties": map[string]any{"path": map[string]any{"type": "string", "description": "JSON pointer into {path, query, headers, body}"}, "message": map[string]any{"type": "string"}},
					}},
				},
			}},
		}}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// operationID is a flow name as an identifier client generators accept.
func operationID(name string) string {
	return strings.NewReplacer("-", "_").Replace(name)
}

func objectParams(doc map[string]any, in string) []any {
	props, _ := doc["properties"].(map[string]any)
	req := map[string]bool{}
	if rs, ok := doc["required"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				req[s] = true
			}
		}
	}
	var out []any
	for _, name := range sortedKeys(props) {
		s, _ := props[name].(map[string]any)
		if s == nil {
			s = map[string]any{}
		}
		out = append(out, map[string]any{"name": name, "in": in, "required": req[name], "schema": s})
	}
	return out
}

func responses(rt *Route) map[string]any {
	out := map[string]any{}
	for status, s := range rt.API.Responses {
		out[status] = map[string]any{"description": "status " + status, "content": map[string]any{"application/json": map[string]any{"schema": s.Doc}}}
	}
	if len(out) == 0 {
		out["200"] = map[string]any{"description": "the flow's response"}
	}
	errRef := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}
	for status, d := range map[string]string{"400": "the request does not match the route's schemas (each problem with its JSON pointer)", "413": "the body is larger than the server's limit"} {
		if _, ok := out[status]; !ok {
			out[status] = map[string]any{"description": d, "content": errRef}
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}
