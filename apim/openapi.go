package apim

import (
	"encoding/json"
	"strings"

	"github.com/weftio/weft/flow"
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
	schemas := map[string]any{"Error": errorSchema}
	for _, rt := range rs.List {
		a := rt.API
		id := operationID(rt.Flow)
		// named registers a schema as a component and refers to it: client
		// generators name their types after components.
		named := func(s *flow.JSONSchema, place string) map[string]any {
			name := componentName(id + "_" + place)
			schemas[name] = hoist(s.Doc, name, schemas)
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		op := map[string]any{"operationId": id, "responses": responses(rt, named)}
		if a.Summary != "" {
			op["summary"] = a.Summary
		}
		if v.Deprecated() {
			op["deprecated"] = true
		}
		var params []any
		var pathDoc map[string]any
		if a.Request.Path != nil {
			pathDoc = hoist(a.Request.Path.Doc, componentName(id+"_path"), schemas)
		}
		for _, name := range a.Params {
			s := map[string]any{"type": "string"}
			if props, _ := pathDoc["properties"].(map[string]any); props != nil {
				if ps, ok := props[name].(map[string]any); ok {
					s = ps
				}
			}
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": s})
		}
		if a.Request.Query != nil {
			params = append(params, objectParams(hoist(a.Request.Query.Doc, componentName(id+"_query"), schemas), "query")...)
		}
		if a.Request.Headers != nil {
			params = append(params, objectParams(hoist(a.Request.Headers.Doc, componentName(id+"_headers"), schemas), "header")...)
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if a.Request.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": named(a.Request.Body, "request")}}}
		}
		item, _ := paths[a.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[a.Path] = item
		}
		item[strings.ToLower(a.Method)] = op
	}
	components := map[string]any{"schemas": schemas}
	doc := map[string]any{
		"openapi":    "3.1.0",
		"info":       info,
		"servers":    []any{map[string]any{"url": serverURL}},
		"paths":      paths,
		"components": components,
	}
	// A product that needs a credential says which (and clients generated
	// from the document send it); its refusals are described too.
	var scheme map[string]any
	switch rs.Product.Auth {
	case AuthAPIKey:
		scheme = map[string]any{"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key",
			"description": "a consumer's API key (weft consumers key NAME); Authorization: Bearer KEY is accepted too"}}
		doc["security"] = []any{map[string]any{"apiKey": []any{}}}
	case AuthJWT:
		scheme = map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "an access token of issuer " + rs.Product.JWTIssuer + " naming a subscribed consumer"}}
		doc["security"] = []any{map[string]any{"bearer": []any{}}}
	case AuthHMAC:
		// OpenAPI has no HMAC scheme: the header is described, and its
		// canonical string documented (docs/api-management.md).
		scheme = map[string]any{"hmac": map[string]any{"type": "apiKey", "in": "header", "name": "Authorization",
			"description": HMACScheme + " Credential=<id>, Timestamp=<unix seconds>, Nonce=<16-64 of A-Za-z0-9-_>, Signature=<hex HMAC-SHA256 with the consumer's secret of \"" + HMACScheme + "\\n\" METHOD \"\\n\" TARGET \"\\n\" TIMESTAMP \"\\n\" NONCE \"\\n\" hex(SHA-256(body))>; TARGET is the path and query as sent; the timestamp within " + HMACWindow.String() + " of the server's clock; each nonce once"}}
		doc["security"] = []any{map[string]any{"hmac": []any{}}}
	}
	if scheme != nil {
		components["securitySchemes"] = scheme
		errRef := map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}
		for _, item := range paths {
			for _, op := range item.(map[string]any) {
				rsp := op.(map[string]any)["responses"].(map[string]any)
				for status, d := range map[string]string{"401": "no credential, or one that is malformed, unknown, revoked or expired",
					"403": "the consumer is disabled or not subscribed to this version", "429": "over the plan's rate limit or a quota (Retry-After says when to try again)"} {
					if _, ok := rsp[status]; !ok {
						rsp[status] = map[string]any{"description": d, "content": errRef}
					}
				}
			}
		}
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

func responses(rt *Route, named func(*flow.JSONSchema, string) map[string]any) map[string]any {
	out := map[string]any{}
	for _, status := range sortedKeysOf(rt.API.Responses) {
		out[status] = map[string]any{"description": "status " + status, "content": map[string]any{"application/json": map[string]any{"schema": named(rt.API.Responses[status], "response_"+status)}}}
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

// errorSchema is the shape of every refusal: the weft error with its
// problems, each a JSON pointer and a message.
var errorSchema = map[string]any{
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
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortStrings(out)
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
