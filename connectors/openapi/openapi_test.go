package openapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
)

const petstore3 = `
openapi: 3.0.3
info: {title: Pets, version: "1.2.0", description: "A pet store.\nMore text."}
servers:
  - url: https://{region}.pets.example.com/v1
    variables: {region: {default: eu}}
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: string}}
    get:
      operationId: getPet
      summary: Get a pet
      parameters:
        - {name: X-Request-Id, in: header, schema: {type: string}}
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}
    put:
      summary: Replace a pet
      parameters:
        - {name: id, in: query, schema: {type: integer}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              allOf:
                - $ref: "#/components/schemas/Pet"
      responses: {"204": {description: done}}
    delete:
      operationId: deletePet
      responses: {"204": {description: gone}}
  /pets:
    post:
      operationId: createPet
      parameters:
        - {name: id, in: query, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                id: {type: string}
                name: {type: string}
                tags: {type: array, items: {type: string}}
      responses:
        "201": {description: created, content: {application/json: {schema: {$ref: "#/components/schemas/Pet"}}}}
  /uploads:
    post:
      operationId: upload
      requestBody:
        required: true
        content: {application/octet-stream: {schema: {type: string, format: binary}}}
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Pets-Key}
    cc:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: "https://auth.example.com/token", scopes: {"pets:write": w, "pets:read": r}}}
  schemas:
    Pet:
      type: object
      properties:
        id: {type: string}
        name: {type: string}
        children:
          type: array
          items: {$ref: "#/components/schemas/Pet"}
`

func importSpec(t *testing.T, spec string) (*connectors.Connector, *Report) {
	t.Helper()
	c, rep, err := Import("pets", []byte(spec), httpconn.New(httpconn.Options{}).Operations[0])
	if err != nil {
		t.Fatal(err)
	}
	return c, rep
}

func op(c *connectors.Connector, name string) *connectors.Operation {
	for _, o := range c.Operations {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func TestImportOpenAPI3(t *testing.T) {
	c, rep := importSpec(t, petstore3)
	if rep.SourceKind != "openapi-3.0" || rep.Imported != 5 || len(rep.Rejected) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Auth["key"].Header != "X-Pets-Key" || rep.Auth["cc"].TokenURL != "https://auth.example.com/token" || len(rep.Auth["cc"].Scopes) != 2 {
		t.Fatalf("auth suggestions %+v", rep.Auth)
	}
	if rep.BaseURL != "https://eu.pets.example.com/v1" || c.Description != "A pet store." {
		t.Fatalf("base %q desc %q", rep.BaseURL, c.Description)
	}
	get := op(c, "getPet")
	if get == nil || !get.Hints.ReadOnly || get.Input["required"].([]any)[0] != "petId" {
		t.Fatalf("getPet %+v", get)
	}
	// The recursive Pet schema ends in a note instead of recursing forever.
	items := get.Output["properties"].(map[string]any)["children"].(map[string]any)["items"].(map[string]any)
	if !strings.Contains(items["description"].(string), "recursive") {
		t.Fatalf("recursion not cut: %v", items)
	}
	put := op(c, "put_pets_by_petId")
	if put == nil || !put.Hints.Destructive || !put.Hints.Idempotent {
		t.Fatalf("put %+v", put)
	}
	if op(c, "deletePet") == nil || !op(c, "deletePet").Hints.Destructive {
		t.Fatal("deletePet")
	}
	create := op(c, "createPet")
	props := create.Input["properties"].(map[string]any)
	// Query "id" and body "id" do not collide: the body one is prefixed.
	for _, k := range []string{"id", "body_id", "name", "tags"} {
		if _, ok := props[k]; !ok {
			t.Fatalf("createPet input lacks %q: %v", k, props)
		}
	}
	for _, o := range c.Operations {
		if len(o.Name) > 64 || strings.ContainsAny(o.Name, " /{}.") {
			t.Fatalf("bad tool name %q", o.Name)
		}
	}
}

func TestImportedOperationCallsTheAPI(t *testing.T) {
	var got *http.Request
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"id":"p1","name":"Rex"}`)
	}))
	defer srv.Close()
	c, _ := importSpec(t, petstore3)
	conn := &connectors.Connection{Name: "pets", Connector: "pets", BaseURL: srv.URL + "/v1", AllowPrivate: true}
	out, err := op(c, "createPet").Invoke(context.Background(), connectors.Call{
		Input: map[string]any{"id": "q-1", "body_id": "b-1", "name": "Rex", "tags": []any{"dog"}}, IdempotencyKey: "run:create", Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL.Path != "/v1/pets" || got.URL.Query().Get("id") != "q-1" || body["id"] != "b-1" || body["name"] != "Rex" || got.Header.Get("Idempotency-Key") != "run:create" {
		t.Fatalf("request %s %s body %v", got.Method, got.URL, body)
	}
	if out.(map[string]any)["body"].(map[string]any)["name"] != "Rex" {
		t.Fatalf("out %v", out)
	}
	if _, err := op(c, "getPet").Invoke(context.Background(), connectors.Call{Input: map[string]any{"petId": "a/b", "X-Request-Id": "r1"}, Connection: conn}); err != nil {
		t.Fatal(err)
	}
	if got.URL.EscapedPath() != "/v1/pets/a%2Fb" || got.Header.Get("X-Request-Id") != "r1" {
		t.Fatalf("get %s %v", got.URL.EscapedPath(), got.Header)
	}
	if _, err := op(c, "getPet").Invoke(context.Background(), connectors.Call{Input: map[string]any{"bogus": 1}, Connection: conn}); err == nil {
		t.Fatal("unknown input accepted")
	}
}

func TestImportSwagger2(t *testing.T) {
	spec := `{"swagger": "2.0", "info": {"title": "Old", "version": "1"}, "host": "api.example.com", "basePath": "/v2", "schemes": ["https"],
	  "paths": {"/users/{id}": {"get": {"operationId": "get user!", "parameters": [{"name": "id", "in": "path", "required": true, "type": "integer"}],
	    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/User"}}}}}},
	  "definitions": {"User": {"type": "object", "properties": {"id": {"type": "integer"}, "email": {"type": "string", "format": "email"}}}}}`
	c, rep := importSpec(t, spec)
	if rep.SourceKind != "swagger-2.0" || rep.Imported != 1 || rep.BaseURL != "https://api.example.com/v2" {
		t.Fatalf("%+v", rep)
	}
	o := c.Operations[0]
	if o.Name != "get_user" || o.Output["properties"].(map[string]any)["email"].(map[string]any)["format"] != "email" {
		t.Fatalf("%s %v", o.Name, o.Output)
	}
}

func TestImportRejectsGarbage(t *testing.T) {
	for _, spec := range []string{"", "{}", "openapi: 3.0.0\ninfo: [oops\n", `{"swagger": "1.2"}`} {
		if _, _, err := Import("x", []byte(spec), httpconn.New(httpconn.Options{}).Operations[0]); err == nil {
			t.Errorf("accepted %q", spec)
		}
	}
	// Unresolvable $refs, in YAML and in JSON: refused, naming the ref.
	for _, spec := range []string{
		"openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Missing'}}}}\n",
		`{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Missing"}}}}}}}}}`,
	} {
		_, _, err := Import("x", []byte(spec), httpconn.New(httpconn.Options{}).Operations[0])
		if err == nil || !strings.Contains(err.Error(), "Missing") {
			t.Errorf("unresolvable ref: %v", err)
		}
	}
}

func bigSpec() []byte {
	var sb strings.Builder
	sb.WriteString(`{"openapi":"3.0.3","info":{"title":"Big","version":"1"},"servers":[{"url":"https://big.example.com"}],"paths":{`)
	for i := 0; i < 500; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		n := strconv.Itoa(i)
		sb.WriteString(`"/things` + strings.Repeat("x", i%7) + `/` + n + `/{id}":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],` +
			`"get":{"operationId":"getThing` + n + `","parameters":[{"name":"limit","in":"query","schema":{"type":"integer"}}],"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing"}}}}}},` +
			`"post":{"operationId":"updateThing` + n + `","requestBody":{"required":true,"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing"}}}},"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Thing"}}}}}}}`)
	}
	sb.WriteString(`},"components":{"schemas":{"Thing":{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"parent":{"$ref":"#/components/schemas/Thing"},"tags":{"type":"array","items":{"type":"string"}}}}}}}`)
	return []byte(sb.String())
}

// BenchmarkLoad1000 is the baseline: kin-openapi parsing and resolving the
// same document, which Import does first.
func BenchmarkLoad1000(b *testing.B) {
	spec := bigSpec()
	for i := 0; i < b.N; i++ {
		if _, err := openapi3.NewLoader().LoadFromData(spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport1000: a generated OpenAPI 3.0 document with 1,000
// operations (500 paths x GET/POST, a shared recursive $ref schema).
//
//	go test -run '^$' -bench 1000 -benchtime 5x ./connectors/openapi
func BenchmarkImport1000(b *testing.B) {
	spec := bigSpec()
	req := httpconn.New(httpconn.Options{}).Operations[0]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, rep, err := Import("big", spec, req)
		if err != nil || rep.Imported != 1000 || len(c.Operations) != 1000 {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}

func TestFormAndMultipartBodies(t *testing.T) {
	spec := `
openapi: 3.0.0
info: {title: Forms, version: "1"}
paths:
  /login:
    post:
      operationId: login
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, required: [user], properties: {user: {type: string}, remember: {type: boolean}}}
      responses: {"200": {description: ok}}
  /notes:
    post:
      operationId: addNote
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema: {type: object, properties: {title: {type: string}, body: {type: string}}}
      responses: {"200": {description: ok}}
`
	var ctype string
	var fields map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype = r.Header.Get("Content-Type")
		if strings.HasPrefix(ctype, "multipart/") {
			_ = r.ParseMultipartForm(1 << 20)
			fields = r.MultipartForm.Value
		} else {
			_ = r.ParseForm()
			fields = r.PostForm
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c, rep := importSpec(t, spec)
	if rep.Imported != 2 || len(rep.Rejected) != 0 {
		t.Fatalf("%+v", rep)
	}
	conn := &connectors.Connection{Name: "f", Connector: "forms", BaseURL: srv.URL, AllowPrivate: true}
	if _, err := op(c, "login").Invoke(context.Background(), connectors.Call{Input: map[string]any{"user": "ada", "remember": true}, Connection: conn}); err != nil {
		t.Fatal(err)
	}
	if ctype != "application/x-www-form-urlencoded" || fields["user"][0] != "ada" || fields["remember"][0] != "true" {
		t.Fatalf("form: %s %v", ctype, fields)
	}
	if _, err := op(c, "addNote").Invoke(context.Background(), connectors.Call{Input: map[string]any{"title": "t", "body": "b"}, Connection: conn}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ctype, "multipart/form-data") || fields["title"][0] != "t" || fields["body"][0] != "b" {
		t.Fatalf("multipart: %s %v", ctype, fields)
	}
}

const listSpec = `
openapi: 3.1.0
info: {title: Notes, version: "1"}
paths:
  /notes:
    get:
      operationId: listNotes
      parameters:
        - {name: cursor, in: query, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  data: {type: array, items: {type: object}}
                  next_cursor: {type: [string, "null"]}
  /notes/{id}/attachment:
    put:
      operationId: putAttachment
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        required: true
        content: {application/pdf: {schema: {type: string, format: binary}}}
      responses: {"204": {description: stored}}
  /notes/{id}/files:
    post:
      operationId: addFile
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                caption: {type: string}
                file: {type: string, format: binary}
      responses: {"201": {description: added}}
`

// Imported list operations fetch every page on request; binary bodies and
// multipart file fields carry bytes.
func TestImportedPagingAndBinaryBodies(t *testing.T) {
	var gotCT, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Query().Get("cursor") {
			case "":
				io.WriteString(w, `{"data":[{"n":1},{"n":2}],"next_cursor":"c2"}`)
			case "c2":
				io.WriteString(w, `{"data":[{"n":3}],"next_cursor":null}`)
			}
			return
		}
		gotCT = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	c, rep := importSpec(t, listSpec)
	if rep.Imported != 3 {
		t.Fatalf("%+v", rep)
	}
	conn := &connectors.Connection{Name: "notes", Connector: "notes", BaseURL: srv.URL, AllowPrivate: true}
	list := op(c, "listNotes")
	if _, ok := list.Input["properties"].(map[string]any)["fetch_all"]; !ok {
		t.Fatalf("listNotes has no fetch_all: %v", list.Input)
	}
	out, err := list.Invoke(context.Background(), connectors.Call{Input: map[string]any{"fetch_all": true, "limit": 2.0}, Connection: conn})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if data := m["body"].(map[string]any)["data"].([]any); len(data) != 3 || m["pages"] != int64(2) {
		t.Fatalf("fetch_all: %v", m)
	}
	out, _ = list.Invoke(context.Background(), connectors.Call{Input: map[string]any{}, Connection: conn})
	if data := out.(map[string]any)["body"].(map[string]any)["data"].([]any); len(data) != 2 {
		t.Fatalf("one page: %v", out)
	}
	if _, err := op(c, "putAttachment").Invoke(context.Background(), connectors.Call{Input: map[string]any{"id": "n1",
		"body": map[string]any{"content_base64": "JVBERg=="}}, Connection: conn}); err != nil {
		t.Fatal(err)
	}
	if gotCT != "application/pdf" || gotBody != "%PDF" {
		t.Fatalf("raw body: %s %q", gotCT, gotBody)
	}
	file := op(c, "addFile").Input["properties"].(map[string]any)["file"].(map[string]any)
	if file["type"] != "object" || file["properties"].(map[string]any)["content_base64"] == nil {
		t.Fatalf("multipart binary field: %v", file)
	}
	if _, err := op(c, "addFile").Invoke(context.Background(), connectors.Call{Input: map[string]any{"id": "n1", "caption": "scan",
		"file": map[string]any{"filename": "scan.png", "content": "PNGDATA", "content_type": "image/png"}}, Connection: conn}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(gotCT, "multipart/form-data") || !strings.Contains(gotBody, `filename="scan.png"`) || !strings.Contains(gotBody, "PNGDATA") {
		t.Fatalf("multipart: %s %q", gotCT, gotBody)
	}
}
