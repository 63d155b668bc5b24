package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/connectors/mcpconn"
	"github.com/weftio/weft/connectors/soap"
	"github.com/weftio/weft/internal/bounded"
)

func connectorCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft connector: want import, add-mcp, refresh, remove, list, search or show")
	}
	fs, server, asJSON := newFlagSet("connector " + args[0])
	name := fs.String("name", "", "connector name (import)")
	annotations := fs.String("annotations", "", "import: a YAML or JSON file of hint overrides, {operationId or \"METHOD /path\": {read_only, destructive, idempotent, open_world}}")
	mcpURL := fs.String("url", "", "add-mcp: the MCP server's Streamable HTTP endpoint")
	mcpCommand := fs.String("command", "", "add-mcp: \"CMD ARGS\" of a stdio MCP server (run by the Weft server; allowed programs: mcp.upstreams.commands)")
	mcpToken := fs.String("token", "", "add-mcp: bearer token sent to the URL's origin only (prefer --token-file: a command line is visible to other users)")
	mcpTokenFile := fs.String("token-file", "", "add-mcp: a file holding the bearer token ('-': standard input)")
	mcpAuthFile := fs.String("auth-file", "", "add-mcp: a YAML file of the connection's auth block (type: oauth2_client_credentials with token_url, client_id, client_secret, scopes; oauth2_refresh_token; bearer)")
	allowPrivate := fs.Bool("allow-private", false, "add-mcp: allow a URL on a private or loopback address")
	namespace := fs.String("namespace", "", "add-mcp: the namespace of the connection (default: default)")
	oauth := fs.Bool("oauth", false, "add-mcp: authorize with OAuth 2.1 here first (discovered from the upstream's 401: authorization code with PKCE in a browser, redirected to 127.0.0.1; the server keeps the refresh token sealed)")
	oauthGrant := fs.String("oauth-grant", mcpconn.GrantAuthorizationCode, "add-mcp --oauth: authorization_code or client_credentials (where the authorization server allows it)")
	clientID := fs.String("client-id", "", "add-mcp --oauth: a client registered beforehand (default: dynamic client registration)")
	clientSecretFile := fs.String("client-secret-file", "", "add-mcp --oauth: a file holding that client's secret ('-': standard input)")
	oauthScopes := fs.String("scopes", "", "add-mcp --oauth: scopes to ask for, space- or comma-separated (default: those the upstream names)")
	redirectPort := fs.Int("redirect-port", 0, "add-mcp --oauth: the loopback port of the redirect (default: a free one)")
	accept := fs.Bool("accept", false, "refresh: make the listed tools the accepted schemas")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	switch args[0] {
	case "import":
		if len(pos) != 1 || *name == "" {
			return weft.Errorf(weft.EInvalid, "weft connector import SPEC --name NAME [--annotations FILE] (SPEC: a file or an http(s) URL)")
		}
		spec, err := readSpec(pos[0])
		if err != nil {
			return err
		}
		// A WSDL takes the schemas beside it along (the server never fetches).
		spec, notes, err := bundleLocal(pos[0], spec)
		if err != nil {
			return err
		}
		for _, n := range notes {
			fmt.Fprintf(stdout, "not bundled: %s\n", n)
		}
		if *annotations != "" {
			overrides, err := readAnnotations(*annotations)
			if err != nil {
				return err
			}
			if spec, err = importer.Annotate(spec, overrides); err != nil {
				return weft.Wrap(specErrCode(err), err, "--annotations %s: %v", *annotations, err)
			}
		}
		var res struct {
			Name   string         `json:"name"`
			Report map[string]any `json:"report"`
		}
		if err := c.do("POST", "/api/connectors/import?name="+url.QueryEscape(*name), spec, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		rep := res.Report
		fmt.Fprintf(stdout, "imported %s from %s (%s): %s operations, %d rejected, %v\n", res.Name, str(rep["source_kind"]), strings.TrimSpace(str(rep["title"])+" "+str(rep["version"])),
			str(rep["imported"]), len(anyList(rep["rejected"])), time.Duration(num(rep["duration"])))
		for _, w := range anyList(rep["warnings"]) {
			fmt.Fprintf(stdout, "  warning: %s\n", str(w))
		}
		if auth, ok := rep["auth"].(map[string]any); ok {
			for scheme, a := range auth {
				j, _ := json.Marshal(a)
				fmt.Fprintf(stdout, "  security scheme %s: give the connection auth: %s (plus its secret)\n", scheme, j)
			}
		}
		if found, ok := rep["found"]; ok {
			fmt.Fprintf(stdout, "  %s operations found, bindings: %s\n", str(found), strings.Join(strList(rep["bindings"]), ", "))
		}
		for _, r := range anyList(rep["rejected"]) {
			m, _ := r.(map[string]any)
			fmt.Fprintf(stdout, "  rejected %s: %s\n", str(m["operation"]), str(m["reason"]))
		}
		for _, r := range anyList(rep["skipped"]) { // OData: verbs the service declares unsupported
			m, _ := r.(map[string]any)
			fmt.Fprintf(stdout, "  skipped %s: %s\n", str(m["operation"]), str(m["reason"]))
		}
		for _, w := range anyList(rep["warnings"]) {
			fmt.Fprintf(stdout, "  warning: %s\n", str(w))
		}
		return nil
	case "add-mcp":
		if len(pos) != 1 || (*mcpURL == "") == (*mcpCommand == "") {
			return weft.Errorf(weft.EInvalid, "weft connector add-mcp NAME (--url URL [--token-file F | --token T | --auth-file F | --oauth [--oauth-grant G] [--client-id ID --client-secret-file F] [--scopes S]] [--allow-private] | --command \"CMD ARGS\") [--namespace NS]")
		}
		tok := *mcpToken
		if *mcpTokenFile != "" {
			data, err := readSecretFile(*mcpTokenFile)
			if err != nil {
				return weft.Errorf(weft.EInvalid, "--token-file: %v", err)
			}
			tok = data
		}
		var oauthAuth *connectors.Auth
		if *oauth {
			if *mcpURL == "" || tok != "" || *mcpAuthFile != "" {
				return weft.Errorf(weft.EInvalid, "--oauth: with --url, instead of --token, --token-file or --auth-file")
			}
			p := mcpconn.OAuthParams{URL: *mcpURL, Grant: *oauthGrant, ClientID: *clientID, RedirectPort: *redirectPort, Open: openBrowser}
			if *clientSecretFile != "" {
				data, err := readSecretFile(*clientSecretFile)
				if err != nil {
					return weft.Errorf(weft.EInvalid, "--client-secret-file: %v", err)
				}
				p.ClientSecret = data
			}
			p.Scopes = strings.FieldsFunc(*oauthScopes, func(r rune) bool { return r == ' ' || r == ',' })
			if *allowPrivate {
				p.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}, Timeout: 30 * time.Second}
			}
			res, err := mcpconn.Authorize(context.Background(), p)
			if err != nil {
				return weft.Errorf(weft.EUnprocessable, "--oauth: %v", err)
			}
			if res.Warning != "" {
				fmt.Fprintf(os.Stderr, "warning: %s\n", res.Warning)
			}
			oauthAuth = res.Auth
		}
		req := map[string]any{"name": pos[0], "url": *mcpURL, "command": *mcpCommand, "token": tok, "allow_private": *allowPrivate, "namespace": *namespace}
		if *mcpAuthFile != "" {
			data, err := readLocalFile(*mcpAuthFile)
			if err != nil {
				return err
			}
			var auth map[string]any
			if err := bounded.UnmarshalYAMLStrict(*mcpAuthFile, data, &auth, annotationLimits); err != nil {
				return err
			}
			req["auth"] = auth
		}
		if oauthAuth != nil {
			req["auth"] = authBody(oauthAuth)
		}
		body, _ := json.Marshal(req)
		var res struct {
			Name       string         `json:"name"`
			MCP        map[string]any `json:"mcp"`
			Operations []string       `json:"operations"`
		}
		if err := c.do("POST", "/api/connectors/mcp", body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "added MCP connector %s (%s, %s): %d tools as operations, and connection %s (MCP gateway tools %s__*)\n", res.Name, str(res.MCP["server"]), str(res.MCP["transport"]), len(res.Operations), res.Name, res.Name)
		for _, op := range res.Operations {
			fmt.Fprintf(stdout, "  %s.%s\n", res.Name, op)
		}
		return nil
	case "refresh":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft connector refresh NAME [--accept]")
		}
		q := ""
		if *accept {
			q = "?accept=true"
		}
		var res struct {
			Drift    []map[string]any `json:"drift"`
			Affected []string         `json:"affected_flows"`
			Accepted bool             `json:"accepted"`
		}
		if err := c.do("POST", "/api/connectors/"+url.PathEscape(pos[0])+"/refresh"+q, nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		if len(res.Drift) == 0 {
			fmt.Fprintf(stdout, "%s: no incompatible change since the tools were accepted\n", pos[0])
		}
		for _, d := range res.Drift {
			fmt.Fprintf(stdout, "drift: %s\n", str(d["detail"]))
		}
		if len(res.Affected) > 0 {
			fmt.Fprintf(stdout, "deployed flows calling a drifted tool: %s\n", strings.Join(res.Affected, ", "))
		}
		if res.Accepted {
			fmt.Fprintf(stdout, "the listed tools are now the accepted schemas\n")
		} else if len(res.Drift) > 0 {
			fmt.Fprintf(stdout, "check the flows, then: weft connector refresh %s --accept\n", pos[0])
		}
		return nil
	case "remove", "delete", "rm":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft connector remove NAME (an MCP connector)")
		}
		if err := c.do("DELETE", "/api/connectors/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "connector %s removed, with its connection %s\n", pos[0], pos[0])
		return nil
	case "list":
		return c.list("/api/connectors", "connectors", col{"NAME", "name"}, col{"OPERATIONS", "operations"}, col{"VERSION", "version"}, col{"TITLE", "title"})
	case "search":
		if len(pos) == 0 {
			return weft.Errorf(weft.EInvalid, "weft connector search WORDS...")
		}
		var res struct {
			Hits []map[string]any `json:"hits"`
		}
		if err := c.do("GET", "/api/connectors/search?q="+url.QueryEscape(strings.Join(pos, " ")), nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		for _, h := range res.Hits {
			fmt.Fprintf(tw, "%s\t%.2f\t%s\n", str(h["operation"]), num(h["score"]), str(h["description"]))
		}
		return tw.Flush()
	case "show":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft connector show NAME")
		}
		var res struct {
			Name       string           `json:"name"`
			Title      string           `json:"title"`
			Operations []map[string]any `json:"operations"`
			MCP        map[string]any   `json:"mcp,omitempty"`
			Affected   []string         `json:"affected_flows,omitempty"`
		}
		if err := c.do("GET", "/api/connectors/"+url.PathEscape(pos[0]), nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "%s: %s (%d operations)\n", res.Name, res.Title, len(res.Operations))
		if m := res.MCP; m != nil {
			st, _ := m["status"].(map[string]any)
			fmt.Fprintf(stdout, "  MCP upstream over %s: %s; restarts %v", str(m["transport"]), str(st["state"]), st["restarts"])
			if e := str(st["last_error"]); e != "" {
				fmt.Fprintf(stdout, "; last error: %s", e)
			}
			fmt.Fprintln(stdout)
			for _, d := range anyList(st["drift"]) {
				dm, _ := d.(map[string]any)
				fmt.Fprintf(stdout, "  drift: %s\n", str(dm["detail"]))
			}
			if len(res.Affected) > 0 {
				fmt.Fprintf(stdout, "  deployed flows calling a drifted tool: %s\n", strings.Join(res.Affected, ", "))
			}
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		for _, o := range res.Operations {
			fmt.Fprintf(tw, "  %s.%s\t%s\n", res.Name, str(o["name"]), str(o["description"]))
		}
		return tw.Flush()
	}
	return weft.Errorf(weft.EInvalid, "weft connector: unknown verb %q", args[0])
}

// readSpec reads a spec from a file or an http(s) URL (the CLI fetches it;
// the server never dials out to import).
func readSpec(src string) ([]byte, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		resp, err := (&http.Client{Timeout: 60 * time.Second}).Get(src)
		if err != nil {
			return nil, weft.Errorf(weft.EUnavailable, "fetch %s: %v", src, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, weft.Errorf(weft.EUnavailable, "fetch %s: %s", src, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	return data, nil
}

// specErrCode is err's code, invalid for an error without one (the spec's
// own, from its decoder).
func specErrCode(err error) string {
	if c := weft.Code(err); c != weft.EInternal {
		return c
	}
	return weft.EInvalid
}

// annotationLimits bound an annotations file.
var annotationLimits = bounded.Limits{MaxBytes: 1 << 20}

// readAnnotations reads a file of per-operation hint overrides for
// openapi.Annotate: {operationId or "METHOD /path": {hint: bool}}.
func readAnnotations(path string) (map[string]map[string]bool, error) {
	data, err := readLocalFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]map[string]bool
	if err := bounded.UnmarshalYAMLStrict(path, data, &m, annotationLimits); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, weft.Errorf(weft.EInvalid, "%s: no annotations (want {operationId or \"METHOD /path\": {read_only, destructive, idempotent, open_world}})", path)
	}
	return m, nil
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func connectionCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft connection: want list, show, set or delete")
	}
	fs, server, asJSON := newFlagSet("connection " + args[0])
	file := fs.String("file", "", "connection definition, YAML or JSON, credentials included ('-': standard input)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	switch args[0] {
	case "list":
		return c.list("/api/connections", "connections", col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"CONNECTOR", "connector"}, col{"SOURCE", "source"}, col{"CREDENTIALS", "credentials"})
	case "show":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft connection show NAME")
		}
		var res map[string]any
		if err := c.do("GET", "/api/connections/"+url.PathEscape(pos[0]), nil, &res); err != nil {
			return err
		}
		c.printJSON(res)
		return nil
	case "set":
		if len(pos) != 1 || *file == "" {
			return weft.Errorf(weft.EInvalid, "weft connection set NAME --file conn.yaml (credentials are read from the file, never from the command line)")
		}
		var body []byte
		if *file == "-" {
			body, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		} else {
			body, err = os.ReadFile(*file)
		}
		if err != nil {
			return weft.Errorf(weft.EInvalid, "%v", err)
		}
		var res map[string]any
		if err := c.do("PUT", "/api/connections/"+url.PathEscape(pos[0]), body, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "connection %s saved (%s); credentials: %s\n", pos[0], str(res["connector"]), orNone(str(res["credentials"])))
		return nil
	case "delete", "rm":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft connection delete NAME")
		}
		if err := c.do("DELETE", "/api/connections/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "connection %s deleted\n", pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft connection: unknown verb %q", args[0])
}

func secretsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return weft.Errorf(weft.EInvalid, "weft secrets rotate")
	}
	fs, server, asJSON := newFlagSet("secrets rotate")
	if _, err := parseArgs(fs, args[1:]); err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	var res struct {
		Resealed int `json:"resealed"`
		DataKeys int `json:"data_keys_rewrapped"`
		Payloads int `json:"payloads_sealed"`
	}
	if err := c.do("POST", "/api/secrets/rotate", nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "master key rotated; %d connections resealed, %d payload data keys rewrapped and %d payloads stored in the clear sealed under the new key\n",
		res.Resealed, res.DataKeys, res.Payloads)
	return nil
}

func strList(v any) []string {
	var out []string
	for _, x := range anyList(v) {
		out = append(out, str(x))
	}
	return out
}

// bundleLocal makes a local WSDL file self-contained with the .xsd and
// .wsdl files beside it (soap.Bundle), so the one document the server
// stores defines every type; other documents come back as they are.
// notes says what could not be taken in.
func bundleLocal(path string, spec []byte) ([]byte, []string, error) {
	if importer.KindOf(spec) != importer.KindWSDL || strings.Contains(path, "://") {
		return spec, nil, nil
	}
	files := map[string][]byte{}
	for _, pat := range []string{"*.xsd", "*.wsdl"} {
		m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), pat))
		for _, f := range m {
			if filepath.Clean(f) == filepath.Clean(path) {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, weft.Errorf(weft.EInvalid, "%v", err)
			}
			files[filepath.Base(f)] = data
		}
	}
	if len(files) == 0 {
		return spec, nil, nil
	}
	out, notes, err := soap.Bundle(spec, files)
	if err != nil {
		return nil, nil, weft.Wrap(weft.EUnprocessable, err, "%s: %v", path, err)
	}
	return out, notes, nil
}

// readSecretFile reads a secret from a file ('-': standard input), trimmed.
func readSecretFile(name string) (string, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	} else {
		data, err = readLocalFile(name)
	}
	return strings.TrimSpace(string(data)), err
}

// authBody is an auth block as the API takes it (its secrets included:
// the server seals them).
func authBody(a *connectors.Auth) map[string]any {
	m := map[string]any{"type": a.Type}
	for k, v := range map[string]string{"token_url": a.TokenURL, "client_id": a.ClientID, "client_secret": a.ClientSecret, "refresh_token": a.RefreshToken, "token": a.Token} {
		if v != "" {
			m[k] = v
		}
	}
	if len(a.Scopes) > 0 {
		m["scopes"] = a.Scopes
	}
	return m
}

// openBrowser shows the authorization URL: printed on standard error, and
// opened with $BROWSER (a command; the URL is its last argument) or the
// desktop's opener when there is one.
func openBrowser(u string) error {
	fmt.Fprintf(os.Stderr, "Open this URL to authorize Weft (waiting for the redirect):\n  %s\n", u)
	var argv []string
	if b := strings.TrimSpace(os.Getenv("BROWSER")); b != "" {
		w, err := mcpconn.SplitCommand(b)
		if err != nil {
			return fmt.Errorf("$BROWSER: %v", err)
		}
		argv = append(w, u)
	} else {
		for _, o := range []string{"xdg-open", "open"} {
			if p, err := exec.LookPath(o); err == nil {
				argv = []string{p, u}
				break
			}
		}
	}
	if argv == nil {
		return nil
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "(could not start %s: %v; open the URL yourself)\n", argv[0], err)
		return nil
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
