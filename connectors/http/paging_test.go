package http

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
)

// listAPI serves 23 items in every paging style.
func listAPI(t *testing.T) (*httptest.Server, *int) {
	calls := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		q := r.URL.Query()
		size, _ := strconv.Atoi(q.Get("limit"))
		if size == 0 {
			size = 10
		}
		start := 0
		switch r.URL.Path {
		case "/cursor":
			start, _ = strconv.Atoi(q.Get("after"))
		case "/offset":
			start, _ = strconv.Atoi(q.Get("offset"))
		case "/page", "/link":
			p, _ := strconv.Atoi(q.Get("page"))
			if p == 0 {
				p = 1
			}
			start = (p - 1) * size
		}
		end := min(start+size, 23)
		var items []string
		for i := start; i < end; i++ {
			items = append(items, fmt.Sprintf(`{"n":%d}`, i))
		}
		list := "[" + strings.Join(items, ",") + "]"
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/cursor":
			next := "null"
			if end < 23 {
				next = strconv.Quote(strconv.Itoa(end))
			}
			fmt.Fprintf(w, `{"meta":{"next":%s},"data":{"items":%s}}`, next, list)
		case "/link":
			if end < 23 {
				p, _ := strconv.Atoi(q.Get("page"))
				if p == 0 {
					p = 1
				}
				w.Header().Set("Link", fmt.Sprintf(`<%s/link?page=%d&limit=%d>; rel="next", <%s/link?page=3>; rel="last"`, srv.URL, p+1, size, srv.URL))
			}
			fmt.Fprint(w, list)
		default:
			fmt.Fprintf(w, `{"results":%s,"total":23}`, list)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestFetchAllEveryStyle(t *testing.T) {
	srv, calls := listAPI(t)
	conn := &connectors.Connection{Name: "api", Connector: "http", BaseURL: srv.URL, AllowPrivate: true}
	for _, c := range []struct {
		url    string
		paging map[string]any
		items  func(map[string]any) []any
	}{
		{"/cursor", map[string]any{"style": "cursor", "items": "data.items", "cursor_param": "after", "next": "meta.next"},
			func(o map[string]any) []any {
				return o["body"].(map[string]any)["data"].(map[string]any)["items"].([]any)
			}},
		{"/link", map[string]any{"style": "link"}, func(o map[string]any) []any { return o["body"].([]any) }},
		{"/offset", map[string]any{"style": "offset", "items": "results", "limit_param": "limit", "page_size": 10.0},
			func(o map[string]any) []any { return o["body"].(map[string]any)["results"].([]any) }},
		{"/page", map[string]any{"style": "page", "items": "results", "limit_param": "limit", "page_size": 10.0},
			func(o map[string]any) []any { return o["body"].(map[string]any)["results"].([]any) }},
	} {
		*calls = 0
		out, err := invokeBig(t, conn, map[string]any{"url": c.url, "paginate": c.paging})
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		items := c.items(out)
		if len(items) != 23 || items[22].(map[string]any)["n"] != 22.0 || out["pages"] != int64(3) || out["truncated"] != false || *calls != 3 {
			t.Fatalf("%s: %d items, %v pages, %d calls, truncated %v", c.url, len(items), out["pages"], *calls, out["truncated"])
		}
		// Limits stop early and say so.
		c.paging["max_items"] = 15.0
		out, _ = invokeBig(t, conn, map[string]any{"url": c.url, "paginate": c.paging})
		if len(c.items(out)) != 15 || out["truncated"] != true {
			t.Fatalf("%s max_items: %d %v", c.url, len(c.items(out)), out["truncated"])
		}
		delete(c.paging, "max_items")
		c.paging["max_pages"] = 1.0
		out, _ = invokeBig(t, conn, map[string]any{"url": c.url, "paginate": c.paging})
		if len(c.items(out)) != 10 || out["truncated"] != true {
			t.Fatalf("%s max_pages: %d %v", c.url, len(c.items(out)), out["truncated"])
		}
	}
	if _, err := invokeBig(t, conn, map[string]any{"url": "/cursor", "paginate": map[string]any{"style": "cursor", "items": "nope"}}); err == nil || !strings.Contains(err.Error(), `no "nope" list`) {
		t.Fatalf("bad items path: %v", err)
	}
	if _, err := invokeBig(t, conn, map[string]any{"url": "/cursor", "paginate": map[string]any{"style": "sideways"}}); err == nil || !strings.Contains(err.Error(), "style must be") {
		t.Fatalf("bad style: %v", err)
	}
}

func invokeBig(t *testing.T, conn *connectors.Connection, in map[string]any) (map[string]any, error) {
	op := New(Options{}).Operations[0]
	out, err := op.Invoke(context.Background(), connectors.Call{Input: in, Connection: conn})
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// File parts in multipart bodies and raw octet-stream bodies arrive intact.
func TestMultipartFilesAndRawBodies(t *testing.T) {
	type part struct{ name, filename, ctype, data string }
	var parts []part
	var raw []byte
	var rawType string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "multipart/form-data" {
			mr := multipart.NewReader(r.Body, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(p)
				parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
			}
		} else {
			raw, _ = io.ReadAll(r.Body)
			rawType = ct
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	conn := &connectors.Connection{Name: "api", Connector: "http", AllowPrivate: true}
	_, err := invokeBig(t, conn, map[string]any{"method": "POST", "url": srv.URL, "multipart": map[string]any{
		"title": "Q3 report",
		"file":  map[string]any{"filename": "r\"1.pdf", "content_base64": "JVBERi0xLjQK/w==", "content_type": "application/pdf"},
		"notes": map[string]any{"filename": "notes.txt", "content": "hello"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 || parts[0].filename != `r"1.pdf` || parts[0].ctype != "application/pdf" || parts[0].data != "%PDF-1.4\n\xff" ||
		parts[1].filename != "notes.txt" || parts[1].ctype != "application/octet-stream" || parts[2].name != "title" || parts[2].data != "Q3 report" {
		t.Fatalf("%+v", parts)
	}
	if _, err := invokeBig(t, conn, map[string]any{"method": "PUT", "url": srv.URL, "raw": map[string]any{"content_base64": "AAEC/w=="}}); err != nil {
		t.Fatal(err)
	}
	if string(raw) != "\x00\x01\x02\xff" || rawType != "application/octet-stream" {
		t.Fatalf("raw %q %s", raw, rawType)
	}
	if _, err := invokeBig(t, conn, map[string]any{"method": "PUT", "url": srv.URL, "raw": map[string]any{"content_base64": "!!"}}); err == nil {
		t.Fatal("bad base64 accepted")
	}
}
