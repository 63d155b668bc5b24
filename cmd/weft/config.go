package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/access/sso"
	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/store"
)

// Config is read once (file, then environment, then flags) and passed down;
// no other package reads the environment.
type Config struct {
	Addr          string                            `yaml:"addr"`
	DataDir       string                            `yaml:"data_dir"`
	DatabaseURL   string                            `yaml:"database_url"`
	LogFormat     string                            `yaml:"log_format"` // text | json
	LogLevel      string                            `yaml:"log_level"`
	MaxBodyBytes  int64                             `yaml:"max_body_bytes"`
	MaxImport     int64                             `yaml:"max_import_bytes"` // body limit of POST /api/connectors/import
	Retention     time.Duration                     `yaml:"retention"`
	Audit         AuditConfig                       `yaml:"audit"`
	Capture       string                            `yaml:"capture"`
	APIToken      string                            `yaml:"api_token"`
	Insecure      bool                              `yaml:"insecure"`        // serve beyond loopback without authentication (loudly logged); never the default
	PublicURL     string                            `yaml:"public_url"`      // this server as browsers reach it (trusted origin and host), e.g. https://weft.example.com
	APIBasePath   string                            `yaml:"api_base_path"`   // where API products are served: {base}/{product}/{version}/… (default /apis)
	APIJWTIssuers []apim.JWTIssuer                  `yaml:"api_jwt_issuers"` // identity providers whose access tokens products with auth: jwt accept
	HTTP          gateway.Limits                    `yaml:"http"`            // read_header_timeout, body_timeout, idle_timeout, max_header_bytes
	TLS           gateway.TLSConfig                 `yaml:"tls"`             // cert_file, key_file, client_ca_file, min_version, require_client_cert: HTTPS (and mutual TLS) on addr
	Deploy        []string                          `yaml:"deploy"`          // flow files (globs) deployed at start when changed
	Connections   map[string]*connectors.Connection `yaml:"connections"`
	Queue         QueueConfig                       `yaml:"queue"`
	Shutdown      time.Duration                     `yaml:"shutdown_timeout"`
	SyncTimeout   time.Duration                     `yaml:"sync_timeout"`
	WriteLinger   time.Duration                     `yaml:"write_linger"`       // group commit: wait this long for more writers
	SQLiteCache   int64                             `yaml:"sqlite_cache_bytes"` // the SQLite writer's page cache (default sqlite.DefaultCacheBytes)
	// KeepStartPages keeps the executable's pages that start-up touched in
	// the resident set (by default serve gives them back once it is up:
	// internal/resident).
	KeepStartPages bool              `yaml:"keep_start_pages"`
	DebugAddr      string            `yaml:"debug_addr"` // serves /debug/pprof when set (keep it on loopback)
	MCP            MCPConfig         `yaml:"mcp"`
	AI             AIConfig          `yaml:"ai"`
	Alerts         AlertsConfig      `yaml:"alerts"`
	Traces         TracesConfig      `yaml:"traces"`
	Imports        map[string]string `yaml:"imports"`         // connector name -> OpenAPI file, imported at start when changed
	Sandboxes      []string          `yaml:"sandboxes"`       // OpenAPI files (globs) simulated under /sandbox/NAME/
	MasterKeyFile  string            `yaml:"master_key_file"` // default DATA_DIR/master.key; WEFT_MASTER_KEY wins
	// Egress, when present, is the allow list every outbound dial is
	// checked against (connectors, AI backends, traces, MCP key sets).
	Egress *egress.Config `yaml:"egress"`
	// OIDC, when present, offers single sign-on with an OpenID provider
	// (docs/security.md, "Single sign-on"); its client secret comes from
	// client_secret_env or client_secret_file, never from this file.
	OIDC *sso.Config `yaml:"oidc"`

	// CredentialCacheTTL is how long a principal resolved from a personal
	// access token, a service account's token or a session's user is
	// reused (access/cache.go): unset 5s, 0 off, at most 1m. Changes made
	// on this process apply at once; another process's within this time.
	CredentialCacheTTL *time.Duration `yaml:"credential_cache_ttl"`

	// ImportAnnotations overrides the hints of imported operations without
	// editing their files: connector name (in imports) -> operationId or
	// "METHOD /path" -> {read_only, destructive, idempotent, open_world}.
	ImportAnnotations map[string]map[string]map[string]bool `yaml:"import_annotations"`

	// Agent configures weft agent (a runtime agent of a hybrid
	// deployment); weft serve ignores it. Flags win over it.
	Agent AgentConfig `yaml:"agent"`

	egress *egress.Policy      // from Egress; nil: no egress section
	fed    *mcpconn.Federation // MCP upstreams (set by openCore)
	// predictKeep keeps the prediction signals of a single process
	// (SQLite) in the store (set by openCore).
	predictKeep *monitor.PredictFeed
	masterKey   string            // WEFT_MASTER_KEY
	workerID    string            // this process's identity in the queue and the transaction log
	site        string            // weft agent: this runtime agent's site ("" for weft serve)
	labels      map[string]string // weft agent: the site's labels

	secrets map[string]string // from WEFT_SECRET_<NAME>; never in files or logs
}

// AIConfig chooses the model backends (default: builtin, no network).
type AIConfig struct {
	// Embedder: builtin (default: no model, no network), ollama
	// (/api/embed) or openai (any OpenAI-compatible /v1/embeddings), through
	// langchaingo; it serves the catalog's search, search_tools, NL-to-flow
	// retrieval, the mapper's embedding signal and its review memory.
	Embedder   string `yaml:"embedder"`
	OllamaURL  string `yaml:"ollama_url"`  // default http://127.0.0.1:11434
	EmbedURL   string `yaml:"embed_url"`   // openai: e.g. http://127.0.0.1:8000/v1 (default llm_url); ollama: default ollama_url
	EmbedModel string `yaml:"embed_model"` // ollama: default nomic-embed-text; openai: required
	// QdrantURL, when set, holds the search vectors (catalog search,
	// search_tools, NL-to-flow retrieval, the mapper's review memory) in
	// Qdrant (gRPC, e.g. http://qdrant:6334?api_key=...); unset: in process.
	QdrantURL string `yaml:"qdrant_url"`
	// The language model of NL-to-flow and the mapper's re-ranker (one
	// construction, ai.NewChat): builtin (default: no model), ollama, or
	// openai (any OpenAI-compatible server). The API key (also the
	// embeddings server's) comes from WEFT_AI_API_KEY only, never from the
	// file.
	LLM      string `yaml:"llm"`
	LLMURL   string `yaml:"llm_url"`   // ollama: default ollama_url; openai: e.g. http://127.0.0.1:8000/v1
	LLMModel string `yaml:"llm_model"` // default llama3.1 (ollama)
	llmKey   string
}

// AuditConfig: the tamper-evident audit log.
type AuditConfig struct {
	// Retention: entries older than this are purged (the chain stays
	// verifiable from the last purged entry's hash); 0 keeps them forever.
	Retention time.Duration `yaml:"retention"`
}

// TracesConfig: OpenTelemetry spans of runs and steps, exported over
// OTLP/HTTP when an endpoint is set (off by default).
type TracesConfig struct {
	Endpoint string `yaml:"endpoint"` // e.g. http://127.0.0.1:4318/v1/traces
	Service  string `yaml:"service"`  // service.name (default weft)
}

// AlertsConfig: rules over finished runs, delivered through a connection.
type AlertsConfig struct {
	Rules  []monitor.Rule `yaml:"rules"` // default: failure-spike (≥50% of ≥5 runs fail within 1m)
	Every  time.Duration  `yaml:"every"` // evaluation interval (default 5s)
	Notify struct {
		Connection string         `yaml:"connection"`
		Operation  string         `yaml:"operation"` // default http.request
		Input      map[string]any `yaml:"input"`     // strings may use {{status}} {{flow}} {{message}} {{severity}} {{rule}}
	} `yaml:"notify"`
	// Predict configures error prediction (predicted:<kind> alerts,
	// /api/predictions, weft_prediction_seconds); on by default.
	Predict struct {
		Disabled bool   `yaml:"disabled"`
		Params   string `yaml:"params"` // a JSON file over monitor/predict.json's defaults
		// LatencyMS bounds p95 latency per flow glob (a timeout, an SLO);
		// flows without one use latency_factor times their usual p95.
		LatencyMS map[string]float64 `yaml:"latency_ms"`
		// DLQBound: dead-letter-queue size (dead runs) to forecast against,
		// sampled every 10 minutes (0: not watched).
		DLQBound int64 `yaml:"dlq_bound"`
		// DatabaseBound: the database's size in bytes to forecast against
		// (a disk or quota), sampled every 10 minutes (0: not watched).
		DatabaseBound int64 `yaml:"database_bound"`
	} `yaml:"predict"`
}

// MCPConfig configures the MCP gateway.
type MCPConfig struct {
	Toolsets       []mcp.Toolset  `yaml:"toolsets"`
	AllowedOrigins []string       `yaml:"allowed_origins"`
	Policy         []mcp.Rule     `yaml:"policy"`
	Auth           mcp.AuthConfig `yaml:"auth"`
	// ConformanceFixture mounts /mcp/conformance, the official conformance
	// suite's fixtures (no authentication): for .ci/conformance only.
	ConformanceFixture bool  `yaml:"conformance_fixture"`
	MaxBodyBytes       int64 `yaml:"max_body_bytes"`     // largest POST body on /mcp (default 4 MiB)
	MaxArgBytes        int   `yaml:"max_argument_bytes"` // largest tool arguments (default 1 MiB)
	// Upstreams tunes MCP federation (other MCP servers as connectors).
	Upstreams UpstreamsConfig `yaml:"upstreams"`
}

// UpstreamsConfig tunes federated MCP servers.
type UpstreamsConfig struct {
	// Commands lists the programs a stdio upstream may run (a path, or a
	// base name for a command given without a path); empty: stdio
	// upstreams are refused.
	Commands []string `yaml:"commands"`
	// PassEnv names the variables of Weft's environment a stdio upstream
	// inherits, besides PATH, HOME, TMPDIR, LANG, LC_ALL, TZ and USER (none
	// other: Weft's own secrets stay in Weft).
	PassEnv        []string      `yaml:"pass_env"`
	CallTimeout    time.Duration `yaml:"call_timeout"`     // per tool call (default 30s); a step's timeout applies too
	StartTimeout   time.Duration `yaml:"start_timeout"`    // an upstream's start: launch or connect, and initialize (default 60s, at most 10m)
	MaxResultBytes int           `yaml:"max_result_bytes"` // largest tool result (default 4 MiB)
	MaxRestarts    int           `yaml:"max_restarts"`     // failed starts in a row before an upstream is marked unavailable (default 6)
	HealthInterval time.Duration `yaml:"health_interval"`  // ping of a live session (default 30s; negative: never)
}

// QueueConfig tunes the durable queue.
type QueueConfig struct {
	Workers     int           `yaml:"workers"`
	JobTimeout  time.Duration `yaml:"job_timeout"`
	RescueAfter time.Duration `yaml:"rescue_after"`
	DeadAfter   time.Duration `yaml:"dead_after"` // a worker silent this long is dead: its running jobs are reclaimed
	Disabled    bool          `yaml:"disabled"`   // serve the API only, run no async work
}

func defaultConfig() *Config {
	return &Config{
		Addr: "127.0.0.1:8080", DataDir: "./weft-data", LogFormat: "text", LogLevel: "info",
		MaxBodyBytes: 10 << 20, Retention: 30 * 24 * time.Hour, Capture: "metadata", Audit: AuditConfig{Retention: 365 * 24 * time.Hour},
		Queue:    QueueConfig{Workers: 100, JobTimeout: 2 * time.Minute, RescueAfter: 3 * time.Minute, DeadAfter: 5 * time.Second},
		Shutdown: 30 * time.Second, SyncTimeout: 30 * time.Second,
	}
}

// configLimits bound the config file (connections, imports and all).
var configLimits = bounded.Limits{MaxBytes: 4 << 20}

// loadConfig reads path (optional), then WEFT_* variables.
func loadConfig(path string, env []string) (*Config, error) {
	c := defaultConfig()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := bounded.UnmarshalYAMLStrict(path, data, c, configLimits); err != nil {
			return nil, fmt.Errorf("config %w", err)
		}
	}
	c.secrets = map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case k == "WEFT_DATA_DIR":
			c.DataDir = v
		case k == "WEFT_DATABASE_URL":
			c.DatabaseURL = v
		case k == "WEFT_ADDR":
			c.Addr = v
		case k == "WEFT_LOG_FORMAT":
			c.LogFormat = v
		case k == "WEFT_LOG_LEVEL":
			c.LogLevel = v
		case k == "WEFT_DEBUG_ADDR":
			c.DebugAddr = v
		case k == "WEFT_API_TOKEN":
			c.APIToken = v
		case k == "WEFT_OTLP_ENDPOINT":
			c.Traces.Endpoint = v
		case k == "WEFT_KEEP_START_PAGES":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %v (true or false)", k, err)
			}
			c.KeepStartPages = b
		case k == "WEFT_AI_API_KEY":
			c.AI.llmKey = v
		case k == "WEFT_MAX_BODY_BYTES" || k == "WEFT_MAX_IMPORT_BYTES" || k == "WEFT_QUEUE_WORKERS" || k == "WEFT_SQLITE_CACHE_BYTES":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
			switch k {
			case "WEFT_QUEUE_WORKERS":
				c.Queue.Workers = int(n)
			case "WEFT_MAX_IMPORT_BYTES":
				c.MaxImport = n
			case "WEFT_SQLITE_CACHE_BYTES":
				c.SQLiteCache = n
			default:
				c.MaxBodyBytes = n
			}
		case k == "WEFT_WRITE_LINGER" || k == "WEFT_QUEUE_RESCUE_AFTER" || k == "WEFT_QUEUE_JOB_TIMEOUT" || k == "WEFT_QUEUE_DEAD_AFTER":
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", k, err)
			}
			*map[string]*time.Duration{"WEFT_WRITE_LINGER": &c.WriteLinger, "WEFT_QUEUE_RESCUE_AFTER": &c.Queue.RescueAfter, "WEFT_QUEUE_JOB_TIMEOUT": &c.Queue.JobTimeout,
				"WEFT_QUEUE_DEAD_AFTER": &c.Queue.DeadAfter}[k] = d
		case k == "WEFT_EMBEDDER":
			c.AI.Embedder = v
		case k == "WEFT_EMBED_URL":
			c.AI.EmbedURL = v
		case k == "WEFT_OLLAMA_URL":
			c.AI.OllamaURL = v
		case k == "WEFT_QDRANT_URL":
			c.AI.QdrantURL = v
		case k == "WEFT_MASTER_KEY":
			c.masterKey = v
		case k == "WEFT_MASTER_KEY_FILE":
			c.MasterKeyFile = v
		case strings.HasPrefix(k, "WEFT_SECRET_"):
			c.secrets[strings.ToUpper(strings.TrimPrefix(k, "WEFT_SECRET_"))] = v
		}
	}
	var err error
	for name, conn := range c.Connections {
		conn.Name = name
		if conn.Connector == "" {
			return nil, fmt.Errorf("config: connection %q needs connector", name)
		}
		for h, v := range conn.Headers {
			if conn.Headers[h], err = c.resolveSecret(v); err != nil {
				return nil, fmt.Errorf("config: connection %q header %s: %v", name, h, err)
			}
		}
		if a := conn.Auth; a != nil {
			for _, f := range []*string{&a.Value, &a.Password, &a.Token, &a.ClientSecret, &a.ClientID, &a.Username, &a.RefreshToken} {
				if *f, err = c.resolveSecret(*f); err != nil {
					return nil, fmt.Errorf("config: connection %q auth: %v", name, err)
				}
			}
		}
		for k, v := range conn.Secrets {
			if conn.Secrets[k], err = c.resolveSecret(v); err != nil {
				return nil, fmt.Errorf("config: connection %q secret %s: %v", name, k, err)
			}
		}
		conn.Source = "config"
		if conn.Namespace != "" {
			if err := access.CheckNamespace(conn.Namespace); err != nil {
				return nil, fmt.Errorf("config: connection %q: %v", name, weft.Message(err))
			}
		}
	}
	for i, ts := range c.MCP.Toolsets {
		if ts.Namespace != "" {
			if err := access.CheckNamespace(ts.Namespace); err != nil {
				return nil, fmt.Errorf("config: mcp.toolsets[%d] (%s): %v", i, ts.Name, weft.Message(err))
			}
		}
	}
	for name := range c.ImportAnnotations {
		if _, ok := c.Imports[name]; !ok {
			return nil, fmt.Errorf("config: import_annotations.%s: no connector %q in imports", name, name)
		}
	}
	if c.PublicURL != "" {
		if _, _, err := gateway.PublicOrigin(c.PublicURL); err != nil {
			return nil, err
		}
	}
	if c.APIBasePath != "" {
		if err := gateway.CheckAPIBasePath(c.APIBasePath); err != nil {
			return nil, fmt.Errorf("config: %v", weft.Message(err))
		}
	}
	seenIssuer := map[string]bool{}
	for i := range c.APIJWTIssuers {
		j := &c.APIJWTIssuers[i]
		if err := j.Check(); err != nil {
			return nil, fmt.Errorf("config: %v", weft.Message(err))
		}
		if seenIssuer[j.Name] {
			return nil, fmt.Errorf("config: api_jwt_issuers: %s appears twice", j.Name)
		}
		seenIssuer[j.Name] = true
	}
	if err := c.TLS.Check(); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	if t := c.CredentialCacheTTL; t != nil && (*t < 0 || *t > time.Minute) {
		return nil, fmt.Errorf("config: credential_cache_ttl must be between 0s (off) and 1m, e.g. 5s")
	}
	if c.Audit.Retention < 0 {
		return nil, fmt.Errorf("config: audit.retention must be a duration of 0 (keep forever) or more, e.g. 8760h")
	}
	if c.Queue.JobTimeout > c.Queue.RescueAfter {
		c.Queue.JobTimeout = c.Queue.RescueAfter
	}
	if c.egress, err = egress.New(c.Egress); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	if c.OIDC != nil {
		if err := resolveOIDCSecret(c.OIDC, env); err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
		if err := c.OIDC.Check(); err != nil {
			return nil, fmt.Errorf("config: %v", err)
		}
	}
	return c, nil
}

// resolveOIDCSecret reads the OpenID client secret from the environment
// variable or the file the config names (an inline client_secret is an
// unknown key: secrets stay out of config files and their logs).
func resolveOIDCSecret(o *sso.Config, env []string) error {
	switch {
	case o.ClientSecretEnv != "" && o.ClientSecretFile != "":
		return fmt.Errorf("oidc: set client_secret_env or client_secret_file, not both")
	case o.ClientSecretEnv != "":
		for _, kv := range env {
			if k, v, ok := strings.Cut(kv, "="); ok && k == o.ClientSecretEnv {
				o.ClientSecret = v
			}
		}
		if o.ClientSecret == "" {
			return fmt.Errorf("oidc.client_secret_env: the environment variable %s is not set", o.ClientSecretEnv)
		}
	case o.ClientSecretFile != "":
		data, err := os.ReadFile(o.ClientSecretFile)
		if err != nil {
			return fmt.Errorf("oidc.client_secret_file: %v", err)
		}
		if o.ClientSecret = strings.TrimSpace(string(data)); o.ClientSecret == "" {
			return fmt.Errorf("oidc.client_secret_file %s is empty", o.ClientSecretFile)
		}
	}
	return nil
}

// resolveSecret replaces a "${secret:NAME}" value with WEFT_SECRET_NAME.
func (c *Config) resolveSecret(v string) (string, error) {
	if !strings.HasPrefix(v, "${secret:") || !strings.HasSuffix(v, "}") {
		return v, nil
	}
	name := strings.ToUpper(strings.TrimSuffix(strings.TrimPrefix(v, "${secret:"), "}"))
	sv, ok := c.secrets[name]
	if !ok {
		return "", fmt.Errorf("secret %s is not set (WEFT_SECRET_%s)", name, name)
	}
	return sv, nil
}

func (c *Config) secret(name string) (string, bool) {
	v, ok := c.secrets[strings.ToUpper(name)]
	return v, ok
}

// selfVar in the config file stands for this server's own base URL,
// http://HOST:PORT (https:// when tls is configured) of the address it listens on (after --addr and
// WEFT_ADDR; a wildcard host becomes loopback), so connections to its
// sandboxes and flows follow the listen address.
const selfVar = "${self}"

// selfURL is the base URL at which this server reaches itself.
func selfURL(addr string, https bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %v", addr, err)
	}
	if port == "0" || port == "" {
		return "", fmt.Errorf("%s in the config needs a fixed listen port, not %q", selfVar, addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	scheme := "http://"
	if https {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port), nil
}

// expandSelf replaces ${self} in the configured connections (base URL,
// headers, auth, config values) and the alert notification input with this
// server's base URL; call it once the listen address is final.
func (c *Config) expandSelf() error {
	if !c.usesSelf() {
		return nil
	}
	self, err := selfURL(c.Addr, c.TLS.Enabled())
	if err != nil {
		return err
	}
	rep := func(s *string) { *s = strings.ReplaceAll(*s, selfVar, self) }
	for _, conn := range c.Connections {
		rep(&conn.BaseURL)
		for k, v := range conn.Headers {
			rep(&v)
			conn.Headers[k] = v
		}
		if a := conn.Auth; a != nil {
			rep(&a.TokenURL)
		}
		conn.Config = expandAny(conn.Config, self).(map[string]any)
	}
	if c.Alerts.Notify.Input != nil {
		c.Alerts.Notify.Input = expandAny(c.Alerts.Notify.Input, self).(map[string]any)
	}
	return nil
}

func (c *Config) usesSelf() bool {
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			found = found || strings.Contains(x, selfVar)
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, conn := range c.Connections {
		walk(conn.BaseURL)
		for _, v := range conn.Headers {
			walk(v)
		}
		if conn.Auth != nil {
			walk(conn.Auth.TokenURL)
		}
		walk(conn.Config)
	}
	walk(c.Alerts.Notify.Input)
	return found
}

// expandAny replaces ${self} in the strings of a decoded YAML value.
func expandAny(v any, self string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, selfVar, self)
	case map[string]any:
		if x == nil {
			return x
		}
		for k, e := range x {
			x[k] = expandAny(e, self)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = expandAny(e, self)
		}
		return x
	}
	return v
}

// ensureNamespaces creates the namespaces the config file names (on its
// connections and MCP toolsets) that the store does not have yet.
func ensureNamespaces(ctx context.Context, st store.Store, c *Config, log *slog.Logger) error {
	want := map[string]bool{}
	for _, conn := range c.Connections {
		if conn.Namespace != "" {
			want[conn.Namespace] = true
		}
	}
	for _, ts := range c.MCP.Toolsets {
		if ts.Namespace != "" {
			want[ts.Namespace] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	have, err := st.Namespaces(ctx)
	if err != nil {
		return err
	}
	for _, n := range have {
		delete(want, n.Name)
	}
	for ns := range want {
		if err := st.CreateNamespace(ctx, store.Namespace{Name: ns, Description: "named in the config file"}); err != nil && weft.Code(err) != weft.EConflict {
			return err
		}
		log.Info("namespace created", "namespace", ns, "by", "config file")
	}
	return nil
}

// AgentConfig is weft agent's section of the config file. The token is
// read from token_file (keep it 0600) or WEFT_AGENT_TOKEN, never written
// in this file.
type AgentConfig struct {
	ControlPlane string            `yaml:"control_plane"`
	Site         string            `yaml:"site"`
	Labels       map[string]string `yaml:"labels"`
	TokenFile    string            `yaml:"token_file"`
	CAFile       string            `yaml:"ca_file"`
	ClientCert   string            `yaml:"client_cert"`
	ClientKey    string            `yaml:"client_key"`
	// BacklogMax bounds the finished runs not shipped upstream yet
	// (default 100000): at 80% the alert agent-backlog warns, at the bound
	// new runs are refused (503) until shipping catches up.
	BacklogMax int `yaml:"backlog_max"`
	// ShipPayloads lets the payloads (trigger event, response) of runs
	// whose flow captures in full go upstream, redacted on the site first
	// (default false: metadata only).
	ShipPayloads bool `yaml:"ship_payloads"`
	// TelemetryEvery is how often the site's alerts and key figures go
	// upstream (default 10s).
	TelemetryEvery time.Duration `yaml:"telemetry_every"`
}
