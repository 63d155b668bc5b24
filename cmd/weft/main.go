// Command weft is the Weft binary: the server (weft serve) and the CLI for
// flows, runs and the dead-letter queue. It is the composition root: it
// reads configuration once and wires the packages; it holds no logic.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // schedules work on machines without a zoneinfo database

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/access/sso"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/ai/search"
	"github.com/weftio/weft/connectors"
	filesconn "github.com/weftio/weft/connectors/files"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/connectors/mcpconn"
	queueconn "github.com/weftio/weft/connectors/queue"
	"github.com/weftio/weft/connectors/sandbox"
	smtpconn "github.com/weftio/weft/connectors/smtp"
	sqlconn "github.com/weftio/weft/connectors/sql"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/internal/resident"
	"github.com/weftio/weft/internal/seal"
	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/monitor"
	"github.com/weftio/weft/nl2flow"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/postgres"
	"github.com/weftio/weft/store/sqlite"
	"github.com/weftio/weft/store/sqlstore"
	"github.com/weftio/weft/web"
	"google.golang.org/grpc"
)

const usage = `weft: integration flows and an MCP gateway in one binary.

Usage:
  weft serve [--addr 127.0.0.1:8080] [--data-dir ./weft-data] [--config weft.yaml]
  weft flow validate FILE... [--config weft.yaml | --catalog NAME=SPEC | --server URL]   check flow files (offline: built-in connectors and those given)
  weft flow deploy FILE... [--namespace NS]   deploy as the next version (NS: for files that name no namespace)
  weft flow list | show NAME [--version N] | rollback NAME VERSION
  weft flow cdc-reset NAME           drop a cdc flow's replication slot and clear its position (it streams again from now)
  weft flow run NAME [--input JSON|@file] [--async]
  weft flow schema                    print the flow file JSON Schema
  weft runs list [--flow F] [--status S] [--since 1h] [--limit N] [--before ID]   pages past 1,000; prints the total
  weft runs show ID | replay ID [--input JSON|@file] | cancel ID
  weft dlq list [--flow F] | replay ID [--input JSON|@file]
  weft connector import SPEC --name NAME [--annotations FILE]   import an OpenAPI 3.x / Swagger 2.0 document, OData $metadata, GraphQL schema (SDL or introspection) or WSDL, file or URL (FILE: per-operation hint overrides)
  weft connector add-mcp NAME --url URL [--token-file F | --auth-file F | --oauth] | --command "CMD ARGS"   federate an MCP server: its tools become operations and gateway tools
  weft connector refresh NAME [--accept]     list an MCP connector's tools again: schema drift since accepted (and accept the new list)
  weft connector remove NAME                 remove an MCP connector and its connection (refused while deployed flows call it)
  weft connector list | show NAME | search WORDS...
  weft connection list | show NAME | set NAME --file F | delete NAME
  weft secrets rotate                 new master key; every stored credential resealed
  weft audit list [--since 24h] [--actor A] [--action X] [--limit N] [--json]   the audit log, newest first (--json: JSON lines, oldest first, for a SIEM)
  weft audit verify [--data-dir DIR | --config FILE]   check the audit log's hash chain (exit 1 names the first bad entry; with a store named, no server needed)
  weft sandbox SPEC... [--addr 127.0.0.1:9100]   serve a stateful simulator of each OpenAPI or OData $metadata document under /NAME/
  weft mcp --stdio [--toolset all]    serve MCP on stdin/stdout (local agents)
  weft mcp toolsets | keys create NAME --scopes S[,S] [--rate N] [--namespace default] | keys list | keys revoke ID
  weft map suggest --source A --target B [--top 5] [--json] [--save [--namespace default]] [--llm ollama|openai --llm-url U --llm-model M | --config FILE]
                                      A, B: a file (field list, JSON Schema, sample, .csv), computed here with no server; or table:CONN.TABLE (read by the server); --save stores it for review
  weft anomaly replay --input DIR --output DIR   score NAB-layout series with the streaming detectors
  weft alerts list | ack ID [--by NAME]
  weft metrics [--flow F] [--since 1h] [--resolution 5m] [--buckets]   each flow's runs, failures, error rate, latency
  weft nl2flow "REQUEST" [--edit FILE] [--out FILE] [--deploy [--replace]]   draft a flow from plain English (shown first; deployed only with --deploy)
  weft map list | show ID | accept|reject ID TARGET...|--all | edit ID TARGET --expr E | export ID [--root trigger.body]
  weft users create NAME [--role viewer] [--namespace default] | list | disable NAME | reset-password NAME | role NAME ROLE   password from stdin or a prompt
  weft service-accounts create NAME --role ROLE [--namespace default] [--days 366] | list | revoke ID   the token is shown once
  weft namespaces create NAME [--description TEXT] | list   namespaces own flows, connections, mappings, toolsets and MCP keys
  weft products list | show NAME | apply FILE | pin NAME VERSION FLOW@N... | delete NAME   API products: versions pinned to flow versions
  weft products deprecate|retire NAME VERSION [--sunset TIME] [--successor V] | test NAME VERSION on|off | openapi NAME VERSION
  weft plans list | show NAME | set NAME [--rate N] [--burst N] [--quota-day N] [--quota-month N] | delete NAME   rate limits and quotas
  weft consumers list | show NAME | create NAME | disable|enable NAME | delete NAME | subscribe NAME PRODUCT --plan P [--version V] | unsubscribe NAME PRODUCT
  weft consumers key NAME | keys NAME | rotate NAME KEY_ID [--overlap 24h] | revoke NAME KEY_ID   API keys: shown once, stored hashed
  weft agent --control-plane URL --token T --site S [--data-dir D] [--addr A] [--label k=v]... [--ca-file CA] [--client-cert C --client-key K]   a runtime agent on a site: its own store and engine, dialling out to the control plane only
  weft agent connection set NAME [--file F] [--secret auth.token]... [--server AGENT_URL]   set a connection's credentials on a runtime agent only (values from the file or stdin; sealed with the agent's key; refused unless the server is an agent)
  weft agents create SITE [--label k=v]... | list | show SITE | rotate SITE | revoke SITE   runtime agents (hybrid deployment); the token is shown once
  weft version

The CLI talks to a running server: --server or WEFT_SERVER (default http://127.0.0.1:8080),
with WEFT_API_TOKEN if the server requires one. Over https: WEFT_CA_FILE (the CA of the server's
certificate), WEFT_CLIENT_CERT and WEFT_CLIENT_KEY (mutual TLS). Add --json for machine-readable output.
`

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if path, ok := helpRequest(args); ok {
		if err := printHelp(path, stdout); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 2
		}
		return 0
	}
	err := dispatch(args[0], args[1:], stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		if weft.Code(err) == weft.EInvalid || weft.Code(err) == weft.EUnprocessable {
			return 2
		}
		return 1
	}
	return 0
}

// dispatch runs one command with the arguments after its name.
func dispatch(cmd string, args []string, stdout, stderr io.Writer) error {
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stderr)
	case "agent":
		err = agentCmd(args, stdout, stderr)
	case "agents":
		err = agentsCmd(args, stdout)
	case "flow", "flows":
		err = flowCmd(args, stdout)
	case "runs", "run":
		err = runsCmd(args, stdout)
	case "dlq":
		err = dlqCmd(args, stdout)
	case "connector", "connectors":
		err = connectorCmd(args, stdout)
	case "connection", "connections":
		err = connectionCmd(args, stdout)
	case "secrets":
		err = secretsCmd(args, stdout)
	case "sandbox":
		err = sandboxCmd(args, stdout)
	case "mcp":
		err = mcpCmd(args, stdout, stderr)
	case "map":
		err = mapCmd(args, stdout)
	case "nl2flow":
		err = nl2flowCmd(args, stdout)
	case "anomaly":
		err = anomalyCmd(args, stdout)
	case "alerts":
		err = alertsCmd(args, stdout)
	case "metrics":
		err = metricsCmd(args, stdout)
	case "users", "user":
		err = usersCmd(args, stdout, stderr)
	case "service-accounts", "service-account":
		err = serviceAccountsCmd(args, stdout)
	case "audit":
		err = auditCmd(args, stdout)
	case "namespaces", "namespace":
		err = namespacesCmd(args, stdout)
	case "products", "product":
		err = productsCmd(args, stdout)
	case "plans", "plan":
		err = plansCmd(args, stdout)
	case "consumers", "consumer":
		err = consumersCmd(args, stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "weft", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = weft.Errorf(weft.EInvalid, "unknown command %q (see weft help)", cmd)
	}
	return err
}

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(args []string, stderr io.Writer) error { return serveMode(args, stderr, false) }

// agentRun is weft agent: weft serve on a site (its own store, engine,
// webhooks and API), linked to a control plane that it dials out to.
func agentRun(args []string, stderr io.Writer) error { return serveMode(args, stderr, true) }

func serveMode(args []string, stderr io.Writer, asAgent bool) error {
	name := "serve"
	if asAgent {
		name = "agent"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var ao agentOptions
	var linkClient *http.Client
	if asAgent {
		ao.labels = labelFlags{}
		fs.StringVar(&ao.controlPlane, "control-plane", "", "the control plane's URL (https://…); the agent dials out to it, nothing dials in")
		fs.StringVar(&ao.token, "token", "", "this agent's credential from weft agents create (env WEFT_AGENT_TOKEN, which keeps it out of process listings)")
		fs.StringVar(&ao.site, "site", "", "this agent's site (as created on the control plane)")
		fs.Var(ao.labels, "label", "a label of this site (key=value; repeat for more): placements select agents by labels")
		fs.StringVar(&ao.caFile, "ca-file", "", "the CA (PEM) the control plane's certificate must chain to, instead of the system's roots")
		fs.StringVar(&ao.clientCert, "client-cert", "", "a client certificate (PEM) for a control plane that requires mutual TLS")
		fs.StringVar(&ao.clientKey, "client-key", "", "its private key (PEM)")
		fs.BoolVar(&ao.shipPayloads, "ship-payloads", false, "ship the payloads of runs whose flow captures in full (capture: full) upstream, redacted here first (default: metadata only)")
		fs.DurationVar(&ao.telemetryEvery, "telemetry-every", 0, "how often the site's alerts and key figures go upstream to the control plane (default 10s)")
		fs.IntVar(&ao.backlogMax, "backlog-max", 0, "bound on finished runs not shipped upstream yet (default 100000): the alert agent-backlog warns at 80%, new runs are refused at the bound")
	}
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:8080)")
	dataDir := fs.String("data-dir", "", "data directory for the embedded SQLite store (env WEFT_DATA_DIR, default ./weft-data)")
	cfgPath := fs.String("config", "", "optional config file (YAML)")
	insecure := fs.Bool("insecure", false, "serve a non-loopback address without authentication (config insecure: true); logged loudly")
	conformance := fs.Bool("conformance-fixture", false, "mount /mcp/conformance, the MCP conformance suite's fixtures (testing only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, os.Environ())
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	if *addr != "" {
		cfg.Addr = *addr
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if asAgent {
		if err := ao.fromConfig(cfg.Agent); err != nil {
			return err
		}
		if ao.controlPlane == "" || ao.token == "" || ao.site == "" {
			return weft.Errorf(weft.EInvalid, "weft agent needs --control-plane URL, --token (or WEFT_AGENT_TOKEN) and --site NAME, or the config file's agent section (control_plane, site, token_file)")
		}
		if err := agent.CheckSite(ao.site); err != nil {
			return err
		}
		if err := agent.CheckLabels(ao.labels); err != nil {
			return err
		}
		cfg.site, cfg.labels = ao.site, ao.labels
		if linkClient, err = agentLinkClient(ao.caFile, ao.clientCert, ao.clientKey, cfg.egress); err != nil {
			return err
		}
	}
	cfg.Insecure = cfg.Insecure || *insecure
	cfg.MCP.ConformanceFixture = cfg.MCP.ConformanceFixture || *conformance
	// Who may reach it is settled before anything is opened.
	exposure := gateway.Exposure{Addr: cfg.Addr, APIToken: cfg.APIToken, MCPAuthMode: cfg.MCP.Auth.Mode, DebugAddr: cfg.DebugAddr,
		Conformance: cfg.MCP.ConformanceFixture, Insecure: cfg.Insecure, ClientCertRequired: cfg.TLS.MutualRequired(), SSO: cfg.OIDC != nil}
	warnings, err := gateway.CheckExposure(exposure)
	// Local users close the API as an api_token does, but whether any
	// exist is known only once the store is open: a start that only they
	// could make safe is decided again then.
	usersDecide := false
	if err != nil {
		withUsers := exposure
		withUsers.Users = true
		if _, uerr := gateway.CheckExposure(withUsers); uerr != nil {
			return err
		}
		// A SQLite store that does not exist yet has no users: refused
		// before anything is created.
		if cfg.DatabaseURL == "" {
			if _, serr := os.Stat(filepath.Join(cfg.DataDir, "weft.db")); serr != nil {
				return err
			}
		}
		usersDecide = true
	}
	if err := cfg.expandSelf(); err != nil { // ${self}: the final listen address
		return weft.Errorf(weft.EInvalid, "config: %v", err)
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	for _, w := range warnings {
		log.Warn(w)
	}
	// HTTPS: the certificate files are read now (a bad pair refuses to
	// start) and again when they change, or on SIGHUP.
	var tlsSrv *gateway.TLS
	if cfg.TLS.Enabled() {
		if tlsSrv, err = gateway.NewTLS(cfg.TLS, log); err != nil {
			return err
		}
	}
	if os.Getenv("GOGC") == "" {
		// Weft allocates per request in short bursts; trading some memory
		// for fewer collections buys about a tenth more throughput
		// (BENCHMARKS.md §1, §36: ~8 MiB of heap under the sync load).
		// GOGC overrides it; GOMEMLIMIT caps the heap whatever GOGC is.
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	metrics := monitor.NewMetrics()
	if cfg.egress != nil {
		cfg.egress.Log = log
		metrics.Register(cfg.egress.Collector())
		log.Info("egress policy enforced", "allow", strings.Join(cfg.Egress.Allow, ","))
	}
	var eng *engine.Engine // the alerter delivers through the engine, built next
	alerter := monitor.NewAlerter(cfg.Alerts.Rules, func(ctx context.Context, a monitor.Alert) error {
		return notifyAlert(ctx, eng, cfg.Alerts, a)
	}, log)
	if pc := cfg.Alerts.Predict; !pc.Disabled {
		params := monitor.DefaultPredictParams()
		if pc.Params != "" {
			if params, err = monitor.LoadPredictParams(pc.Params); err != nil {
				return weft.Errorf(weft.EInvalid, "alerts.predict.params: %v", err)
			}
		}
		pr := monitor.NewPredictor(params)
		for glob, ms := range pc.LatencyMS {
			if ms <= 0 {
				return weft.Errorf(weft.EInvalid, "alerts.predict.latency_ms[%q]: must be positive", glob)
			}
			pr.SetLatencyBound(glob, ms)
		}
		alerter.Predict(pr)
		metrics.Register(pr)
	}
	var tracer *monitor.Tracer
	if cfg.Traces.Endpoint != "" {
		// Off by default: nothing leaves the machine unless configured.
		var hc *http.Client
		if cfg.egress != nil {
			hc = cfg.egress.HTTPClient("traces", 10*time.Second)
		}
		t, err := monitor.NewOTLPTracer(ctx, cfg.Traces.Endpoint, cfg.Traces.Service, hc)
		if err != nil {
			return weft.Errorf(weft.EInvalid, "traces.endpoint: %v", err)
		}
		tracer = t
		defer func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = t.Shutdown(c)
		}()
		log.Info("traces", "otlp_endpoint", cfg.Traces.Endpoint)
	}
	st, eng, err := openCore(ctx, cfg, log, metrics, alerter, tracer)
	if err != nil {
		return err
	}
	metrics.Register(monitor.SlotLagCollector(func() []monitor.SlotLag {
		var out []monitor.SlotLag
		for _, c := range eng.CDCStatuses() {
			out = append(out, monitor.SlotLag{Flow: c.Flow, Slot: c.Slot, Bytes: c.LagBytes, Failing: c.Error != ""})
		}
		return out
	}))
	metrics.Register(monitor.QueueCollector(func() []monitor.QueueState {
		var out []monitor.QueueState
		for _, q := range eng.QueueStatuses() {
			out = append(out, monitor.QueueState{Flow: q.Flow, Kind: q.Kind, Waiting: q.Waiting, Failing: q.Error != ""})
		}
		return out
	}))
	defer st.Close()
	defer cfg.fed.Close() // stdio upstreams' child processes end with the server
	if usersDecide {
		// Refused now, before the queue, the deploys or the listener start,
		// unless a local user exists.
		if ids, ok := unwrapStore(eng.Store()).(store.Identities); ok {
			if exposure.Users, err = access.NewDirectory(ids).HasUsers(ctx); err != nil {
				return err
			}
		}
		if warnings, err = gateway.CheckExposure(exposure); err != nil {
			return err
		}
		for _, w := range warnings {
			log.Warn(w)
		}
		if exposure.Users {
			log.Info("local users exist: every API request needs a credential (a signed-in session or a token)", "addr", cfg.Addr)
		}
	}

	var workers = eng.Workers()
	work := eng.WorkJob
	if cfg.Queue.Disabled {
		workers, work = nil, nil
	}
	// The queue outlives the signal context: it is stopped explicitly below,
	// after running async work has been released.
	if err := st.StartQueue(context.WithoutCancel(ctx), workers, store.QueueConfig{Workers: cfg.Queue.Workers, JobTimeout: cfg.Queue.JobTimeout, RescueAfter: cfg.Queue.RescueAfter,
		WorkerID: cfg.workerID, DeadAfter: cfg.Queue.DeadAfter, Work: work}); err != nil {
		return err
	}
	if err := ensureNamespaces(ctx, st, cfg, log); err != nil {
		return err
	}
	if err := deployAtStart(ctx, eng, cfg.Deploy, log); err != nil {
		return err
	}
	bg, cancelBg := context.WithCancel(context.Background())
	defer cancelBg()
	go eng.RunRetention(bg, cfg.Retention, time.Hour)

	if cfg.DebugAddr != "" {
		go func() {
			mux := http.NewServeMux()
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			mux.Handle("/debug/pprof/allocs", pprof.Handler("allocs"))
			mux.Handle("/debug/pprof/heap", pprof.Handler("heap"))
			log.Info("debug server", "addr", cfg.DebugAddr)
			log.Warn("debug server stopped", "err", http.ListenAndServe(cfg.DebugAddr, mux))
		}()
	}
	gwCfg := gateway.Config{MaxBodyBytes: cfg.MaxBodyBytes, MaxImportBytes: cfg.MaxImport, Secret: cfg.secret, APIToken: cfg.APIToken, PublicURL: cfg.PublicURL, APIBasePath: cfg.APIBasePath, Console: web.Dist(), Federation: cfg.fed}
	if ids, ok := unwrapStore(eng.Store()).(store.Identities); ok {
		gwCfg.Directory = access.NewDirectory(ids) // local users, personal access tokens, service accounts
		if t := cfg.CredentialCacheTTL; t != nil {
			gwCfg.Directory.CacheTTL = *t
			if *t == 0 {
				gwCfg.Directory.CacheTTL = -1 // off
			}
		}
	}
	gwCfg.Keys = eng.Keys()
	if ps, ok := unwrapStore(eng.Store()).(store.Products); ok {
		gwCfg.Products = ps // API products (/apis, /api/products)
	}
	if ss, ok := unwrapStore(eng.Store()).(store.Sessions); ok {
		// Console sessions survive a restart and are shared by every
		// process on the same database.
		sessions := gateway.NewStoredSessions(ss, eng.Keys())
		gwCfg.Sessions = sessions
		go sessions.RunSweep(bg, 5*time.Minute) // expired rows go even when no one signs in
	}
	if len(cfg.APIJWTIssuers) > 0 {
		gwCfg.JWTIssuers = cfg.APIJWTIssuers
		if cfg.egress != nil {
			gwCfg.JWTClient = cfg.egress.HTTPClient("api_jwt_issuers jwks", 10*time.Second)
		}
	}
	if cfg.OIDC != nil {
		var hc *http.Client
		if cfg.egress != nil {
			hc = cfg.egress.HTTPClient("oidc "+cfg.OIDC.Issuer, 15*time.Second)
		}
		gwCfg.SSO = sso.New(*cfg.OIDC, hc)
		log.Info("single sign-on", "issuer", cfg.OIDC.Issuer, "client_id", cfg.OIDC.ClientID, "redirect_url", cfg.OIDC.RedirectURL)
	}
	if len(cfg.Sandboxes) > 0 {
		boxes, err := loadSandboxes(cfg.Sandboxes, "")
		if err != nil {
			return err
		}
		gwCfg.Sandbox = mountSandboxes(boxes)
		for _, b := range boxes {
			gwCfg.Sandboxes = append(gwCfg.Sandboxes, b.Name)
			log.Info("sandbox", "api", b.Name, "path", sandbox.Prefix(b.Name))
		}
	}
	mcpAuthCfg := cfg.MCP.Auth
	mcpAuthCfg.AdminToken = cfg.APIToken // the API token protects /mcp too
	mcpAuthCfg.Mode = mcpAuthMode(cfg)
	if gwCfg.Directory != nil {
		mcpAuthCfg.Directory = gwCfg.Directory // users' and service accounts' tokens, by their roles per namespace
	}
	if cfg.egress != nil {
		mcpAuthCfg.HTTPClient = cfg.egress.HTTPClient("mcp.auth jwks", 10*time.Second)
	}
	mcpAuth, err := mcp.NewAuth(st, mcpAuthCfg)
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	emb, composer, err := aiBackends(eng, cfg.AI, cfg.egress)
	if err != nil {
		return err
	}
	gwCfg.NL2Flow = composer
	mcpGw := mcp.New(eng, log, mcp.Config{Federation: cfg.fed, Toolsets: cfg.MCP.Toolsets, AllowedOrigins: cfg.MCP.AllowedOrigins, Policy: cfg.MCP.Policy, Version: version, Auth: mcpAuth,
		Search: mcpSearch(emb, composer), Composer: composer, Conformance: cfg.MCP.ConformanceFixture,
		MaxBodyBytes: cfg.MCP.MaxBodyBytes, MaxArgBytes: cfg.MCP.MaxArgBytes})
	gwCfg.MCPAuth = mcpAuth
	go mcpGw.Run(bg)
	// Alerts are kept in the store whatever raises them (rules, and
	// without rules a site's agent-backlog, a trigger's stream failing,
	// the sites' alerts on a control plane, agent-silent): a restart keeps
	// their history (an agent ships what fired during an outage after it)
	// and can resolve what was firing.
	if err := alerter.Persist(ctx, st); err != nil {
		log.Warn("alerts: loading stored alerts", "err", err)
	}
	if cfg.Alerts.Notify.Connection != "" || len(cfg.Alerts.Rules) > 0 {
		every := cfg.Alerts.Every
		if every <= 0 {
			every = 5 * time.Second
		}
		if cfg.DatabaseURL != "" {
			// Several processes may share this PostgreSQL store: judge
			// everyone's runs, and let one process notify.
			host, _ := os.Hostname()
			alerter.Shared(st, fmt.Sprintf("%s:%d", host, os.Getpid()))
		}
		go alerter.Run(bg, every)
	}
	if pr := alerter.Predictor(); pr != nil && cfg.Alerts.Predict.DLQBound > 0 {
		go sampleDLQ(bg, st, storageObserver(pr, cfg.predictKeep), cfg.Alerts.Predict.DLQBound, 10*time.Minute, log)
	}
	if pr := alerter.Predictor(); pr != nil && cfg.Alerts.Predict.DatabaseBound > 0 {
		if sz, ok := st.(store.DatabaseSizer); ok {
			go sampleDatabase(bg, sz, storageObserver(pr, cfg.predictKeep), cfg.Alerts.Predict.DatabaseBound, 10*time.Minute, log)
		}
	}
	if cfg.predictKeep != nil {
		// SQLite: keep the signals in the store (read back at start).
		go cfg.predictKeep.Persist(bg, 30*time.Second)
	}
	if feed := alerter.Feed(); feed != nil {
		// Shared store: read everyone's signals and runs, and evaluate.
		go feed.Run(bg, 5*time.Second)
	} else if pr := alerter.Predictor(); pr != nil && cfg.Alerts.Notify.Connection == "" && len(cfg.Alerts.Rules) == 0 {
		// No alert rules to run: keep the predictions current for
		// /api/predictions and /metrics all the same.
		go func() {
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-bg.Done():
					return
				case now := <-t.C:
					pr.Evaluate(now)
				}
			}
		}()
	}
	gwCfg.Alerts = alerter
	gwCfg.MCP = mcpGw
	if gwCfg.Mapper, err = mapper.NewServiceOn(ctx, st, emb, composer.Vectors); err != nil {
		return err
	}
	gwCfg.Mapper.Log = log
	go func() {
		// The stored reviews into the memory's vector index (Qdrant keeps
		// them; in process they are written again at every start).
		if err := gwCfg.Mapper.Sync(bg); err != nil {
			log.Warn("mapper review memory: the vector index failed; suggestions use its exact rules until it answers", "err", err)
		}
	}()
	if gwCfg.Mapper.Reranker, err = mapReranker(cfg.AI, cfg.egress); err != nil {
		return err
	}
	if gwCfg.Mapper.Reranker != nil {
		log.Info("mapper: a language model re-ranks the top candidates", "backend", gwCfg.Mapper.Reranker.Model.Name())
	}
	gwCfg.Metrics = metrics.Handler()
	gwCfg.AuditFailed = metrics.AuditFailed
	gwCfg.APICalls = metrics.ObserveAPICall
	if benchAuditLog != nil {
		gwCfg.Audit = benchAuditLog()
		log.Warn("BENCHMARK BUILD (weft_bench_noaudit): the API's audit entries are discarded; never run this in production")
	}
	if as, ok := unwrapStore(eng.Store()).(store.Agents); ok && !asAgent {
		// The control plane of a hybrid deployment: agents' link, their
		// health in /metrics, an alert when one goes silent.
		cp := agent.NewControlPlane(as, eng, log)
		if cfg.DatabaseURL != "" && cp.ShareCalls() {
			// Several processes may share this PostgreSQL store: an MCP
			// reach-in call reaching one of them runs through the one the
			// site's agent polls, through the database.
			log.Info("reach-in calls routed through the database (a control plane of many processes; LISTEN/NOTIFY wakes the process concerned)")
			go cp.RunShared(bg)
		}
		// A site's alerts (its agent's telemetry) are raised and resolved
		// here too, so the control plane's notifications cover every site.
		cp.OnSiteAlert = func(ctx context.Context, site string, a agent.SiteAlert, firing bool) {
			key := "site:" + site + "/" + a.Flow
			if firing {
				alerter.Raise(ctx, "site:"+a.Rule, key, a.Severity, "site "+site+": "+a.Message, nil)
			} else {
				alerter.Resolve(ctx, "site:"+a.Rule, key, "site "+site+": "+a.Message)
			}
		}
		gwCfg.Agents = cp
		metrics.Register(cp.Collector())
		go cp.RunRetention(bg, cfg.Retention, time.Hour) // shipped runs follow the runs' retention
		go cp.Watch(bg, 15*time.Second, func(ctx context.Context, site string, lastSeen time.Time) {
			alerter.Raise(ctx, "agent-silent", "agent:"+site, "critical", fmt.Sprintf("runtime agent of site %s silent since %s", site, lastSeen.UTC().Format(time.RFC3339)), nil)
		}, func(ctx context.Context, site string) {
			alerter.Resolve(ctx, "agent-silent", "agent:"+site, "runtime agent of site "+site+" linked again")
		})
	}
	gw := gateway.New(eng, log, gwCfg)
	srv := gateway.NewHTTPServer(gw, cfg.HTTP)
	if tlsSrv != nil {
		srv.TLSConfig = tlsSrv.Config()
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go func() {
			for {
				select {
				case <-hup:
					_ = tlsSrv.Reload() // logged; the previous certificate keeps serving on error
				case <-bg.Done():
					return
				}
			}
		}()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return weft.Errorf(weft.EUnavailable, "listen on %s: %v", cfg.Addr, err)
	}
	// Judge the address actually bound too ("localhost" may resolve to
	// anything).
	exposure.Addr = ln.Addr().String()
	if _, err := gateway.CheckExposure(exposure); err != nil {
		ln.Close()
		return err
	}
	// Pulled triggers start once the listener is up: polls of this
	// server's own sandboxes must find it answering.
	go eng.RunTriggers(bg, 500*time.Millisecond)
	if asAgent {
		link := &agent.Link{URL: ao.controlPlane, Token: ao.token, Site: ao.site, Version: version, Engine: eng, Client: linkClient, Log: log,
			StateDir:   cfg.DataDir, // run-log shipping's watermark
			BacklogMax: ao.backlogMax, ShipPayloads: ao.shipPayloads, OnBacklog: func(ctx context.Context, level agent.BacklogLevel, msg string) {
				// agent-backlog (warning) nears the bound; agent-backlog-full
				// (critical): at it, new runs refused.
				switch level {
				case agent.BacklogFull:
					alerter.Raise(ctx, "agent-backlog", "agent:"+ao.site, "warning", msg, nil)
					alerter.Raise(ctx, "agent-backlog-full", "agent:"+ao.site, "critical", msg, nil)
				case agent.BacklogWarn:
					alerter.Resolve(ctx, "agent-backlog-full", "agent:"+ao.site, msg)
					alerter.Raise(ctx, "agent-backlog", "agent:"+ao.site, "warning", msg, nil)
				default:
					alerter.Resolve(ctx, "agent-backlog-full", "agent:"+ao.site, msg)
					alerter.Resolve(ctx, "agent-backlog", "agent:"+ao.site, msg)
				}
			}}
		// The site's monitoring goes upstream in telemetry batches: its
		// latest alerts and key figures (never a payload).
		link.TelemetryEvery, link.Gatherer = ao.telemetryEvery, metrics.Gatherer()
		link.Alerts = func() []agent.SiteAlert {
			var out []agent.SiteAlert
			for _, a := range alerter.Alerts() {
				if len(out) == agent.MaxSiteAlerts {
					break
				}
				out = append(out, agent.SiteAlert{ID: a.ID, Rule: a.Rule, Flow: a.Flow, Severity: a.Severity, Status: a.Status, Message: a.Message,
					Value: a.Value, Runs: a.Runs, StartedAt: a.StartedAt, ResolvedAt: a.ResolvedAt})
			}
			return out
		}
		metrics.Register(link.Collector()) // the link's side on this agent's /metrics
		go func() {
			if err := link.Run(bg); err != nil {
				log.Error("agent link stopped", "err", err)
			}
		}()
		log.Info("agent linking to its control plane (outbound only)", "site", ao.site, "control_plane", ao.controlPlane, "labels", ao.labels.String())
	}
	dbDesc := "sqlite:" + filepath.Join(cfg.DataDir, "weft.db")
	if cfg.DatabaseURL != "" {
		dbDesc = "postgres"
	}
	transport := "http"
	if tlsSrv != nil {
		transport = "https"
		if cfg.TLS.MutualRequired() {
			transport = "https+mutual-tls"
		}
	}
	if len(warnings) > 0 {
		log.Warn("weft serving INSECURELY (--insecure; see the warnings above)", "addr", ln.Addr().String(), "transport", transport, "store", dbDesc, "version", version)
	} else {
		log.Info("weft serving", "addr", ln.Addr().String(), "transport", transport, "store", dbDesc, "version", version)
	}
	log.Info("console: " + consoleURL(cfg.PublicURL, ln.Addr().String(), tlsSrv != nil))
	if !cfg.KeepStartPages {
		trimStartPages(log)
	}
	errc := make(chan error, 1)
	go func() {
		if tlsSrv != nil {
			// Certificates come from srv.TLSConfig; nothing is served in
			// plain HTTP on this address (a plain request gets 400).
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests, releasing async work")
	// Async runs in progress snooze back to the queue at once (another
	// worker, or this one after restart, resumes them from their last
	// checkpoint); synchronous requests get the shutdown timeout to finish.
	eng.BeginShutdown()
	shCtx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	cancelBg()
	if err := eng.FlushToolLog(shCtx); err != nil {
		log.Warn("tool-call log", "err", err)
	}
	if err := st.StopQueue(shCtx); err != nil {
		log.Warn("queue shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// benchAuditLog replaces the API's audit log in a benchmark build
// (bench_noaudit.go, build tag weft_bench_noaudit); nil otherwise.
var benchAuditLog func() *access.Log

// consoleURL is where a browser opens the console: the public URL when
// one is set, else the address listened on (loopback for a wildcard).
func consoleURL(public, addr string, https bool) string {
	if public != "" {
		return strings.TrimRight(public, "/") + "/"
	}
	scheme := "http://"
	if https {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + addr + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return scheme + net.JoinHostPort(host, port) + "/"
}

// deployAtStart deploys the configured flow files whose source differs
// from the active version.
func deployAtStart(ctx context.Context, eng *engine.Engine, globs []string, log *slog.Logger) error {
	for _, g := range globs {
		files, err := filepath.Glob(g)
		if err != nil {
			return weft.Errorf(weft.EInvalid, "deploy glob %q: %v", g, err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			f, err := eng.Validate(file, src)
			if err != nil {
				return err
			}
			cur, err := eng.Store().GetFlow(ctx, f.Name, 0)
			if err == nil && string(cur.Source) == string(src) {
				continue
			}
			fv, _, err := eng.Deploy(ctx, file, src)
			if err != nil {
				return err
			}
			log.Info("flow deployed", "flow", f.Name, "version", fv.Version, "file", file)
			// Weft itself deploys what the config names: audited as system.
			if err := access.NewLog(eng.Store()).Record(access.WithPrincipal(ctx, access.Principal{Kind: access.KindSystem}),
				access.Entry{Action: access.ActionFlowDeploy, Resource: "flow:" + f.Name, Details: map[string]any{"version": fv.Version, "file": file, "by": "deploy at start"}}); err != nil {
				log.Error("audit log write failed: the action happened but its audit entry is only in this log line", "action", "flow.deploy", "resource", "flow:"+f.Name, "actor", "system", "err", err)
			}
		}
	}
	return nil
}

// builtinCatalog holds the connectors compiled into the binary.
func builtinCatalog() *connectors.Catalog { return egressCatalog(nil) }

// egressCatalog is the built-in catalog with every network connector
// dialling through pol (nil: no egress policy). Imported OpenAPI
// connectors call through http.request, so they follow it too.
func egressCatalog(pol *egress.Policy) *connectors.Catalog { return observedCatalog(pol, nil) }

// observedCatalog is egressCatalog with the http connector telling obs
// what it sees of upstreams' health (nil: nothing).
func observedCatalog(pol *egress.Policy, obs *httpconn.Observer) *connectors.Catalog {
	return connectors.NewCatalog(
		httpconn.New(httpconn.Options{Egress: pol, Observe: obs}),
		sqlconn.New(sqlconn.Postgres, sqlconn.Options{Egress: pol}),
		sqlconn.New(sqlconn.SQLite, sqlconn.Options{}),
		sqlconn.New(sqlconn.MySQL, sqlconn.Options{Egress: pol}),
		smtpconn.New(smtpconn.Options{Egress: pol}),
		filesconn.New(filesconn.Options{}),
		queueconn.NATS(queueconn.Options{Egress: pol}),
		queueconn.AMQP(queueconn.Options{Egress: pol}),
	)
}

// importAtStart imports the configured OpenAPI files whose content changed
// since they were last stored, each with its import_annotations applied
// (so a change to either imports it again).
func importAtStart(ctx context.Context, st store.Store, cat *connectors.Catalog, imports map[string]string, annotations map[string]map[string]map[string]bool, log *slog.Logger) error {
	if len(imports) == 0 {
		return nil
	}
	stored, err := st.ConnectorSpecs(ctx)
	if err != nil {
		return err
	}
	have := map[string]string{}
	for _, sp := range stored {
		have[sp.Name] = string(sp.Spec)
	}
	names := make([]string, 0, len(imports))
	for n := range imports {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		spec, err := os.ReadFile(imports[name])
		if err != nil {
			return weft.Errorf(weft.EInvalid, "imports.%s: %v", name, err)
		}
		if spec, _, err = bundleLocal(imports[name], spec); err != nil {
			return weft.Errorf(weft.EUnprocessable, "imports.%s: %v", name, err)
		}
		if spec, err = importer.Annotate(spec, annotations[name]); err != nil {
			return weft.Wrap(weft.EInvalid, err, "import_annotations.%s (%s): %v", name, imports[name], err)
		}
		if have[name] == string(spec) {
			continue
		}
		rep, err := importer.Register(cat, name, spec)
		if err != nil {
			return weft.Errorf(weft.EUnprocessable, "imports.%s (%s): %v", name, imports[name], err)
		}
		if err := st.SaveConnectorSpec(ctx, store.ConnectorSpec{Name: name, Kind: rep.Kind, Spec: spec}); err != nil {
			return err
		}
		log.Info("connector imported", "connector", name, "kind", rep.Kind, "file", imports[name], "operations", rep.Imported, "rejected", rep.Rejected)
	}
	return nil
}

// openCore opens the store and builds the catalog (built-in, imported and
// configured connectors and connections) and the engine: what serve and
// the stdio MCP server share. The caller closes the store.
func openCore(ctx context.Context, cfg *Config, log *slog.Logger, metrics *monitor.Metrics, alerter *monitor.Alerter, tracer *monitor.Tracer) (store.Store, *engine.Engine, error) {
	var st store.Store
	var err error
	if cfg.DatabaseURL != "" {
		st, err = postgres.Open(ctx, cfg.DatabaseURL, log, cfg.WriteLinger)
	} else {
		st, err = sqlite.OpenOptions(ctx, cfg.DataDir, log, sqlite.Options{Linger: cfg.WriteLinger, CacheBytes: cfg.SQLiteCache})
	}
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (store.Store, *engine.Engine, error) {
		st.Close()
		return nil, nil, err
	}

	obs := predictionObserver(alerter)
	if cfg.DatabaseURL != "" && alerter != nil && alerter.Predictor() != nil {
		// Several processes may share this PostgreSQL store: every one
		// forecasts from what all of them see of upstreams (and their runs).
		if feed, ok := monitor.NewPredictFeed(alerter.Predictor(), st, log); ok {
			alerter.PredictFed(feed)
			obs = &httpconn.Observer{RateLimit: func(conn string, at time.Time, rl httpconn.RateLimit) {
				feed.RateLimit(conn, at, monitor.RateLimit{Policy: rl.Policy, Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset, Window: rl.Window})
			},
				Expiry: func(conn, what string, at, notBefore, notAfter time.Time) {
					feed.Expiry("connection:"+conn, what, at, notBefore, notAfter)
				},
				Refresh: func(conn, what string, err error) { feed.Refresh("connection:"+conn, what, err) },
			}
		}
	}
	if cfg.DatabaseURL == "" && obs != nil {
		// One process on SQLite: it feeds its predictor itself, and keeps
		// what it sees of upstreams in the store too, so that a restart
		// forgets neither those nor the runs its trends are fitted on.
		if feed, ok := monitor.NewPredictFeed(alerter.Predictor(), st, log); ok {
			if err := feed.Restore(ctx, time.Now()); err != nil {
				log.Warn("prediction: reading back what was kept", "err", err)
			}
			cfg.predictKeep = feed
			obs = keptObserver(obs, feed)
		}
	}
	cat := observedCatalog(cfg.egress, obs)
	specs, err := st.ConnectorSpecs(ctx)
	if err != nil {
		return fail(err)
	}
	fed := mcpconn.NewFederation(cat, mcpconn.Options{Egress: cfg.egress, CallTimeout: cfg.MCP.Upstreams.CallTimeout, StartTimeout: cfg.MCP.Upstreams.StartTimeout,
		MaxResultBytes: cfg.MCP.Upstreams.MaxResultBytes, MaxRestarts: cfg.MCP.Upstreams.MaxRestarts, PassEnv: cfg.MCP.Upstreams.PassEnv, HealthInterval: cfg.MCP.Upstreams.HealthInterval, Log: log})
	fed.Commands = cfg.MCP.Upstreams.Commands
	cfg.fed = fed
	for _, sp := range specs {
		if sp.Kind == mcpconn.Kind {
			// An MCP upstream: its accepted tools, without dialling it (it
			// connects on first use).
			if err := fed.Load(sp.Name, sp.Spec); err != nil {
				log.Error("MCP connector no longer loads", "connector", sp.Name, "err", err)
			}
			continue
		}
		if _, err := importer.RegisterKind(cat, sp.Kind, sp.Name, sp.Spec); err != nil {
			log.Error("imported connector no longer loads", "connector", sp.Name, "err", err)
		}
	}
	if err := importAtStart(ctx, st, cat, cfg.Imports, cfg.ImportAnnotations, log); err != nil {
		return fail(err)
	}
	for _, c := range cfg.Connections {
		if err := cat.AddConnection(c); err != nil {
			return fail(weft.Errorf(weft.EInvalid, "%v", err))
		}
		if _, ok := cat.Connector(c.Connector); !ok {
			log.Warn("connection names a connector that is not installed yet (import it)", "connection", c.Name, "connector", c.Connector)
		}
	}
	keyFile := cfg.MasterKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "master.key")
	}
	keys, err := seal.Load(cfg.masterKey, keyFile)
	if err != nil {
		return fail(weft.Errorf(weft.EInvalid, "master key: %v", err))
	}
	// Payloads at rest (run inputs, step inputs and outputs, checkpoints,
	// error messages, DLQ inputs) are sealed with data keys wrapped by the
	// master key.
	payloads := seal.NewEnvelope(keys, st)
	if ps, ok := st.(interface{ SetPayloadSealer(store.PayloadSealer) }); ok {
		ps.SetPayloadSealer(payloads)
	}
	var engStore store.Store = st
	if metrics != nil {
		// Metrics are derived from what is written to the transaction log.
		engStore = monitor.Observed{Store: st, M: metrics, Alerter: alerter, Tracer: tracer}
	}
	if cfg.workerID == "" {
		cfg.workerID = sqlstore.NewWorkerID()
	}
	eng := engine.New(engStore, cat, log, engine.Config{DefaultCapture: cfg.Capture, SyncTimeout: cfg.SyncTimeout, Keys: keys, Payloads: payloads, WorkerID: cfg.workerID, Secret: cfg.secret,
		AuditRetention: cfg.Audit.Retention, Site: cfg.site, Labels: cfg.labels, Dialer: engineDialer(cfg.egress), OnCDC: func(ctx context.Context, t engine.CDCTrouble) {
			if alerter == nil {
				return
			}
			if t.Resolved {
				alerter.Resolve(ctx, "cdc-stream", t.Flow, t.Message)
			} else {
				alerter.Raise(ctx, "cdc-stream", t.Flow, "critical", t.Message, nil)
			}
		}, OnQueue: func(ctx context.Context, t engine.QueueTrouble) {
			if alerter == nil {
				return
			}
			if t.Resolved {
				alerter.Resolve(ctx, "queue-trigger", t.Flow, t.Message)
			} else {
				alerter.Raise(ctx, "queue-trigger", t.Flow, "critical", t.Message, nil)
			}
		}, OnLoop: func(ctx context.Context, l engine.Loop) {
			if alerter != nil {
				alerter.Raise(ctx, "feedback-loop", l.Flow, "critical", "loop protection: "+l.String(), []string{l.Run})
			}
		}})
	if err := eng.LoadConnections(ctx); err != nil {
		return fail(weft.Errorf(weft.EUnavailable, "stored connections: %v (is this the right master key? it comes from %s)", err, keys.Source()))
	}
	if err := eng.FinishRotation(ctx); err != nil {
		return fail(weft.Errorf(weft.EUnavailable, "%v (is this the right master key? it comes from %s)", err, keys.Source()))
	}
	// A refresh token an MCP upstream's authorization server rotated is
	// stored sealed in place of the old one.
	fed.SaveAuth = eng.SaveConnection

	return st, eng, nil
}

// embedder builds the configured embedder behind a content-hash cache
// (ai.NewEmbedder: builtin, or Ollama / OpenAI-compatible embeddings
// through langchaingo). Nothing dials out unless a model is configured.
func embedder(c AIConfig, pol *egress.Policy) (ai.Embedder, error) {
	ec := ai.EmbedConfig{Provider: c.Embedder, Model: c.EmbedModel, Token: c.llmKey}
	switch c.Embedder {
	case "", ai.ProviderBuiltin:
		return ai.NewEmbedder(ec)
	case ai.ProviderOllama:
		ec.URL = firstOf(c.EmbedURL, c.OllamaURL)
	case ai.ProviderOpenAI:
		ec.URL = firstOf(c.EmbedURL, c.LLMURL)
		if ec.URL == "" || ec.Model == "" {
			return nil, fmt.Errorf("ai.embedder openai needs ai.embed_url (or ai.llm_url; e.g. http://127.0.0.1:8000/v1) and ai.embed_model")
		}
	default:
		return nil, fmt.Errorf("ai.embedder must be builtin, ollama or openai, got %q", c.Embedder)
	}
	if pol != nil {
		ec.HTTP = pol.HTTPClient("ai embedder "+c.Embedder, 60*time.Second)
	}
	return ai.NewEmbedder(ec)
}

// llmConfig is the configured language model (ai.llm and its settings),
// the one description NL-to-flow and the mapper's re-ranker build their
// model from (ai.NewChat); ok is false when ai.llm is builtin or unset.
// who names the caller in the egress policy's log.
func llmConfig(c AIConfig, pol *egress.Policy, who string) (lc ai.LLMConfig, ok bool, err error) {
	switch c.LLM {
	case "", "builtin":
		return lc, false, nil
	case ai.ProviderOllama:
		lc = ai.LLMConfig{Provider: c.LLM, URL: firstOf(c.LLMURL, c.OllamaURL), Model: c.LLMModel}
	case ai.ProviderOpenAI:
		if c.LLMURL == "" || c.LLMModel == "" {
			return lc, false, fmt.Errorf("ai.llm openai needs ai.llm_url (e.g. http://127.0.0.1:8000/v1) and ai.llm_model")
		}
		lc = ai.LLMConfig{Provider: c.LLM, URL: c.LLMURL, Model: c.LLMModel, Token: c.llmKey}
	default:
		return lc, false, fmt.Errorf("ai.llm must be builtin, ollama or openai, got %q", c.LLM)
	}
	if pol != nil {
		lc.HTTP = pol.HTTPClient("ai llm "+c.LLM+who, 0) // calls are bounded by their context
	}
	return lc, true, nil
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// vectorIndex is the configured vector index: Qdrant when ai.qdrant_url
// (WEFT_QDRANT_URL) is set, its dials under the egress policy; nil
// otherwise (each search keeps its vectors in process).
func vectorIndex(c AIConfig, pol *egress.Policy) (ai.VectorIndex, error) {
	if c.QdrantURL == "" {
		return nil, nil
	}
	var opts []grpc.DialOption
	if pol != nil {
		dial := pol.Dialer("ai qdrant", nil)
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return dial(ctx, "tcp", addr) }))
	}
	return ai.NewQdrant(c.QdrantURL, opts...)
}

// mcpSearch is search_tools' search: the configured embedder and vector
// index (which aiBackends put on the compiler).
func mcpSearch(emb ai.Embedder, composer *nl2flow.Compiler) search.Options {
	return search.Options{Embedder: emb, Vectors: composer.Vectors}
}

// aiBackends builds the configured embedder and the NL-to-flow compiler;
// the compiler's Vectors is the configured vector index (nil: in process),
// which the catalog's search, search_tools and the mapper share.
func aiBackends(eng *engine.Engine, c AIConfig, pol *egress.Policy) (ai.Embedder, *nl2flow.Compiler, error) {
	emb, err := embedder(c, pol)
	if err != nil {
		return nil, nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	vec, err := vectorIndex(c, pol)
	if err != nil {
		return nil, nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	composer, err := newComposer(eng, c, emb, pol)
	if err != nil {
		return nil, nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	composer.Vectors = vec
	if eng != nil {
		eng.Catalog().UseSearch(search.Options{Embedder: emb, Vectors: vec})
	}
	return emb, composer, nil
}

// newComposer builds the NL-to-flow compiler over the live catalog, with
// the configured language model (none by default: the builtin compiler).
func newComposer(eng *engine.Engine, c AIConfig, emb ai.Embedder, pol *egress.Policy) (*nl2flow.Compiler, error) {
	comp := &nl2flow.Compiler{Embedder: emb, Catalog: func() *nl2flow.Catalog { return nl2flow.FromConnectors(eng.Catalog()) }}
	lc, ok, err := llmConfig(c, pol, "")
	if err != nil || !ok {
		return comp, err
	}
	lc.Format = nl2flow.DraftFormat()
	if comp.LLM, err = ai.NewChat(lc); err != nil {
		return nil, err
	}
	return comp, nil
}

// notifyAlert delivers an alert through the configured connection and
// operation (a webhook by default), with the alert as the body.
func notifyAlert(ctx context.Context, eng *engine.Engine, c AlertsConfig, a monitor.Alert) error {
	if c.Notify.Connection == "" || eng == nil {
		return nil
	}
	op := c.Notify.Operation
	if op == "" {
		op = "http.request"
	}
	repl := strings.NewReplacer("{{status}}", a.Status, "{{flow}}", a.Flow, "{{message}}", a.Message, "{{severity}}", a.Severity, "{{rule}}", a.Rule)
	in := map[string]any{}
	for k, v := range c.Notify.Input {
		if s, ok := v.(string); ok {
			v = repl.Replace(s)
		}
		in[k] = v
	}
	if op == "http.request" {
		if _, ok := in["method"]; !ok {
			in["method"] = "POST"
		}
		if _, ok := in["body"]; !ok {
			in["body"] = a
		}
	}
	_, err := eng.CallOperation(ctx, engine.ToolCall{Toolset: "alerts", Tool: "alert", Caller: "monitor", Connection: c.Notify.Connection, Operation: op, Input: in})
	return err
}

// mcpAuthMode: with single sign-on configured, "auto" means API keys: the
// server is not a fresh loopback install, and it may listen beyond loopback
// without an api_token (sign-in protects /api), so /mcp must not be open
// until the first MCP key exists.
func mcpAuthMode(cfg *Config) string {
	m := cfg.MCP.Auth.Mode
	if cfg.OIDC != nil && cfg.APIToken == "" && (m == "" || m == mcp.AuthAuto) {
		return mcp.AuthKeys
	}
	return m
}

// unwrapStore peels wrappers (monitor.Observed) off the engine's store, so
// its optional interfaces (store.Identities) are found.
func unwrapStore(st store.Store) store.Store {
	for {
		u, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			return st
		}
		st = u.Unwrap()
	}
}

// engineDialer gives the engine's own connections (a cdc trigger's) the
// egress policy's dialer; nil without a policy.
func engineDialer(pol *egress.Policy) func(who string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if pol == nil {
		return nil
	}
	return func(who string) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return pol.Dialer(who, &net.Dialer{KeepAlive: 5 * time.Minute})
	}
}

// predictionObserver feeds what the http connector sees of upstreams
// (rate-limit headroom, token and certificate expiry, refresh failures)
// to the alerter's predictor; nil when prediction is off.
func predictionObserver(a *monitor.Alerter) *httpconn.Observer {
	if a == nil {
		return nil
	}
	pr := a.Predictor()
	if pr == nil {
		return nil
	}
	return &httpconn.Observer{
		RateLimit: func(conn string, at time.Time, rl httpconn.RateLimit) {
			pr.ObserveRateLimit(conn, at, monitor.RateLimit{Policy: rl.Policy, Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset, Window: rl.Window})
		},
		Expiry: func(conn, what string, at, notBefore, notAfter time.Time) {
			pr.ObserveExpiry("connection:"+conn, what, at, notBefore, notAfter)
		},
		Refresh: func(conn, what string, err error) { pr.ObserveRefresh("connection:"+conn, what, err) },
	}
}

// keptObserver tells both obs (the predictor) and feed (kept in the
// store) what the http connector sees of upstreams.
func keptObserver(obs *httpconn.Observer, feed *monitor.PredictFeed) *httpconn.Observer {
	return &httpconn.Observer{
		RateLimit: func(conn string, at time.Time, rl httpconn.RateLimit) {
			obs.RateLimit(conn, at, rl)
			feed.RateLimit(conn, at, monitor.RateLimit{Policy: rl.Policy, Limit: rl.Limit, Remaining: rl.Remaining, Reset: rl.Reset, Window: rl.Window})
		},
		Expiry: func(conn, what string, at, notBefore, notAfter time.Time) {
			obs.Expiry(conn, what, at, notBefore, notAfter)
			feed.Expiry("connection:"+conn, what, at, notBefore, notAfter)
		},
		Refresh: func(conn, what string, err error) {
			obs.Refresh(conn, what, err)
			feed.Refresh("connection:"+conn, what, err)
		},
	}
}

// storageObserver tells pr a sampled size and, on SQLite (keep: the
// store that keeps the prediction signals), keeps it in the store too,
// read back at the next start.
func storageObserver(pr *monitor.Predictor, keep *monitor.PredictFeed) func(name string, at time.Time, size, bound float64) {
	return func(name string, at time.Time, size, bound float64) {
		pr.ObserveStorage(name, at, size, bound)
		if keep != nil {
			keep.Storage(name, at, size, bound)
		}
	}
}

// sampleDatabase feeds the database's size (bytes) to the predictor every
// interval, against bound (storage kind, subject store:database).
func sampleDatabase(ctx context.Context, sz store.DatabaseSizer, observe func(name string, at time.Time, size, bound float64), bound int64, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := sz.DatabaseSize(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("prediction: database size", "err", err)
		} else {
			observe("database", time.Now(), float64(n), float64(bound))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleDLQ feeds the dead-letter queue's size (dead runs) to the
// predictor every interval, against bound.
func sampleDLQ(ctx context.Context, st store.Store, observe func(name string, at time.Time, size, bound float64), bound int64, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		counts, err := st.CountRuns(ctx, "")
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("prediction: counting dead runs", "err", err)
		} else {
			observe("dlq", time.Now(), float64(counts[store.RunDead]), float64(bound))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// trimStartPages gives back the executable's pages only start-up needed
// (internal/resident): with everything started, most of the binary that
// package initialisers and start-up touched is resident although serving
// uses a few MiB of it (BENCHMARKS.md §55, §56, §60). The cached copies
// nothing maps any longer are dropped too, so what serving touches comes
// back page by page, not in the large folios start-up read.
func trimStartPages(log *slog.Logger) {
	rep, err := resident.TrimExecutable()
	if err != nil {
		log.Debug("start-up pages kept", "err", err)
		return
	}
	log.Debug("start-up pages given back", "executable_resident_mib", float64(rep.BeforeBytes)/(1<<20), "given_back_mib", float64(rep.TrimmedBytes)/(1<<20), "cache_dropped", rep.CacheDropped)
}
