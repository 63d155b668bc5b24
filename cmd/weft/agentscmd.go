package main

// weft agents (the control plane's admin of runtime agents) and weft agent
// (a runtime agent: weft serve on a site, linked to a control plane).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/agent"
	"github.com/weftio/weft/internal/egress"
)

const agentsUsage = "weft agents create SITE [--label k=v]... | list | show SITE | rotate SITE | revoke SITE"

// labelFlags collects repeated --label k=v.
type labelFlags map[string]string

func (l labelFlags) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k+"="+l[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (l labelFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q: use key=value", v)
	}
	if _, dup := l[k]; dup {
		return fmt.Errorf("label %q given twice", k)
	}
	l[k] = val
	return nil
}

// agentsCmd manages the runtime agents of a hybrid deployment on the
// control plane.
func agentsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "%s", agentsUsage)
	}
	fs, srv, asJSON := newFlagSet("agents " + args[0])
	labels := labelFlags{}
	fs.Var(labels, "label", "a label of the site (key=value; repeat for more): flows select agents by labels")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*srv, *asJSON, stdout)
	one := func() (string, error) {
		if len(pos) != 1 {
			return "", weft.Errorf(weft.EInvalid, "%s", agentsUsage)
		}
		return url.PathEscape(pos[0]), nil
	}
	switch args[0] {
	case "list":
		return c.listRows("/api/agents", "agents", agentRow, col{"SITE", "site"}, col{"STATUS", "status"}, col{"LAST SEEN", "last_seen"},
			col{"VERSION", "version"}, col{"RUNNING", "running_list"}, col{"PLACED", "placed_list"}, col{"BACKLOG", "backlog_text"}, col{"SITE ALERTS", "alerts_text"}, col{"LABELS", "label_list"})
	case "show":
		site, err := one()
		if err != nil {
			return err
		}
		var res map[string]any
		if err := c.do("GET", "/api/agents/"+site, nil, &res); err != nil {
			return err
		}
		c.printJSON(res)
		return nil
	case "create":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "%s", agentsUsage)
		}
		body, _ := json.Marshal(map[string]any{"site": pos[0], "labels": map[string]string(labels)})
		var res map[string]any
		if err := c.do("POST", "/api/agents", body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "agent for site %s created. Its token (shown once; only its hash is kept):\n\n  %s\n\nOn the site: WEFT_AGENT_TOKEN=<token> weft agent --control-plane %s --site %s --data-dir ./weft-agent\n",
			pos[0], str(res["token"]), c.base, pos[0])
		return nil
	case "rotate":
		site, err := one()
		if err != nil {
			return err
		}
		var res map[string]any
		if err := c.do("POST", "/api/agents/"+site+"/rotate", nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "new token for site %s (the old one stopped working; shown once):\n\n  %s\n", pos[0], str(res["token"]))
		return nil
	case "revoke":
		site, err := one()
		if err != nil {
			return err
		}
		var res map[string]any
		if err := c.do("DELETE", "/api/agents/"+site, nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "agent of site %s revoked: the control plane refuses its link from now on\n", pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "%s", agentsUsage)
}

// agentRow adds the table's derived cells to an agent.
func agentRow(m map[string]any) {
	switch {
	case m["revoked_at"] != nil:
		m["status"] = "revoked"
	case m["connected"] == true && m["in_sync"] == true:
		m["status"] = "connected"
	case m["connected"] == true:
		m["status"] = "connected (rolling out)"
	case m["last_seen"] == nil:
		m["status"] = "never connected"
	default:
		m["status"] = "disconnected"
	}
	refs := func(field string) string {
		var parts []string
		for _, r := range anyList(m[field]) {
			if rm, ok := r.(map[string]any); ok {
				parts = append(parts, fmt.Sprintf("%s@%s", str(rm["flow"]), str(rm["version"])))
			}
		}
		sort.Strings(parts)
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, ",")
	}
	m["running_list"], m["placed_list"] = refs("running"), refs("placed")
	// The run-log backlog against its bound (the agent's report).
	m["backlog_text"] = "-"
	if h, ok := m["health"].(map[string]any); ok && h["backlog_max"] != nil {
		m["backlog_text"] = fmt.Sprintf("%s/%s", str(h["backlog"]), str(h["backlog_max"]))
		if lvl := str(h["backlog_level"]); lvl != "" && lvl != "ok" {
			m["backlog_text"] = m["backlog_text"].(string) + " " + lvl
		}
	}
	// The alerts firing on the site (its telemetry): severity and rule.
	m["alerts_text"] = "-"
	if tm, ok := m["telemetry"].(map[string]any); ok {
		var firing []string
		for _, a := range anyList(tm["alerts"]) {
			if am, ok := a.(map[string]any); ok && am["status"] == "firing" {
				firing = append(firing, str(am["severity"])+":"+str(am["rule"]))
			}
		}
		sort.Strings(firing)
		m["alerts_text"] = "none"
		if len(firing) > 0 {
			m["alerts_text"] = strings.Join(firing, ",")
		}
	}
	var ls []string
	if lm, ok := m["labels"].(map[string]any); ok {
		for k, v := range lm {
			ls = append(ls, k+"="+str(v))
		}
	}
	sort.Strings(ls)
	m["label_list"] = strings.Join(ls, ",")
}

// agentOptions are weft agent's own flags.
type agentOptions struct {
	controlPlane, token, site, caFile string
	clientCert, clientKey             string
	labels                            labelFlags
	backlogMax                        int
	shipPayloads                      bool
	telemetryEvery                    time.Duration
}

// agentLinkClient is the link's HTTP client: the egress policy's dialer
// when one is set (the control plane must be allowed), and the control
// plane's CA only when caFile is given (its certificate is then pinned to
// that CA instead of the system's roots).
func agentLinkClient(caFile, certFile, keyFile string, pol *egress.Policy) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // dial out directly, or through the policy
	t.ForceAttemptHTTP2 = true
	t.ResponseHeaderTimeout = agent.MaxHold + 15*time.Second
	if pol != nil {
		dial := pol.Dialer("agent link", &net.Dialer{Timeout: 10 * time.Second})
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) }
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "--ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, weft.Errorf(weft.EInvalid, "--ca-file %s: no PEM certificate in it", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, weft.Errorf(weft.EInvalid, "--client-cert and --client-key go together")
	}
	if certFile != "" {
		// A control plane that requires mutual TLS.
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "--client-cert/--client-key: %v", err)
		}
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: t}, nil
}

// fromConfig fills what no flag gave from the config file's agent section;
// the token comes from --token, else WEFT_AGENT_TOKEN, else token_file.
func (ao *agentOptions) fromConfig(c AgentConfig) error {
	or := func(flag *string, conf string) {
		if *flag == "" {
			*flag = conf
		}
	}
	or(&ao.controlPlane, c.ControlPlane)
	or(&ao.site, c.Site)
	or(&ao.caFile, c.CAFile)
	or(&ao.clientCert, c.ClientCert)
	or(&ao.clientKey, c.ClientKey)
	ao.shipPayloads = ao.shipPayloads || c.ShipPayloads
	if ao.backlogMax == 0 {
		ao.backlogMax = c.BacklogMax
	}
	if ao.backlogMax < 0 || ao.backlogMax > 100_000_000 {
		return weft.Errorf(weft.EInvalid, "agent backlog_max %d: use 1 to 100000000 (0: the default, 100000)", ao.backlogMax)
	}
	if ao.telemetryEvery == 0 {
		ao.telemetryEvery = c.TelemetryEvery
	}
	if ao.telemetryEvery != 0 && (ao.telemetryEvery < time.Second || ao.telemetryEvery > time.Hour) {
		return weft.Errorf(weft.EInvalid, "agent telemetry_every %v: use 1s to 1h (default 10s)", ao.telemetryEvery)
	}
	if len(ao.labels) == 0 {
		for k, v := range c.Labels {
			ao.labels[k] = v
		}
	}
	if ao.token == "" {
		ao.token = os.Getenv("WEFT_AGENT_TOKEN")
	}
	if ao.token == "" && c.TokenFile != "" {
		fi, err := os.Stat(c.TokenFile)
		if err != nil {
			return weft.Errorf(weft.EInvalid, "agent.token_file: %v", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return weft.Errorf(weft.EInvalid, "agent.token_file %s is readable by others (mode %v): chmod 600 it", c.TokenFile, fi.Mode().Perm())
		}
		if fi.Size() > 4096 {
			return weft.Errorf(weft.EInvalid, "agent.token_file %s: not a token (%d bytes)", c.TokenFile, fi.Size())
		}
		data, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return weft.Errorf(weft.EInvalid, "agent.token_file: %v", err)
		}
		ao.token = strings.TrimSpace(string(data))
	}
	return nil
}
