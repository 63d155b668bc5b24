package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/store"
)

// DefaultAPIBasePath is where API products are served.
const DefaultAPIBasePath = "/apis"

var apiBaseRe = lazy.NewRegexp(`^(/[a-z0-9][a-z0-9._-]{0,62}){1,4}$`)

// CheckAPIBasePath refuses a base path that is not a short absolute path or
// that would shadow Weft's own routes.
func CheckAPIBasePath(base string) error {
	if !apiBaseRe.MatchString(base) {
		return weft.Errorf(weft.EInvalid, "api base path %q: 1 to 4 lower-case segments such as /apis", clip(base, 80))
	}
	first, _, _ := strings.Cut(base[1:], "/")
	if slices.Contains([]string{"api", "hooks", "mcp", "sandbox", "metrics", "healthz", ".well-known", "assets"}, first) {
		return weft.Errorf(weft.EInvalid, "api base path %q would shadow Weft's own /%s", base, first)
	}
	return nil
}

// --- ingress: {base}/{product}/{version}/… ----------------------------------

func (s *Server) ingressRoutes(r chi.Router) {
	base := s.cfg.APIBasePath
	if err := CheckAPIBasePath(base); err != nil {
		s.log.Error("api_base_path ignored", "err", err)
		base, s.cfg.APIBasePath = DefaultAPIBasePath, DefaultAPIBasePath
	}
	// Like webhooks, published routes are not behind /api's
	// authentication: consumers and keys are the products' own (later).
	r.Get(base+"/{product}/{version}/openapi.json", s.openAPIDoc)
	r.Get(base+"/{product}/{version}/docs", s.portal)
	r.HandleFunc(base+"/{product}/{version}"+apim.MCPPath, s.productMCP)
	r.HandleFunc(base+"/{product}/{version}", s.apiCall)
	r.HandleFunc(base+"/{product}/{version}/*", s.apiCall)
}

// versionFor finds a published product version and answers the caller
// itself (404, 410) when there is none to serve.
func (s *Server) versionFor(w http.ResponseWriter, r *http.Request) (*apim.Product, *apim.Version, bool) {
	pname, vname := chi.URLParam(r, "product"), chi.URLParam(r, "version")
	p, err := s.apim.Published(r.Context(), pname)
	if err != nil {
		if weft.Code(err) == weft.ENotFound {
			err = weft.Errorf(weft.ENotFound, "no API product %q", clip(pname, 80))
		}
		writeErr(w, err)
		return nil, nil, false
	}
	v := p.Find(vname)
	if v == nil {
		writeErr(w, weft.Errorf(weft.ENotFound, "API product %s has no version %q", p.Name, clip(vname, 40)))
		return nil, nil, false
	}
	succ := s.successorURL(p, v)
	if v.Retired(time.Now()) {
		body := map[string]any{"code": "gone", "message": "version " + v.Name + " of API product " + p.Name + " is retired"}
		if succ != "" {
			w.Header().Add("Link", "<"+succ+">; rel=\"successor-version\"")
			body["successor"] = succ
			body["message"] = body["message"].(string) + "; use " + succ
		}
		writeJSON(w, http.StatusGone, map[string]any{"error": body})
		return nil, nil, false
	}
	apim.LifecycleHeaders(w.Header(), v, succ)
	return p, v, true
}

func (s *Server) successorURL(p *apim.Product, v *apim.Version) string {
	if v.Successor == "" {
		return ""
	}
	return s.cfg.APIBasePath + "/" + p.Name + "/" + v.Successor
}

// routesFor compiles a version; a version that cannot be compiled any more
// (a pinned flow moved to another namespace) is the operator's problem,
// answered 503 and logged.
func (s *Server) routesFor(w http.ResponseWriter, r *http.Request, p *apim.Product, v *apim.Version) (*apim.Routes, bool) {
	rs, err := s.apim.Routes(r.Context(), p, v)
	if err != nil {
		s.log.Error("API product version cannot be served", "product", p.Name, "version", v.Name, "err", err)
		writeErr(w, weft.Errorf(weft.EUnavailable, "version %s of API product %s cannot be served now", v.Name, p.Name))
		return nil, false
	}
	return rs, true
}

// openAPIDoc serves a version's OpenAPI 3.1 document.
func (s *Server) openAPIDoc(w http.ResponseWriter, r *http.Request) {
	p, v, ok := s.versionFor(w, r)
	if !ok {
		return
	}
	rs, ok := s.routesFor(w, r, p, v)
	if !ok {
		return
	}
	doc, err := rs.OpenAPI(s.cfg.APIBasePath + "/" + p.Name + "/" + v.Name)
	if err != nil {
		writeErr(w, weft.Wrap(weft.EInternal, err, "openapi: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// apiCall serves one call of a published route. Every refusal (404, 405,
// 410, 413, 400) is answered before a run is created.
func (s *Server) apiCall(w http.ResponseWriter, r *http.Request) {
	p, v, ok := s.versionFor(w, r)
	if !ok {
		return
	}
	// Every call of a version that exists is observed (metrics and
	// analytics): the labels are the operator's products, versions, route
	// templates and consumers, never a caller's invention.
	var rec apim.CallRecord
	if s.cfg.APICalls != nil || s.usage != nil {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		rec = apim.CallRecord{Product: p.Name, Version: v.Name}
		defer func() {
			rec.Status, rec.At = sw.status, time.Now()
			rec.Duration = rec.At.Sub(start)
			if s.cfg.APICalls != nil {
				s.cfg.APICalls(rec)
			}
			if s.usage != nil {
				s.usage.Record(rec)
			}
		}()
		w = sw
	}
	if !p.IPAllowed(clientIP(r)) {
		writeErr(w, weft.Errorf(weft.EForbidden, "address %s may not call API product %s", clip(clientIP(r), 60), p.Name))
		return
	}
	if p.CORS != nil && s.cors(w, r, p, v) {
		return // a preflight, answered
	}
	var grant *apim.Grant
	var raw []byte
	bodyRead := false
	if p.Auth == apim.AuthHMAC {
		// A signature covers the body: it is read (within max_body_bytes)
		// before the call is authenticated.
		var err error
		if raw, err = s.readBody(w, r); err != nil {
			writeErr(w, err)
			return
		}
		bodyRead = true
	}
	if p.NeedsKey() {
		// Before the route is matched: without a key a caller learns
		// nothing of the routes (the OpenAPI document is what is public).
		var adm *store.Admission
		grant, adm, ok = s.admitConsumer(w, r, p, v, raw)
		if grant != nil {
			rec.Consumer, rec.Limits, rec.Admission = grant.Consumer, grant.Plan.Limits, adm
		}
		if !ok {
			return
		}
	}
	rs, ok := s.routesFor(w, r, p, v)
	if !ok {
		return
	}
	path := "/" + chi.URLParam(r, "*")
	rt, params, allow := rs.Match(r.Method, path)
	if rt == nil {
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, errBody{Error: weft.Errorf(weft.EInvalid, "%s is not allowed on %s (allowed: %s)",
				clip(r.Method, 20), clip(path, 200), strings.Join(allow, ", "))})
			return
		}
		writeErr(w, weft.Errorf(weft.ENotFound, "version %s of API product %s has no route %s %s", v.Name, p.Name, clip(r.Method, 20), clip(path, 200)))
		return
	}
	rec.Route = rt.API.Method + " " + rt.API.Path
	if !bodyRead {
		var err error
		if raw, err = s.readBody(w, r); err != nil {
			writeErr(w, err)
			return
		}
	}
	// The body's structure is bounded (depth, values, UTF-8) before it is
	// parsed, as every JSON body is; it is parsed once (numbers exact, for
	// the validator), and the run's copy made from that tree.
	var body any = map[string]any{}
	parsed := false
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := bounded.CheckJSON("body", raw, bodyLimits); err != nil {
			writeErr(w, &weft.Error{Code: weft.EInvalid, Message: "the request does not match " + rt.API.Method + " " + rt.API.Path,
				Problems: []weft.Problem{{Path: "/body", Message: weft.Message(err)}}})
			return
		}
		v, err := apim.DecodeBody(raw)
		if err != nil && rt.API.Request.Body == nil {
			_, err = parseJSONBody(raw) // the webhook path's message for a body that is not JSON
			writeErr(w, err)
			return
		}
		if err == nil {
			body, parsed = v, true
		}
	}
	if probs := rt.ValidateRequest(apim.Request{Params: params, Query: r.URL.Query(), Header: r.Header, RawBody: raw, Body: body, Parsed: parsed}); len(probs) > 0 {
		writeErr(w, &weft.Error{Code: weft.EInvalid, Message: "the request does not match " + rt.API.Method + " " + rt.API.Path, Problems: probs})
		return
	}
	if parsed {
		var err error
		if body, err = apim.Float64s(body); err != nil {
			writeErr(w, err)
			return
		}
	}
	hs := headers(r)
	delete(hs, consumerHeader) // only Weft says who the consumer is
	if grant != nil {
		hs[consumerHeader] = grant.Consumer
	}
	ev := engine.Event{Flow: rt.Flow, Version: rt.Version, Kind: flow.TriggerAPI, Body: body, RawBody: raw, Headers: hs, Query: query(r), Params: params}
	res, err := s.e.Trigger(r.Context(), ev)
	if err != nil {
		writeErr(w, err)
		return
	}
	if v.Test && res.Response != nil && res.Run.Status == store.RunSucceeded {
		if probs := rt.ValidateResponse(res.Response.Status, res.Response.Body); len(probs) > 0 {
			// Test mode: the flow answered outside its contract.
			w.Header().Set("X-Weft-Run-Id", res.Run.ID)
			writeJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]any{"code": "response_invalid",
				"message": "the flow's response does not match the route's response schema (test mode)", "problems": probs,
				"run_id": res.Run.ID, "status": res.Response.Status}})
			return
		}
	}
	reply(w, ev, res)
}

// statusWriter remembers the status an answer was written with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// corsExposed are the answer headers a browser script may read.
const corsExposed = "RateLimit, RateLimit-Policy, Retry-After, X-Weft-Run-Id, Deprecation, Sunset, Link"

// cors applies a product's CORS policy: an allowed origin's calls carry
// Access-Control-Allow-Origin; a preflight (OPTIONS with
// Access-Control-Request-Method, sent by browsers without credentials) is
// answered here, before authentication: 204 for an allowed origin and a
// route that takes the method, 403 for another origin. It reports whether
// it answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request, p *apim.Product, v *apim.Version) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	w.Header().Add("Vary", "Origin")
	allowed := p.CORS.AllowsOrigin(origin)
	reqMethod := r.Header.Get("Access-Control-Request-Method")
	preflight := r.Method == http.MethodOptions && reqMethod != ""
	if !allowed {
		if preflight {
			writeErr(w, weft.Errorf(weft.EForbidden, "origin %s may not call API product %s", clip(origin, 100), p.Name))
			return true
		}
		return false // no CORS headers: the browser withholds the answer
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	if !preflight {
		h.Set("Access-Control-Expose-Headers", corsExposed)
		return false
	}
	rs, ok := s.routesFor(w, r, p, v)
	if !ok {
		return true
	}
	path := "/" + chi.URLParam(r, "*")
	rt, _, allow := rs.Match(reqMethod, path)
	if rt == nil {
		if len(allow) == 0 {
			writeErr(w, weft.Errorf(weft.ENotFound, "version %s of API product %s has no route %s", v.Name, p.Name, clip(path, 200)))
		} else {
			writeErr(w, weft.Errorf(weft.EForbidden, "%s is not allowed on %s (allowed: %s)", clip(reqMethod, 20), clip(path, 200), strings.Join(allow, ", ")))
		}
		return true
	}
	h.Set("Access-Control-Allow-Methods", rt.API.Method)
	hs := append([]string{"Content-Type", "X-API-Key", "Authorization"}, rt.HeaderNames()...)
	h.Set("Access-Control-Allow-Headers", strings.Join(append(hs, p.CORS.AllowHeaders...), ", "))
	if p.CORS.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(p.CORS.MaxAge))
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// consumerHeader tells a run of a product with auth: api_key which
// consumer called (trigger.headers["x-weft-consumer"]); a caller's own is
// dropped.
const consumerHeader = "x-weft-consumer"

// admitConsumer authenticates a call of a product that needs a key and
// counts it against the consumer's plan: 401 (no, malformed, unknown,
// revoked or expired key), 403 (not subscribed, disabled), 429 with
// Retry-After past a limit (returning the grant with false: who was
// refused); RateLimit-Policy and RateLimit on every answer under a plan
// with limits. A store that cannot count answers 503: limits fail closed.
func (s *Server) admitConsumer(w http.ResponseWriter, r *http.Request, p *apim.Product, v *apim.Version, body []byte) (*apim.Grant, *store.Admission, bool) {
	// The target as sent (a signature covers it): the request line's, or
	// for a request in absolute form, its path and query.
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		target = r.URL.RequestURI()
	}
	call := apim.Call{Header: r.Header, Method: r.Method, Target: target, Body: body, ClientIP: clientIP(r)}
	g, a, err := s.apim.Admit(r.Context(), p, v, call, time.Now())
	if err != nil {
		switch weft.Code(err) {
		case weft.EUnauthorized:
			scheme := "Bearer"
			if p.Auth == apim.AuthHMAC {
				scheme = apim.HMACScheme
			}
			w.Header().Set("WWW-Authenticate", scheme+` realm="`+s.cfg.APIBasePath+"/"+p.Name+`"`)
		case weft.EUnavailable, weft.EInternal:
			// Limits fail closed: a store that cannot count refuses.
			s.log.Error("API call cannot be authenticated or counted", "product", p.Name, "err", err)
			err = weft.Errorf(weft.EUnavailable, "calls of API product %s cannot be authenticated or counted now; try again later", p.Name)
		}
		writeErr(w, err)
		return nil, nil, false
	}
	apim.RateLimitHeaders(w.Header(), g.Plan.Limits, a)
	var counted *store.Admission
	if g.Plan.Limits != (store.Limits{}) {
		counted = &a
	}
	if !a.Allowed {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": "rate_limited",
			"message": "consumer " + g.Consumer + " is over the " + limitName(a.Limit) + " of plan " + g.Plan.Name,
			"limit":   a.Limit, "retry_after": max(int64(math.Ceil(a.RetryAfter.Seconds())), 1)}})
		return g, counted, false // who was refused (metrics); the call goes no further
	}
	return g, counted, true
}

func limitName(l string) string {
	switch l {
	case "day":
		return "daily quota"
	case "month":
		return "monthly quota"
	}
	return "rate limit"
}

// --- /api/products ------------------------------------------------------------

func (s *Server) productResolver() resolver {
	return resolver{what: "API product", param: "name", hide: true, namespace: func(ctx context.Context, name string) (string, error) {
		p, err := s.apim.Get(ctx, name)
		if err != nil {
			return "", err
		}
		return access.NamespaceOr(p.Namespace), nil
	}}
}

func (s *Server) productRoutes(r chi.Router) {
	s.route(r, http.MethodGet, "/products", access.ProductsRead, s.listProducts)
	s.resource(r, http.MethodGet, "/products/{name}", access.ProductsRead, s.productResolver(), s.getProduct)
	s.route(r, http.MethodPut, "/products/{name}", access.ProductsWrite, s.putProduct) // create or update: checks both namespaces itself
	s.resource(r, http.MethodDelete, "/products/{name}", access.ProductsWrite, s.productResolver(), s.deleteProduct)
	if s.usage != nil {
		s.route(r, http.MethodGet, "/metrics/api", access.ProductsRead, s.apiUsage)
	}
}

// apiUsage answers the calls, errors and latency of published products
// over a window, per product, version and consumer (and route with
// by=route), summed over every process: the products the caller may read
// only (a deleted product's history is not shown).
func (s *Server) apiUsage(w http.ResponseWriter, r *http.Request) {
	f, err := s.listFilter(r, access.ProductsRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	q := r.URL.Query()
	now := time.Now()
	uq := store.UsageQuery{Until: now, Product: q.Get("product"), Version: q.Get("version"), Consumer: q.Get("consumer")}
	switch by := q.Get("by"); by {
	case "":
	case "route":
		uq.ByRoute = true
	default:
		writeErr(w, weft.Errorf(weft.EInvalid, "by=%q: only by=route groups further", clip(by, 40)))
		return
	}
	window := time.Hour
	if v := q.Get("window"); v != "" {
		if window, err = time.ParseDuration(v); err != nil || window <= 0 {
			writeErr(w, weft.Errorf(weft.EInvalid, "window %q: a duration such as 15m, 1h or 24h", clip(v, 40)))
			return
		}
	}
	for name, t := range map[string]*time.Time{"since": &uq.Since, "until": &uq.Until} {
		if v := q.Get(name); v != "" {
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				writeErr(w, weft.Errorf(weft.EInvalid, "%s %q: an RFC 3339 time", name, clip(v, 40)))
				return
			}
		}
	}
	if uq.Since.IsZero() {
		uq.Since = uq.Until.Add(-window)
	}
	reports, err := s.usage.Report(r.Context(), uq)
	if err != nil {
		writeErr(w, err)
		return
	}
	ps, err := s.apim.List(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	readable := map[string]bool{}
	for _, p := range ps {
		readable[p.Name] = f.keep(p.Namespace)
	}
	out := []apim.UsageReport{}
	for _, rep := range reports {
		if readable[rep.Product] {
			out = append(out, rep)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": uq.Since.UTC(), "until": uq.Until.UTC(), "groups": out})
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) {
	f, err := s.listFilter(r, access.ProductsRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	ps, err := s.apim.List(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []*apim.Product{}
	for _, p := range ps {
		if f.keep(p.Namespace) {
			out = append(out, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": out, "base_path": s.cfg.APIBasePath})
}

func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) {
	p, err := s.apim.Get(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// putProduct creates or replaces a product (its versions, pins and
// lifecycle). A body with "revision" saves only over that revision
// (409 otherwise), so a read-change-write cannot lose another's change.
func (s *Server) putProduct(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	name := chi.URLParam(r, "name")
	if err := apim.CheckName(name); err != nil {
		writeErr(w, err)
		return
	}
	p, err := apim.Decode(withName(data, name))
	if err != nil {
		writeErr(w, err)
		return
	}
	if p.Name != name {
		writeErr(w, weft.Errorf(weft.EInvalid, "body names product %q but the URL names %q", clip(p.Name, 80), name))
		return
	}
	action := access.ActionProductCreate
	ns := access.NamespaceOr(p.Namespace)
	old, err := s.apim.Get(r.Context(), name)
	switch {
	case err == nil:
		action = access.ActionProductUpdate
		// An update needs products.write where the product is, a move
		// also where it goes.
		if err := s.allowResource(r, access.ProductsWrite, s.productResolver(), name); err != nil {
			writeErr(w, err)
			return
		}
		if p.Namespace == "" {
			ns = access.NamespaceOr(old.Namespace)
		}
	case weft.Code(err) != weft.ENotFound:
		writeErr(w, err)
		return
	}
	if err := access.CheckNamespace(ns); err != nil {
		writeErr(w, err)
		return
	}
	if err := allow(r, access.ProductsWrite, ns); err != nil {
		writeErr(w, err)
		return
	}
	p.Namespace = ns
	r = withNamespace(r, ns)
	for i := range p.Versions {
		if v := &p.Versions[i]; v.Status == apim.StatusDeprecated && v.DeprecatedAt == nil {
			now := time.Now().UTC().Truncate(time.Second)
			v.DeprecatedAt = &now // the Deprecation header's date
		}
	}
	saved, err := s.apim.Save(r.Context(), p)
	s.audit(r, action, "product:"+name, err, productDetails(p, old))
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("API product saved", "product", name, "revision", saved.Revision)
	writeJSON(w, http.StatusOK, saved)
}

// withName lets a body leave the product's name to the URL.
func withName(data []byte, name string) []byte {
	var m map[string]any
	if decodeJSON(data, &m) != nil || m == nil {
		return data
	}
	if _, ok := m["name"]; ok {
		return data
	}
	m["name"] = name
	b, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return b
}

// productDetails names what a save changed: each version's pins and
// status, before and after (never more than names and numbers).
func productDetails(p, old *apim.Product) map[string]any {
	desc := func(p *apim.Product) map[string]any {
		out := map[string]any{}
		if p == nil {
			return out
		}
		for _, v := range p.Versions {
			var pins []string
			for _, pin := range v.Flows {
				pins = append(pins, pin.Flow+"@"+strconv.Itoa(pin.Version))
			}
			status := v.Status
			if status == "" {
				status = apim.StatusActive
			}
			out[v.Name] = map[string]any{"status": status, "flows": pins}
		}
		return out
	}
	d := map[string]any{"versions": desc(p), "namespace": p.Namespace}
	if old != nil {
		d["before"] = desc(old)
		d["revision"] = old.Revision
	}
	return d
}

func (s *Server) deleteProduct(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	err := s.apim.Delete(r.Context(), name)
	s.audit(r, access.ActionProductDelete, "product:"+name, err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
}
