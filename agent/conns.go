package agent

import (
	"context"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/bounded"
)

// MaxPlacedConnBytes bounds one placed connection's definition.
const MaxPlacedConnBytes = 256 << 10

// applyConns makes the site's placed connections those the control plane
// sent (all of them, sealed to this process's link key): each new or
// changed one is opened, checked (it must be placed on this site) and
// saved in the agent's own store, sealed there with the agent's master
// key. Credentials it leaves empty keep the values set on the site (the
// control plane need never hold them). A placed connection no longer sent
// is removed from the site.
func (l *Link) applyConns(ctx context.Context, conns []PlacedConn) {
	keep := map[string]bool{}
	for _, pc := range conns {
		keep[pc.Name] = true
		l.mu.Lock()
		cur, ok := l.conns[pc.Name]
		l.mu.Unlock()
		if ok && cur.SHA256 == pc.SHA256 {
			continue
		}
		ref := ConnRef{Name: pc.Name, SHA256: pc.SHA256}
		if err := l.applyConn(ctx, pc); err != nil {
			ref.Error = clip(weft.Message(err), 500)
			l.Log.Error("agent: placed connection not applied", "connection", pc.Name, "err", ref.Error)
		} else {
			l.Log.Info("agent: placed connection applied", "connection", pc.Name, "connector", pc.Connector)
		}
		l.mu.Lock()
		l.conns[pc.Name] = ref
		l.mu.Unlock()
	}
	for _, c := range l.Engine.Catalog().Connections() {
		if c.Placement == nil || keep[c.Name] || c.Source != "api" {
			continue // the site's own connections stay
		}
		if err := l.Engine.DeleteConnection(ctx, c.Name); err != nil {
			l.Log.Error("agent: removing a connection no longer placed here", "connection", c.Name, "err", weft.Message(err))
			continue
		}
		l.Log.Info("agent: connection no longer placed on this site; removed", "connection", c.Name)
	}
	l.mu.Lock()
	for name := range l.conns {
		if !keep[name] {
			delete(l.conns, name)
		}
	}
	l.mu.Unlock()
}

func (l *Link) applyConn(ctx context.Context, pc PlacedConn) error {
	if len(pc.Sealed) > MaxPlacedConnBytes*2 {
		return weft.Errorf(weft.ETooLarge, "placed connection %s: larger than %d bytes", clip(pc.Name, 80), MaxPlacedConnBytes)
	}
	plain, err := l.key.Open(pc.Sealed, connAAD(l.Site, pc.Name))
	if err != nil {
		return err
	}
	var conn connectors.Connection
	if err := bounded.UnmarshalYAML("placed connection "+clip(pc.Name, 80), plain, &conn, bounded.Limits{MaxBytes: MaxPlacedConnBytes}); err != nil {
		return err
	}
	if conn.Name != pc.Name || conn.Connector != pc.Connector {
		return weft.Errorf(weft.EInvalid, "placed connection %s: the sealed definition names %q (%s)", clip(pc.Name, 80), clip(conn.Name, 80), clip(conn.Connector, 80))
	}
	if !l.Engine.ConnPlacedHere(&conn) {
		return weft.Errorf(weft.EForbidden, "connection %s is placed on %s: this agent is site %q and refuses it", conn.Name, conn.Placement, l.Site)
	}
	if old, ok := l.Engine.Catalog().LookupConnection(conn.Name); ok && conn.Auth == nil && old.Auth != nil {
		// No auth on the control plane: the site's own stays (engine.
		// SaveConnection keeps the site's headers and secrets the
		// definition leaves out, and auth fields it leaves empty).
		a := *old.Auth
		conn.Auth = &a
	}
	conn.Source = ""
	return l.Engine.SaveConnection(ctx, &conn)
}
