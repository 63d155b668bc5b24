package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/weftio/weft/connectors/sandbox"
)

func box(t *testing.T, file string) *httptest.Server {
	t.Helper()
	spec, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sandbox.New("api", spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return srv
}

// call is do() for answers that are not objects: status, decoded body, headers.
func call(t *testing.T, method, url, body string) (int, any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == 500 {
		t.Fatalf("%s %s: 500 %v", method, url, out)
	}
	return resp.StatusCode, out, resp.Header
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %v", v)
	}
	return m
}

// GitHub's and Gitea's ids are integers: the sandbox gives integers (it
// once gave "rep_1" and answered 500 on its own check), and a created
// repository is listed with the same id.
func TestIssue16_F18_IDsFollowDeclaredType(t *testing.T) {
	for _, c := range []struct{ file, create, list, body string }{
		{"testdata/github-extract.json", "/user/repos", "/user/repos", `{"name":"hello"}`},
		{"testdata/gitea-v1.json", "/user/repos", "/user/repos", `{"name":"hello"}`},
		{"testdata/gitea-v1.json", "/orgs", "/orgs", `{"username":"acme"}`},
	} {
		srv := box(t, c.file)
		st, out, _ := call(t, "POST", srv.URL+c.create, c.body)
		if st != 201 {
			t.Fatalf("%s POST %s: %d %v", c.file, c.create, st, out)
		}
		rec := obj(t, out)
		id, ok := rec["id"].(float64)
		if !ok || id != 1 {
			t.Fatalf("%s POST %s: id %#v, want the integer 1", c.file, c.create, rec["id"])
		}
		st, out, _ = call(t, "GET", srv.URL+c.list, "")
		list, _ := out.([]any)
		if st != 200 || len(list) != 1 || obj(t, list[0])["id"] != 1.0 {
			t.Fatalf("%s GET %s: %d %v", c.file, c.list, st, out)
		}
		// A second record gets the next integer.
		if _, out, _ = call(t, "POST", srv.URL+c.create, strings.Replace(c.body, `"}`, `2"}`, 1)); obj(t, out)["id"] != 2.0 {
			t.Fatalf("%s second id: %v", c.file, obj(t, out)["id"])
		}
	}
	// The example APIs' string ids are strings still.
	srv := serve(t)
	if _, acct := do(t, "POST", srv.URL+"/sandbox/crm/accounts", map[string]any{"name": "Acme"}); acct["id"] != "acc_1" {
		t.Fatalf("crm id %v", acct["id"])
	}
}

// POST /repos/{owner}/{repo}/issues once answered 404 because nothing can
// create /repos/{owner}/{repo} in the sandbox (GitHub creates it through
// POST /user/repos): such a parent is now created on first use, said so
// in X-Sandbox-Note, and stays. A parent the spec can create (the
// tracker's projects) must still exist, and a deleted one stays deleted.
func TestIssue16_F18_NestedParentCreatedOnFirstUse(t *testing.T) {
	for _, file := range []string{"testdata/github-extract.json", "testdata/gitea-v1.json"} {
		srv := box(t, file)
		u := srv.URL + "/repos/octo/hello"
		st, out, h := call(t, "POST", u+"/issues", `{"title":"Kick-off"}`)
		if st != 201 {
			t.Fatalf("%s: issues_create under a new repo: %d %v", file, st, out)
		}
		if !strings.Contains(h.Get("X-Sandbox-Note"), "/repos/octo/hello") {
			t.Fatalf("%s: no note of the created parent: %q", file, h.Get("X-Sandbox-Note"))
		}
		issue := obj(t, out)
		if issue["title"] != "Kick-off" || issue["number"] != 1.0 {
			t.Fatalf("%s: issue %v", file, issue)
		}
		st, first, _ := call(t, "GET", u, "")
		repo := obj(t, first)
		if st != 200 || repo["name"] != "hello" {
			t.Fatalf("%s: the created repository: %d %v", file, st, first)
		}
		_, again, _ := call(t, "GET", u, "")
		if a, b := fmt.Sprint(first), fmt.Sprint(again); a != b {
			t.Fatalf("%s: the repository changed between two reads:\n%s\n%s", file, a, b)
		}
		if _, out, _ := call(t, "POST", u+"/issues", `{"title":"Second"}`); obj(t, out)["number"] != 2.0 {
			t.Fatalf("%s: second issue number: %v", file, out)
		}
		if st, out, _ := call(t, "GET", u+"/issues", ""); st != 200 || len(out.([]any)) != 2 {
			t.Fatalf("%s: list issues: %d %v", file, st, out)
		}
		if st, out, _ := call(t, "GET", u+"/issues/1", ""); st != 200 || obj(t, out)["title"] != "Kick-off" {
			t.Fatalf("%s: get issue by number: %d %v", file, st, out)
		}
		if st, _, _ := call(t, "GET", u+"/issues/99", ""); st != 404 {
			t.Fatalf("%s: an issue never created: %d", file, st)
		}
		if st, _, _ := call(t, "DELETE", u, ""); st != 204 {
			t.Fatalf("%s: delete repo: %d", file, st)
		}
		if st, _, _ := call(t, "GET", u, ""); st != 404 {
			t.Fatalf("%s: a deleted repository came back: %d", file, st)
		}
		if st, _, _ := call(t, "POST", u+"/issues", `{"title":"x"}`); st != 404 {
			t.Fatalf("%s: an issue under a deleted repository: %d", file, st)
		}
	}
	// A parent the spec has a POST for must have been created.
	srv := serve(t)
	if code, _ := do(t, "POST", srv.URL+"/sandbox/tracker/projects/prj_404/issues", map[string]any{"title": "x"}); code != 404 {
		t.Fatalf("orphan tracker issue: %d", code)
	}
}

// GET /user and GET /gists once answered 500: GET /user is a singleton
// (oneOf private/public user, chosen through the discriminator), stable
// across reads and changed by PATCH; gists are listed as created.
func TestIssue16_F18_SingletonsAndLists(t *testing.T) {
	srv := box(t, "testdata/github-extract.json")
	st, a, _ := call(t, "GET", srv.URL+"/user", "")
	user := obj(t, a)
	if st != 200 || user["user_view_type"] == nil || user["login"] == nil {
		t.Fatalf("GET /user: %d %v", st, a)
	}
	if _, ok := user["id"].(float64); !ok {
		t.Fatalf("user id %#v", user["id"])
	}
	if _, b, _ := call(t, "GET", srv.URL+"/user", ""); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("GET /user changed between reads")
	}
	if st, out, _ := call(t, "PATCH", srv.URL+"/user", `{"name":"Ada Lovelace"}`); st != 200 || obj(t, out)["name"] != "Ada Lovelace" {
		t.Fatalf("PATCH /user: %d %v", st, out)
	}
	if _, out, _ := call(t, "GET", srv.URL+"/user", ""); obj(t, out)["name"] != "Ada Lovelace" || obj(t, out)["login"] != user["login"] {
		t.Fatalf("GET /user after PATCH: %v", out)
	}
	if st, out, _ := call(t, "GET", srv.URL+"/gists", ""); st != 200 || len(out.([]any)) != 0 {
		t.Fatalf("GET /gists: %d %v", st, out)
	}
	st, out, _ := call(t, "POST", srv.URL+"/gists", `{"files":{"a.txt":{"content":"hi"}},"public":true}`)
	if st != 201 {
		t.Fatalf("POST /gists: %d %v", st, out)
	}
	gist := obj(t, out)
	if _, ok := gist["id"].(string); !ok { // gists' ids are strings in GitHub's spec
		t.Fatalf("gist id %#v", gist["id"])
	}
	if st, out, _ := call(t, "GET", srv.URL+"/gists", ""); st != 200 || len(out.([]any)) != 1 || obj(t, out.([]any)[0])["id"] != gist["id"] {
		t.Fatalf("GET /gists after POST: %d %v", st, out)
	}
	if st, out, _ := call(t, "GET", srv.URL+"/gists/"+gist["id"].(string), ""); st != 200 || obj(t, out)["id"] != gist["id"] {
		t.Fatalf("GET /gists/{id}: %d %v", st, out)
	}
	// Starring is a relation the spec cannot POST: PUT makes it, GET sees
	// it (204), DELETE removes it (404 after).
	star := srv.URL + "/user/starred/octo/hello"
	for _, c := range []struct {
		method string
		want   int
	}{{"PUT", 204}, {"GET", 204}, {"DELETE", 204}, {"GET", 404}, {"PUT", 204}, {"GET", 204}} {
		if st, out, _ := call(t, c.method, star, ""); st != c.want {
			t.Fatalf("%s %s: %d %v, want %d", c.method, star, st, out, c.want)
		}
	}
}

// The generator's values satisfy what the schema declares.
func TestIssue16_F18_GeneratedValuesSatisfySchemas(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`{
  "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
  "components": {"schemas": {
    "formats": {"type": "object", "required": ["when", "day", "mail", "home", "uid", "v4", "v6", "raw", "i32", "i64", "at"],
      "properties": {"when": {"type": "string", "format": "date-time"}, "day": {"type": "string", "format": "date"},
        "mail": {"type": "string", "format": "email"}, "home": {"type": "string", "format": "uri"},
        "uid": {"type": "string", "format": "uuid"}, "v4": {"type": "string", "format": "ipv4"},
        "v6": {"type": "string", "format": "ipv6"}, "raw": {"type": "string", "format": "byte"},
        "i32": {"type": "integer", "format": "int32", "minimum": 3000000000, "maximum": 5},
        "i64": {"type": "integer", "format": "int64", "minimum": 10, "exclusiveMinimum": true, "multipleOf": 7},
        "at": {"type": "string", "format": "date-time", "nullable": true}}},
    "bounds": {"type": "object", "required": ["state", "n", "x", "code", "tags", "short", "long", "meta"],
      "properties": {"state": {"type": "string", "enum": ["open", "closed"]},
        "n": {"type": "integer", "minimum": 5, "maximum": 9}, "x": {"type": "number", "maximum": -2.5, "exclusiveMaximum": true},
        "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, "short": {"type": "string", "maxLength": 2},
        "long": {"type": "string", "minLength": 40},
        "tags": {"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "string", "enum": ["a", "b", "c", "d"]}},
        "meta": {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}}}},
    "pet": {"oneOf": [{"$ref": "#/components/schemas/cat"}, {"$ref": "#/components/schemas/dog"}],
      "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/cat", "dog": "#/components/schemas/dog"}}},
    "cat": {"type": "object", "required": ["kind", "lives"], "properties": {"kind": {"type": "string"}, "lives": {"type": "integer"}}},
    "dog": {"type": "object", "required": ["kind", "bark"], "properties": {"kind": {"type": "string"}, "bark": {"type": "boolean"}}},
    "either": {"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}},
                         {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}}]},
    "any": {"anyOf": [{"type": "integer", "minimum": 100}, {"type": "string"}]},
    "merged": {"allOf": [{"$ref": "#/components/schemas/cat"}, {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 3}}}]},
    "maybe": {"type": "object", "nullable": true, "required": ["owner"], "properties": {"owner": {"$ref": "#/components/schemas/cat"}}},
    "tree": {"type": "object", "required": ["name", "children", "parent"],
      "properties": {"name": {"type": "string"}, "parent": {"$ref": "#/components/schemas/tree"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/tree"}}}},
    "list": {"type": "array", "minItems": 1000000, "items": {"type": "string"}}
  }}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"formats", "bounds", "pet", "either", "any", "merged", "maybe", "tree", "list"} {
		sch := doc.Components.Schemas[name].Value
		v := sandbox.Generate(sch, name)
		data, _ := json.Marshal(v)
		if len(data) > 1<<20 {
			t.Errorf("%s: %d bytes generated: not bounded", name, len(data))
			continue
		}
		var round any
		_ = json.Unmarshal(data, &round)
		err := sch.VisitJSON(round, openapi3.VisitAsResponse(), openapi3.MultiErrors())
		switch {
		case name == "tree":
			// A schema that requires itself has no finite instance: the
			// generator stops at its depth bound instead of looping.
			if err == nil {
				t.Errorf("tree: a finite value claims to satisfy an infinite schema")
			}
		case name == "list":
			if len(round.([]any)) > 64 {
				t.Errorf("list: %d items generated", len(round.([]any)))
			}
		case name == "formats":
			// i32's bounds cannot both hold: the rest must.
			if err == nil || !strings.Contains(err.Error(), "i32") || strings.Count(err.Error(), "Error at") != 1 {
				t.Errorf("formats: %v (%s)", err, data)
			}
		case err != nil:
			t.Errorf("%s: %s does not satisfy the schema: %v", name, data, err)
		}
		if again, _ := json.Marshal(sandbox.Generate(sch, name)); string(again) != string(data) {
			t.Errorf("%s: not the same value twice for one seed", name)
		}
	}
	// Formats the validator leaves alone are still honoured.
	f := sandbox.Generate(doc.Components.Schemas["formats"].Value, "f").(map[string]any)
	if !strings.Contains(f["mail"].(string), "@") || !strings.HasPrefix(f["home"].(string), "https://") || len(f["uid"].(string)) != 36 {
		t.Errorf("formats: %v", f)
	}
	if pet := sandbox.Generate(doc.Components.Schemas["pet"].Value, "p").(map[string]any); pet["kind"] != "cat" {
		t.Errorf("discriminator: %v", pet)
	}
	// Conform keeps what is valid and repairs the rest.
	cat := doc.Components.Schemas["cat"].Value
	got := sandbox.Conform(cat, map[string]any{"kind": "cat", "lives": "nine", "color": "black"}).(map[string]any)
	if got["kind"] != "cat" || got["color"] != "black" {
		t.Errorf("conform lost valid fields: %v", got)
	}
	if _, ok := got["lives"].(float64); !ok {
		t.Errorf("conform kept an invalid field: %v", got)
	}
	if v := sandbox.Conform(doc.Components.Schemas["maybe"].Value, nil); v != nil {
		t.Errorf("a null for a nullable schema was replaced: %v", v)
	}
}

// Each collection holds a bounded number of records, and the sandbox a
// bounded number of collections: past them, a clear 507 (nothing grows
// without end when a flow loops on a sandbox).
func TestIssue16_F18_StateIsBounded(t *testing.T) {
	spec, _ := os.ReadFile("testdata/github-extract.json")
	b, err := sandbox.New("gh", spec)
	if err != nil {
		t.Fatal(err)
	}
	b.SetLimits(3, 4, 1<<30)
	send := func(b *sandbox.Sandbox, method, path, body string) (int, string) {
		rw := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, strings.NewReader(body)).WithContext(context.Background())
		req.Header.Set("Content-Type", "application/json")
		b.ServeHTTP(rw, req)
		return rw.Code, rw.Body.String()
	}
	post := func(path, body string) (int, string) { return send(b, "POST", path, body) }
	for i := 0; i < 3; i++ {
		if st, body := post("/user/repos", fmt.Sprintf(`{"name":"r%d"}`, i)); st != 201 {
			t.Fatalf("repo %d: %d %s", i, st, body)
		}
	}
	if st, body := post("/user/repos", `{"name":"one-too-many"}`); st != 507 || !strings.Contains(body, "sandbox_full") {
		t.Fatalf("past the record bound: %d %s", st, body)
	}
	var last int
	var body string
	for i := 0; i < 8 && last != 507; i++ {
		last, body = post(fmt.Sprintf("/repos/o%d/r/issues", i), `{"title":"x"}`)
	}
	if last != 507 || !strings.Contains(body, "sandbox_full") {
		t.Fatalf("past the collection bound: %d %s", last, body)
	}
	// Bytes in all: big bodies fill the budget; deleting gives it back.
	b2, _ := sandbox.New("gh", spec)
	b2.SetLimits(100, 100, 250_000)
	big := fmt.Sprintf(`{"files":{"a.txt":{"content":"x"}},"description":%q}`, strings.Repeat("x", 90_000))
	var ids []string
	for i := 0; i < 2; i++ {
		st, body := send(b2, "POST", "/gists", big)
		if st != 201 {
			t.Fatalf("big gist %d: %d %.200s", i, st, body)
		}
		var g map[string]any
		_ = json.Unmarshal([]byte(body), &g)
		ids = append(ids, g["id"].(string))
	}
	held := b2.Bytes()
	if held < 180_000 {
		t.Fatalf("held %d bytes after two 90 kB records", held)
	}
	if st, body := send(b2, "POST", "/gists", big); st != 507 || !strings.Contains(body, "bytes") {
		t.Fatalf("past the byte bound: %d %.200s", st, body)
	}
	if st, _ := send(b2, "DELETE", "/gists/"+ids[0], ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if b2.Bytes() > held-90_000 {
		t.Fatalf("deleting freed nothing: %d then %d bytes", held, b2.Bytes())
	}
	if st, body := send(b2, "POST", "/gists", big); st != 201 {
		t.Fatalf("after a delete: %d %.200s", st, body)
	}
	if st, body := send(b2, "PATCH", "/user", `{"bio":"`+strings.Repeat("y", 150_000)+`"}`); st != 507 {
		t.Fatalf("a singleton past the byte bound: %d %.200s", st, body)
	}
}
