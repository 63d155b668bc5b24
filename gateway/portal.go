package gateway

// The developer portal: {base}/{product}/{version}/docs renders the
// version's published OpenAPI document as a page for the product's
// consumers, with a try-it form per operation. It is built from the same
// document as /openapi.json (so it cannot say something the contract does
// not), served like the document (no console sign-in: consumers are not
// console users), with everything a flow author wrote escaped by
// html/template, and under a Content-Security-Policy that allows only this
// response's own inline script and style (a per-response nonce) and
// connections back to this origin. Try-it requests are sent without
// cookies, so a signed-in console session is never used by the page.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/weftio/weft"
)

type portalParam struct {
	Name, In, Description, Schema string
	Required                      bool
}

type portalResponse struct {
	Status, Description, Schema string
}

type portalOp struct {
	ID, Method, Path, Summary, Description string
	Params                                 []portalParam
	Body                                   string // the request body's schema, indented; "" when none
	BodyRequired                           bool
	Responses                              []portalResponse
}

type portalPage struct {
	Nonce, Product, Version, Title, Description, Server, DocURL string
	Deprecated, Sunset, Successor                               string
	Ops                                                         []portalOp
}

// portal serves a version's developer page.
func (s *Server) portal(w http.ResponseWriter, r *http.Request) {
	p, v, ok := s.versionFor(w, r)
	if !ok {
		return
	}
	rs, ok := s.routesFor(w, r, p, v)
	if !ok {
		return
	}
	server := s.cfg.APIBasePath + "/" + p.Name + "/" + v.Name
	raw, err := rs.OpenAPI(server)
	if err != nil {
		writeErr(w, weft.Wrap(weft.EInternal, err, "openapi: %v", err))
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		writeErr(w, weft.Wrap(weft.EInternal, err, "openapi: %v", err))
		return
	}
	page := portalFromDoc(doc)
	page.Product, page.Version, page.Server, page.DocURL = p.Name, v.Name, server, server+"/openapi.json"
	page.Deprecated = w.Header().Get("Deprecation")
	page.Sunset = w.Header().Get("Sunset")
	if succ := s.successorURL(p, v); succ != "" {
		page.Successor = succ + "/docs"
	}
	var nb [16]byte
	_, _ = rand.Read(nb[:])
	page.Nonce = hex.EncodeToString(nb[:])
	var out bytes.Buffer
	if err := portalTmpl.Execute(&out, page); err != nil {
		writeErr(w, weft.Wrap(weft.EInternal, err, "portal: %v", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+page.Nonce+"'; style-src 'nonce-"+page.Nonce+"'; "+
		"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(out.Bytes())
}

// portalFromDoc reads the operations of a published OpenAPI document
// (as apim.Routes.OpenAPI writes it: local $refs into components only).
func portalFromDoc(doc map[string]any) portalPage {
	var page portalPage
	info, _ := doc["info"].(map[string]any)
	page.Title, _ = info["title"].(string)
	page.Description, _ = info["description"].(string)
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	show := func(schema any) string {
		if schema == nil {
			return ""
		}
		b, err := json.MarshalIndent(resolveRefs(schema, schemas, 0), "", "  ")
		if err != nil {
			return ""
		}
		return string(b)
	}
	paths, _ := doc["paths"].(map[string]any)
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	methods := []string{"get", "post", "put", "patch", "delete", "head", "options"}
	for _, path := range keys {
		item, _ := paths[path].(map[string]any)
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			o := portalOp{Method: strings.ToUpper(m), Path: path}
			o.ID, _ = op["operationId"].(string)
			o.Summary, _ = op["summary"].(string)
			o.Description, _ = op["description"].(string)
			params, _ := op["parameters"].([]any)
			for _, pa := range params {
				pm, _ := pa.(map[string]any)
				var pp portalParam
				pp.Name, _ = pm["name"].(string)
				pp.In, _ = pm["in"].(string)
				pp.Description, _ = pm["description"].(string)
				pp.Required, _ = pm["required"].(bool)
				pp.Schema = compactJSON(resolveRefs(pm["schema"], schemas, 0))
				o.Params = append(o.Params, pp)
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				o.BodyRequired, _ = rb["required"].(bool)
				content, _ := rb["content"].(map[string]any)
				if js, ok := content["application/json"].(map[string]any); ok {
					o.Body = show(js["schema"])
					if o.Body == "" {
						o.Body = "{}"
					}
				}
			}
			resps, _ := op["responses"].(map[string]any)
			codes := make([]string, 0, len(resps))
			for c := range resps {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			for _, c := range codes {
				rm, _ := resps[c].(map[string]any)
				pr := portalResponse{Status: c}
				pr.Description, _ = rm["description"].(string)
				if content, ok := rm["content"].(map[string]any); ok {
					if js, ok := content["application/json"].(map[string]any); ok {
						pr.Schema = show(js["schema"])
					}
				}
				o.Responses = append(o.Responses, pr)
			}
			page.Ops = append(page.Ops, o)
		}
	}
	return page
}

// resolveRefs inlines "#/components/schemas/X" references for display, to a
// bounded depth (a recursive schema shows its reference past it).
func resolveRefs(v any, schemas map[string]any, depth int) any {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok && len(t) == 1 {
			name, found := strings.CutPrefix(ref, "#/components/schemas/")
			if target, ok := schemas[name]; found && ok && depth < 8 {
				return resolveRefs(target, schemas, depth+1)
			}
			return t
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = resolveRefs(x, schemas, depth)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = resolveRefs(x, schemas, depth)
		}
		return out
	}
	return v
}

func compactJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

var portalTmpl = template.Must(template.New("portal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Title}}{{.Title}}{{else}}{{.Product}}{{end}} {{.Version}} · API</title>
<style nonce="{{.Nonce}}">
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:24px} .sub{color:#57606a} code,pre,textarea,input{font-family:ui-monospace,monospace;font-size:13px}
.warn{background:#fff4d6;border:1px solid #e3b341;padding:8px 12px;border-radius:6px;margin:12px 0}
section.op{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:16px 0;padding:16px}
.m{display:inline-block;min-width:64px;text-align:center;font-weight:600;border-radius:4px;padding:2px 8px;color:#fff;background:#57606a;margin-right:8px}
.m.GET{background:#0969da}.m.POST{background:#1a7f37}.m.PUT,.m.PATCH{background:#9a6700}.m.DELETE{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:8px 0} td,th{border-bottom:1px solid #eaeef2;text-align:left;padding:4px 8px;vertical-align:top}
pre{background:#f6f8fa;border:1px solid #eaeef2;border-radius:6px;padding:8px;overflow:auto;max-height:320px;margin:4px 0}
details{margin:8px 0} label{display:block;margin:6px 0 2px;font-weight:600}
input,textarea{width:100%;box-sizing:border-box;border:1px solid #d0d7de;border-radius:6px;padding:6px}
button{margin-top:8px;padding:6px 16px;border-radius:6px;border:1px solid #1a7f37;background:#1f883d;color:#fff;font-weight:600;cursor:pointer}
.req{color:#cf222e}
</style></head>
<body><main>
<h1>{{if .Title}}{{.Title}}{{else}}{{.Product}}{{end}} <span class="sub">{{.Version}}</span></h1>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="sub">Base URL <code>{{.Server}}</code> · contract <a href="{{.DocURL}}">openapi.json</a> (OpenAPI 3.1)</p>
{{if .Deprecated}}<div class="warn" role="status">This version is deprecated{{if .Sunset}} and will be retired on {{.Sunset}}{{end}}.{{if .Successor}} Its successor: <a href="{{.Successor}}">{{.Successor}}</a>.{{end}}</div>{{end}}
{{range .Ops}}
<section class="op" id="op-{{.ID}}">
<h2><span class="m {{.Method}}">{{.Method}}</span><code>{{.Path}}</code></h2>
{{if .Summary}}<p>{{.Summary}}</p>{{end}}{{if .Description}}<p class="sub">{{.Description}}</p>{{end}}
{{if .Params}}<table><thead><tr><th>parameter</th><th>in</th><th>schema</th></tr></thead><tbody>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">required</span>{{end}}{{if .Description}}<br><span class="sub">{{.Description}}</span>{{end}}</td><td>{{.In}}</td><td><code>{{.Schema}}</code></td></tr>{{end}}
</tbody></table>{{end}}
{{if .Body}}<details><summary>Request body{{if .BodyRequired}} (required){{end}}: application/json</summary><pre>{{.Body}}</pre></details>{{end}}
<details><summary>Responses</summary><table><tbody>
{{range .Responses}}<tr><td><code>{{.Status}}</code></td><td>{{.Description}}{{if .Schema}}<pre>{{.Schema}}</pre>{{end}}</td></tr>{{end}}
</tbody></table></details>
<details class="try"><summary>Try it</summary>
<form data-method="{{.Method}}" data-path="{{.Path}}">
{{range .Params}}<label>{{.Name}} <span class="sub">({{.In}})</span></label><input data-in="{{.In}}" data-name="{{.Name}}"{{if .Required}} required{{end}}>{{end}}
{{if .Body}}<label>body (JSON)</label><textarea data-in="body" rows="6">{}</textarea>{{end}}
<label>extra headers <span class="sub">(one "Name: value" per line, e.g. your API key)</span></label><textarea data-in="extra" rows="2"></textarea>
<button type="submit">Send</button>
<pre class="out" aria-live="polite" hidden></pre>
</form></details>
</section>
{{else}}<p>This version publishes no routes.</p>{{end}}
</main>
<script nonce="{{.Nonce}}">
(function () {
  var base = {{.Server}};
  document.querySelectorAll("form[data-method]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = form.querySelector(".out");
      var path = form.dataset.path, query = new URLSearchParams(), headers = {}, body;
      try {
        form.querySelectorAll("[data-in]").forEach(function (el) {
          var v = el.value;
          switch (el.dataset.in) {
          case "path": path = path.split("{" + el.dataset.name + "}").join(encodeURIComponent(v)); break;
          case "query": if (v !== "") query.append(el.dataset.name, v); break;
          case "header": if (v !== "") headers[el.dataset.name] = v; break;
          case "body": if (v.trim() !== "") { JSON.parse(v); body = v; headers["Content-Type"] = "application/json"; } break;
          case "extra":
            v.split("\n").forEach(function (line) {
              var i = line.indexOf(":");
              if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
            });
          }
        });
      } catch (e) {
        out.hidden = false; out.textContent = "The body is not JSON: " + e.message; return;
      }
      var qs = query.toString();
      out.hidden = false; out.textContent = "…";
      fetch(base + path + (qs ? "?" + qs : ""), {method: form.dataset.method, headers: headers, body: body, credentials: "omit", redirect: "manual"})
        .then(function (r) {
          return r.text().then(function (t) {
            try { t = JSON.stringify(JSON.parse(t), null, 2); } catch (e) {}
            var hs = [];
            r.headers.forEach(function (v, k) { hs.push(k + ": " + v); });
            out.textContent = r.status + " " + r.statusText + "\n" + hs.join("\n") + "\n\n" + t;
          });
        })
        .catch(function (e) { out.textContent = "request failed: " + e.message; });
    });
  });
})();
</script>
</body></html>
`))
