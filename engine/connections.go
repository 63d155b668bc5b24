package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/store"
)

// Sealer encrypts connections at rest (internal/seal.Keyring).
type Sealer interface {
	Seal(name string, plain []byte) (keyID string, sealed []byte, err error)
	Open(name, keyID string, sealed []byte) ([]byte, error)
	CurrentID() string
	Rotate() error
	Retire() error
}

// PayloadKeys rewraps the data keys that seal payloads at rest
// (internal/seal.Envelope).
type PayloadKeys interface {
	Rewrap(id, keyID string, wrapped []byte) (newKeyID string, rewrapped []byte, err error)
	CurrentID() string
}

// rotateBatch bounds one transaction of a key rotation's rewrap and seal
// passes over data keys and payload rows.
const rotateBatch = 200

// Rotation says what a key rotation resealed.
type Rotation struct {
	Connections int `json:"resealed"`            // stored connections resealed
	DataKeys    int `json:"data_keys_rewrapped"` // payload data keys rewrapped
	Payloads    int `json:"payloads_sealed"`     // payload columns stored in the clear, now sealed
}

// rewrapDataKeys rewraps every payload data key not wrapped by the current
// master key, in batches of rotateBatch (each its own transaction: an
// interrupted pass resumes where it stopped, at the next start or rotate).
func (e *Engine) rewrapDataKeys(ctx context.Context) (int, error) {
	pk := e.cfg.Payloads
	if pk == nil {
		return 0, nil
	}
	total := 0
	for {
		n, err := e.st.RewrapDataKeys(ctx, pk.CurrentID(), rotateBatch, pk.Rewrap)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// sealPlaintext seals the payload columns stored in the clear before
// sealing was on, rotateBatch runs (and their attempts) at a time.
func (e *Engine) sealPlaintext(ctx context.Context) (int, error) {
	if e.cfg.Payloads == nil {
		return 0, nil
	}
	total, cursor := 0, ""
	for {
		next, n, err := e.st.SealPlaintext(ctx, cursor, rotateBatch)
		total += n
		if err != nil || next == "" {
			return total, err
		}
		cursor = next
	}
}

// connState tracks which stored connections this process has loaded.
type connState struct {
	mu     sync.Mutex
	loaded map[string]time.Time // name -> stored updated_at
	last   time.Time            // last reload from the store
	// placed holds the stored connections placed on other sites (hybrid
	// deployment): kept for their agents, never in this engine's catalog,
	// so nothing here can use them.
	placed map[string]PlacedConnection
}

// PlacedConnection is a stored connection placed on runtime agents, as a
// control plane holds it for them: the whole definition (credentials
// included) and a digest of its sealed form (it changes when the
// definition does, and says nothing of the credentials).
type PlacedConnection struct {
	Conn   *connectors.Connection
	Digest string
}

// connHere reports whether this engine may use conn: one without a
// placement anywhere, a placed one only on an agent whose site and labels
// match (never on a control plane).
func (e *Engine) connHere(conn *connectors.Connection) bool {
	return conn.Placement == nil || conn.Placement.Matches(e.cfg.Site, e.cfg.Labels)
}

func sealedDigest(sealed []byte) string {
	h := sha256.Sum256(sealed)
	return hex.EncodeToString(h[:])
}

// PlacedConnections lists the stored connections placed on other sites,
// by name (a control plane's, for its agents).
func (e *Engine) PlacedConnections() []PlacedConnection {
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	out := make([]PlacedConnection, 0, len(e.conns.placed))
	for _, pc := range e.conns.placed {
		out = append(out, pc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Conn.Name < out[j].Conn.Name })
	return out
}

// PlacedConnection returns a stored connection placed on other sites.
func (e *Engine) PlacedConnection(name string) (*connectors.Connection, bool) {
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	pc, ok := e.conns.placed[name]
	return pc.Conn, ok
}

func (e *Engine) sealer() (Sealer, error) {
	if e.cfg.Keys == nil {
		return nil, weft.Errorf(weft.EUnavailable, "connections cannot be stored: no master key is configured")
	}
	return e.cfg.Keys, nil
}

// LoadConnections opens every stored connection into the catalog, drops
// stored ones that were deleted (by another process), and reseals any still
// sealed under an older key. Call it at start; the engine calls it again
// when a flow names a connection it does not know, and every few seconds.
func (e *Engine) LoadConnections(ctx context.Context) error {
	keys, err := e.sealer()
	if err != nil {
		return nil // nothing can be stored, so nothing to load
	}
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	sealed, err := e.st.Connections(ctx)
	if err != nil {
		return err
	}
	e.conns.last = e.now()
	seen := map[string]bool{}
	stale := 0
	var firstErr error
	for _, sc := range sealed {
		seen[sc.Name] = true
		if sc.KeyID != keys.CurrentID() {
			stale++
		}
		if t, ok := e.conns.loaded[sc.Name]; ok && t.Equal(sc.UpdatedAt) {
			continue
		}
		conn, err := e.openConnection(keys, sc)
		if err != nil {
			e.log.Error("stored connection does not open", "connection", sc.Name, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !e.connHere(conn) {
			// Placed on other sites: kept for their agents, never usable here.
			e.cat.RemoveConnection(conn.Name)
			e.conns.placed[conn.Name] = PlacedConnection{Conn: conn, Digest: sealedDigest(sc.Sealed)}
			e.conns.loaded[sc.Name] = sc.UpdatedAt
			continue
		}
		delete(e.conns.placed, conn.Name)
		if err := e.cat.AddConnection(conn); err != nil {
			e.log.Error("stored connection is invalid", "connection", sc.Name, "err", err)
			continue
		}
		e.conns.loaded[sc.Name] = sc.UpdatedAt
	}
	for name := range e.conns.loaded {
		if !seen[name] {
			e.cat.RemoveConnection(name)
			delete(e.conns.loaded, name)
			delete(e.conns.placed, name)
		}
	}
	if stale > 0 && firstErr == nil {
		n, err := e.reseal(ctx, keys)
		if err != nil {
			return fmt.Errorf("resealing connections under the current key: %w", err)
		}
		e.log.Info("connections resealed under the current master key", "connections", n)
		// A master key rotated by configuration (WEFT_MASTER_KEY=NEW,OLD):
		// Weft itself resealed the credentials.
		if err := access.NewLog(e.st).Record(access.WithPrincipal(ctx, access.Principal{Kind: access.KindSystem}),
			access.Entry{Action: access.ActionSecretsRotate, Resource: "secrets:master_key", Details: map[string]any{"resealed": n, "by": "new master key at start"}}); err != nil {
			e.log.Error("audit log write failed: the action happened but its audit entry is only in this log line", "action", "secrets.rotate", "actor", "system", "err", err)
		}
	}
	return firstErr
}

func (e *Engine) openConnection(keys Sealer, sc store.SealedConnection) (*connectors.Connection, error) {
	plain, err := keys.Open(sc.Name, sc.KeyID, sc.Sealed)
	if err != nil {
		return nil, err
	}
	var conn connectors.Connection
	if err := bounded.UnmarshalYAML("connection "+sc.Name, plain, &conn, bounded.Limits{}); err != nil {
		return nil, err
	}
	conn.Name, conn.Connector, conn.Namespace, conn.Source = sc.Name, sc.Connector, access.NamespaceOr(sc.Namespace), "api"
	return &conn, nil
}

func (e *Engine) reseal(ctx context.Context, keys Sealer) (int, error) {
	return e.st.Reseal(ctx, func(sc store.SealedConnection) (store.SealedConnection, error) {
		plain, err := keys.Open(sc.Name, sc.KeyID, sc.Sealed)
		if err != nil {
			return sc, fmt.Errorf("connection %q: %w", sc.Name, err)
		}
		sc.KeyID, sc.Sealed, err = keys.Seal(sc.Name, plain)
		return sc, err
	})
}

// SaveConnection validates conn, seals it and stores it, then puts it in
// the catalog. Credentials it leaves empty keep their stored values, so an
// update need not repeat them. Connections from the config file are
// read-only here.
func (e *Engine) SaveConnection(ctx context.Context, conn *connectors.Connection) error {
	keys, err := e.sealer()
	if err != nil {
		return err
	}
	if conn.Name == "" || conn.Connector == "" {
		return weft.Errorf(weft.EInvalid, "a connection needs a name and a connector")
	}
	if !validName(conn.Name) {
		return weft.Errorf(weft.EInvalid, "connection name %q: use letters, digits, '_' and '-' (at most 64)", conn.Name)
	}
	if _, ok := e.cat.Connector(conn.Connector); !ok {
		return weft.Errorf(weft.EUnprocessable, "unknown connector %q (weft connector list)", conn.Connector)
	}
	if err := conn.Placement.Check(); err != nil {
		return weft.Errorf(weft.EInvalid, "connection %s: %v", conn.Name, err)
	}
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	old, ok := e.cat.LookupConnection(conn.Name)
	if !ok {
		if pc, placed := e.conns.placed[conn.Name]; placed {
			old, ok = pc.Conn, true
		}
	}
	if ok {
		if old.Source != "api" {
			return weft.Errorf(weft.EConflict, "connection %q is defined in the config file; change it there", conn.Name)
		}
		conn.KeepSecrets(old)
		if conn.Namespace == "" {
			conn.Namespace = old.Namespace
		}
		if conn.Placement == nil && e.cfg.Site != "" {
			// On an agent, a connection its control plane placed here
			// stays placed (its definition comes from there; the site
			// sets credentials of its own).
			conn.Placement = old.Placement
		}
	}
	conn.Namespace = access.NamespaceOr(conn.Namespace)
	if err := access.CheckNamespace(conn.Namespace); err != nil {
		return err
	}
	conn.Source = "api"
	if err := checkConnection(e.cat, conn); err != nil {
		return weft.Errorf(weft.EUnprocessable, "%v", err)
	}
	plain, err := yaml.Marshal(conn)
	if err != nil {
		return err
	}
	keyID, sealed, err := keys.Seal(conn.Name, plain)
	if err != nil {
		return err
	}
	if err := e.st.SaveConnection(ctx, store.SealedConnection{Name: conn.Name, Connector: conn.Connector, Namespace: conn.Namespace, KeyID: keyID, Sealed: sealed}); err != nil {
		return err
	}
	if !e.connHere(conn) {
		e.cat.RemoveConnection(conn.Name)
		e.conns.placed[conn.Name] = PlacedConnection{Conn: conn, Digest: sealedDigest(sealed)}
		delete(e.conns.loaded, conn.Name)
		return nil
	}
	delete(e.conns.placed, conn.Name)
	if err := e.cat.AddConnection(conn); err != nil {
		return weft.Errorf(weft.EUnprocessable, "%v", err)
	}
	delete(e.conns.loaded, conn.Name) // the next reload picks up the stored timestamp
	return nil
}

// checkConnection runs the catalog's validation on a copy, without adding it.
func checkConnection(cat *connectors.Catalog, conn *connectors.Connection) error {
	probe := connectors.NewCatalog()
	if x, ok := cat.Connector(conn.Connector); ok {
		probe.Register(x)
	}
	return probe.AddConnection(conn)
}

// DeleteConnection removes a stored connection.
func (e *Engine) DeleteConnection(ctx context.Context, name string) error {
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	if old, ok := e.cat.LookupConnection(name); ok && old.Source != "api" {
		return weft.Errorf(weft.EConflict, "connection %q is defined in the config file; remove it there", name)
	}
	if err := e.st.DeleteConnection(ctx, name); err != nil {
		return err
	}
	e.cat.RemoveConnection(name)
	delete(e.conns.placed, name)
	delete(e.conns.loaded, name)
	return nil
}

// RotateKey makes a new master key current, reseals every stored
// connection under it in one transaction, rewraps every data key of the
// payloads sealed at rest and seals payloads still stored in the clear
// (both in bounded batches); the old key is retired only after all of that
// committed, so a failure at any point loses nothing, and the next start
// (or rotate) finishes an interrupted pass.
func (e *Engine) RotateKey(ctx context.Context) (Rotation, error) {
	var rot Rotation
	keys, err := e.sealer()
	if err != nil {
		return rot, err
	}
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	if err := keys.Rotate(); err != nil {
		return rot, weft.Errorf(weft.EUnprocessable, "%v", err)
	}
	if rot.Connections, err = e.reseal(ctx, keys); err != nil {
		return rot, err
	}
	e.conns.loaded = map[string]time.Time{} // timestamps changed; reload lazily
	if rot.DataKeys, err = e.rewrapDataKeys(ctx); err != nil {
		return rot, fmt.Errorf("rewrapping payload data keys (the old key stays until they are all rewrapped; rotate again): %w", err)
	}
	if rot.Payloads, err = e.sealPlaintext(ctx); err != nil {
		return rot, fmt.Errorf("sealing payloads stored in the clear: %w", err)
	}
	if err := keys.Retire(); err != nil {
		return rot, err
	}
	return rot, nil
}

// FinishRotation rewraps payload data keys still wrapped by an older
// master key (a rotation interrupted, or WEFT_MASTER_KEY=NEW,OLD set):
// call it at start, after LoadConnections.
func (e *Engine) FinishRotation(ctx context.Context) error {
	n, err := e.rewrapDataKeys(ctx)
	if n > 0 {
		e.log.Info("payload data keys rewrapped under the current master key", "data_keys", n)
	}
	if err != nil {
		return fmt.Errorf("rewrapping payload data keys under the current master key: %w", err)
	}
	return nil
}

// FreshConnections reloads the stored connections when they were last
// loaded more than maxAge ago: another process sharing the store may have
// created, changed, placed or deleted one since.
func (e *Engine) FreshConnections(ctx context.Context, maxAge time.Duration) error {
	if e.cfg.Keys == nil {
		return nil
	}
	e.conns.mu.Lock()
	due := e.now().Sub(e.conns.last) > maxAge
	e.conns.mu.Unlock()
	if !due {
		return nil
	}
	return e.LoadConnections(ctx)
}

// connection finds a named connection, reloading stored connections once
// if it is not known yet (another process may have just created it).
func (e *Engine) connection(ctx context.Context, name, connector string) (*connectors.Connection, error) {
	c, err := e.cat.Connection(name, connector)
	if err == nil {
		return c, nil
	}
	if _, ok := e.cat.LookupConnection(name); ok || e.cfg.Keys == nil {
		return nil, err
	}
	if lerr := e.LoadConnections(ctx); lerr != nil {
		e.log.Warn("reloading connections", "err", lerr)
	}
	return e.cat.Connection(name, connector)
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Keys returns the master keyring (nil when none is configured), for other
// rooms that seal short-lived tokens every process must be able to open
// (the MCP gateway's confirmation requests).
func (e *Engine) Keys() Sealer { return e.cfg.Keys }

// ConnPlacedHere reports whether conn is placed on this engine's site and
// labels (an agent's check of a connection its control plane sends).
func (e *Engine) ConnPlacedHere(conn *connectors.Connection) bool {
	return conn.Placement != nil && conn.Placement.Matches(e.cfg.Site, e.cfg.Labels)
}
