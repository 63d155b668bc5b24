package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/yosida95/uritemplate/v3"

	"github.com/weftio/weft/connectors/mcpconn"
)

// Federated resource subscriptions, templates and pushed list changes.
//
// A session on the 2025-11-25 wire that subscribes to a federated resource
// (weft://mcp/{connector}/resource?uri=…) is subscribed upstream (one
// upstream subscription however many sessions share it); the upstream's
// notifications/resources/updated reach each subscribed session under the
// weft:// URI. An upstream's prompts/list_changed or resources/list_changed
// makes the gateway list its prompts, resources and templates again at
// once, and what changed reaches Weft's clients as Weft's own
// list_changed notifications. An upstream's resource templates are in
// resources/templates/list as weft:// templates.

// maxFedSubsPerSession bounds the federated subscriptions of one session.
const maxFedSubsPerSession = 256

type fedSub struct {
	conn, uri string // the upstream and its URI
	s         *served
	// On the 2026-07-28 wire: the subscriptions/listen stream's session
	// and the id its notifications are tagged with (nil: a 2025-11-25
	// session, reached by its id).
	listen server.ClientSession
	subID  any
}

type fedSubs struct {
	mu  sync.Mutex
	by  map[string]map[string]fedSub // weft URI → session id → subscription
	ups map[string]int               // conn \x00 upstream URI → sessions subscribed
	per map[string]int               // session id → its subscriptions
}

// fedTemplate is an upstream's resource template as the gateway lists it.
type fedTemplate struct {
	conn string
	tpl  mcpconn.ResourceTemplate
	weft string // the weft:// template
}

// fedTemplateURI turns an upstream's URI template into the weft:// one
// that reads through the gateway: the upstream template becomes the value
// of the uri query parameter, its literal parts escaped, its {var} and
// {+var} expressions kept as {var} (expanded, their values are escaped as a
// query value must be). Templates with other operators ({?q}, {/p}, {#f},
// {.x}, {;m}, {&q}) do not fit inside a query value: ok is false.
func fedTemplateURI(conn, tpl string) (string, bool) {
	var b strings.Builder
	b.WriteString("weft://mcp/" + conn + "/resource?uri=")
	rest := tpl
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(url.QueryEscape(rest))
			break
		}
		b.WriteString(url.QueryEscape(rest[:i]))
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", false
		}
		expr := rest[i+1 : i+j]
		expr = strings.TrimPrefix(expr, "+")
		if expr == "" || strings.ContainsAny(expr, "?/#.;&=,!@|{") {
			return "", false
		}
		b.WriteString("{" + expr + "}")
		rest = rest[i+j+1:]
	}
	out := b.String()
	if _, err := uritemplate.New(out); err != nil {
		return "", false
	}
	return out, true
}

// parseFedURI splits weft://mcp/{connector}/resource?uri=X.
func parseFedURI(u string) (conn, target string, ok bool) {
	if !strings.HasPrefix(u, "weft://mcp/") {
		return "", "", false
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Host != "mcp" {
		return "", "", false
	}
	conn, rest, ok := strings.Cut(strings.TrimPrefix(pu.Path, "/"), "/")
	if !ok || rest != "resource" || conn == "" {
		return "", "", false
	}
	if target = pu.Query().Get("uri"); target == "" {
		return "", "", false
	}
	return conn, target, true
}

// fedSubscribeHook subscribes a session to a federated resource upstream
// before mcp-go acknowledges resources/subscribe (and ends it on
// resources/unsubscribe); a refusal is the request's error.
func (g *Gateway) fedSubscribeHook(s *served) server.OnRequestInitializationFunc {
	return func(ctx context.Context, id any, message any) error {
		raw, ok := message.(json.RawMessage)
		if !ok || !bytes.Contains(raw, []byte(`subscri`)) || g.cfg.Federation == nil {
			return nil // the fast path: every other request
		}
		var req struct {
			Method string `json:"method"`
			Params struct {
				URI           string `json:"uri"`
				Notifications struct {
					ResourceSubscriptions []string `json:"resourceSubscriptions"`
				} `json:"notifications"`
			} `json:"params"`
		}
		if json.Unmarshal(raw, &req) != nil {
			return nil
		}
		if req.Method == string(mcpgo.MethodSubscriptionsListen) {
			return g.fedListen(ctx, s, id, req.Params.Notifications.ResourceSubscriptions)
		}
		if req.Method != string(mcpgo.MethodResourcesSubscribe) && req.Method != string(mcpgo.MethodResourcesUnsubscribe) {
			return nil
		}
		conn, target, ok := parseFedURI(req.Params.URI)
		if !ok {
			return nil // Weft's own resources: acknowledged (they send no updates)
		}
		sess := server.ClientSessionFromContext(ctx)
		if sess == nil || sess.SessionID() == "" {
			return nil // no session to deliver updates to; mcp-go answers
		}
		if req.Method == string(mcpgo.MethodResourcesUnsubscribe) {
			g.fedUnsubscribe(sess.SessionID(), req.Params.URI)
			return nil
		}
		if !g.connectorVisible(ctx, s, conn) {
			return fmt.Errorf("resource %s not found", req.Params.URI)
		}
		return g.fedSubscribe(ctx, fedSub{conn: conn, uri: target, s: s}, sess.SessionID(), req.Params.URI)
	}
}

// fedListen subscribes a subscriptions/listen stream (2026-07-28) to the
// federated resources among those it lists, for as long as it stays open.
func (g *Gateway) fedListen(ctx context.Context, s *served, id any, uris []string) error {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil || id == nil {
		return nil // mcp-go refuses it
	}
	sid := fmt.Sprintf("listen:%p", sess)
	var done []string
	for _, u := range uris {
		conn, target, ok := parseFedURI(u)
		if !ok {
			continue
		}
		err := fmt.Errorf("resource %s not found", u)
		if g.connectorVisible(ctx, s, conn) {
			err = g.fedSubscribe(ctx, fedSub{conn: conn, uri: target, s: s, listen: sess, subID: id}, sid, u)
		}
		if err != nil {
			for _, d := range done {
				g.fedUnsubscribe(sid, d)
			}
			return err
		}
		done = append(done, u)
	}
	if len(done) > 0 {
		go func() {
			<-ctx.Done() // the stream closed
			for _, d := range done {
				g.fedUnsubscribe(sid, d)
			}
		}()
	}
	return nil
}

func (g *Gateway) fedSubscribe(ctx context.Context, sub fedSub, sid, weft string) error {
	conn, target := sub.conn, sub.uri
	up, ok := g.cfg.Federation.Upstream(conn)
	if !ok {
		return fmt.Errorf("resource %s not found", weft)
	}
	f := &g.fsubs
	key := conn + "\x00" + target
	f.mu.Lock()
	if f.by == nil {
		f.by, f.ups, f.per = map[string]map[string]fedSub{}, map[string]int{}, map[string]int{}
	}
	if _, dup := f.by[weft][sid]; dup {
		f.mu.Unlock()
		return nil
	}
	if f.per[sid] >= maxFedSubsPerSession {
		f.mu.Unlock()
		return fmt.Errorf("at most %d subscriptions to federated resources per session", maxFedSubsPerSession)
	}
	first := f.ups[key] == 0
	f.mu.Unlock()
	if first {
		if err := up.Subscribe(ctx, target); err != nil {
			return fmt.Errorf("subscribing to %s: %v", weft, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.by[weft] == nil {
		f.by[weft] = map[string]fedSub{}
	}
	if _, dup := f.by[weft][sid]; !dup {
		f.by[weft][sid] = sub
		f.ups[key]++
		f.per[sid]++
	}
	return nil
}

// fedUnsubscribe ends one session's subscription; the last one of a
// resource ends the upstream's.
func (g *Gateway) fedUnsubscribe(sid, weft string) {
	f := &g.fsubs
	f.mu.Lock()
	sub, ok := f.by[weft][sid]
	if !ok {
		f.mu.Unlock()
		return
	}
	delete(f.by[weft], sid)
	if len(f.by[weft]) == 0 {
		delete(f.by, weft)
	}
	if f.per[sid]--; f.per[sid] <= 0 {
		delete(f.per, sid)
	}
	key := sub.conn + "\x00" + sub.uri
	f.ups[key]--
	last := f.ups[key] <= 0
	if last {
		delete(f.ups, key)
	}
	f.mu.Unlock()
	if last {
		if up, ok := g.cfg.Federation.Upstream(sub.conn); ok {
			ctx, cancel := context.WithTimeout(context.Background(), fedPromptsTimeout)
			defer cancel()
			if err := up.Unsubscribe(ctx, sub.uri); err != nil {
				g.log.Debug("ending an upstream resource subscription", "connector", sub.conn, "err", err)
			}
		}
	}
}

// fedSessionEnded drops an ended session's subscriptions.
func (g *Gateway) fedSessionEnded(sid string) {
	f := &g.fsubs
	f.mu.Lock()
	var uris []string
	if f.per[sid] > 0 {
		for u, m := range f.by {
			if _, ok := m[sid]; ok {
				uris = append(uris, u)
			}
		}
	}
	f.mu.Unlock()
	for _, u := range uris {
		g.fedUnsubscribe(sid, u)
	}
}

// fedEvent handles what an upstream pushed.
func (g *Gateway) fedEvent(conn string, e mcpconn.Event) {
	switch e.Kind {
	case mcpconn.EventResourceUpdated:
		weft := fedResourceURI(conn, e.URI)
		g.fsubs.mu.Lock()
		subs := make(map[string]fedSub, len(g.fsubs.by[weft]))
		for sid, s := range g.fsubs.by[weft] {
			subs[sid] = s
		}
		g.fsubs.mu.Unlock()
		for sid, s := range subs {
			if s.listen != nil {
				n := mcpgo.JSONRPCNotification{JSONRPC: mcpgo.JSONRPC_VERSION, Notification: mcpgo.Notification{
					Method: string(mcpgo.MethodNotificationResourceUpdated),
					Params: mcpgo.NotificationParams{Meta: map[string]any{mcpgo.MetaKeySubscriptionID: s.subID}, AdditionalFields: map[string]any{"uri": weft}}}}
				select {
				case s.listen.NotificationChannel() <- n:
				default:
					g.log.Debug("forwarding a resource update: the stream is full", "session", sid)
				}
				continue
			}
			if err := s.s.srv.SendNotificationToSpecificClient(sid, string(mcpgo.MethodNotificationResourceUpdated), map[string]any{"uri": weft}); err != nil {
				g.log.Debug("forwarding a resource update", "session", sid, "err", err)
			}
		}
	case mcpconn.EventPromptsChanged, mcpconn.EventResourcesChanged:
		g.fedp.force.Store(true)
		g.refreshFedPrompts(context.Background())
	}
}

// fedTemplateHook appends the upstreams' templates a caller may use to
// the last page of resources/templates/list.
func (g *Gateway) fedTemplateHook(s *served) server.OnAfterListResourceTemplatesFunc {
	return func(ctx context.Context, _ any, _ *mcpgo.ListResourceTemplatesRequest, res *mcpgo.ListResourceTemplatesResult) {
		if res == nil || res.NextCursor != "" {
			return
		}
		g.fedp.mu.Lock()
		tpls := g.fedp.tpl
		g.fedp.mu.Unlock()
		for _, t := range tpls {
			if !g.connectorVisible(ctx, s, t.conn) {
				continue
			}
			ut, err := uritemplate.New(t.weft)
			if err != nil {
				continue
			}
			rt := mcpgo.ResourceTemplate{URITemplate: &mcpgo.URITemplate{Template: ut}, Name: toolName(t.conn, t.tpl.Name),
				Title: t.tpl.Title, Description: t.tpl.Description, MIMEType: t.tpl.MIMEType}
			res.ResourceTemplates = append(res.ResourceTemplates, rt)
		}
	}
}
