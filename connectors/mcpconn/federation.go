package mcpconn

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/connectors"
)

// Federation holds the MCP upstreams of one Weft instance and keeps their
// connectors in the catalog.
type Federation struct {
	cat *connectors.Catalog
	opt Options
	// Commands lists the programs a stdio upstream added over the API may
	// run (a path or a base name matched against the command's first
	// word); empty: none. Adding a stdio upstream runs a program on this
	// server, so the operator chooses which.
	Commands []string

	// SaveAuth stores a connection whose OAuth refresh token the
	// authorization server rotated (sealed, like every connection); nil:
	// the rotated token lives in memory only.
	SaveAuth func(ctx context.Context, conn *connectors.Connection) error

	mu      sync.Mutex
	onEvent func(conn string, e Event)
	ups     map[string]*Upstream
	specs   map[string]*Spec
}

// NewFederation returns a federation registering into cat; opt is the
// default of every upstream (Token and OnList are set per upstream).
func NewFederation(cat *connectors.Catalog, opt Options) *Federation {
	return &Federation{cat: cat, opt: opt, ups: map[string]*Upstream{}, specs: map[string]*Spec{}}
}

// OnEvent sets what receives the upstreams' pushed notifications (their
// prompts or resources changed, a subscribed resource was updated).
func (f *Federation) OnEvent(h func(conn string, e Event)) {
	f.mu.Lock()
	f.onEvent = h
	f.mu.Unlock()
}

// CommandAllowed reports whether argv0 may be started.
func (f *Federation) CommandAllowed(argv0 string) error {
	for _, c := range f.Commands {
		if c == argv0 || (!strings.Contains(c, "/") && filepath.Base(argv0) == c && !strings.Contains(argv0, "/")) {
			return nil
		}
	}
	if len(f.Commands) == 0 {
		return fmt.Errorf("stdio MCP upstreams are off on this server: the operator lists the programs they may run in mcp.upstream_commands")
	}
	return fmt.Errorf("program %q is not in mcp.upstream_commands (%s)", argv0, strings.Join(f.Commands, ", "))
}

func (f *Federation) options(name, resource string, initial *connectors.Auth) Options {
	o := f.opt
	rs := &rotatingSource{}
	var initMu sync.Mutex // initial is rewritten when a rotation happens before the connection is saved
	current := func() (*connectors.Auth, *connectors.Connection, bool) {
		a := initial
		conn, ok := f.cat.LookupConnection(name)
		if ok && conn.Connector == name {
			a = conn.Auth // the saved connection's, sealed at rest
		} else if initial != nil {
			initMu.Lock()
			c := *initial
			initMu.Unlock()
			a = &c
		}
		return a, conn, ok
	}
	o.Renew = func(stale string, scope []string) bool {
		a, _, _ := current()
		if a == nil {
			return false
		}
		switch a.Type {
		case connectors.AuthClientCredentials:
			// A new token, with the scopes a 403 named added to those asked.
			return rs.renew(stale, scope)
		case connectors.AuthRefreshToken:
			// A refresh cannot widen the grant (RFC 6749 §6): more scope
			// needs the user to authorize again.
			return len(scope) == 0 && rs.renew(stale, nil)
		}
		return false // a static bearer token: nothing to renew it from
	}
	o.Token = func(ctx context.Context, hc *http.Client) (string, error) {
		a, conn, ok := current()
		if a == nil {
			return "", nil
		}
		switch a.Type {
		case connectors.AuthBearer:
			return a.Token, nil
		case connectors.AuthClientCredentials, connectors.AuthRefreshToken:
			tok, rotated, err := rs.token(hc, a, resource)
			if err != nil {
				msg := redact(err.Error(), a.ClientSecret, a.RefreshToken)
				hint := ""
				if a.Type == connectors.AuthRefreshToken {
					hint = fmt.Sprintf(" (if the grant was revoked or expired, authorize again: weft connector add-mcp %s --url URL --oauth)", name)
				}
				return "", fmt.Errorf("OAuth token from %s: %s%s", a.TokenURL, msg, hint)
			}
			if rotated != "" {
				if ok && conn.Connector == name {
					f.saveRotated(name, conn, rotated)
				} else if initial != nil {
					initMu.Lock()
					initial.RefreshToken = rotated // the auth the add is about to save
					initMu.Unlock()
				}
			}
			return tok, nil
		}
		return "", fmt.Errorf("auth type %s is not supported for an MCP upstream (bearer, oauth2_client_credentials, oauth2_refresh_token)", a.Type)
	}
	o.OnList = func([]Tool, error) {}
	o.OnEvent = func(e Event) {
		f.mu.Lock()
		h := f.onEvent
		f.mu.Unlock()
		if h != nil {
			h(name, e)
		}
	}
	return o
}

// saveRotated stores a refresh token the authorization server rotated in
// place of the old one (through SaveAuth: sealed like every connection
// secret). Before the connection is saved (during Add) the new token goes
// into the auth given to Add, which its caller saves next.
func (f *Federation) saveRotated(name string, conn *connectors.Connection, refresh string) {
	if f.SaveAuth == nil || conn.Auth == nil {
		return
	}
	na := *conn.Auth
	na.RefreshToken = refresh
	nc := *conn
	nc.Auth = &na
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.SaveAuth(ctx, &nc); err != nil {
		f.opt.Log.Error("storing the rotated OAuth refresh token of an MCP upstream failed; the next restart needs a new authorization", "connector", name, "err", redact(err.Error(), refresh))
	}
}

// CheckAuth reports whether auth can authenticate to an MCP upstream.
func CheckAuth(a *connectors.Auth) error {
	if a == nil {
		return nil
	}
	if err := a.Validate(); err != nil {
		return err
	}
	switch a.Type {
	case connectors.AuthBearer, connectors.AuthClientCredentials, connectors.AuthRefreshToken:
		return nil
	}
	return fmt.Errorf("auth type %s is not supported for an MCP upstream (bearer, oauth2_client_credentials, oauth2_refresh_token)", a.Type)
}

// Add connects to a new upstream (or replaces one), lists its tools and
// registers them as connector name's operations. auth is how to
// authenticate until the connection holding it is saved (nil: none).
func (f *Federation) Add(ctx context.Context, name string, spec Spec, auth *connectors.Auth) (*Spec, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if len(spec.Command) > 0 {
		if err := f.CommandAllowed(spec.Command[0]); err != nil {
			return nil, err
		}
		if auth != nil {
			return nil, fmt.Errorf("auth: only a url upstream takes credentials (a stdio upstream gets pass_env)")
		}
	}
	if err := CheckAuth(auth); err != nil {
		return nil, fmt.Errorf("auth: %v", err)
	}
	if x, ok := f.cat.Connector(name); ok && !f.has(name) && len(x.Operations) > 0 {
		return nil, fmt.Errorf("connector name %q is taken by a connector that is not an MCP upstream", name)
	}
	u := New(name, spec, f.options(name, spec.URL, auth))
	tools, err := u.ListTools(ctx)
	if err != nil {
		u.Close()
		return nil, err
	}
	u.Accept(tools)
	u.mu.Lock()
	spec.Server = u.spec.Server
	u.mu.Unlock()
	spec.Tools, spec.ListedAt = tools, time.Now().UTC()
	f.install(name, &spec, u)
	return &spec, nil
}

func (f *Federation) has(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ups[name] != nil
}

func (f *Federation) install(name string, spec *Spec, u *Upstream) {
	f.mu.Lock()
	old := f.ups[name]
	f.ups[name], f.specs[name] = u, spec
	f.mu.Unlock()
	f.cat.Register(Connector(name, spec, u))
	if old != nil && old != u {
		old.Close()
	}
}

// Load installs a stored upstream without dialling it (it connects on
// first use).
func (f *Federation) Load(name string, data []byte) error {
	spec, err := Parse(data)
	if err != nil {
		return err
	}
	u := New(name, *spec, f.options(name, spec.URL, nil))
	if len(spec.Command) > 0 {
		if err := f.CommandAllowed(spec.Command[0]); err != nil {
			// Stored, but no longer allowed to run: the operations stay (so
			// flows say what is wrong) and every call is refused.
			u.disable(err.Error())
		}
	}
	f.install(name, spec, u)
	return nil
}

// Refresh lists an upstream's tools again. The drift against the
// accepted tools is reported; with accept the new list becomes the
// accepted one (and the connector's operations), and the new spec is
// returned for storing.
func (f *Federation) Refresh(ctx context.Context, name string, accept bool) (*Spec, []Change, error) {
	f.mu.Lock()
	u, spec := f.ups[name], f.specs[name]
	f.mu.Unlock()
	if u == nil {
		return nil, nil, fmt.Errorf("no MCP connector named %q", name)
	}
	tools, err := u.ListTools(ctx)
	if err != nil {
		return nil, nil, err
	}
	drift := u.Status().Drift
	if !accept {
		return spec, drift, nil
	}
	ns := *spec
	ns.Tools, ns.ListedAt = tools, time.Now().UTC()
	u.Accept(tools)
	f.mu.Lock()
	f.specs[name] = &ns
	f.mu.Unlock()
	f.cat.Register(Connector(name, &ns, u))
	return &ns, drift, nil
}

// Remove closes and forgets an upstream (the caller unregisters what it
// stored).
func (f *Federation) Remove(name string) bool {
	f.mu.Lock()
	u := f.ups[name]
	delete(f.ups, name)
	delete(f.specs, name)
	f.mu.Unlock()
	if u != nil {
		u.Close()
	}
	return u != nil
}

// Info is what the API shows of an upstream.
type Info struct {
	Name      string   `json:"name"`
	URL       string   `json:"url,omitempty"`
	Command   []string `json:"command,omitempty"`
	Server    string   `json:"server,omitempty"`
	Tools     int      `json:"tools"`
	Accepted  string   `json:"accepted_at"`
	Status    Status   `json:"status"`
	Transport string   `json:"transport"`
}

// Info describes one upstream (false: none of that name).
func (f *Federation) Info(name string) (Info, bool) {
	f.mu.Lock()
	u, spec := f.ups[name], f.specs[name]
	f.mu.Unlock()
	if u == nil {
		return Info{}, false
	}
	tr := "streamable-http"
	if len(spec.Command) > 0 {
		tr = "stdio"
	}
	return Info{Name: name, URL: spec.URL, Command: spec.Command, Server: spec.Server, Tools: len(spec.Tools),
		Accepted: spec.ListedAt.Format(time.RFC3339), Status: u.Status(), Transport: tr}, true
}

// Names lists the upstreams.
func (f *Federation) Names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.ups))
	for n := range f.ups {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Close closes every upstream.
func (f *Federation) Close() {
	f.mu.Lock()
	ups := f.ups
	f.ups = map[string]*Upstream{}
	f.mu.Unlock()
	for _, u := range ups {
		u.Close()
	}
}
