package agent

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/store"
)

// ControlPlane is the control plane's side: it issues, rotates and revokes
// agents' credentials, answers their polls with the flow versions placed on
// their sites, and records what each runs.
type ControlPlane struct {
	st   store.Agents
	e    *engine.Engine
	log  *slog.Logger
	now  func() time.Time
	tick time.Duration // how often a held poll looks for a change

	// OnSiteAlert is told when an alert of a site's own alerting starts
	// firing (firing true) or stops, as its agent's telemetry batches show:
	// the control plane's alerting raises and resolves its own alert for
	// it (and notifies as configured).
	OnSiteAlert func(ctx context.Context, site string, a SiteAlert, firing bool)

	reach  reach            // MCP reach-in: calls queued per site
	shared store.AgentCalls // set by ShareCalls: calls routed through the database
	// PollCalls makes a control plane of many processes look for reach-in
	// calls through the database by polling only, without listening for
	// the store's announcements (how it worked before them: the baseline
	// of BenchmarkReachInAcrossProcesses). Set before RunShared.
	PollCalls bool
	listening atomic.Bool // the store's announcements of calls are heard now

	mu      sync.Mutex
	polling map[string]int // site -> polls held by this process now
	wake    chan struct{}  // closed (and replaced) by Changed
}

// Changed wakes every poll this process holds to look at the placed flows
// again at once (a deploy or rollback here; one made by another process is
// seen within a second).
func (c *ControlPlane) Changed() {
	c.mu.Lock()
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

func (c *ControlPlane) waker() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wake
}

// NewControlPlane returns the control plane over st (the agents) and e (the
// flows).
func NewControlPlane(st store.Agents, e *engine.Engine, log *slog.Logger) *ControlPlane {
	if log == nil {
		log = slog.Default()
	}
	return &ControlPlane{st: st, e: e, log: log, now: time.Now, tick: time.Second, polling: map[string]int{}, wake: make(chan struct{})}
}

// Engine is the control plane's engine (where flows are deployed).
func (c *ControlPlane) Engine() *engine.Engine { return c.e }

// MaxLabels bounds an agent's labels.
const MaxLabels = 16

var siteRe = lazy.NewRegexp(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckSite refuses a site name that is not a DNS label.
func CheckSite(site string) error {
	if !siteRe.MatchString(site) {
		return weft.Errorf(weft.EInvalid, "site %q: use 1-63 characters a-z 0-9 - starting and ending with a letter or digit", clip(site, 80))
	}
	return nil
}

// CheckLabels refuses labels that a placement could not select.
func CheckLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return weft.Errorf(weft.EInvalid, "%d labels; the limit is %d", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if !siteRe.MatchString(k) || !siteRe.MatchString(v) {
			return weft.Errorf(weft.EInvalid, "label %s=%s: keys and values are 1-63 characters a-z 0-9 -", clip(k, 80), clip(v, 80))
		}
	}
	return nil
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Create registers the agent of a site and returns its credential, shown
// this once (only its hash is kept).
func (c *ControlPlane) Create(ctx context.Context, site string, labels map[string]string) (Status, string, error) {
	if err := CheckSite(site); err != nil {
		return Status{}, "", err
	}
	if err := CheckLabels(labels); err != nil {
		return Status{}, "", err
	}
	tok := newToken()
	rec := store.AgentRecord{Site: site, Labels: labels, TokenHash: access.HashToken(tok), CreatedAt: c.now().UTC().Truncate(time.Microsecond)}
	if err := c.st.CreateAgent(ctx, rec); err != nil {
		return Status{}, "", err
	}
	st, err := c.Get(ctx, site)
	return st, tok, err
}

// Rotate issues a new credential for a site's agent; the old one stops
// working at once.
func (c *ControlPlane) Rotate(ctx context.Context, site string) (string, error) {
	tok := newToken()
	if err := c.st.SetAgentToken(ctx, site, access.HashToken(tok), c.now().UTC()); err != nil {
		return "", err
	}
	return tok, nil
}

// Revoke revokes a site's agent for good: its polls are refused from now on.
func (c *ControlPlane) Revoke(ctx context.Context, site string) error {
	return c.st.RevokeAgent(ctx, site, c.now().UTC())
}

// Status is an agent as the API shows it.
type Status struct {
	store.AgentRecord
	Running   []Running `json:"running"`
	Health    *Health   `json:"health,omitempty"`
	Connected bool      `json:"connected"`
	// Placed are the flow versions placed on the agent now; InSync says
	// whether it runs exactly those.
	Placed []FlowRef `json:"placed"`
	InSync bool      `json:"in_sync"`
	// PlacedConnections are the connections placed on the agent now (by
	// name); InSync covers them too.
	PlacedConnections []string `json:"placed_connections"`
	// Telemetry is the site's monitoring as its agent last shipped it
	// (its latest alerts and key figures).
	Telemetry *Telemetry `json:"telemetry,omitempty"`
}

// FlowRef names a flow version.
type FlowRef struct {
	Flow    string `json:"flow"`
	Version int    `json:"version"`
}

// connectedWithin: an agent seen this recently (a poll is held at most
// MaxHold) is connected, even when another process holds its poll.
const connectedWithin = MaxHold + 15*time.Second

func (c *ControlPlane) status(ctx context.Context, a store.AgentRecord) (Status, error) {
	s := Status{AgentRecord: a, Running: []Running{}, Placed: []FlowRef{}, PlacedConnections: []string{}}
	if len(a.Running) > 0 {
		_ = json.Unmarshal(a.Running, &s.Running)
	}
	if len(a.Health) > 2 {
		var h Health
		if json.Unmarshal(a.Health, &h) == nil {
			s.Health = &h
		}
	}
	if len(a.Telemetry) > 2 {
		var t Telemetry
		if json.Unmarshal(a.Telemetry, &t) == nil {
			s.Telemetry = &t
		}
	}
	s.AgentRecord.Running, s.AgentRecord.Health, s.AgentRecord.Telemetry = nil, nil, nil
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	c.mu.Lock()
	held := c.polling[a.Site] > 0
	c.mu.Unlock()
	s.Connected = a.RevokedAt == nil && (held || (a.LastSeen != nil && c.now().Sub(*a.LastSeen) < connectedWithin))
	if a.RevokedAt != nil {
		s.Connected = false
		return s, nil
	}
	placed, err := c.Placed(ctx, a.Site, a.Labels)
	if err != nil {
		return s, err
	}
	for _, p := range placed {
		s.Placed = append(s.Placed, FlowRef{Flow: p.Name, Version: p.Version})
	}
	conns := c.PlacedConnections(a.Site, a.Labels)
	for _, pc := range conns {
		s.PlacedConnections = append(s.PlacedConnections, pc.Conn.Name)
	}
	var applied []ConnRef
	if s.Health != nil {
		applied = s.Health.PlacedConnections
	}
	s.InSync = sameSet(placed, s.Running, nil) && sameConns(conns, applied)
	return s, nil
}

// Get returns a site's agent.
func (c *ControlPlane) Get(ctx context.Context, site string) (Status, error) {
	a, err := c.st.Agent(ctx, site)
	if err != nil {
		return Status{}, err
	}
	return c.status(ctx, *a)
}

// List returns every agent, by site.
func (c *ControlPlane) List(ctx context.Context) ([]Status, error) {
	as, err := c.st.AgentList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(as))
	for _, a := range as {
		s, err := c.status(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Placed returns the active versions of the flows placed on an agent of
// site with labels, by name.
func (c *ControlPlane) Placed(ctx context.Context, site string, labels map[string]string) ([]PlacedFlow, error) {
	flows, err := c.e.Store().ListFlows(ctx)
	if err != nil {
		return nil, err
	}
	var out []PlacedFlow
	for _, fi := range flows {
		f, fv, err := c.e.Flow(ctx, fi.Name, 0)
		if err != nil {
			if weft.Code(err) == weft.EUnavailable || ctx.Err() != nil {
				return nil, err // the store: ask again later
			}
			// One flow that cannot be read (removed meanwhile, or stored
			// before a change that no longer compiles it) does not stop
			// every agent's rollout.
			c.log.Warn("placement: flow skipped", "flow", fi.Name, "err", weft.Message(err))
			continue
		}
		if f.Placement == nil || !f.Placement.Matches(site, labels) {
			continue
		}
		out = append(out, PlacedFlow{Name: fv.Name, Namespace: access.NamespaceOr(fv.Namespace), Version: fv.Version, File: fv.File,
			Source: string(fv.Source), SHA256: Digest(fv.Source)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PlacedConnections returns the connections placed on an agent of site
// with labels, by name.
func (c *ControlPlane) PlacedConnections(site string, labels map[string]string) []engine.PlacedConnection {
	var out []engine.PlacedConnection
	for _, pc := range c.e.PlacedConnections() {
		if pc.Conn.Placement.Matches(site, labels) {
			out = append(out, pc)
		}
	}
	return out
}

// sameConns reports whether an agent applied (or refused) exactly the
// placed connections, at their digests.
func sameConns(placed []engine.PlacedConnection, have []ConnRef) bool {
	if len(placed) != len(have) {
		return false
	}
	got := map[string]string{}
	for _, h := range have {
		got[h.Name] = h.SHA256
	}
	for _, p := range placed {
		if got[p.Conn.Name] != p.Digest {
			return false
		}
	}
	return true
}

// connAAD binds a sealed connection to its site and name.
func connAAD(site, name string) []byte { return []byte(site + "\x00" + name) }

// sealConns seals each placed connection's definition to the poll's key.
func (c *ControlPlane) sealConns(site, key string, conns []engine.PlacedConnection) ([]PlacedConn, error) {
	out := make([]PlacedConn, 0, len(conns))
	for _, pc := range conns {
		plain, err := yaml.Marshal(pc.Conn)
		if err != nil {
			return nil, err
		}
		sealed, err := sealTo(key, connAAD(site, pc.Conn.Name), plain)
		if err != nil {
			return nil, err
		}
		out = append(out, PlacedConn{Name: pc.Conn.Name, Namespace: access.NamespaceOr(pc.Conn.Namespace), Connector: pc.Conn.Connector, SHA256: pc.Digest, Sealed: sealed})
	}
	return out, nil
}

// sameSet reports whether what an agent runs and refuses accounts for
// exactly the placed versions (a refused version is not sent again until
// it changes).
func sameSet(placed []PlacedFlow, running []Running, refused []Refusal) bool {
	if len(placed) != len(running)+len(refused) {
		return false
	}
	have := map[FlowRef]string{}
	for _, r := range running {
		have[FlowRef{r.Flow, r.Version}] = r.SHA256
	}
	for _, r := range refused {
		have[FlowRef{r.Flow, r.Version}] = "refused"
	}
	for _, p := range placed {
		sum, ok := have[FlowRef{p.Name, p.Version}]
		if !ok || (sum != "refused" && sum != p.SHA256) {
			return false
		}
	}
	return true
}

// authenticate finds the agent a poll's credential belongs to. Wrong,
// unknown and revoked credentials are unauthorized; a credential of
// another site is forbidden.
func (c *ControlPlane) authenticate(ctx context.Context, r *http.Request, site string) (*store.AgentRecord, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 200 {
		return nil, weft.Errorf(weft.EUnauthorized, "an agent credential is required (Authorization: Bearer %s…)", TokenPrefix)
	}
	a, err := c.st.AgentByTokenHash(ctx, access.HashToken(tok))
	if err != nil {
		if weft.Code(err) == weft.ENotFound {
			return nil, weft.Errorf(weft.EUnauthorized, "unknown or revoked agent credential")
		}
		return nil, err
	}
	if a.Site != site {
		return nil, weft.Errorf(weft.EForbidden, "this credential belongs to site %q, not %q", a.Site, clip(site, 80))
	}
	return a, nil
}

// readPoll reads and authenticates a request on the link: a JSON body of
// at most limit bytes that names the agent's site.
func (c *ControlPlane) readPoll(w http.ResponseWriter, r *http.Request, limit int64, into any, site func() string) (*store.AgentRecord, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErr(w, weft.Errorf(weft.EInvalid, "use POST"))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeErr(w, weft.Errorf(weft.ETooLarge, "a request on the agent link is at most %d bytes", limit))
			return nil, false
		}
		writeErr(w, weft.Errorf(weft.EInvalid, "reading the request: %v", err))
		return nil, false
	}
	if err := json.Unmarshal(body, into); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, "the request is not JSON of the agent link: %v", err))
		return nil, false
	}
	if err := CheckSite(site()); err != nil {
		writeErr(w, err)
		return nil, false
	}
	a, err := c.authenticate(r.Context(), r, site())
	if err != nil {
		c.log.Warn("agent link refused", "site", clip(site(), 80), "from", remoteIP(r), "path", r.URL.Path, "err", weft.Message(err))
		writeErr(w, err)
		return nil, false
	}
	return a, true
}

// ServeSync answers an agent's poll (POST SyncPath).
func (c *ControlPlane) ServeSync(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req SyncRequest
	a, ok := c.readPoll(w, r, MaxRequestBytes, &req, func() string { return req.Site })
	if !ok {
		return
	}
	if len(req.Running)+len(req.Refused)+len(req.Connections) > MaxRunning {
		writeErr(w, weft.Errorf(weft.ETooLarge, "a poll reports at most %d flow versions", MaxRunning))
		return
	}
	req.Version = clip(req.Version, 64)
	running, _ := json.Marshal(nonNil(req.Running))
	var health []byte
	if h := req.Health; h != nil {
		if len(h.Connections) > MaxSiteConnections {
			h.Connections = h.Connections[:MaxSiteConnections]
		}
		h.Refused, h.ShipError, h.PlacedConnections = req.Refused, clip(h.ShipError, 300), req.Connections
		for i := range h.PlacedConnections {
			h.PlacedConnections[i].Name, h.PlacedConnections[i].Error = clip(h.PlacedConnections[i].Name, 80), clip(h.PlacedConnections[i].Error, 300)
		}
		health, _ = json.Marshal(h)
	}
	now := c.now().UTC()
	if err := c.st.AgentSeen(ctx, a.Site, store.AgentReport{LastSeen: &now, Version: req.Version, Running: running, Health: health}); err != nil {
		writeErr(w, err)
		return
	}
	for _, rf := range req.Refused {
		c.log.Warn("agent refused a placed flow", "site", a.Site, "flow", clip(rf.Flow, 80), "version", rf.Version, "err", clip(rf.Error, 300))
	}
	c.mu.Lock()
	c.polling[a.Site]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.polling[a.Site]--
		c.mu.Unlock()
	}()
	hold := time.Duration(min(max(req.Wait, 0), int(MaxHold/time.Second))) * time.Second
	deadline := now.Add(hold)
	for {
		wake := c.waker()
		placed, err := c.Placed(ctx, a.Site, a.Labels)
		if err != nil {
			writeErr(w, err)
			return
		}
		// The connections placed on the site as the store has them now:
		// another control-plane process may have placed one (an agent
		// behind a load balancer polls them all, and would otherwise drop
		// a connection this process has not loaded yet).
		if err := c.e.FreshConnections(ctx, time.Second); err != nil && ctx.Err() == nil {
			c.log.Warn("reloading connections", "err", err)
		}
		conns := c.PlacedConnections(a.Site, a.Labels)
		if req.Key == "" && len(conns) > 0 {
			// An agent without a link key cannot be sent credentials.
			c.log.Warn("agent poll carries no link key: the connections placed on its site are not sent", "site", a.Site, "connections", len(conns))
			conns = nil
		}
		if !sameSet(placed, req.Running, req.Refused) || !sameConns(conns, req.Connections) {
			sealed, err := c.sealConns(a.Site, req.Key, conns)
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, SyncResponse{Site: a.Site, Flows: nonNil(placed), Connections: nonNil(sealed)})
			return
		}
		if !c.now().Before(deadline) {
			writeJSON(w, http.StatusOK, SyncResponse{Site: a.Site, Unchanged: true})
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.tick):
		case <-wake:
		}
		// A revoked agent's held poll ends at the next look.
		if cur, err := c.st.Agent(ctx, a.Site); err != nil || cur.RevokedAt != nil || cur.TokenHash != a.TokenHash {
			writeErr(w, weft.Errorf(weft.EUnauthorized, "unknown or revoked agent credential"))
			return
		}
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// writeJSON and writeErr answer in the gateway's shapes ({"error": {...}}).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var we *weft.Error
	if !errors.As(err, &we) {
		we = &weft.Error{Code: weft.EInternal, Message: "internal error"}
	}
	status := http.StatusInternalServerError
	switch we.Code {
	case weft.EInvalid:
		status = http.StatusBadRequest
	case weft.EUnauthorized:
		status = http.StatusUnauthorized
	case weft.EForbidden:
		status = http.StatusForbidden
	case weft.ENotFound:
		status = http.StatusNotFound
	case weft.ETooLarge:
		status = http.StatusRequestEntityTooLarge
	case weft.EUnavailable:
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	if status == http.StatusInternalServerError {
		we = &weft.Error{Code: weft.EInternal, Message: "internal error"}
	}
	writeJSON(w, status, map[string]any{"error": we})
}

// ServeRuns records a batch of run metadata an agent shipped (POST
// RunsPath). It is idempotent: a batch sent again changes nothing.
func (c *ControlPlane) ServeRuns(w http.ResponseWriter, r *http.Request) {
	var req ShipRequest
	a, ok := c.readPoll(w, r, MaxShipBytes, &req, func() string { return req.Site })
	if !ok {
		return
	}
	if len(req.Runs) > MaxShipRuns {
		writeErr(w, weft.Errorf(weft.ETooLarge, "a batch carries at most %d runs", MaxShipRuns))
		return
	}
	for i, run := range req.Runs {
		if err := checkShipped(run); err != nil {
			writeErr(w, weft.Errorf(weft.EInvalid, "runs[%d]: %s", i, weft.Message(err)))
			return
		}
	}
	if err := c.st.SaveAgentRuns(r.Context(), a.Site, req.Runs); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": len(req.Runs)})
}

var runStatuses = []string{store.RunQueued, store.RunRunning, store.RunSucceeded, store.RunFailed, store.RunDead, store.RunCanceled}

func checkShipped(r store.AgentRun) error {
	switch {
	case r.ID == "" || len(r.ID) > 64:
		return weft.Errorf(weft.EInvalid, "id: 1 to 64 characters")
	case r.Flow == "" || len(r.Flow) > 200:
		return weft.Errorf(weft.EInvalid, "flow: 1 to 200 characters")
	case !slices.Contains(runStatuses, r.Status):
		return weft.Errorf(weft.EInvalid, "status %q is not a run status", clip(r.Status, 40))
	case len(r.TriggerKind) > 40 || len(r.ErrorCode) > 40 || len(r.FailedStep) > 200:
		return weft.Errorf(weft.EInvalid, "trigger_kind, error_code or failed_step too long")
	case r.Version < 0 || r.LocalVersion < 0:
		return weft.Errorf(weft.EInvalid, "negative version")
	case len(r.Input)+len(r.Output) > MaxShipPayloadBytes:
		return weft.Errorf(weft.ETooLarge, "payloads of %d bytes; at most %d", len(r.Input)+len(r.Output), MaxShipPayloadBytes)
	case (len(r.Input) > 0 && !json.Valid(r.Input)) || (len(r.Output) > 0 && !json.Valid(r.Output)):
		return weft.Errorf(weft.EInvalid, "input and output must be JSON")
	case len(r.PayloadOmitted) > 300:
		return weft.Errorf(weft.EInvalid, "payload_omitted too long")
	}
	return nil
}

// Runs lists the run metadata a site's agent shipped, newest first.
func (c *ControlPlane) Runs(ctx context.Context, site, before string, limit int) ([]store.AgentRun, map[string]int64, error) {
	if _, err := c.st.Agent(ctx, site); err != nil {
		return nil, nil, err
	}
	runs, err := c.st.AgentRuns(ctx, site, before, limit)
	if err != nil {
		return nil, nil, err
	}
	counts, err := c.st.CountAgentRuns(ctx, site)
	return runs, counts, err
}
