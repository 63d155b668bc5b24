package gateway_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/gateway"
)

func getPage(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// The developer page renders the version's contract (each operation, its
// parameters and schemas, a try-it form) under a nonce-only CSP, escapes
// what flow authors wrote, says a version is deprecated with its successor,
// and is answered like the document for unknown or retired versions. It
// starts no run.
func TestDeveloperPortal(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	f.deploy(strings.Replace(getOrderV1, "summary: one order", `summary: "one order <script>alert(1)</script>"`, 1))
	f.deploy(createOrder)
	f.deploy(getOrderV2)
	sunset := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	f.mustPut("shop", `{"title": "Shop & Co", "description": "Orders <b>here</b>", "versions": [
		{"name": "v1", "status": "deprecated", "sunset": "`+sunset.Format(time.RFC3339)+`", "successor": "v2", "flows": [{"flow": "get-order", "version": 1}, {"flow": "create-order", "version": 1}]},
		{"name": "v2", "flows": [{"flow": "get-order", "version": 2}]},
		{"name": "v0", "status": "retired", "successor": "v2", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	before := f.runs()

	code, h, page := getPage(t, f.srv.URL+"/apis/shop/v1/docs")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", code, h.Get("Content-Type"))
	}
	csp := h.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9+/]+)'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP: %q", csp)
	}
	if strings.Count(page, `nonce="`+m[1]+`"`) != 2 || strings.Count(page, "<script") != 1 {
		t.Fatalf("every script and style must carry this response's nonce, and the page has one script:\n%s", page)
	}
	for _, want := range []string{
		`<code>/orders/{id}</code>`, `<code>/orders</code>`, // both routes
		`data-method="GET" data-path="/orders/{id}"`, `data-in="path" data-name="id"`, `data-in="query" data-name="expand"`,
		`data-in="header" data-name="X-Tenant"`, `data-in="body"`, // try-it inputs
		`&#34;pattern&#34;:&#34;^[0-9]&#43;$&#34;`, `&#34;minimum&#34;: 1`, // a parameter's schema, the body's (resolved from its $ref)
		`one order &lt;script&gt;alert(1)&lt;/script&gt;`, // the summary, escaped
		`Shop &amp; Co`, `Orders &lt;b&gt;here&lt;/b&gt;`, // title and description, escaped
		`This version is deprecated`, `href="/apis/shop/v2/docs"`, // lifecycle
		`href="/apis/shop/v1/openapi.json"`, `credentials: "omit"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") || strings.Contains(page, "<b>here") {
		t.Fatal("unescaped author text in the page")
	}
	if _, _, v2 := getPage(t, f.srv.URL+"/apis/shop/v2/docs"); strings.Contains(v2, "deprecated") || strings.Contains(v2, "/orders</code>") {
		t.Fatalf("v2's page shows v1's lifecycle or routes:\n%s", v2)
	}
	if code, _, _ := getPage(t, f.srv.URL+"/apis/shop/v0/docs"); code != http.StatusGone {
		t.Fatalf("retired version's page: %d", code)
	}
	if code, _, _ := getPage(t, f.srv.URL+"/apis/shop/v9/docs"); code != http.StatusNotFound {
		t.Fatalf("unknown version's page: %d", code)
	}
	if code, _, _ := getPage(t, f.srv.URL+"/apis/nope/v1/docs"); code != http.StatusNotFound {
		t.Fatalf("unknown product's page: %d", code)
	}
	if n := f.runs(); n != before {
		t.Fatalf("pages started %d run(s)", n-before)
	}
}

// A flow cannot publish GET /docs: the path is the version's developer page.
func TestDocsPathReserved(t *testing.T) {
	f := newAPIMFixture(t, gateway.Config{})
	f.deploy("name: get-order\ntrigger:\n  api: {method: GET, path: /docs}\nsteps:\n  - respond: {status: 200}\n")
	code, out := f.putProduct("shop", `{"versions": [{"name": "v1", "flows": [{"flow": "get-order", "version": 1}]}]}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(toJSON(out), "developer page") {
		t.Fatalf("%d %v", code, out)
	}
}
