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
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
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
	Invoke      func(ctx context.Context, c Call) (any, error) `json:"-"`
}

// Connector is a kind of system with its operations.
type Connector struct {
	Name        string       `json:"name"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Version     string       `json:"version"`
	Operations  []*Operation `json:"operations"`
}

// Connection is a configured instance of a connector.
type Connection struct {
	Name         string            `json:"name" yaml:"name"`
	Connector    string            `json:"connector" yaml:"connector"`
	BaseURL      string            `json:"base_url,omitempty" yaml:"base_url"`
	Headers      map[string]string `json:"-" yaml:"headers"` // may hold secrets: never returned
	AllowPrivate bool              `json:"allow_private,omitempty" yaml:"allow_private"`
	Auth         *Auth             `json:"auth,omitempty" yaml:"auth"`                 // secrets inside are never returned
	RatePerSec   float64           `json:"rate_per_sec,omitempty" yaml:"rate_per_sec"` // client-side limit for this connection (0: none)
	Burst        int               `json:"burst,omitempty" yaml:"burst"`
}

// Auth types.
const (
	AuthAPIKey            = "api_key"
	AuthBasic             = "basic"
	AuthBearer            = "bearer"
	AuthClientCredentials = "oauth2_client_credentials"
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
	default:
		return fmt.Errorf("unknown auth type %q (api_key, basic, bearer, oauth2_client_credentials)", a.Type)
	}
	return nil
}

// Call is one invocation of an operation.
type Call struct {
	Input          map[string]any
	IdempotencyKey string
	Connection     *Connection // nil: the connector's defaults
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

// Classify returns err's class (retryable for unknown errors: a network
// failure is worth another try) and its Retry-After.
func Classify(err error) (class string, retryAfter time.Duration) {
	var ce *Error
	if errors.As(err, &ce) {
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
}

// NewCatalog returns a catalog holding cs.
func NewCatalog(cs ...*Connector) *Catalog {
	c := &Catalog{connectors: map[string]*Connector{}, ops: map[string]*Operation{}, connections: map[string]*Connection{}}
	for _, x := range cs {
		c.Register(x)
	}
	return c
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
	c.connections[conn.Name] = conn
	return nil
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

// Search ranks operations by how many of the query's words appear in their
// names, titles and descriptions (names weigh more), best first. It is the
// lexical search the MCP gateway and NL-to-flow start from.
func (c *Catalog) Search(query string, limit int) []Hit {
	words := searchWords(query)
	if len(words) == 0 {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var hits []Hit
	for name, op := range c.ops {
		nameText := strings.ToLower(name + " " + splitCamel(op.Name))
		text := strings.ToLower(op.Title + " " + op.Description)
		var score float64
		for _, w := range words {
			switch {
			case strings.Contains(nameText, w):
				score += 3
			case strings.Contains(text, w):
				score++
			}
		}
		if score > 0 {
			hits = append(hits, Hit{Operation: name, Title: op.Title, Description: op.Description, Score: score / float64(3*len(words))})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].Operation < hits[j].Operation
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits
}

func searchWords(q string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(splitCamel(q)), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		if len(w) > 1 {
			out = append(out, w)
		}
	}
	return out
}

// splitCamel turns createPet into "create Pet".
func splitCamel(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
