// Package connectors is the connector SDK and the catalog: a connector
// declares its operations once (name, description, input and output JSON
// Schema, hints) and everything else (validation, docs, MCP tool schemas,
// NL-to-flow retrieval) derives from that declaration.
//
// Connectors never import engine, gateway or mcp. One subpackage per
// connector (http, ...).
package connectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/lazy"
)

// Hints describe an operation's side effects (they become MCP annotations).
type Hints struct {
	ReadOnly    bool `json:"read_only,omitempty"`
	Destructive bool `json:"destructive,omitempty"`
	Idempotent  bool `json:"idempotent,omitempty"`
	OpenWorld   bool `json:"open_world,omitempty"`
}

// Operation is one action of a connector.
type Operation struct {
	Name        string                                         `json:"name"`
	Title       string                                         `json:"title"`
	Description string                                         `json:"description"`
	Input       map[string]any                                 `json:"input_schema"`
	Output      map[string]any                                 `json:"output_schema,omitempty"`
	Hints       Hints                                          `json:"hints"`
	Tags        []string                                       `json:"tags,omitempty"` // groupings (OpenAPI tags), for toolsets and docs
	Invoke      func(ctx context.Context, c Call) (any, error) `json:"-"`
	// RawInputs names the top-level input fields that Invoke takes as a
	// run hands them over, which may hold a *jsonenc.Raw (a large trigger
	// body, or part of one, not decoded): Invoke only encodes them with
	// jsonenc. Every other field reaches Invoke decoded.
	RawInputs []string `json:"-"`
	// Drift, when set, reports how the operation's schema changed
	// incompatibly upstream since it was accepted ("": it did not); a
	// flow calling a drifted operation does not validate.
	Drift func() string `json:"-"`
}

// Connector is a kind of system with its operations.
type Connector struct {
	Name        string       `json:"name"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Version     string       `json:"version"`
	Operations  []*Operation `json:"operations"`
	// Config is the JSON Schema of a connection's config block; Secrets
	// names the keys of its secrets block (never returned by any API).
	Config  map[string]any `json:"config_schema,omitempty"`
	Secrets []string       `json:"secrets,omitempty"`
	// Triggers are the pulled triggers the connector offers (flows use them
	// as trigger: poll: {operation: ...}).
	Triggers []Trigger `json:"triggers,omitempty"`
	// Check validates a connection of this connector (nil: any is fine).
	Check func(*Connection) error `json:"-"`
	// OverHTTP says every call of this connector is an http.request of
	// its connection (an imported connector): a flow may then also call
	// http.request through such a connection, for a request the document
	// does not describe (a bulk job's upload). Its credentials still go
	// to the connection's base_url origin only.
	OverHTTP bool `json:"-"`
}

// Trigger describes a polling trigger: which list operation it polls and
// the fields that identify and order records.
type Trigger struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Operation   string `json:"operation"`        // the list operation polled
	Items       string `json:"items,omitempty"`  // where the records are in its output (a dotted path; empty: the output is the list)
	Cursor      string `json:"cursor,omitempty"` // default cursor field (a timestamp or increasing id)
	Key         string `json:"key,omitempty"`    // default record identity field
}

// Connection is a configured instance of a connector.
type Connection struct {
	Name         string            `json:"name" yaml:"name"`
	Connector    string            `json:"connector" yaml:"connector"`
	Namespace    string            `json:"namespace" yaml:"namespace"` // the owner: only flows of this namespace may use it ("": default)
	BaseURL      string            `json:"base_url,omitempty" yaml:"base_url"`
	Headers      map[string]string `json:"-" yaml:"headers"` // may hold secrets: never returned
	AllowPrivate bool              `json:"allow_private,omitempty" yaml:"allow_private"`
	Auth         *Auth             `json:"auth,omitempty" yaml:"auth"`                 // secrets inside are never returned
	RatePerSec   float64           `json:"rate_per_sec,omitempty" yaml:"rate_per_sec"` // client-side limit for this connection (0: none)
	Burst        int               `json:"burst,omitempty" yaml:"burst"`
	Timeout      string            `json:"timeout,omitempty" yaml:"timeout"` // per-request timeout (Go duration); the step timeout still applies
	// Config holds connector-specific settings (an SMTP host, a directory);
	// Secrets connector-specific credentials (a DSN, a password).
	Config  map[string]any    `json:"config,omitempty" yaml:"config"`
	Secrets map[string]string `json:"-" yaml:"secrets"`
	// Placement, when set, puts the connection on the runtime agents of
	// a site (hybrid deployment): the control plane stores it, sealed,
	// and hands it to the matching agents over their link, but never uses
	// it itself (it is not in the control plane's catalog).
	Placement *flow.Placement `json:"placement,omitempty" yaml:"placement,omitempty"`
	// Source is where the connection is defined: "config" (the config
	// file, read-only over the API) or "api" (stored, sealed).
	Source string `json:"source,omitempty" yaml:"-"`
}

// SecretState says which credentials are set, never their values: keys
// like "auth.token" or "secrets.dsn" map to "set".
func (c *Connection) SecretState() map[string]string {
	out := map[string]string{}
	for k, v := range c.Headers {
		if v != "" {
			out["headers."+k] = "set"
		}
	}
	for k, v := range c.Secrets {
		if v != "" {
			out["secrets."+k] = "set"
		}
	}
	if a := c.Auth; a != nil {
		for k, v := range map[string]string{"value": a.Value, "password": a.Password, "token": a.Token, "client_secret": a.ClientSecret, "refresh_token": a.RefreshToken} {
			if v != "" {
				out["auth."+k] = "set"
			}
		}
	}
	return out
}

// SecretValues lists every credential value of c (for redaction).
func (c *Connection) SecretValues() []string {
	var out []string
	for _, v := range c.Headers {
		out = append(out, v)
	}
	for _, v := range c.Secrets {
		out = append(out, v)
	}
	if a := c.Auth; a != nil {
		out = append(out, a.Value, a.Password, a.Token, a.ClientSecret, a.RefreshToken)
	}
	var nz []string
	for _, v := range out {
		if len(v) >= 4 {
			nz = append(nz, v)
		}
	}
	return nz
}

// KeepSecrets copies into c every credential it leaves empty from old, so
// an update that does not mention a secret keeps it.
func (c *Connection) KeepSecrets(old *Connection) {
	if old == nil {
		return
	}
	for k, v := range old.Headers {
		if _, ok := c.Headers[k]; !ok {
			if c.Headers == nil {
				c.Headers = map[string]string{}
			}
			c.Headers[k] = v
		}
	}
	for k, v := range old.Secrets {
		if _, ok := c.Secrets[k]; !ok {
			if c.Secrets == nil {
				c.Secrets = map[string]string{}
			}
			c.Secrets[k] = v
		}
	}
	if c.Auth != nil && old.Auth != nil && c.Auth.Type == old.Auth.Type {
		keep := func(dst *string, src string) {
			if *dst == "" {
				*dst = src
			}
		}
		keep(&c.Auth.Value, old.Auth.Value)
		keep(&c.Auth.Password, old.Auth.Password)
		keep(&c.Auth.Token, old.Auth.Token)
		keep(&c.Auth.ClientSecret, old.Auth.ClientSecret)
		keep(&c.Auth.RefreshToken, old.Auth.RefreshToken)
	}
}

// Auth types.
const (
	AuthAPIKey            = "api_key"
	AuthBasic             = "basic"
	AuthBearer            = "bearer"
	AuthClientCredentials = "oauth2_client_credentials"
	AuthRefreshToken      = "oauth2_refresh_token"
)

// Auth is how a connection authenticates. Secret fields are omitted from
// JSON so the API never returns them.
type Auth struct {
	Type         string   `json:"type" yaml:"type"`
	Header       string   `json:"header,omitempty" yaml:"header"` // api_key: header name (default X-API-Key)
	Query        string   `json:"query,omitempty" yaml:"query"`   // api_key: query parameter instead of a header
	Value        string   `json:"-" yaml:"value"`                 // api_key
	Username     string   `json:"username,omitempty" yaml:"username"`
	Password     string   `json:"-" yaml:"password"`
	Token        string   `json:"-" yaml:"token"` // bearer
	TokenURL     string   `json:"token_url,omitempty" yaml:"token_url"`
	ClientID     string   `json:"client_id,omitempty" yaml:"client_id"`
	ClientSecret string   `json:"-" yaml:"client_secret"`
	Scopes       []string `json:"scopes,omitempty" yaml:"scopes"`
	RefreshToken string   `json:"-" yaml:"refresh_token"` // oauth2_refresh_token
}

// Validate reports a configuration mistake in a.
func (a *Auth) Validate() error {
	switch a.Type {
	case AuthAPIKey:
		if a.Value == "" {
			return fmt.Errorf("api_key auth needs value")
		}
	case AuthBasic:
		if a.Username == "" {
			return fmt.Errorf("basic auth needs username")
		}
	case AuthBearer:
		if a.Token == "" {
			return fmt.Errorf("bearer auth needs token")
		}
	case AuthClientCredentials:
		if a.TokenURL == "" || a.ClientID == "" {
			return fmt.Errorf("oauth2_client_credentials auth needs token_url and client_id")
		}
	case AuthRefreshToken:
		if a.TokenURL == "" || a.RefreshToken == "" {
			return fmt.Errorf("oauth2_refresh_token auth needs token_url and refresh_token")
		}
	default:
		return fmt.Errorf("unknown auth type %q (api_key, basic, bearer, oauth2_client_credentials, oauth2_refresh_token)", a.Type)
	}
	return nil
}

// Call is one invocation of an operation.
type Call struct {
	Input          map[string]any
	IdempotencyKey string
	Connection     *Connection // nil: the connector's defaults
	// BaseURL is where relative URLs go when the connection sets no
	// base_url (an imported connector's server URL). Weft's own code sets
	// it, never a flow's input: a connection's credentials may be sent to
	// its origin and nowhere else.
	BaseURL string
	// Transport, when set, carries an HTTP connector's requests instead of
	// the network (a test run's sandbox, served in process). Weft's own
	// code sets it, never a flow's input.
	Transport http.RoundTripper
}

// Error classes the runtime's retry policy understands.
const (
	Retryable = "retryable"
	Permanent = "permanent"
)

// Error is a classified connector failure.
type Error struct {
	Class      string
	Status     int           // upstream status, if any
	RetryAfter time.Duration // honoured by the runtime's backoff
	Message    string
	Body       any // upstream error body, if any
}

func (e *Error) Error() string { return e.Message }

// StatusClass classifies an upstream HTTP status: 408 (timeout), 425 (too
// early), 429 (rate limited) and every 5xx may succeed later; every other
// 4xx will fail the same way however often it is retried.
func StatusClass(status int) string {
	switch {
	case status == 408 || status == 425 || status == 429 || status >= 500:
		return Retryable
	case status >= 400:
		return Permanent
	}
	return ""
}

// Classify returns err's class (retryable for unknown errors: a network
// failure is worth another try) and its Retry-After. An error carrying an
// upstream status is classified by that status (StatusClass), whatever
// class its connector gave it.
func Classify(err error) (class string, retryAfter time.Duration) {
	var ce *Error
	if errors.As(err, &ce) {
		if c := StatusClass(ce.Status); c != "" {
			return c, ce.RetryAfter
		}
		return ce.Class, ce.RetryAfter
	}
	if errors.Is(err, context.Canceled) {
		return Permanent, 0
	}
	return Retryable, 0
}

// Catalog holds every connector and connection known to this instance.
type Catalog struct {
	mu          sync.RWMutex
	connectors  map[string]*Connector
	ops         map[string]*Operation // connector.operation
	connections map[string]*Connection
	gen         uint64 // bumped by every change of the operations

	searchMu  sync.Mutex // guards idx and searchGen
	idx       *search.Index
	searchGen uint64 // gen the index holds (0: never filled)
}

// NewCatalog returns a catalog holding cs.
func NewCatalog(cs ...*Connector) *Catalog {
	c := &Catalog{connectors: map[string]*Connector{}, ops: map[string]*Operation{}, connections: map[string]*Connection{}}
	for _, x := range cs {
		c.Register(x)
	}
	return c
}

var nameRe = lazy.NewRegexp(`^[a-z][a-z0-9_]{0,31}$`)

// ValidName reports whether name can name a connector added at run time
// (imported from a document or federated from an MCP server).
func ValidName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("connector name %q must be lower-case letters, digits and _ (at most 32, starting with a letter)", name)
	}
	return nil
}

// RegisterImport adds a connector imported from a document of any kind
// (OpenAPI, OData, GraphQL, WSDL): it checks name, hands build the http
// connector's request operation every imported call goes through, and
// registers what build returns. R is the importer's report.
func RegisterImport[R any](c *Catalog, name string, build func(request *Operation) (*Connector, R, error)) (R, error) {
	var none R
	if err := ValidName(name); err != nil {
		return none, err
	}
	if name == "http" {
		return none, fmt.Errorf("connector name %q is taken by a built-in connector", name)
	}
	req, ok := c.Operation("http.request")
	if !ok {
		return none, fmt.Errorf("the http connector is not installed")
	}
	x, rep, err := build(req)
	if err != nil {
		return none, err
	}
	x.OverHTTP = true
	c.Register(x)
	return rep, nil
}

// Register adds a connector, replacing one of the same name.
func (c *Catalog) Register(x *Connector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.connectors[x.Name]; ok {
		for _, op := range old.Operations {
			delete(c.ops, x.Name+"."+op.Name)
		}
	}
	c.connectors[x.Name] = x
	for _, op := range x.Operations {
		c.ops[x.Name+"."+op.Name] = op
	}
	c.gen++
}

// Unregister removes a connector and its operations; it reports whether
// one was there.
func (c *Catalog) Unregister(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.connectors[name]
	if !ok {
		return false
	}
	for _, op := range old.Operations {
		delete(c.ops, name+"."+op.Name)
	}
	delete(c.connectors, name)
	c.gen++
	return true
}

// UseSearch sets the embedder and vector index Search ranks with (the
// default: the builtin embedder and an in-process index). The operations
// are embedded again on the next search.
func (c *Catalog) UseSearch(o search.Options) {
	if o.Collection == "" {
		o.Collection = "weft_operations"
	}
	c.searchMu.Lock()
	defer c.searchMu.Unlock()
	c.idx, c.searchGen = search.New(o), 0
}

// AddConnection adds a configured connection. Its connector may not be
// known yet (an import can add it later); calls check the pairing.
func (c *Catalog) AddConnection(conn *Connection) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn.Name == "" || conn.Connector == "" {
		return fmt.Errorf("a connection needs a name and a connector")
	}
	if conn.Auth != nil {
		if err := conn.Auth.Validate(); err != nil {
			return fmt.Errorf("connection %q: %v", conn.Name, err)
		}
	}
	if x, ok := c.connectors[conn.Connector]; ok && x.Check != nil {
		if err := x.Check(conn); err != nil {
			return fmt.Errorf("connection %q: %v", conn.Name, err)
		}
	}
	c.connections[conn.Name] = conn
	return nil
}

// RemoveConnection drops a connection; it reports whether one was there.
func (c *Catalog) RemoveConnection(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.connections[name]
	delete(c.connections, name)
	return ok
}

// LookupConnection returns a connection by name, whatever its connector.
func (c *Catalog) LookupConnection(name string) (*Connection, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	conn, ok := c.connections[name]
	return conn, ok
}

// HasOperation implements flow.Operations.
func (c *Catalog) HasOperation(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.ops[name]
	return ok
}

// OperationNames implements flow.Operations.
func (c *Catalog) OperationNames() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.ops))
	for k := range c.ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OperationReadOnly implements flow.ReadOnlyOperations: the operation's
// read-only hint, when the catalog has the operation.
func (c *Catalog) OperationReadOnly(name string) (readOnly, known bool) {
	if c == nil {
		return false, false
	}
	op, ok := c.Operation(name)
	if !ok {
		return false, false
	}
	return op.Hints.ReadOnly, true
}

// Operation looks up connector.operation.
func (c *Catalog) Operation(name string) (*Operation, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	op, ok := c.ops[name]
	return op, ok
}

// Connection looks up a connection by name; it checks the connector matches.
func (c *Catalog) Connection(name, connector string) (*Connection, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	conn, ok := c.connections[name]
	if !ok {
		var names []string
		for k := range c.connections {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown connection %q (configured: %s)", name, strings.Join(names, ", "))
	}
	if conn.Connector != connector {
		if x := c.connectors[conn.Connector]; connector == "http" && x != nil && x.OverHTTP {
			return conn, nil // an imported connector's connection, used by http.request
		}
		return nil, fmt.Errorf("connection %q is a %s connection, not %s", name, conn.Connector, connector)
	}
	return conn, nil
}

// Connectors lists connectors by name.
func (c *Catalog) Connectors() []*Connector {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Connector, 0, len(c.connectors))
	for _, x := range c.connectors {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Connector looks up a connector by name.
func (c *Catalog) Connector(name string) (*Connector, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	x, ok := c.connectors[name]
	return x, ok
}

// Connections lists connections by name (without secrets).
func (c *Catalog) Connections() []*Connection {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Connection, 0, len(c.connections))
	for _, x := range c.connections {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Hit is one operation found by Search.
type Hit struct {
	Operation   string  `json:"operation"` // connector.operation
	Title       string  `json:"title,omitempty"`
	Description string  `json:"description"`
	Score       float64 `json:"score"`
}

// Search ranks operations for a query (ai/search: BM25 over their names,
// titles and descriptions, names weighing more, fused with the embedding
// similarity of the query and each operation), best first, at most limit.
// Score is in (0, 1]. When the embedder or vector index fails, the lexical
// ranking is returned.
func (c *Catalog) Search(query string, limit int) []Hit {
	hits, _ := c.SearchContext(context.Background(), query, limit)
	return hits
}

// SearchContext is Search with a context; the error says the semantic
// half failed (the hits are then the lexical ranking).
func (c *Catalog) SearchContext(ctx context.Context, query string, limit int) ([]Hit, error) {
	if strings.TrimSpace(query) == "" {
		return nil, nil
	}
	idx, err := c.searchIndex(ctx)
	if idx == nil {
		return nil, err
	}
	found, serr := idx.Search(ctx, query, limit, nil)
	if err == nil {
		err = serr
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	hits := make([]Hit, 0, len(found))
	for _, h := range found {
		op, ok := c.ops[h.ID]
		if !ok { // removed since the index was filled
			continue
		}
		hits = append(hits, Hit{Operation: h.ID, Title: op.Title, Description: op.Description, Score: h.Score})
	}
	return hits, err
}

// searchIndex brings the search index up to date with the operations
// (only those added or changed since are embedded).
func (c *Catalog) searchIndex(ctx context.Context) (*search.Index, error) {
	c.searchMu.Lock()
	defer c.searchMu.Unlock()
	if c.idx == nil {
		c.idx = search.New(search.Options{Collection: "weft_operations"})
	}
	c.mu.RLock()
	gen := c.gen
	if gen == c.searchGen {
		c.mu.RUnlock()
		return c.idx, nil
	}
	docs := make([]search.Doc, 0, len(c.ops))
	for name, op := range c.ops {
		docs = append(docs, search.Doc{ID: name, Name: name, Title: op.Title, Description: op.Description})
	}
	c.mu.RUnlock()
	if _, err := c.idx.Set(ctx, docs); err != nil {
		return c.idx, err
	}
	c.searchGen = gen
	return c.idx, nil
}

// ObjectSchema is a closed object schema with required fields and
// properties: the usual shape of an operation's input.
func ObjectSchema(required []string, props map[string]any) map[string]any {
	r := make([]any, len(required))
	for i, x := range required {
		r[i] = x
	}
	return map[string]any{"type": "object", "required": r, "properties": props, "additionalProperties": false}
}

// NameHash is a short, stable hash of s (8 hex digits), for names that
// must stay unique after being cut.
func NameHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// ShortName returns name if it fits in max bytes; otherwise its start,
// a short hash of full and its end ("actions_get-github-actions-def_
// 386ae681_ons-organization"), max bytes in all. full is what the name
// stands for (the uncut name, or more), so two different long names that
// share a prefix get different short names, and both ends stay readable.
func ShortName(name, full string, max int) string {
	if len(name) <= max {
		return name
	}
	h := NameHash(full)
	room := max - len(h) - 2
	if room < 2 {
		return h[:min(len(h), max)]
	}
	head := room * 2 / 3
	tail := room - head
	return name[:head] + "_" + h + "_" + name[len(name)-tail:]
}
