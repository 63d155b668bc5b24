package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// MCP reach-in: the control plane's MCP gateway calls a tool placed on a
// site (an operation of a connection placed there, or a placed flow) and
// the site's agent runs it, over the agent's outbound link. The agent
// holds a second long poll (CallsPath) that the control plane answers
// with the calls queued for its site; the agent runs each and posts the
// result (ResultsPath). Nothing dials in to the site.
//
// The queue is per site and per control-plane process, bounded
// (MaxQueuedCalls); a call waits for its result at most its timeout
// (DefaultCallTimeout, at most MaxCallTimeout); a caller that gives up (or
// times out) has the call cancelled on the agent at its next calls poll.
// A site is online for reach-in while its agent holds a calls poll on this
// process or made one within reachOnline; otherwise a call is refused at
// once with a clear error.

// Routes of the reach-in link.
const (
	CallsPath    = "/agent/v1/calls"
	ResultsPath  = "/agent/v1/results"
	ProgressPath = "/agent/v1/progress"
)

// Limits of reach-in.
const (
	MaxQueuedCalls     = 64               // calls waiting for one site's agent
	MaxCallsPerPoll    = 16               // calls one poll answer carries
	MaxRunningCalls    = 16               // calls an agent runs at once
	DefaultCallTimeout = 60 * time.Second // a call's wait for its result
	MaxCallTimeout     = 5 * time.Minute
	MaxResultBytes     = 4 << 20 // a posted result's body
	callsHold          = 20 * time.Second
	reachOnline        = 3 * time.Second // a site between two calls polls is still online
	// Through the database (a control plane of many processes): how often
	// a held calls poll looks for calls queued by other processes, and a
	// waiting caller for its call's progress and result.
	// While the store's announcements are heard (PostgreSQL: LISTEN/NOTIFY)
	// both are woken by them instead, and look by themselves only every
	// sharedFallback.
	sharedLook     = 200 * time.Millisecond
	sharedWait     = 100 * time.Millisecond
	sharedFallback = time.Second
	progressEvery  = 200 * time.Millisecond // an agent posts a call's progress at most this often
)

// Call is one tool call for a site's agent.
type Call struct {
	ID         string         `json:"id"`
	Flow       string         `json:"flow,omitempty"`       // a placed flow, run with Args as its trigger body
	Connection string         `json:"connection,omitempty"` // or an operation of a connection placed on the site
	Operation  string         `json:"operation,omitempty"`  // connector.operation
	Args       map[string]any `json:"args"`
	Tool       string         `json:"tool,omitempty"`    // the MCP tool's name (for the site's log)
	Toolset    string         `json:"toolset,omitempty"` // the MCP toolset it was called through
	Caller     string         `json:"caller,omitempty"`  // the gateway's caller (an API key id)
	TimeoutMS  int64          `json:"timeout_ms"`
	// Progress asks the agent to post the call's progress (ProgressPath):
	// its caller gave a progress token.
	Progress bool `json:"progress,omitempty"`
}

// CallProgress is a call's progress, as an agent posts it.
type CallProgress struct {
	Site     string  `json:"site"`
	ID       string  `json:"id"`
	Progress float64 `json:"progress"`
	Total    float64 `json:"total,omitempty"`
	Message  string  `json:"message,omitempty"`
}

// CallsRequest is an agent's poll for calls.
type CallsRequest struct {
	Site string `json:"site"`
	Wait int    `json:"wait,omitempty"` // seconds the control plane may hold it
}

// CallsResponse carries the calls queued for the site and the ids of
// calls their callers gave up on.
type CallsResponse struct {
	Calls  []Call   `json:"calls,omitempty"`
	Cancel []string `json:"cancel,omitempty"`
}

// CallResult is what an agent posts for a call.
type CallResult struct {
	Site   string      `json:"site"`
	ID     string      `json:"id"`
	Output any         `json:"output,omitempty"`
	Error  *weft.Error `json:"error,omitempty"`
}

type pendingCall struct {
	call     Call
	site     string
	progress connectors.Progress // the caller's, when it gave a progress token
	done     chan CallResult     // buffered 1
	picked   atomic.Bool         // an agent's calls poll took it
}

type siteCalls struct {
	queue    chan *pendingCall
	cancel   []string
	held     int       // calls polls held now
	lastPoll time.Time // the last calls poll's end
	wake     chan struct{}
}

type reach struct {
	mu      sync.Mutex
	sites   map[string]*siteCalls
	pending map[string]*pendingCall
	waiters map[string]chan struct{} // calls through the database waited on here: poked when their row changes here
}

// poke tells a caller of this process that its call's row changed.
func (c *ControlPlane) poke(id string) {
	c.reach.mu.Lock()
	ch := c.reach.waiters[id]
	c.reach.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (c *ControlPlane) site(name string) *siteCalls {
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	if c.reach.sites == nil {
		c.reach.sites, c.reach.pending = map[string]*siteCalls{}, map[string]*pendingCall{}
	}
	s := c.reach.sites[name]
	if s == nil {
		s = &siteCalls{queue: make(chan *pendingCall, MaxQueuedCalls), wake: make(chan struct{}, 1)}
		c.reach.sites[name] = s
	}
	return s
}

// online reports whether a site's agent keeps a calls link to this process.
func (c *ControlPlane) online(site string) bool {
	s := c.site(site)
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	return s.held > 0 || (!s.lastPoll.IsZero() && c.now().Sub(s.lastPoll) < reachOnline)
}

// ShareCalls routes reach-in calls through the database when the store
// can (a control plane of many processes on one PostgreSQL): a call that
// reaches a process other than the one the site's agent polls is queued
// there and taken by that one.
func (c *ControlPlane) ShareCalls() bool {
	if cs, ok := c.st.(store.AgentCalls); ok {
		c.shared = cs
		return true
	}
	return false
}

// onlineAnywhere reports whether a site's agent keeps a calls link to this
// process, or (calls shared) to any process of the control plane.
func (c *ControlPlane) onlineAnywhere(a *store.AgentRecord) bool {
	if c.online(a.Site) {
		return true
	}
	return c.shared != nil && a.CallsSeen != nil && c.now().Sub(*a.CallsSeen) < reachOnline
}

// CallSite runs a tool on the agent of a site the placement selects (its
// site, else the first online agent whose labels match) and returns its
// output. It fails at once when no such agent is online, when the site's
// queue is full, and when the call outlives timeout or ctx (the agent is
// told to cancel it).
func (c *ControlPlane) CallSite(ctx context.Context, p *flow.Placement, call Call, timeout time.Duration) (any, error) {
	site, err := c.pickSite(ctx, p)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	timeout = min(timeout, MaxCallTimeout)
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	call.ID = hex.EncodeToString(b)
	call.TimeoutMS = timeout.Milliseconds()
	progress := connectors.ProgressFrom(ctx)
	call.Progress = progress != nil
	if c.shared != nil {
		// Many processes: the agent's calls poll, its result and its
		// progress may each reach any of them (a load balancer), so the
		// call goes through the database, even when this process holds
		// the poll now.
		return c.callShared(ctx, site, call, timeout, progress)
	}
	pc := &pendingCall{call: call, site: site, progress: progress, done: make(chan CallResult, 1)}
	s := c.site(site)
	c.reach.mu.Lock()
	c.reach.pending[call.ID] = pc
	c.reach.mu.Unlock()
	forget := func() {
		c.reach.mu.Lock()
		delete(c.reach.pending, call.ID)
		c.reach.mu.Unlock()
	}
	select {
	case s.queue <- pc:
	default:
		forget()
		return nil, weft.Errorf(weft.EUnavailable, "site %s has %d calls waiting for its agent already; try again shortly", site, MaxQueuedCalls)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	look := time.NewTicker(250 * time.Millisecond)
	defer look.Stop()
	for {
		select {
		case res := <-pc.done:
			forget()
			if res.Error != nil {
				return nil, res.Error
			}
			return res.Output, nil
		case <-t.C:
			c.giveUp(s, pc)
			return nil, weft.Errorf(weft.ETimeout, "site %s did not answer the call within %s (its agent was told to cancel it)", site, timeout)
		case <-ctx.Done():
			c.giveUp(s, pc)
			return nil, weft.Errorf(weft.ECanceled, "the call to site %s was cancelled (its agent was told to stop it)", site)
		case <-look.C:
			// Still queued and the agent's link went away: not sent.
			if !pc.picked.Load() && !c.online(site) {
				forget()
				return nil, weft.Errorf(weft.EUnavailable, "site %s went offline before its agent took the call: it was not run; it works again when the agent reconnects", site)
			}
		}
	}
}

func (c *ControlPlane) giveUp(s *siteCalls, pc *pendingCall) {
	c.reach.mu.Lock()
	delete(c.reach.pending, pc.call.ID)
	if len(s.cancel) < 4*MaxQueuedCalls {
		s.cancel = append(s.cancel, pc.call.ID)
	}
	c.reach.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (c *ControlPlane) pickSite(ctx context.Context, p *flow.Placement) (string, error) {
	if p == nil {
		return "", weft.Errorf(weft.EInvalid, "the tool is not placed on a site")
	}
	if p.Site != "" {
		a, err := c.st.Agent(ctx, p.Site)
		if err != nil {
			if weft.Code(err) == weft.ENotFound {
				return "", weft.Errorf(weft.EUnavailable, "site %s has no agent (weft agents create %s)", p.Site, p.Site)
			}
			return "", err
		}
		if a.RevokedAt != nil {
			return "", weft.Errorf(weft.EUnavailable, "site %s's agent is revoked", p.Site)
		}
		if !p.Matches(a.Site, a.Labels) {
			return "", weft.Errorf(weft.EUnavailable, "site %s's agent lacks the labels of placement %s", p.Site, p)
		}
		if !c.onlineAnywhere(a) {
			return "", weft.Errorf(weft.EUnavailable, "site %s is offline: its agent holds no link to the control plane now, so the call was not sent; it works again when the agent reconnects", p.Site)
		}
		return p.Site, nil
	}
	as, err := c.st.AgentList(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range as {
		if a.RevokedAt == nil && p.Matches(a.Site, a.Labels) && c.onlineAnywhere(&a) {
			return a.Site, nil
		}
	}
	return "", weft.Errorf(weft.EUnavailable, "no agent of placement %s is online: the call was not sent", p)
}

// ServeCalls answers an agent's calls poll (POST CallsPath): the calls
// queued for its site, held until one is or the hold ends.
func (c *ControlPlane) ServeCalls(w http.ResponseWriter, r *http.Request) {
	var req CallsRequest
	a, ok := c.readPoll(w, r, 4<<10, &req, func() string { return req.Site })
	if !ok {
		return
	}
	s := c.site(a.Site)
	c.reach.mu.Lock()
	s.held++
	c.reach.mu.Unlock()
	ctx := r.Context()
	seen := func() {
		if c.shared != nil {
			if err := c.shared.SetAgentCallsSeen(context.WithoutCancel(ctx), a.Site, c.now().UTC()); err != nil {
				c.log.Warn("reach-in: recording the calls poll", "site", a.Site, "err", err)
			}
		}
	}
	seen()
	defer func() {
		c.reach.mu.Lock()
		s.held--
		s.lastPoll = c.now()
		c.reach.mu.Unlock()
		seen()
	}()
	hold := time.Duration(min(max(req.Wait, 0), int(callsHold/time.Second))) * time.Second
	deadline := time.NewTimer(hold)
	defer deadline.Stop()
	revoked := time.NewTicker(c.tick)
	defer revoked.Stop()
	for {
		var resp CallsResponse
		c.reach.mu.Lock()
		resp.Cancel, s.cancel = s.cancel, nil
		c.reach.mu.Unlock()
		if c.shared != nil {
			// Calls other processes queued for this site, and their
			// cancellations.
			taken, err := c.shared.TakeAgentCalls(ctx, a.Site, MaxCallsPerPoll, c.now())
			if err != nil && ctx.Err() == nil {
				c.log.Warn("reach-in: taking calls queued by other processes", "site", a.Site, "err", err)
			}
			for _, tc := range taken {
				var call Call
				if json.Unmarshal(tc.Call, &call) == nil {
					resp.Calls = append(resp.Calls, call)
				}
			}
			if ids, err := c.shared.TakeAgentCancels(ctx, a.Site); err == nil {
				resp.Cancel = append(resp.Cancel, ids...)
			}
		}
	fill:
		for len(resp.Calls) < MaxCallsPerPoll {
			select {
			case pc := <-s.queue:
				c.reach.mu.Lock()
				_, live := c.reach.pending[pc.call.ID]
				if live {
					pc.picked.Store(true) // under the lock: CallSite may move it to the database otherwise
				}
				c.reach.mu.Unlock()
				if live {
					resp.Calls = append(resp.Calls, pc.call)
				}
			default:
				break fill
			}
		}
		if len(resp.Calls) > 0 || len(resp.Cancel) > 0 {
			writeJSON(w, http.StatusOK, resp)
			return
		}
		select {
		case <-s.wake: // a call queued here, or (RunShared) in the database
		case <-deadline.C:
			writeJSON(w, http.StatusOK, resp)
			return
		case <-r.Context().Done():
			return
		case <-revoked.C:
			if cur, err := c.st.Agent(r.Context(), a.Site); err != nil || cur.RevokedAt != nil || cur.TokenHash != a.TokenHash {
				writeErr(w, weft.Errorf(weft.EUnauthorized, "unknown or revoked agent credential"))
				return
			}
			seen() // other processes judge the site online from it
		}
	}
}

// ServeResults takes an agent's result for a call (POST ResultsPath).
func (c *ControlPlane) ServeResults(w http.ResponseWriter, r *http.Request) {
	var res CallResult
	a, ok := c.readPoll(w, r, MaxResultBytes, &res, func() string { return res.Site })
	if !ok {
		return
	}
	c.reach.mu.Lock()
	pc := c.reach.pending[res.ID]
	if pc != nil && pc.site == a.Site {
		delete(c.reach.pending, res.ID)
	}
	c.reach.mu.Unlock()
	if pc == nil {
		accepted := false
		if c.shared != nil {
			// Another process's caller, waiting on the database.
			if res.Error != nil {
				res.Error = &weft.Error{Code: res.Error.Code, Message: clip(res.Error.Message, 2000)}
			}
			data, _ := json.Marshal(res)
			ok, err := c.shared.FinishAgentCall(r.Context(), a.Site, res.ID, data)
			if err != nil {
				writeErr(w, err)
				return
			}
			accepted = ok
			c.poke(res.ID)
		}
		// Else its caller gave up already: dropped.
		writeJSON(w, http.StatusOK, map[string]any{"accepted": accepted})
		return
	}
	if pc.site != a.Site {
		writeErr(w, weft.Errorf(weft.EForbidden, "call %s was not sent to site %s", clip(res.ID, 40), a.Site))
		return
	}
	if res.Error != nil {
		res.Error = &weft.Error{Code: res.Error.Code, Message: clip(res.Error.Message, 2000)}
	}
	pc.done <- res
	writeJSON(w, http.StatusOK, map[string]any{"accepted": true})
}

// ServeProgress passes a call's progress on to its caller (POST
// ProgressPath): here, or through the database to the process it waits on.
func (c *ControlPlane) ServeProgress(w http.ResponseWriter, r *http.Request) {
	var p CallProgress
	a, ok := c.readPoll(w, r, 8<<10, &p, func() string { return p.Site })
	if !ok {
		return
	}
	p.Message = clip(p.Message, 500)
	if math.IsNaN(p.Progress) || math.IsInf(p.Progress, 0) || math.IsNaN(p.Total) || math.IsInf(p.Total, 0) {
		writeErr(w, weft.Errorf(weft.EInvalid, "progress and total are finite numbers"))
		return
	}
	c.reach.mu.Lock()
	pc := c.reach.pending[p.ID]
	c.reach.mu.Unlock()
	accepted := false
	switch {
	case pc != nil && pc.site == a.Site:
		if pc.progress != nil {
			pc.progress(p.Progress, p.Total, p.Message)
			accepted = true
		}
	case pc == nil && c.shared != nil:
		data, _ := json.Marshal(p)
		var err error
		if accepted, err = c.shared.AgentCallProgress(r.Context(), a.Site, p.ID, data); err != nil {
			writeErr(w, err)
			return
		}
		c.poke(p.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": accepted})
}

// callShared runs a call through the database: queued here, taken by the
// process that holds the site's agent's calls poll, its progress and
// result recorded by the process the agent posts them to, read here.
func (c *ControlPlane) callShared(ctx context.Context, site string, call Call, timeout time.Duration, progress connectors.Progress) (any, error) {
	data, _ := json.Marshal(call)
	now := c.now().UTC()
	if err := c.shared.QueueAgentCall(ctx, store.AgentCall{ID: call.ID, Site: site, Call: data, CreatedAt: now, ExpiresAt: now.Add(timeout)}); err != nil {
		return nil, err
	}
	bg := context.WithoutCancel(ctx)
	giveUp := func() { _, _ = c.shared.CancelAgentCall(bg, call.ID) }
	poked := make(chan struct{}, 1)
	c.reach.mu.Lock()
	if c.reach.waiters == nil {
		c.reach.waiters = map[string]chan struct{}{}
	}
	c.reach.waiters[call.ID] = poked
	c.reach.mu.Unlock()
	defer func() {
		c.reach.mu.Lock()
		delete(c.reach.waiters, call.ID)
		c.reach.mu.Unlock()
	}()
	// A calls poll this process holds takes it at once.
	s := c.site(site)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(sharedWait)
	defer tick.Stop()
	var lastProgress []byte
	offlineSince := time.Time{}
	lastLook := c.now()
	for {
		select {
		case <-t.C:
			giveUp()
			return nil, weft.Errorf(weft.ETimeout, "site %s did not answer the call within %s (its agent was told to cancel it)", site, timeout)
		case <-ctx.Done():
			giveUp()
			return nil, weft.Errorf(weft.ECanceled, "the call to site %s was cancelled (its agent was told to stop it)", site)
		case <-tick.C:
			if c.listening.Load() && c.now().Sub(lastLook) < sharedFallback {
				continue // its row's changes are announced (poked)
			}
		case <-poked:
		}
		lastLook = c.now()
		row, err := c.shared.GetAgentCall(bg, call.ID)
		if err != nil {
			if weft.Code(err) == weft.ENotFound {
				return nil, weft.Errorf(weft.EUnavailable, "the call to site %s was lost (its row is gone)", site)
			}
			continue // the database: look again
		}
		if progress != nil && len(row.Progress) > 0 && !bytes.Equal(row.Progress, lastProgress) {
			lastProgress = row.Progress
			var p CallProgress
			if json.Unmarshal(row.Progress, &p) == nil {
				progress(p.Progress, p.Total, p.Message)
			}
		}
		switch row.State {
		case "done":
			_ = c.shared.DeleteAgentCall(bg, call.ID)
			var res CallResult
			if err := json.Unmarshal(row.Result, &res); err != nil {
				return nil, weft.Errorf(weft.EInternal, "the result of the call to site %s is not readable", site)
			}
			if res.Error != nil {
				return nil, res.Error
			}
			return res.Output, nil
		case "queued":
			// Still queued and the agent's link went away: not sent.
			if a, err := c.st.Agent(bg, site); err == nil && !c.onlineAnywhere(a) {
				if offlineSince.IsZero() {
					offlineSince = c.now()
				} else if c.now().Sub(offlineSince) >= 250*time.Millisecond {
					if was, _ := c.shared.CancelAgentCall(bg, call.ID); was == "queued" {
						return nil, weft.Errorf(weft.EUnavailable, "site %s went offline before its agent took the call: it was not run; it works again when the agent reconnects", site)
					}
				}
			} else {
				offlineSince = time.Time{}
			}
		}
	}
}

// RunShared wakes, until ctx ends, the calls polls this process holds for
// sites with calls queued (or cancelled) in the database by other
// processes, and the callers of this process whose calls' rows changed.
// Where the store announces them (PostgreSQL: LISTEN/NOTIFY), each change
// wakes its poll or caller at once; while it does not (SQLite has one
// process; a lost connection, until it listens again; PollCalls) it looks
// every sharedLook, one query for all sites. (A held poll also looks
// every second by itself, a caller at its call every sharedFallback.)
func (c *ControlPlane) RunShared(ctx context.Context) {
	if c.shared == nil {
		return
	}
	look := make(chan struct{}, 1)
	if ev, ok := c.shared.(store.AgentCallEvents); ok && !c.PollCalls {
		go func() {
			err := ev.ListenAgentCalls(ctx, func(up bool) {
				c.listening.Store(up)
				if up { // what was announced before is looked for once
					select {
					case look <- struct{}{}:
					default:
					}
				}
			}, func(site, id string) {
				if site != "" {
					c.wakeSite(site)
				}
				if id != "" {
					c.poke(id)
				}
			})
			c.listening.Store(false)
			if err != nil && ctx.Err() == nil {
				c.log.Info("reach-in: calls through the database are looked for by polling", "reason", err)
			}
		}()
	}
	t := time.NewTicker(sharedLook)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.listening.Load() {
				continue
			}
		case <-look:
		}
		c.reach.mu.Lock()
		held := 0
		for _, s := range c.reach.sites {
			held += s.held
		}
		c.reach.mu.Unlock()
		if held == 0 {
			continue
		}
		sites, err := c.shared.AgentCallSites(ctx)
		if err != nil {
			continue
		}
		for _, name := range sites {
			c.wakeSite(name)
		}
	}
}

// wakeSite wakes a calls poll this process holds for site, if any, to
// take the calls queued for it in the database.
func (c *ControlPlane) wakeSite(name string) {
	c.reach.mu.Lock()
	s := c.reach.sites[name]
	c.reach.mu.Unlock()
	if s != nil {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Listening reports whether this process hears the store's announcements
// of reach-in calls through the database now (else it polls).
func (c *ControlPlane) Listening() bool { return c.listening.Load() }

// PurgeCalls deletes reach-in calls routed through the database that
// expired a minute ago or more (their callers are gone).
func (c *ControlPlane) PurgeCalls(ctx context.Context) {
	if c.shared == nil {
		return
	}
	if n, err := c.shared.PurgeAgentCalls(ctx, c.now().Add(-time.Minute)); err != nil && ctx.Err() == nil {
		c.log.Warn("reach-in: purging expired calls", "err", err)
	} else if n > 0 {
		c.log.Info("reach-in: expired calls purged", "calls", n)
	}
}

// reachLoop is the agent's side of reach-in: it polls for calls, runs
// each (at most MaxRunningCalls at once) and posts its result.
func (l *Link) reachLoop(ctx context.Context) {
	backoff := l.MinBackoff
	sem := make(chan struct{}, MaxRunningCalls)
	var mu sync.Mutex
	running := map[string]context.CancelFunc{}
	fails := 0
	for ctx.Err() == nil {
		var resp CallsResponse
		err := l.post(ctx, CallsPath, CallsRequest{Site: l.Site, Wait: int(min(l.Hold, callsHold) / time.Second)}, &resp)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fails++
			if fails == 1 || fails%10 == 0 {
				l.Log.Warn("agent: reach-in poll failed; retrying", "failures", fails, "err", weft.Message(err))
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff/2 + mrand.N(backoff/2+1)):
			}
			backoff = min(backoff*2, l.MaxBackoff)
			continue
		}
		fails, backoff = 0, l.MinBackoff
		mu.Lock()
		for _, id := range resp.Cancel {
			if cancel := running[id]; cancel != nil {
				cancel()
			}
		}
		mu.Unlock()
		for _, call := range resp.Calls {
			timeout := min(max(time.Duration(call.TimeoutMS)*time.Millisecond, time.Second), MaxCallTimeout)
			cctx, cancel := context.WithTimeout(ctx, timeout)
			mu.Lock()
			running[call.ID] = cancel
			mu.Unlock()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				cancel()
				return
			}
			go func(call Call) {
				defer func() { <-sem }()
				cctx := cctx
				if call.Progress {
					rep := l.progressSender(ctx, call.ID)
					defer rep.stop()
					cctx = connectors.WithProgress(cctx, rep.report)
				}
				out, err := l.runCall(cctx, call)
				cancel()
				mu.Lock()
				delete(running, call.ID)
				mu.Unlock()
				res := CallResult{Site: l.Site, ID: call.ID, Output: out}
				if err != nil {
					var we *weft.Error
					if !errors.As(err, &we) {
						we = &weft.Error{Code: weft.EUnavailable, Message: err.Error()}
					}
					res.Output, res.Error = nil, &weft.Error{Code: we.Code, Message: we.Message}
				}
				if data, _ := json.Marshal(res); len(data) > MaxResultBytes {
					res.Output, res.Error = nil, weft.Errorf(weft.ETooLarge, "the result is %d bytes; the link carries at most %d", len(data), MaxResultBytes)
				}
				if err := l.post(ctx, ResultsPath, res, nil); err != nil && ctx.Err() == nil {
					l.Log.Warn("agent: posting a reach-in result failed; the caller will time out", "call", call.ID, "err", weft.Message(err))
				}
			}(call)
		}
	}
}

// runCall runs one reach-in call on the agent's own engine: an operation
// of a connection placed on this site, or a flow placed here (the run is
// in the site's transaction log and shipped upstream like any other).
func (l *Link) runCall(ctx context.Context, call Call) (any, error) {
	switch {
	case call.Flow != "":
		f, _, err := l.Engine.Flow(ctx, call.Flow, 0)
		if err != nil {
			return nil, err
		}
		if !l.Engine.RunsHere(f) || f.Placement == nil {
			return nil, weft.Errorf(weft.EForbidden, "flow %s is not placed on site %s (or was withdrawn): the agent refuses the call", call.Flow, l.Site)
		}
		if p := connectors.ProgressFrom(ctx); p != nil {
			// The run's progress, as the gateway reports a local flow's.
			done := make(chan struct{})
			defer close(done)
			go func() {
				start := time.Now()
				t := time.NewTicker(500 * time.Millisecond)
				defer t.Stop()
				for n := 1; ; n++ {
					select {
					case <-done:
						return
					case <-ctx.Done():
						return
					case <-t.C:
						p(float64(n), 0, fmt.Sprintf("flow %s running on site %s (%.1fs)", call.Flow, l.Site, time.Since(start).Seconds()))
					}
				}
			}()
		}
		res, err := l.Engine.Trigger(ctx, engine.Event{Flow: call.Flow, Kind: "mcp", Body: call.Args})
		if err != nil {
			return nil, err
		}
		if res.Run != nil && res.Run.Status != store.RunSucceeded {
			return nil, weft.Errorf(weft.EUnprocessable, "flow %s run %s %s at step %s: %s", call.Flow, res.Run.ID, res.Run.Status, res.Run.FailedStep, res.Run.ErrorMessage)
		}
		if res.Response != nil {
			return res.Response.Body, nil
		}
		return map[string]any{"run_id": res.Run.ID, "status": res.Run.Status}, nil
	case call.Connection != "" && call.Operation != "":
		conn, ok := l.Engine.Catalog().LookupConnection(call.Connection)
		if !ok || !l.Engine.ConnPlacedHere(conn) {
			return nil, weft.Errorf(weft.EForbidden, "connection %s is not placed on site %s: the agent refuses the call (only connections the control plane placed here are reachable)", call.Connection, l.Site)
		}
		argsJSON, _ := json.Marshal(call.Args)
		return l.Engine.CallOperation(ctx, engine.ToolCall{Toolset: "reach-in:" + call.Toolset, Tool: call.Tool, Caller: call.Caller,
			Connection: call.Connection, Operation: call.Operation, Input: call.Args, InputSize: len(argsJSON)})
	}
	return nil, weft.Errorf(weft.EInvalid, "a reach-in call names a flow, or a connection and an operation")
}

// progressPoster posts a call's progress upstream: the latest report at
// most every progressEvery (reports in between are folded into it).
type progressPoster struct {
	l      *Link
	id     string
	mu     sync.Mutex
	latest *CallProgress
	kick   chan struct{}
	done   chan struct{}
}

func (l *Link) progressSender(ctx context.Context, id string) *progressPoster {
	p := &progressPoster{l: l, id: id, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-p.done:
				return
			case <-ctx.Done():
				return
			case <-p.kick:
			}
			p.mu.Lock()
			cp := p.latest
			p.latest = nil
			p.mu.Unlock()
			if cp != nil {
				if err := l.post(ctx, ProgressPath, cp, nil); err != nil && ctx.Err() == nil {
					l.Log.Debug("agent: posting a call's progress failed", "call", id, "err", weft.Message(err))
				}
			}
			select {
			case <-p.done:
				return
			case <-ctx.Done():
				return
			case <-time.After(progressEvery):
			}
		}
	}()
	return p
}

func (p *progressPoster) report(progress, total float64, message string) {
	p.mu.Lock()
	p.latest = &CallProgress{Site: p.l.Site, ID: p.id, Progress: progress, Total: total, Message: clip(message, 500)}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *progressPoster) stop() { close(p.done) }
