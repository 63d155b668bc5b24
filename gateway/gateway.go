// Package gateway is Weft's HTTP face (chi): the REST API, webhook ingress,
// and health. It maps the weft error vocabulary to status codes and never
// returns internals or secrets to callers.
package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/apim"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/jsonenc"
	"github.com/weftio/weft/internal/lazy"
	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/nl2flow"
	"github.com/weftio/weft/store"
)

// Config configures the gateway.
type Config struct {
	MaxBodyBytes int64            // webhook and API body limit (default 10 MiB)
	APIBasePath  string           // where API products are served: {base}/{product}/{version}/… (default /apis)
	Products     store.Products   // API products (nil: the engine's store, when it keeps them; else /apis and /api/products are off)
	JWTIssuers   []apim.JWTIssuer // identity providers whose tokens products with auth: jwt accept
	JWTClient    *http.Client     // fetches the issuers' key sets (nil: a plain client)
	// APICalls observes each call of an existing product version (refusals
	// included) with its route template ("" before one matched), its
	// answer's status, the consumer ("" when none was authenticated) and
	// what the plan's limits left: metrics per product, version, route
	// and consumer, and quota use.
	APICalls       func(apim.CallRecord)
	MaxImportBytes int64                            // POST /api/connectors/import body limit (default 64 MiB)
	Secret         func(name string) (string, bool) // named secrets (signatures)
	APIToken       string                           // if set, /api, /metrics (and /mcp, through MCPAuth) require "Authorization: Bearer <token>"
	PublicURL      string                           // this server's address as browsers see it (a trusted origin and host)
	Sessions       Sessions                         // cookie sessions (the console's sign-in); nil: none
	Sandbox        http.Handler                     // serves /sandbox/* when set (simulated APIs for offline flows)
	Sandboxes      []string                         // the names Sandbox serves (/sandbox/NAME/), each a connector's name: test runs may call them instead
	MCP            *mcp.Gateway                     // serves /mcp and /mcp/{toolset} when set
	Federation     *mcpconn.Federation              // MCP servers as connectors (POST /api/connectors/mcp); nil: off
	MCPAuth        *mcp.Auth                        // API keys and OAuth for /mcp
	Mapper         *mapper.Service                  // schema mapping reviews (/api/mappings)
	Metrics        http.Handler                     // Prometheus /metrics
	Alerts         *monitor.Alerter                 // /api/alerts
	NL2Flow        *nl2flow.Compiler                // drafts flows from requests (/api/nl2flow)
	Console        fs.FS                            // the web console's built bundle, served at / (nil: no console)
	Directory      *access.Directory                // local users, personal access tokens, service accounts (nil: api_token only)
	Audit          *access.Log                      // the audit log (default: kept in the engine's store)
	AuditFailed    func(action string)              // counts audit entries that could not be written (a metric)
	SSO            SSO                              // single sign-on with OpenID Connect (nil: none)
	Keys           Sealer                           // the master key: seals single-sign-on flow cookies and stored provider tokens (nil: a key of this process's own)
	Agents         *agent.ControlPlane              // hybrid deployment: runtime agents' link and /api/agents (nil: the engine's store's, unless the engine is a site's)
}

// Server is the HTTP handler.
type Server struct {
	e        *engine.Engine
	log      *slog.Logger
	cfg      Config
	r        chi.Router
	guard    *guard
	table    []Route       // the /api route table with each route's permission
	hasUsers atomic.Bool   // a local user exists: authentication is required
	apim     *apim.Service // API products (nil: the store keeps none)
	usage    *apim.Usage   // API analytics (nil: the store keeps none)
	mcps     productMCPs   // API product versions offered over MCP (apimcp.go)
	ownKeys  Sealer        // seals single-sign-on flow cookies when Keys is nil
	agents   *agent.ControlPlane
}

// New builds the router.
func New(e *engine.Engine, log *slog.Logger, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 10 << 20
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = DefaultMaxImportBytes
	}
	if cfg.APIBasePath == "" {
		cfg.APIBasePath = DefaultAPIBasePath
	}
	if cfg.Secret == nil {
		cfg.Secret = func(string) (string, bool) { return "", false }
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Sessions == nil && (cfg.APIToken != "" || cfg.Directory != nil || cfg.SSO != nil) {
		// The console signs in with the API token once and works under a
		// cookie session from then on.
		cfg.Sessions = NewMemorySessions()
	}
	if m, ok := cfg.Sessions.(*MemorySessions); ok && m != nil {
		if m.Keys == nil {
			m.Keys = cfg.Keys
		}
		m.apiTokenID = apiTokenID(cfg.APIToken)
	}
	if cfg.Audit == nil {
		cfg.Audit = access.NewLog(e.Store())
	}
	s := &Server{e: e, log: log, cfg: cfg, ownKeys: newOwnKeys()}
	g, err := newGuard(cfg)
	if err != nil {
		log.Error("public_url ignored", "err", err)
		cfg.PublicURL = ""
		g, _ = newGuard(cfg)
	}
	s.guard = g
	r := chi.NewRouter()
	r.Use(s.recoverer)
	r.MethodNotAllowed(s.methodNotAllowed)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		h := map[string]any{"status": "ok", "store": e.Store().Dialect()}
		if site := e.Site(); site != "" {
			h["site"] = site // a runtime agent (weft agent connection set checks it talks to one)
		}
		writeJSON(w, http.StatusOK, h)
	})
	r.Post("/hooks/{flow}", s.hook)
	if s.agents = agentControlPlane(s, e); s.agents != nil {
		// Agents authenticate with their own credentials, not /api's.
		r.Post(agent.SyncPath, s.agents.ServeSync)
		r.Post(agent.RunsPath, s.agents.ServeRuns)
		r.Post(agent.CallsPath, s.agents.ServeCalls)
		r.Post(agent.ResultsPath, s.agents.ServeResults)
		r.Post(agent.TelemetryPath, s.agents.ServeTelemetry)
		r.Post(agent.ProgressPath, s.agents.ServeProgress)
		if cfg.MCP != nil {
			cfg.MCP.SetReach(s.agents) // tools placed on sites run there (MCP reach-in)
		}
	}
	if cfg.Products == nil {
		cfg.Products, _ = e.Store().(store.Products)
	}
	if cfg.Products != nil {
		s.apim = apim.NewService(cfg.Products, e)
		issuers := map[string]*apim.JWTVerifier{}
		for _, j := range cfg.JWTIssuers {
			v, err := apim.NewJWTVerifier(j, cfg.JWTClient)
			if err != nil {
				log.Error("JWT issuer ignored", "err", err)
				continue
			}
			issuers[j.Name] = v
		}
		s.apim.SetJWTIssuers(issuers)
		if us, ok := cfg.Products.(store.UsageStore); ok {
			s.usage = apim.NewUsage(us)
		}
		s.ingressRoutes(r)
	}
	if cfg.Sandbox != nil {
		r.Handle("/sandbox/*", cfg.Sandbox)
	}
	if cfg.Metrics != nil {
		// Prometheus metrics name every namespace's flows: monitor.read on *.
		r.With(s.guard.hosts, s.auth, s.authorize(access.MonitorRead), s.onInstallation(access.MonitorRead)).Handle("/metrics", cfg.Metrics)
	}
	if cfg.MCP != nil {
		r.Handle("/mcp", cfg.MCP)
		r.Handle("/mcp/*", cfg.MCP)
	}
	if cfg.MCPAuth != nil {
		r.Get("/.well-known/oauth-protected-resource", cfg.MCPAuth.Metadata)
		r.Get("/.well-known/oauth-protected-resource/*", cfg.MCPAuth.Metadata)
	}
	r.Route("/api", func(r chi.Router) {
		// Hooks are not behind these: they are server-to-server, signed.
		r.Use(s.guard.hosts, s.guard.crossSite)
		s.sessionRoutes(r) // signing in is how a browser gets authenticated
		r.Group(func(r chi.Router) {
			r.Use(s.auth, s.csrfToken)
			s.apiRoutes(r)
		})
	})
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, weft.Errorf(weft.ENotFound, "no route for %s %s", r.Method, r.URL.Path))
	}
	r.NotFound(notFound)
	if cfg.Console != nil {
		c, err := newConsole(cfg.Console)
		if err != nil {
			log.Error("console disabled: its bundle has no index.html", "err", err)
		} else {
			// The console owns every path the API, hooks, MCP and sandbox do
			// not; API-shaped paths keep their JSON 404. Its text assets are
			// sent gzipped to clients that accept it.
			consoleHandler := s.guard.hosts(middleware.Compress(5, "text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml")(c))
			r.NotFound(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/hooks/") || strings.HasPrefix(r.URL.Path, "/mcp/") || strings.HasPrefix(r.URL.Path, cfg.APIBasePath+"/") {
					notFound(w, r)
					return
				}
				consoleHandler.ServeHTTP(w, r)
			})
		}
	}
	s.r = r
	return s
}

// apiRoutes are the authenticated API's routes.
func (s *Server) apiRoutes(r chi.Router) {
	s.route(r, http.MethodGet, "/flows", access.FlowsRead, s.listFlows)
	s.route(r, http.MethodPost, "/flows", access.FlowsWrite, s.deployFlow)
	s.route(r, http.MethodPost, "/flows/validate", access.FlowsRead, s.validateFlow)
	s.route(r, http.MethodPost, "/flows/test", access.FlowsWrite, s.testFlow)
	s.resource(r, http.MethodGet, "/flows/{name}", access.FlowsRead, s.flowResolver("name"), s.getFlow)
	s.resource(r, http.MethodGet, "/flows/{name}/versions", access.FlowsRead, s.flowResolver("name"), s.listVersions)
	s.resource(r, http.MethodGet, "/flows/{name}/versions/{version}", access.FlowsRead, s.flowResolver("name"), s.getFlow)
	s.resource(r, http.MethodPost, "/flows/{name}/rollback", access.FlowsWrite, s.flowResolver("name"), s.rollback)
	s.resource(r, http.MethodPost, "/flows/{name}/runs", access.RunsOperate, s.flowResolver("name"), s.manualRun)
	s.resource(r, http.MethodDelete, "/flows/{name}/cdc", access.FlowsWrite, s.flowResolver("name"), s.resetCDC)
	s.route(r, http.MethodGet, "/runs", access.RunsRead, s.listRuns)
	s.resource(r, http.MethodGet, "/runs/{id}", access.RunsRead, s.runResolver(), s.getRun)
	s.resource(r, http.MethodPost, "/runs/{id}/replay", access.RunsOperate, s.runResolver(), s.replay)
	s.resource(r, http.MethodPost, "/runs/{id}/cancel", access.RunsOperate, s.runResolver(), s.cancel)
	s.route(r, http.MethodPost, "/dlq/replay", access.RunsOperate, s.bulkReplay)
	s.route(r, http.MethodGet, "/dlq", access.RunsRead, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Set("status", store.RunDead)
		r.URL.RawQuery = q.Encode()
		s.listRuns(w, r)
	})
	s.route(r, http.MethodGet, "/connectors", access.ConnectionsRead, s.listConnectors)
	s.route(r, http.MethodGet, "/connectors/search", access.ConnectionsRead, func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if limit <= 0 {
			limit = 20
		}
		hits, err := s.e.Catalog().SearchContext(r.Context(), r.URL.Query().Get("q"), limit)
		if err != nil { // the lexical ranking still answers
			s.log.Warn("connector search: semantic ranking unavailable", "err", err)
		}
		if hits == nil {
			hits = []connectors.Hit{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
	})
	s.route(r, http.MethodGet, "/connectors/{name}", access.ConnectionsRead, s.getConnector)
	s.installation(r, http.MethodPost, "/connectors/import", access.ConnectionsWrite, s.importConnector)
	s.installation(r, http.MethodPost, "/connectors/mcp", access.ConnectionsWrite, s.addMCPConnector)
	s.installation(r, http.MethodPost, "/connectors/{name}/refresh", access.ConnectionsWrite, s.refreshMCPConnector)
	s.installation(r, http.MethodDelete, "/connectors/{name}", access.ConnectionsWrite, s.removeMCPConnector)
	s.route(r, http.MethodGet, "/connections", access.ConnectionsRead, s.listConnections)
	s.resource(r, http.MethodGet, "/connections/{name}", access.ConnectionsRead, s.connectionResolver(), s.getConnection)
	s.route(r, http.MethodPut, "/connections/{name}", access.ConnectionsWrite, s.putConnection) // create or update: checks both namespaces itself
	s.resource(r, http.MethodDelete, "/connections/{name}", access.ConnectionsWrite, s.connectionResolver(), s.deleteConnection)
	s.resource(r, http.MethodPost, "/connections/{name}/test", access.ConnectionsWrite, s.connectionResolver(), s.testConnection)
	s.installation(r, http.MethodPost, "/secrets/rotate", access.SecretsManage, s.rotateKey)
	s.route(r, http.MethodGet, "/namespaces", access.Self, s.listNamespaces)
	s.installation(r, http.MethodPost, "/namespaces", access.MembersManage, s.createNamespace)
	s.route(r, http.MethodGet, "/mcp/toolsets", access.MCPRead, func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.MCP == nil {
			writeErr(w, weft.Errorf(weft.EUnavailable, "the MCP gateway is off"))
			return
		}
		f, err := s.listFilter(r, access.MCPRead)
		if err != nil {
			writeErr(w, err)
			return
		}
		out := []map[string]any{}
		for _, ts := range s.cfg.MCP.Toolsets() {
			if ns, _ := ts["namespace"].(string); f.keep(ns) {
				out = append(out, ts)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"toolsets": out})
	})
	s.resource(r, http.MethodGet, "/mcp/toolsets/{name}/tools", access.MCPRead, s.toolsetResolver(), s.toolsetTools)
	s.route(r, http.MethodGet, "/mcp/keys", access.MCPRead, func(w http.ResponseWriter, r *http.Request) {
		f, err := s.listFilter(r, access.MCPRead)
		if err != nil {
			writeErr(w, err)
			return
		}
		ks, err := s.e.Store().APIKeys(r.Context())
		if err != nil {
			writeErr(w, err)
			return
		}
		out := []store.APIKey{}
		for _, k := range ks {
			if f.keep(k.Namespace) {
				out = append(out, k)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": out})
	})
	s.route(r, http.MethodPost, "/mcp/keys", access.MCPKeysManage, s.createKey)
	s.route(r, http.MethodGet, "/mcp/calls", access.MCPRead, s.toolCalls)
	s.route(r, http.MethodGet, "/mcp/policies", access.MCPRead, s.mcpPolicies)
	if s.cfg.Mapper != nil {
		s.mappingRoutes(r)
	}
	if s.cfg.NL2Flow != nil {
		s.route(r, http.MethodPost, "/nl2flow", access.FlowsWrite, s.nl2flow)
	}
	s.route(r, http.MethodGet, "/metrics", access.MonitorRead, s.metricSeries)
	if s.cfg.Alerts != nil {
		s.route(r, http.MethodGet, "/alerts", access.MonitorRead, func(w http.ResponseWriter, r *http.Request) {
			f, err := s.listFilter(r, access.MonitorRead)
			if err != nil {
				writeErr(w, err)
				return
			}
			as := s.cfg.Alerts.Alerts()
			if !f.unrestricted() {
				as = slices.DeleteFunc(as, func(a monitor.Alert) bool {
					ns := s.alertNamespace(r.Context(), a.Flow)
					return ns == access.AllNamespaces || !f.keep(ns)
				})
			}
			writeJSON(w, http.StatusOK, map[string]any{"alerts": as})
		})
		s.route(r, http.MethodGet, "/predictions", access.MonitorRead, func(w http.ResponseWriter, r *http.Request) {
			f, err := s.listFilter(r, access.MonitorRead)
			if err != nil {
				writeErr(w, err)
				return
			}
			ps := []monitor.Prediction{}
			if pr := s.cfg.Alerts.Predictor(); pr != nil {
				ps = pr.Active()
			}
			if !f.unrestricted() {
				ps = slices.DeleteFunc(ps, func(p monitor.Prediction) bool {
					ns := s.alertNamespace(r.Context(), p.Subject)
					return ns == access.AllNamespaces || !f.keep(ns)
				})
			}
			writeJSON(w, http.StatusOK, map[string]any{"predictions": ps})
		})
		s.resource(r, http.MethodPost, "/alerts/{id}/ack", access.AlertsAck, s.alertResolver(), func(w http.ResponseWriter, r *http.Request) {
			who := r.URL.Query().Get("by")
			if !s.cfg.Alerts.Ack(chi.URLParam(r, "id"), who) {
				writeErr(w, weft.Errorf(weft.ENotFound, "no alert %q", chi.URLParam(r, "id")))
				return
			}
			s.audit(r, access.ActionAlertAck, "alert:"+chi.URLParam(r, "id"), nil, map[string]any{"by": who})
			writeJSON(w, http.StatusOK, map[string]any{"acked": chi.URLParam(r, "id")})
		})
	}
	s.resource(r, http.MethodDelete, "/mcp/keys/{id}", access.MCPKeysManage, s.keyResolver(), func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		err := s.e.Store().RevokeAPIKey(r.Context(), id)
		s.audit(r, access.ActionMCPKeyRevoke, "mcp_key:"+id, err, nil)
		if err != nil {
			writeErr(w, err)
			return
		}
		if s.cfg.MCPAuth != nil {
			s.cfg.MCPAuth.Forget()
		}
		s.log.Info("API key revoked", "key", id)
		writeJSON(w, http.StatusOK, map[string]any{"revoked": id})
	})
	s.route(r, http.MethodGet, "/stats/runs", access.RunsRead, s.runStats)
	s.memberRoutes(r)
	if s.apim != nil {
		s.productRoutes(r)
		s.consumerRoutes(r)
	}
	if s.agents != nil {
		s.agentRoutes(r)
	}
	s.installation(r, http.MethodGet, "/audit", access.AuditRead, s.listAudit)
	s.installation(r, http.MethodGet, "/audit/verify", access.AuditRead, s.verifyAudit)
	s.installation(r, http.MethodGet, "/audit/export", access.AuditRead, s.exportAudit)
	s.route(r, http.MethodGet, "/schemas/flow", access.FlowsRead, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		_, _ = w.Write(flow.Schema())
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.r.ServeHTTP(w, r) }

// recoverer turns a panic into a logged internal error and a JSON 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeErr(w, weft.Errorf(weft.EInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// --- errors -----------------------------------------------------------------

// Status maps an error code to an HTTP status.
func Status(code string) int {
	switch code {
	case weft.EInvalid:
		return http.StatusBadRequest
	case weft.EUnauthorized:
		return http.StatusUnauthorized
	case weft.EForbidden:
		return http.StatusForbidden
	case weft.ENotFound:
		return http.StatusNotFound
	case weft.EConflict:
		return http.StatusConflict
	case weft.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case weft.EUnprocessable:
		return http.StatusUnprocessableEntity
	case weft.ETimeout:
		return http.StatusGatewayTimeout
	case weft.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type errBody struct {
	Error *weft.Error `json:"error"`
}

// retryAfter is what a 503 tells callers to wait, in seconds, unless the
// handler set its own Retry-After.
const retryAfter = "5"

func writeErr(w http.ResponseWriter, err error) {
	var we *weft.Error
	if !errors.As(err, &we) {
		we = &weft.Error{Code: weft.EInternal, Message: "internal error"}
	}
	status := Status(we.Code)
	if status >= 500 && leaksInternals(we.Message) {
		// The store never puts driver text in a message; should some other
		// path do it, connection details still stay in the server.
		we = &weft.Error{Code: we.Code, Message: http.StatusText(status)}
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, status, errBody{Error: we})
}

// internalsRe matches what database drivers put in their errors: DSN
// key=value pairs and connection URLs.
var internalsRe = lazy.NewRegexp(`(?i)\b(user|password|host|hostaddr|dbname|database|port|sslmode)=|\b(postgres|postgresql|mysql|sqlite)://|\(SQLSTATE [0-9A-Z]{5}\)|dial (tcp|unix)`)

func leaksInternals(msg string) bool { return internalsRe.MatchString(msg) }

var newline = []byte{'\n'}

// htmlEscaped reports whether JSON text may hold an escape of <, > or &
// (json.Marshal escapes them, writeJSON does not).
func htmlEscaped(b []byte) bool {
	return bytes.Contains(b, []byte(`\u003c`)) || bytes.Contains(b, []byte(`\u003e`)) || bytes.Contains(b, []byte(`\u0026`))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DefaultMaxImportBytes bounds an imported OpenAPI document: real specs
// are larger than API bodies (GitHub's is 13 MB).
const DefaultMaxImportBytes = 64 << 20

// readBody reads a body of at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return readBodyLimit(w, r, s.cfg.MaxBodyBytes, "max_body_bytes")
}

// readBodyLimit reads a body of at most limit bytes; setting names the
// configuration that raises the limit.
func readBodyLimit(w http.ResponseWriter, r *http.Request, limit int64, setting string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, weft.Errorf(weft.ETooLarge, "body is %d bytes; the limit is %d (%s)", r.ContentLength, limit, setting)
	}
	data, err := readAllSized(http.MaxBytesReader(w, r.Body, limit), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, weft.Errorf(weft.ETooLarge, "body is larger than the limit of %d bytes (%s)", limit, setting)
		}
		return nil, weft.Errorf(weft.EInvalid, "reading body: %v", err)
	}
	return data, nil
}

// readAllSized is io.ReadAll with the buffer sized from a declared
// length (already checked against the limit): a large body is then held
// once, not grown by doubling through copies of itself. A length that
// lies costs no more than io.ReadAll.
func readAllSized(r io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 || declared > 1<<30 {
		return io.ReadAll(r)
	}
	// One byte more than declared, so that reaching EOF needs no growth.
	b := make([]byte, 0, declared+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than declared: grow as io.ReadAll does
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// bodyLimits bound the structure of JSON and YAML bodies; their size is
// readBody's to bound.
var bodyLimits = bounded.Limits{MaxBytes: 1 << 62}

// decodeJSON decodes a JSON body within bodyLimits: invalid UTF-8, too
// deep or too many values are refused, never silently altered.
func decodeJSON(data []byte, v any) error {
	return bounded.UnmarshalJSON("body", data, v, bodyLimits)
}

// RawBodyMin is the size from which a webhook's JSON body is handed to its
// run as a jsonenc.Raw, read on demand from its bytes, instead of decoded
// into maps and lists (about 5-6× its size in heap for typical records).
const RawBodyMin = jsonenc.RawDocMin

// WebhookBody is a webhook's body as its run gets it: a body of at least
// RawBodyMin bytes as a jsonenc.Raw (checked within bodyLimits as
// decodeJSON checks it, and as json.Unmarshal would decode it), a smaller
// one decoded.
func WebhookBody(data []byte) (any, error) {
	if len(data) < RawBodyMin {
		return parseJSONBody(data)
	}
	if err := bounded.CheckJSON("body", data, bodyLimits); err != nil {
		return nil, err
	}
	r, err := jsonenc.NewRaw(data)
	if err != nil {
		return parseJSONBody(data) // its message for what json.Unmarshal refuses
	}
	return r, nil
}

func parseJSONBody(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 { // no string(data): that copies the body
		return map[string]any{}, nil
	}
	return bounded.DecodeJSON("body", data, bodyLimits)
}

// --- webhooks ---------------------------------------------------------------

func (s *Server) hook(w http.ResponseWriter, r *http.Request) {
	// A region per webhook call, so that an execution trace of the server
	// (debug_addr's /debug/pprof/trace) says where each call's time went
	// (bench/tracetail); without a trace it costs one atomic load.
	defer trace.StartRegion(r.Context(), "run").End()
	name := chi.URLParam(r, "flow")
	f, _, err := s.e.Flow(r.Context(), name, 0)
	if err != nil {
		writeErr(w, err)
		return
	}
	if f.Trigger.Kind != flow.TriggerWebhook {
		writeErr(w, weft.Errorf(weft.ENotFound, "flow %q has no webhook trigger (its trigger is %s)", name, f.Trigger.Kind))
		return
	}
	raw, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	wh := f.Trigger.Webhook
	if sig := wh.Signature; sig != nil {
		if err := s.verify(sig, r, raw); err != nil {
			writeErr(w, err)
			return
		}
	}
	body, err := WebhookBody(raw)
	if err != nil {
		writeErr(w, err)
		return
	}
	// WebhookBody took a non-blank raw only if it is JSON as json.Unmarshal
	// reads it.
	ev := engine.Event{Flow: name, Kind: flow.TriggerWebhook, Body: body, RawBody: raw, RawBodyParsed: len(bytes.TrimSpace(raw)) > 0,
		Headers: headers(r), Query: query(r), Async: wh.Mode == "async"}
	if idem := wh.Idempotency; idem != nil {
		if ev.IdemKey, err = idemKey(idem, r, &ev); err != nil {
			writeErr(w, err)
			return
		}
	}
	s.trigger(w, r, ev)
}

func (s *Server) verify(sig *flow.Signature, r *http.Request, raw []byte) error {
	secret, ok := s.cfg.Secret(sig.Secret)
	if !ok {
		s.log.Error("webhook signature secret is not configured", "secret", sig.Secret)
		return weft.Errorf(weft.EUnauthorized, "signature cannot be verified: secret %q is not configured on this server", sig.Secret)
	}
	if secret == "" {
		s.log.Error("webhook signature secret is empty: every signed request is refused until it is set", "secret", sig.Secret)
	}
	return verifySignature(sig, secret, r.Header, raw, time.Now())
}

func idemKey(idem *flow.Idempotency, r *http.Request, ev *engine.Event) (string, error) {
	if idem.Header != "" {
		return r.Header.Get(idem.Header), nil // the raw value: recorded headers may be redacted
	}
	e := idem.Compiled()
	if e == nil {
		return "", weft.Errorf(weft.EInternal, "idempotency expression %q is not compiled", idem.Expr)
	}
	v, err := e.Eval(&flow.Scope{Trigger: map[string]any{"body": ev.Body, "headers": anyMap(ev.Headers), "query": anyMap(ev.Query), "kind": ev.Kind}})
	if err != nil {
		return "", weft.Errorf(weft.EInvalid, "cannot compute the idempotency key from this event: %v", err)
	}
	if v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// headers returns the request headers a run records and its expressions
// see. Credentials never reach the run: authorization and cookies are
// dropped, and headers whose names say they carry a secret are kept only
// as "[REDACTED]" (a flow can still test that they were present).
func headers(r *http.Request) map[string]string {
	h := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		switch {
		case lk == "authorization" || lk == "cookie" || lk == "proxy-authorization":
			continue
		case secretHeader(lk):
			h[lk] = "[REDACTED]"
		default:
			h[lk] = strings.Join(v, ", ")
		}
	}
	return h
}

func secretHeader(name string) bool {
	for _, w := range []string{"signature", "token", "secret", "api-key", "apikey", "password", "session"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func query(r *http.Request) map[string]string {
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = strings.Join(v, ",")
	}
	return q
}

// trigger starts a run and writes the HTTP reply.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request, ev engine.Event) {
	res, err := s.e.Trigger(r.Context(), ev)
	if err != nil {
		writeErr(w, err)
		return
	}
	reply(w, ev, res)
}

// reply writes a triggered run's HTTP answer: the respond step's, or the
// run's id and status, or its error.
func reply(w http.ResponseWriter, ev engine.Event, res *engine.Result) {
	run := res.Run
	w.Header().Set("X-Weft-Run-Id", run.ID)
	if ev.Async {
		status := http.StatusAccepted
		if res.Duplicate {
			status = http.StatusOK
		}
		writeJSON(w, status, map[string]any{"run_id": run.ID, "status": run.Status, "duplicate": res.Duplicate})
		return
	}
	if res.Duplicate {
		w.Header().Set("X-Weft-Duplicate", "true")
		if res.Response == nil {
			writeJSON(w, http.StatusOK, map[string]any{"run_id": run.ID, "status": run.Status, "duplicate": true})
			return
		}
	}
	switch run.Status {
	case store.RunSucceeded:
	case store.RunRunning:
	default:
		status := http.StatusBadGateway
		if run.Status == store.RunFailed {
			status = http.StatusUnprocessableEntity
		}
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": run.ErrorCode, "message": run.ErrorMessage,
			"run_id": run.ID, "status": run.Status, "step": run.FailedStep}})
		return
	}
	if resp := res.Response; resp != nil {
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		if b := resp.BodyJSON(); b != nil && !htmlEscaped(b) {
			// The body as the run's output holds it: the same bytes
			// writeJSON would write (json.Marshal's, which differ from
			// writeJSON's only in escaping <, > and &), not encoded again.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(resp.Status)
			_, _ = w.Write(b)
			_, _ = w.Write(newline)
			return
		}
		writeJSON(w, resp.Status, resp.Body)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"run_id": run.ID, "status": run.Status})
}

// --- API -------------------------------------------------------------------

// flowStatsWindow is the window of GET /api/flows' per-flow stats.
const flowStatsWindow = 24 * time.Hour

// flowListing is a flow as GET /api/flows lists it.
type flowListing struct {
	store.FlowInfo
	Trigger     string        `json:"trigger"`
	Description string        `json:"description"`
	LastRun     *store.RunRef `json:"last_run"`
	Stats       flowStats     `json:"stats"`
}

type flowStats struct {
	Window string `json:"window"`
	Runs   int64  `json:"runs"`
	Failed int64  `json:"failed"` // failed or dead
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	nf, err := s.listFilter(r, access.FlowsRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	fs, err := s.e.Store().ListFlows(ctx)
	if err != nil {
		writeErr(w, err)
		return
	}
	fs = slices.DeleteFunc(fs, func(fi store.FlowInfo) bool { return !nf.keep(fi.Namespace) })
	act, err := s.e.Store().FlowActivity(ctx, time.Now().Add(-flowStatsWindow))
	if err != nil {
		writeErr(w, err)
		return
	}
	out := make([]flowListing, 0, len(fs))
	for _, fi := range fs {
		l := flowListing{FlowInfo: fi, Stats: flowStats{Window: "24h"}}
		if f, _, err := s.e.Flow(ctx, fi.Name, 0); err == nil {
			l.Trigger, l.Description = f.Trigger.Kind, f.Description
		}
		if a, ok := act[fi.Name]; ok {
			l.LastRun, l.Stats.Runs, l.Stats.Failed = a.LastRun, a.Runs, a.Failed
		}
		out = append(out, l)
	}
	writeJSON(w, http.StatusOK, map[string]any{"flows": out})
}

// listVersions answers a flow's versions, newest first.
func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.e.Store().ListFlowVersions(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	slices.Reverse(vs)
	writeJSON(w, http.StatusOK, map[string]any{"versions": vs})
}

func (s *Server) deployFlow(w http.ResponseWriter, r *http.Request) {
	src, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	file := r.URL.Query().Get("file")
	if file == "" {
		file = "flow.yaml"
	}
	// ?namespace=: where to deploy a flow that names none.
	qns := r.URL.Query().Get("namespace")
	if qns != "" {
		if err := access.CheckNamespace(qns); err != nil {
			writeErr(w, err)
			return
		}
	}
	// flows.write where the flow is now (a flow the caller may not read
	// there is not found) and where it goes: a move needs both.
	if pf, err := flow.Parse(file, src); err == nil {
		if qns != "" && pf.Namespace == "" {
			pf.Namespace = qns
		}
		_, err := s.e.Store().GetFlow(r.Context(), pf.Name, 0)
		if err == nil { // a deployed flow: the caller must be allowed where it is
			err = s.allowResource(r, access.FlowsWrite, s.flowResolver(""), pf.Name)
		} else if weft.Code(err) == weft.ENotFound {
			err = nil // a new flow
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		ns, err := s.e.FlowNamespace(r.Context(), pf)
		if err == nil {
			err = allow(r, access.FlowsWrite, ns)
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		r = withNamespace(r, ns)
	}
	fv, f, err := s.e.DeployIn(r.Context(), qns, file, src)
	if err != nil {
		s.audit(r, access.ActionFlowDeploy, "flow:", err, map[string]any{"file": file})
		writeErr(w, err)
		return
	}
	s.audit(r, access.ActionFlowDeploy, "flow:"+f.Name, nil, map[string]any{"version": fv.Version, "file": file})
	if s.agents != nil && f.Placement != nil {
		s.agents.Changed() // held agent polls answer at once
	}
	s.log.Info("flow deployed", "flow", f.Name, "version", fv.Version, "file", file)
	writeJSON(w, http.StatusCreated, map[string]any{"name": f.Name, "namespace": fv.Namespace, "version": fv.Version, "active": true, "trigger": f.Trigger.Kind,
		"warnings": warningList(flow.Loops(f, s.e.Catalog()))})
}

// warningList keeps a JSON list non-null.
func warningList(ps []weft.Problem) []weft.Problem {
	if ps == nil {
		return []weft.Problem{}
	}
	return ps
}

func (s *Server) validateFlow(w http.ResponseWriter, r *http.Request) {
	src, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	file := r.URL.Query().Get("file")
	if file == "" {
		file = "flow.yaml"
	}
	f, err := s.e.Validate(file, src)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": true, "name": f.Name, "trigger": f.Trigger.Kind, "steps": len(f.Steps),
		"warnings": warningList(flow.Loops(f, s.e.Catalog()))})
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	version := 0
	if v := chi.URLParam(r, "version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeErr(w, weft.Errorf(weft.EInvalid, "version must be a number"))
			return
		}
		version = n
	}
	fv, err := s.e.Store().GetFlow(r.Context(), name, version)
	if err != nil {
		writeErr(w, err)
		return
	}
	versions, err := s.e.Store().ListFlowVersions(r.Context(), name)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := map[string]any{"name": fv.Name, "namespace": access.NamespaceOr(fv.Namespace), "version": fv.Version, "active": fv.Active, "file": fv.File,
		"created_at": fv.CreatedAt, "source": string(fv.Source), "versions": versions}
	// A pulled trigger's position (a schedule's last tick, a poll's cursor).
	if cur, err := s.e.Store().TriggerCursor(r.Context(), name); err == nil && cur != "" {
		out["trigger_cursor"] = cur
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	var req struct {
		Version int `json:"version"`
	}
	data, err := s.readBody(w, r)
	if err == nil {
		if err = decodeJSON(data, &req); err != nil || req.Version <= 0 {
			err = weft.Errorf(weft.EInvalid, `body must be {"version": N} with N >= 1`)
		}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	details := map[string]any{"to_version": req.Version}
	if cur, err := s.e.Store().GetFlow(r.Context(), name, 0); err == nil {
		details["from_version"] = cur.Version
	}
	err = s.e.Rollback(r.Context(), name, req.Version)
	s.audit(r, access.ActionFlowRollback, "flow:"+name, err, details)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("flow rolled back", "flow", name, "version", req.Version)
	if s.agents != nil {
		s.agents.Changed() // a placed flow's agents answer at once
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "active_version": req.Version})
}

// resetCDC drops a cdc flow's replication slot and publication on its
// source database and clears its stored position: the WAL the slot held is
// released, and the flow, while deployed, streams again from now.
func (s *Server) resetCDC(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	err := s.e.DropCDC(r.Context(), name)
	s.audit(r, access.ActionFlowCDCReset, "flow:"+name, err, map[string]any{"slot": engine.CDCSlotName(name)})
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("cdc slot dropped", "flow", name, "slot", engine.CDCSlotName(name))
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "slot": engine.CDCSlotName(name), "dropped": true})
}

func (s *Server) manualRun(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	raw, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	body, err := parseJSONBody(raw)
	if err != nil {
		writeErr(w, err)
		return
	}
	f, _, err := s.e.Flow(r.Context(), name, 0)
	if err != nil {
		writeErr(w, err)
		return
	}
	q := r.URL.Query()
	async := q.Get("async") == "true" || q.Get("async") == "1" || (f.Trigger.Kind == flow.TriggerWebhook && f.Trigger.Mode() == "async")
	s.trigger(w, r, engine.Event{Flow: name, Kind: flow.TriggerManual, Body: body, Headers: headers(r), Query: query(r),
		Async: async, IdemKey: r.Header.Get("Idempotency-Key")})
}

// ParseSince accepts a duration ago (1h, 30m, 7d) or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, weft.Errorf(weft.EInvalid, "time %q: use a duration ago (30m, 1h, 7d) or RFC 3339", s)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.RunFilter{Flow: q.Get("flow"), Status: q.Get("status"), Before: q.Get("before")}
	all, flows, err := s.readableFlows(r, access.RunsRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !all && len(flows) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"runs": []*store.Run{}, "limit": defaultRunsPage})
		return
	}
	f.Flows = flows
	if f.Since, err = ParseSince(q.Get("since"), time.Now()); err != nil {
		writeErr(w, err)
		return
	}
	if f.Until, err = ParseSince(q.Get("until"), time.Now()); err != nil {
		writeErr(w, err)
		return
	}
	// limit: 1 to store.MaxRunsPage (default 100). Above the maximum the
	// page is clamped and the answer says so; a full page carries
	// next_cursor (?before=) for the next one.
	f.Limit = defaultRunsPage
	var note string
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			writeErr(w, weft.Errorf(weft.EInvalid, "limit must be a whole number from 1 to %d", store.MaxRunsPage))
			return
		}
		f.Limit = n
		if n > store.MaxRunsPage {
			f.Limit = store.MaxRunsPage
			note = fmt.Sprintf("limit %d is above the maximum of %d runs a page: %d returned; follow next_cursor (?before=) for more", n, store.MaxRunsPage, store.MaxRunsPage)
		}
	}
	runs, err := s.e.Store().ListRuns(r.Context(), f)
	if err != nil {
		writeErr(w, err)
		return
	}
	for _, run := range runs {
		run.Input = nil // listings stay small; GET /api/runs/{id} has it
		s.e.RedactRun(r.Context(), run)
	}
	res := map[string]any{"runs": runs, "limit": f.Limit}
	if len(runs) == f.Limit && len(runs) > 0 {
		res["next_cursor"] = runs[len(runs)-1].ID
	}
	if note != "" {
		res["note"] = note
	}
	writeJSON(w, http.StatusOK, res)
}

// defaultRunsPage is GET /api/runs' page size without ?limit=.
const defaultRunsPage = 100

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	run, err := s.e.Store().GetRun(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.e.RedactRun(r.Context(), run) // a failed run's input is kept whole for replay; readers see it redacted
	steps, err := s.e.Store().ListAttempts(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run, "steps": steps})
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req struct {
		Input json.RawMessage `json:"input"`
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := decodeJSON(data, &req); err != nil {
			writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"input": <JSON>} or empty: %s`, weft.Message(err)))
			return
		}
	}
	run, err := s.e.Replay(r.Context(), id, req.Input)
	s.audit(r, access.ActionRunReplay, "run:"+id, err, map[string]any{"new_input": len(req.Input) > 0})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"run_id": run.ID, "status": run.Status})
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	err := s.e.Cancel(r.Context(), id)
	s.audit(r, access.ActionRunCancel, "run:"+id, err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"run_id": id, "status": store.RunCanceled})
}

// connectorSummary is a connector without its operations' schemas.
type connectorSummary struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Version     string `json:"version"`
	Operations  int    `json:"operations"`
}

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) {
	cat := s.e.Catalog()
	var out []connectorSummary
	for _, c := range cat.Connectors() {
		out = append(out, connectorSummary{c.Name, c.Title, c.Description, c.Version, len(c.Operations)})
	}
	conns, err := s.readableConnections(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connectors": out, "connections": connectionViews(conns)})
}

// readableConnections: the catalog's connections in the namespaces the
// caller may read (and ?namespace=).
func (s *Server) readableConnections(r *http.Request) ([]*connectors.Connection, error) {
	f, err := s.listFilter(r, access.ConnectionsRead)
	if err != nil {
		return nil, err
	}
	all := s.e.Catalog().Connections()
	for _, pc := range s.e.PlacedConnections() {
		all = append(all, pc.Conn) // placed on agents: listed, never usable here
	}
	return slices.DeleteFunc(all, func(c *connectors.Connection) bool { return !f.keep(c.Namespace) }), nil
}

// lookupConnection finds a connection of the catalog or one stored here
// for the agents it is placed on.
func (s *Server) lookupConnection(name string) (*connectors.Connection, bool) {
	if c, ok := s.e.Catalog().LookupConnection(name); ok {
		return c, true
	}
	return s.e.PlacedConnection(name)
}

// connectionView is a connection as the API shows it: settings, and which
// credentials are set ("set"), never their values.
type connectionView struct {
	*connectors.Connection
	Credentials map[string]string `json:"credentials"`
}

func connectionViews(cs []*connectors.Connection) []connectionView {
	out := make([]connectionView, 0, len(cs))
	for _, c := range cs {
		out = append(out, connectionView{c, c.SecretState()})
	}
	return out
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) {
	conns, err := s.readableConnections(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": connectionViews(conns)})
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	c, ok := s.lookupConnection(name)
	if !ok {
		writeErr(w, weft.Errorf(weft.ENotFound, "no connection named %q", name))
		return
	}
	writeJSON(w, http.StatusOK, connectionView{c, c.SecretState()})
}

// putConnection creates or updates a stored connection. The body is JSON or
// YAML in the config file's connection shape, credentials included; those
// it omits keep their stored values.
func (s *Server) putConnection(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var conn connectors.Connection
	if err := bounded.UnmarshalYAML("connection body", data, &conn, bodyLimits); err != nil {
		writeErr(w, err)
		return
	}
	name := chi.URLParam(r, "name")
	if conn.Name != "" && conn.Name != name {
		writeErr(w, weft.Errorf(weft.EInvalid, "body names connection %q but the URL names %q", conn.Name, name))
		return
	}
	conn.Name = name
	action := access.ActionConnectionCreate
	ns := access.NamespaceOr(conn.Namespace)
	if old, ok := s.lookupConnection(name); ok {
		action = access.ActionConnectionUpdate
		// An update needs connections.write where the connection is (one
		// the caller may not read there is not found), a move also where
		// it goes.
		if err := s.allowResource(r, access.ConnectionsWrite, s.connectionResolver(), name); err != nil {
			writeErr(w, err)
			return
		}
		if conn.Namespace == "" {
			ns = access.NamespaceOr(old.Namespace)
		}
	}
	if err := access.CheckNamespace(ns); err != nil {
		writeErr(w, err)
		return
	}
	if err := allow(r, access.ConnectionsWrite, ns); err != nil {
		writeErr(w, err)
		return
	}
	conn.Namespace = ns
	r = withNamespace(r, ns)
	var fields map[string]any
	_ = bounded.UnmarshalYAML("connection body", data, &fields, bodyLimits)
	err = s.e.SaveConnection(r.Context(), &conn)
	s.audit(r, action, "connection:"+name, err, map[string]any{"connector": conn.Connector, "fields": bodyFields(fields)})
	if err != nil {
		writeErr(w, err)
		return
	}
	if s.agents != nil {
		s.agents.Changed() // a connection placed on agents (or no longer): their held polls answer at once
	}
	s.log.Info("connection saved", "connection", name, "connector", conn.Connector)
	writeJSON(w, http.StatusOK, connectionView{&conn, conn.SecretState()})
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	err := s.e.DeleteConnection(r.Context(), name)
	s.audit(r, access.ActionConnectionDelete, "connection:"+name, err, nil)
	if err != nil {
		writeErr(w, err)
		return
	}
	if s.agents != nil {
		s.agents.Changed()
	}
	s.log.Info("connection deleted", "connection", name)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": name})
}

// createKey creates an MCP API key; the secret is in this answer only.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req struct {
		Name       string   `json:"name"`
		Namespace  string   `json:"namespace"`
		Scopes     []string `json:"scopes"`
		RatePerMin int      `json:"rate_per_min"`
	}
	if err := decodeJSON(data, &req); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"name", "namespace", "scopes": [toolset | "*" | "tool:<glob>"], "rate_per_min"}: %s`, weft.Message(err)))
		return
	}
	ns := access.NamespaceOr(req.Namespace)
	if err := access.CheckNamespace(ns); err != nil {
		writeErr(w, err)
		return
	}
	if err := allow(r, access.MCPKeysManage, ns); err != nil {
		writeErr(w, err)
		return
	}
	r = withNamespace(r, ns)
	// A key's toolsets are its namespace's: naming another namespace's
	// toolset is refused rather than silently useless.
	for _, sc := range req.Scopes {
		if sc == "*" || strings.HasPrefix(sc, "tool:") || s.cfg.MCP == nil {
			continue
		}
		if tns, ok := s.cfg.MCP.ToolsetNamespace(sc); ok && tns != ns {
			writeErr(w, weft.Errorf(weft.EUnprocessable, "toolset %q belongs to namespace %q, not %q: a key reaches only its own namespace's toolsets", sc, tns, ns))
			return
		}
	}
	k, secret, err := mcp.CreateKeyIn(r.Context(), s.e.Store(), ns, req.Name, req.Scopes, req.RatePerMin)
	if err != nil {
		s.audit(r, access.ActionMCPKeyCreate, "mcp_key:", err, map[string]any{"name": req.Name, "scopes": req.Scopes})
		writeErr(w, err)
		return
	}
	s.audit(r, access.ActionMCPKeyCreate, "mcp_key:"+k.ID, nil, map[string]any{"name": k.Name, "scopes": k.Scopes, "rate_per_min": k.RatePerMin})
	if s.cfg.MCPAuth != nil {
		s.cfg.MCPAuth.Forget()
	}
	s.log.Info("API key created", "key", k.ID, "name", k.Name, "scopes", k.Scopes)
	writeJSON(w, http.StatusCreated, map[string]any{"key": k, "secret": secret, "note": "store the secret now: it is not shown again"})
}

// rotateKey makes a new master key current and reseals every stored
// connection under it.
// toolsetTools lists one toolset's tools, with their policies.
func (s *Server) toolsetTools(w http.ResponseWriter, r *http.Request) {
	if s.cfg.MCP == nil {
		writeErr(w, weft.Errorf(weft.EUnavailable, "the MCP gateway is off"))
		return
	}
	name := chi.URLParam(r, "name")
	tools, ok := s.cfg.MCP.ToolsetTools(name)
	if !ok {
		writeErr(w, weft.Errorf(weft.ENotFound, "no toolset %q", name))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"toolset": name, "tools": tools})
}

func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request) {
	rot, err := s.e.RotateKey(r.Context())
	s.audit(r, access.ActionSecretsRotate, "secrets:master_key", err, map[string]any{"resealed": rot.Connections, "data_keys_rewrapped": rot.DataKeys, "payloads_sealed": rot.Payloads})
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("master key rotated", "connections", rot.Connections, "data_keys", rot.DataKeys, "payloads_sealed", rot.Payloads)
	writeJSON(w, http.StatusOK, rot)
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	c, ok := s.e.Catalog().Connector(name)
	if !ok {
		writeErr(w, weft.Errorf(weft.ENotFound, "no connector named %q", name))
		return
	}
	if s.cfg.Federation != nil {
		if info, ok := s.cfg.Federation.Info(name); ok {
			// An MCP upstream: its health and drift too, with the deployed
			// flows that call a drifted tool.
			affected, err := s.driftedFlows(r.Context(), name, info.Status.Drift)
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, struct {
				*connectors.Connector
				MCP      mcpconn.Info `json:"mcp"`
				Affected []string     `json:"affected_flows"`
			}{c, info, affected})
			return
		}
	}
	writeJSON(w, http.StatusOK, c)
}

// importConnector imports an OpenAPI (3.x), Swagger (2.0), OData $metadata, GraphQL or WSDL 1.1 document as a
// connector, stores it so it survives restarts, and adds it to the catalog.
func (s *Server) importConnector(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	spec, err := readBodyLimit(w, r, s.cfg.MaxImportBytes, "max_import_bytes")
	if err != nil {
		writeErr(w, err)
		return
	}
	res, err := importer.Register(s.e.Catalog(), name, spec)
	if err != nil {
		code := weft.EUnprocessable
		if c := weft.Code(err); c == weft.EInvalid || c == weft.ETooLarge {
			code = c // the document broke a parsing limit
		}
		writeErr(w, weft.Wrap(code, err, "import %s: %v", name, err))
		return
	}
	err = s.e.Store().SaveConnectorSpec(r.Context(), store.ConnectorSpec{Name: name, Kind: res.Kind, Spec: spec})
	s.audit(r, access.ActionConnectorImport, "connector:"+name, err, map[string]any{"operations": res.Imported, "rejected": res.Rejected, "kind": res.Kind})
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("connector imported", "connector", name, "kind", res.Kind, "operations", res.Imported, "rejected", res.Rejected, "took", res.Duration)
	writeJSON(w, http.StatusCreated, map[string]any{"name": name, "kind": res.Kind, "report": res.Report})
}

// nl2flow drafts a flow from {"text", "flow"?, "backend"?}; it never deploys.
func (s *Server) nl2flow(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req nl2flow.Request
	if err := decodeJSON(data, &req); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"text": "...", "flow": "existing YAML to edit (optional)", "backend": "builtin|llm (optional)"}: %s`, weft.Message(err)))
		return
	}
	d, err := s.cfg.NL2Flow.Compile(r.Context(), req)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.log.Info("flow drafted", "backend", d.Backend, "valid", d.Valid, "attempts", d.Attempts, "name", d.Name)
	writeJSON(w, http.StatusOK, d)
}

// maxSeriesRuns bounds what one /api/metrics query reads.
const maxSeriesRuns = 200000

// metricSeries answers time series per flow from the transaction log:
// ?flow=&since=1h&until=&resolution=1m.
func (s *Server) metricSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	since, err := ParseSince(q.Get("since"), now)
	if err != nil {
		writeErr(w, err)
		return
	}
	if since.IsZero() {
		since = now.Add(-time.Hour)
	}
	until := now
	if u := q.Get("until"); u != "" {
		if until, err = ParseSince(u, now); err != nil {
			writeErr(w, err)
			return
		}
	}
	res := time.Minute
	if v := q.Get("resolution"); v != "" {
		if res, err = time.ParseDuration(v); err != nil || res < time.Second {
			writeErr(w, weft.Errorf(weft.EInvalid, "resolution %q: use a duration of at least 1s (10s, 1m, 1h)", v))
			return
		}
	}
	if !until.After(since) {
		writeErr(w, weft.Errorf(weft.EInvalid, "until must be after since"))
		return
	}
	if n := until.Sub(since) / res; n > 10000 {
		writeErr(w, weft.Errorf(weft.EInvalid, "%d buckets: ask for a coarser resolution or a shorter range (at most 10,000)", n))
		return
	}
	var bands []string
	if v := q.Get("band"); v != "" {
		bands = strings.Split(v, ",")
		if err := monitor.CheckBandMetrics(bands); err != nil {
			writeErr(w, err)
			return
		}
	}
	overall := q.Get("overall") == "true" || q.Get("overall") == "1"
	// A band needs history before the range: the detector learns from
	// BandHistory buckets (as much as an anomaly rule reads at start).
	from := since
	if len(bands) > 0 {
		from = since.Truncate(res).Add(-time.Duration(monitor.BandHistory) * res)
	}
	var runs []*store.Run
	f := store.RunFilter{Flow: q.Get("flow"), Since: from, Until: until, Limit: 1000, NoPayloads: true}
	allFlows, flows, err := s.readableFlows(r, access.MonitorRead)
	if err != nil {
		writeErr(w, err)
		return
	}
	none := !allFlows && len(flows) == 0 // the caller may read no flow: no runs
	f.Flows = flows
	truncated := false
	for !none {
		page, err := s.e.Store().ListRuns(r.Context(), f)
		if err != nil {
			writeErr(w, err)
			return
		}
		runs = append(runs, page...)
		if len(page) < f.Limit {
			break
		}
		if len(runs) >= maxSeriesRuns {
			truncated = true
			break
		}
		f.Before = page[len(page)-1].ID
	}
	series := monitor.Series(runs, from, until, res)
	var all monitor.FlowSeries
	if overall {
		all = monitor.Overall(runs, from, until, res)
	}
	if len(bands) > 0 {
		// Bands are computed over the history too; the answer starts at since.
		cut := since.Truncate(res)
		trim := func(fs *monitor.FlowSeries) {
			fs.Band, _ = monitor.Bands(*fs, bands, cut, res)
			i := 0
			for i < len(fs.Buckets) && fs.Buckets[i].Start.Before(cut) {
				i++
			}
			fs.Buckets = fs.Buckets[i:]
		}
		// A flow with runs in the history only stays: gone silent, its
		// band still expects runs.
		for i := range series {
			trim(&series[i])
		}
		if overall {
			trim(&all)
		}
	}
	out := map[string]any{"since": since.UTC(), "until": until.UTC(), "resolution": res.String(), "series": series}
	if overall {
		out["overall"] = all
	}
	if truncated {
		out["note"] = fmt.Sprintf("only the newest %d runs were read; ask for a shorter range", maxSeriesRuns)
	}
	writeJSON(w, http.StatusOK, out)
}
