package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/store"
)

// Link is the runtime agent's side: it polls the control plane (dialling
// out only), deploys the flow versions placed on its site into its own
// engine, and reports what it runs.
type Link struct {
	URL     string // the control plane's base URL (https://cp.example.com)
	Token   string // this agent's credential
	Site    string
	Version string // this build, reported upstream
	Engine  *engine.Engine
	Client  *http.Client // nil: a client with timeouts of its own
	Log     *slog.Logger
	// Hold is how long the control plane may hold a poll when nothing
	// changed (default DefaultHold). MinBackoff and MaxBackoff bound the
	// wait after a failed poll (default 500ms and 10s), doubled each time
	// with jitter.
	Hold                   time.Duration
	MinBackoff, MaxBackoff time.Duration
	// StateDir, when set, turns on run-log shipping: the metadata of
	// finished runs goes upstream in batches of ShipBatch (default 500),
	// every ShipEvery (default 1s), once they finished Settle ago (default
	// 5s: a run is committed by then); the watermark file lives there.
	StateDir  string
	ShipBatch int
	ShipEvery time.Duration
	Settle    time.Duration

	// BacklogMax bounds the runs finished and not shipped yet (default
	// DefaultBacklogMax); OnBacklog is told when the backlog's level
	// changes (the agent raises or resolves its agent-backlog alert).
	BacklogMax int
	OnBacklog  func(ctx context.Context, level BacklogLevel, msg string)
	// ShipPayloads is the site's policy on payloads: when set, the trigger
	// event and response of runs whose flow captures in full go upstream
	// with their metadata, redacted here first (default: never).
	ShipPayloads bool
	// NoReach turns MCP reach-in off: the agent holds no calls poll, and
	// the control plane's gateway cannot run tools on this site.
	NoReach bool
	// Alerts lists the site's latest alerts (newest first) and Gatherer
	// its own metrics: both go upstream in telemetry batches every
	// TelemetryEvery (default 10s; negative: never).
	Alerts         func() []SiteAlert
	Gatherer       prometheus.Gatherer
	TelemetryEvery time.Duration

	mu        sync.Mutex
	state     LinkState
	running   map[string]Running // flow -> acknowledged version
	withdrawn map[string]bool    // placed flows deployed here that the control plane no longer places here
	synced    bool               // a poll of this process was answered
	versions  map[flowLocal]int  // flow and local version -> the control plane's version, for every deploy seen
	refused   map[string]Refusal // flow -> refused version
	full      atomic.Bool        // the backlog is at its bound: new runs are refused
	watermark time.Time          // runs finished before it are shipped (retention's floor)
	avgRow    int64              // bytes of one shipped run's metadata, measured
	key       *LinkKey           // this process's link key: placed connections are sealed to it
	conns     map[string]ConnRef // placed connection -> the digest applied (or refused)
}

// LinkState is the link as the agent sees it.
type LinkState struct {
	Connected bool      `json:"connected"` // the last poll was answered
	LastSync  time.Time `json:"last_sync,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Failures  int       `json:"failures"` // polls failed in a row
	Running   []Running `json:"running"`
	Refused   []Refusal `json:"refused"`
	// Run-log shipping: runs shipped by this process, how far (every run
	// finished before ShippedUntil is upstream), the last failure.
	ShippedRuns  int64     `json:"shipped_runs"`
	ShippedUntil time.Time `json:"shipped_until,omitempty"`
	ShipError    string    `json:"ship_error,omitempty"`
	// The backlog: finished runs not shipped yet, their estimated size,
	// the bound and the level (ok, warning, critical: new runs refused).
	Backlog      int64        `json:"backlog"`
	BacklogBytes int64        `json:"backlog_bytes"`
	BacklogMax   int          `json:"backlog_max"`
	BacklogLevel BacklogLevel `json:"backlog_level,omitempty"`
	// TelemetryAt is when the last telemetry batch the control plane
	// acknowledged was taken.
	TelemetryAt time.Time `json:"telemetry_at,omitempty"`
}

// State returns the link's state.
func (l *Link) State() LinkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.state
	s.Running, s.Refused = l.report()
	return s
}

func (l *Link) init() error {
	if l.Engine == nil {
		return weft.Errorf(weft.EInvalid, "agent link: no engine")
	}
	if err := CheckSite(l.Site); err != nil {
		return err
	}
	if l.Engine.Site() != l.Site {
		return weft.Errorf(weft.EInvalid, "agent link: the engine is site %q, the link %q", l.Engine.Site(), l.Site)
	}
	u, err := url.Parse(l.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return weft.Errorf(weft.EInvalid, "control plane URL %q: use https://host[:port] (http only on a trusted network)", clip(l.URL, 200))
	}
	if !strings.HasPrefix(l.Token, TokenPrefix) {
		return weft.Errorf(weft.EInvalid, "agent token: it starts with %s (weft agents create prints it)", TokenPrefix)
	}
	if l.Hold <= 0 {
		l.Hold = DefaultHold
	}
	l.Hold = min(l.Hold, MaxHold)
	if l.MinBackoff <= 0 {
		l.MinBackoff = 500 * time.Millisecond
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = 10 * time.Second
	}
	if l.Client == nil {
		l.Client = &http.Client{}
	}
	if l.Log == nil {
		l.Log = slog.Default()
	}
	if l.ShipBatch <= 0 || l.ShipBatch > MaxShipRuns {
		l.ShipBatch = 500
	}
	if l.ShipEvery <= 0 {
		l.ShipEvery = time.Second
	}
	if l.Settle <= 0 {
		l.Settle = 5 * time.Second
	}
	if l.BacklogMax <= 0 {
		l.BacklogMax = DefaultBacklogMax
	}
	if l.TelemetryEvery == 0 {
		l.TelemetryEvery = 10 * time.Second
	}
	l.running, l.refused, l.versions = map[string]Running{}, map[string]Refusal{}, map[flowLocal]int{}
	l.withdrawn = map[string]bool{}
	l.conns = map[string]ConnRef{}
	if l.key, err = NewLinkKey(); err != nil {
		return err
	}
	if l.StateDir != "" {
		// Withdrawals survive a restart: a flow withdrawn while the link
		// was up does not run again while it is down.
		if data, err := os.ReadFile(filepath.Join(l.StateDir, withdrawnFile)); err == nil {
			var names []string
			if err := json.Unmarshal(data, &names); err != nil {
				return weft.Errorf(weft.EInvalid, "%s: %v", withdrawnFile, err)
			}
			for _, n := range names {
				l.withdrawn[n] = true
			}
		} else if !os.IsNotExist(err) {
			return err
		}
		l.Engine.SetWithdrawn(l.withdrawn)
		st, err := l.loadShipState()
		if err != nil {
			return err
		}
		l.watermark = st.FinishedBefore
		// Runs not shipped yet are kept whatever their age, and new runs
		// are refused while they are at their bound.
		l.Engine.SetPurgeFloor(l.purgeFloor)
		l.Engine.SetAdmission(l.admit)
	}
	return nil
}

// Run keeps the link until ctx ends: poll, apply, report; after a failure
// it waits (exponential backoff with jitter) and polls again.
func (l *Link) Run(ctx context.Context) error {
	if err := l.init(); err != nil {
		return err
	}
	l.openConnection(ctx)
	if l.StateDir != "" {
		go l.shipLoop(ctx)
	}
	if !l.NoReach {
		go l.reachLoop(ctx)
	}
	if l.TelemetryEvery > 0 {
		go l.telemetryLoop(ctx)
	}
	backoff := l.MinBackoff
	for ctx.Err() == nil {
		err := l.Sync(ctx)
		if err == nil {
			backoff = l.MinBackoff
			continue
		}
		if ctx.Err() != nil {
			break
		}
		l.mu.Lock()
		l.state.Connected, l.state.LastError = false, weft.Message(err)
		l.state.Failures++
		n := l.state.Failures
		l.mu.Unlock()
		lvl := slog.LevelWarn
		if c := weft.Code(err); c == weft.EUnauthorized || c == weft.EForbidden {
			lvl = slog.LevelError // a credential the control plane refuses: an operator must act
		}
		if n == 1 || n%10 == 0 || lvl == slog.LevelError {
			l.Log.Log(ctx, lvl, "agent link: poll failed; retrying", "control_plane", l.URL, "site", l.Site, "failures", n, "retry_in", backoff.Round(time.Millisecond), "err", weft.Message(err))
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(backoff*2, l.MaxBackoff)
	}
	return nil
}

// openConnection opens the link's connection before its loops start: over
// HTTPS their requests (flows poll, calls poll, shipping, telemetry) share
// one HTTP/2 connection, which they then find open instead of each
// dialling its own at once (the transport closes the extra ones, but they
// were dialled). A control plane that does not answer is left to the
// loops and their backoff.
func (l *Link) openConnection(ctx context.Context) {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(octx, http.MethodGet, l.URL+"/healthz", nil)
	if err != nil {
		return
	}
	resp, err := l.Client.Do(req)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// report lists what the agent runs and refused (l.mu held).
func (l *Link) report() ([]Running, []Refusal) {
	run := make([]Running, 0, len(l.running))
	for _, r := range l.running {
		run = append(run, r)
	}
	ref := make([]Refusal, 0, len(l.refused))
	for _, r := range l.refused {
		ref = append(ref, r)
	}
	return run, ref
}

// Sync makes one poll and applies its answer.
func (l *Link) Sync(ctx context.Context) error {
	if l.running == nil {
		if err := l.init(); err != nil {
			return err
		}
	}
	l.mu.Lock()
	run, ref := l.report()
	conns := make([]ConnRef, 0, len(l.conns))
	for _, c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	sort.Slice(conns, func(i, j int) bool { return conns[i].Name < conns[j].Name })
	req := SyncRequest{Site: l.Site, Version: l.Version, Running: run, Refused: ref, Wait: int(l.Hold / time.Second), Health: l.health(),
		Key: l.key.Public(), Connections: conns}
	var sr SyncResponse
	if err := l.post(ctx, SyncPath, req, &sr); err != nil {
		return err
	}
	if sr.Site != l.Site {
		return weft.Errorf(weft.EForbidden, "control plane answered for site %q; this agent is %q", clip(sr.Site, 80), l.Site)
	}
	if !sr.Unchanged {
		// Connections first: the flows placed with them use them.
		l.applyConns(ctx, sr.Connections)
		l.apply(ctx, sr.Flows)
	} else if !l.synced {
		l.applyConns(ctx, nil) // nothing placed here: placed connections kept from before go
		// The first answer of this process: what it runs is all that is
		// placed here (nothing, on a fresh start): anything else placed
		// here before is withdrawn.
		l.mu.Lock()
		keep := map[string]bool{}
		for n := range l.running {
			keep[n] = true
		}
		l.mu.Unlock()
		l.withdraw(ctx, keep)
	}
	l.synced = true
	l.mu.Lock()
	l.state.Connected, l.state.LastSync, l.state.LastError, l.state.Failures = true, time.Now(), "", 0
	l.mu.Unlock()
	return nil
}

// health is the agent's account of itself: its connections by name, with
// the names of the credentials that are set, and how far shipping got.
func (l *Link) health() *Health {
	h := &Health{Connections: []SiteConnection{}}
	for _, c := range l.Engine.Catalog().Connections() {
		if len(h.Connections) == MaxSiteConnections {
			break
		}
		creds := make([]string, 0, 4)
		for k := range c.SecretState() {
			creds = append(creds, k)
		}
		sort.Strings(creds)
		h.Connections = append(h.Connections, SiteConnection{Name: c.Name, Connector: c.Connector, Namespace: c.Namespace, Credentials: creds})
	}
	sort.Slice(h.Connections, func(i, j int) bool { return h.Connections[i].Name < h.Connections[j].Name })
	l.mu.Lock()
	if !l.state.ShippedUntil.IsZero() {
		t := l.state.ShippedUntil
		h.ShippedUntil = &t
	}
	h.ShipError = l.state.ShipError
	h.Backlog, h.BacklogBytes, h.BacklogMax, h.BacklogLevel = l.state.Backlog, l.state.BacklogBytes, l.state.BacklogMax, l.state.BacklogLevel
	for name := range l.withdrawn {
		h.Withdrawn = append(h.Withdrawn, name)
	}
	l.mu.Unlock()
	sort.Strings(h.Withdrawn)
	return h
}

// apply deploys the placed flow versions the agent does not run yet. A
// version whose source the agent's store holds as the active one already
// (after a restart) is acknowledged without a new local version. A flow
// placed on another site is refused (the engine checks the placement).
func (l *Link) apply(ctx context.Context, flows []PlacedFlow) {
	keep := map[string]bool{}
	for _, pf := range flows {
		keep[pf.Name] = true
		l.mu.Lock()
		cur, ok := l.running[pf.Name]
		l.mu.Unlock()
		if ok && cur.Version == pf.Version && cur.SHA256 == pf.SHA256 {
			continue
		}
		r, err := l.deploy(ctx, pf)
		l.mu.Lock()
		if err != nil {
			delete(l.running, pf.Name)
			l.refused[pf.Name] = Refusal{Flow: pf.Name, Version: pf.Version, Error: clip(weft.Message(err), 500)}
			l.mu.Unlock()
			l.Log.Error("agent: placed flow not deployed", "flow", pf.Name, "version", pf.Version, "err", weft.Message(err))
			continue
		}
		delete(l.refused, pf.Name)
		l.running[pf.Name] = r
		l.versions[flowLocal{pf.Name, r.LocalVersion}] = r.Version
		l.mu.Unlock()
		l.Log.Info("agent: running placed flow", "flow", pf.Name, "version", pf.Version, "local_version", r.LocalVersion)
	}
	l.withdraw(ctx, keep)
	l.mu.Lock()
	for name := range l.running {
		if !keep[name] {
			delete(l.running, name) // no longer placed here
		}
	}
	for name := range l.refused {
		if !keep[name] {
			delete(l.refused, name)
		}
	}
	l.mu.Unlock()
}

func (l *Link) deploy(ctx context.Context, pf PlacedFlow) (Running, error) {
	src := []byte(pf.Source)
	if Digest(src) != pf.SHA256 {
		return Running{}, weft.Errorf(weft.EInvalid, "flow %s v%d: the source does not match its digest", pf.Name, pf.Version)
	}
	f, err := l.Engine.Validate(pf.File, src)
	if err != nil {
		return Running{}, err
	}
	if f.Name != pf.Name {
		return Running{}, weft.Errorf(weft.EInvalid, "flow %s v%d: the source names flow %q", pf.Name, pf.Version, f.Name)
	}
	if !l.Engine.PlacedHere(f) {
		return Running{}, weft.Errorf(weft.EForbidden, "flow %s v%d is placed on %s: this agent is site %q and refuses it", pf.Name, pf.Version, f.Placement, l.Site)
	}
	st := l.Engine.Store()
	if active, err := st.GetFlow(ctx, pf.Name, 0); err == nil && Digest(active.Source) == pf.SHA256 {
		return Running{Flow: pf.Name, Version: pf.Version, LocalVersion: active.Version, SHA256: pf.SHA256}, nil
	}
	ns := access.NamespaceOr(pf.Namespace)
	if ns != access.DefaultNamespace {
		// The flow's namespace exists on the control plane; the agent's
		// own store gets it on first use.
		if err := st.CreateNamespace(ctx, store.Namespace{Name: ns, Description: "from the control plane"}); err != nil && weft.Code(err) != weft.EConflict {
			return Running{}, err
		}
	}
	fv, _, err := l.Engine.DeployIn(ctx, ns, pf.File, src)
	if err != nil {
		return Running{}, err
	}
	return Running{Flow: pf.Name, Version: pf.Version, LocalVersion: fv.Version, SHA256: pf.SHA256}, nil
}

// String names the link for logs.
func (l *Link) String() string { return fmt.Sprintf("agent %s -> %s", l.Site, l.URL) }

const withdrawnFile = "agent-withdrawn.json"

// withdraw stops the placed flows deployed here that the control plane no
// longer places here (keep: the placed ones): they stay deployed, and run
// again if placed here again.
func (l *Link) withdraw(ctx context.Context, keep map[string]bool) {
	flows, err := l.Engine.Store().ListFlows(ctx)
	if err != nil {
		l.Log.Warn("agent: listing local flows", "err", err)
		return
	}
	out := map[string]bool{}
	for _, fi := range flows {
		if keep[fi.Name] {
			continue
		}
		f, _, err := l.Engine.Flow(ctx, fi.Name, 0)
		if err != nil || !l.Engine.PlacedHere(f) {
			continue // a local flow (no placement) is the site's own
		}
		out[fi.Name] = true
	}
	l.mu.Lock()
	changed := len(out) != len(l.withdrawn)
	for n := range out {
		if !l.withdrawn[n] {
			changed = true
			l.Log.Info("agent: flow withdrawn from this site; it stays deployed and runs no more", "flow", n)
		}
	}
	l.withdrawn = out
	l.mu.Unlock()
	if !changed {
		return
	}
	l.Engine.SetWithdrawn(out)
	if l.StateDir == "" {
		return
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	data, _ := json.Marshal(names)
	if err := os.MkdirAll(l.StateDir, 0o700); err == nil {
		tmp := filepath.Join(l.StateDir, withdrawnFile+".tmp")
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, filepath.Join(l.StateDir, withdrawnFile))
		}
		if err != nil {
			l.Log.Error("agent: saving the withdrawn flows", "err", err)
		}
	}
}
