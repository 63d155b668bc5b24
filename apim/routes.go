package apim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/weftio/weft"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// Flows is what compiling a version needs of the engine: one flow version,
// parsed (engine.Engine has it).
type Flows interface {
	Flow(ctx context.Context, name string, version int) (*flow.Flow, store.FlowVersion, error)
}

// Route is one published route: a pinned flow version's api trigger.
type Route struct {
	Flow      string
	Version   int
	Namespace string
	API       *flow.APITrigger
}

// HeaderNames are the request headers the route's headers schema names
// (what a browser must be allowed to send).
func (rt *Route) HeaderNames() []string {
	if rt.API.Request.Headers == nil {
		return nil
	}
	props, _ := rt.API.Request.Headers.Doc["properties"].(map[string]any)
	out := make([]string, 0, len(props))
	for name := range props {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Routes are a product version's routes, matched with chi's routing tree.
type Routes struct {
	Product *Product
	Version *Version
	List    []*Route // in pin order
	mux     *chi.Mux
	byKey   map[string]*Route // "METHOD pattern"
}

// Compile resolves a version's pins into routes: every pinned flow version
// must exist, have an api trigger and belong to the product's namespace,
// and no two routes may take the same method and path.
func Compile(ctx context.Context, flows Flows, p *Product, v *Version) (rs *Routes, err error) {
	rs = &Routes{Product: p, Version: v, mux: chi.NewMux(), byKey: map[string]*Route{}}
	vi := slices.IndexFunc(p.Versions, func(x Version) bool { return x.Name == v.Name })
	var probs []weft.Problem
	add := func(j int, format string, args ...any) {
		probs = append(probs, weft.Problem{Path: fmt.Sprintf("/versions/%d/flows/%d", vi, j), Message: fmt.Sprintf(format, args...)})
	}
	ns := p.Namespace
	if ns == "" {
		ns = store.DefaultNamespace
	}
	shapes := map[string]string{} // method + path with parameters blanked -> flow
	for j, pin := range v.Flows {
		f, fv, err := flows.Flow(ctx, pin.Flow, pin.Version)
		if err != nil {
			if weft.Code(err) == weft.ENotFound {
				add(j, "flow %s has no version %d", pin.Flow, pin.Version)
				continue
			}
			return nil, err
		}
		if f.Trigger.API == nil {
			add(j, "flow %s version %d has a %s trigger, not an api trigger: it publishes no route", pin.Flow, pin.Version, f.Trigger.Kind)
			continue
		}
		fns := fv.Namespace
		if fns == "" {
			fns = store.DefaultNamespace
		}
		if fns != ns {
			add(j, "flow %s is in namespace %q; product %s is in %q", pin.Flow, fns, p.Name, ns)
			continue
		}
		a := f.Trigger.API
		if a.Method == http.MethodGet && (a.Path == "/openapi.json" || a.Path == "/docs") {
			add(j, "GET %s is the version's own (its OpenAPI document, its developer page); flow %s cannot take it", a.Path, pin.Flow)
			continue
		}
		if p.MCP && a.Path == MCPPath {
			add(j, "%s is the version's MCP toolset (the product has mcp: true); flow %s cannot take it", a.Path, pin.Flow)
			continue
		}
		shape := a.Method + " " + blankParams(a.Path)
		if other, dup := shapes[shape]; dup {
			add(j, "%s %s of flow %s clashes with flow %s's route", a.Method, a.Path, pin.Flow, other)
			continue
		}
		shapes[shape] = pin.Flow
		rt := &Route{Flow: pin.Flow, Version: pin.Version, Namespace: fns, API: a}
		if err := rs.add(rt); err != nil {
			add(j, "%s %s of flow %s: %v", a.Method, a.Path, pin.Flow, err)
			continue
		}
		rs.List = append(rs.List, rt)
	}
	if len(probs) > 0 {
		return nil, &weft.Error{Code: weft.EUnprocessable, Message: fmt.Sprintf("version %s of product %s cannot be published: %d problem(s)", v.Name, p.Name, len(probs)), Problems: probs}
	}
	return rs, nil
}

// blankParams is a path with its parameters' names dropped: /o/{id} and
// /o/{oid} are the same route.
func blankParams(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// add registers a route in the chi tree; chi panics on patterns it cannot
// hold (parameters of different names at one place), which is an error here.
func (rs *Routes) add(rt *Route) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	rs.mux.Method(rt.API.Method, rt.API.Path, http.NotFoundHandler()) // the tree only matches; gateway serves
	rs.byKey[rt.API.Method+" "+rt.API.Path] = rt
	return nil
}

// Match finds the route for method and path (the part after the version,
// escaped or not):
// the route and its path parameters; or, when the path exists under other
// methods, those methods (405); or nothing (404).
func (rs *Routes) Match(method, path string) (rt *Route, params map[string]string, allow []string) {
	rctx := chi.NewRouteContext()
	if pattern := rs.mux.Find(rctx, method, path); pattern != "" {
		if rt = rs.byKey[method+" "+pattern]; rt != nil {
			params = make(map[string]string, len(rctx.URLParams.Keys))
			for i, k := range rctx.URLParams.Keys {
				// The path may arrive escaped (chi routes on RawPath when
				// the URL has one): a parameter is its decoded value.
				v := rctx.URLParams.Values[i]
				if u, err := url.PathUnescape(v); err == nil {
					v = u
				}
				params[k] = v
			}
			return rt, params, nil
		}
	}
	for _, m := range flow.APIMethods {
		if m != method && rs.mux.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	return nil, nil, allow
}
