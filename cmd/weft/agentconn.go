package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// agentCmd is weft agent: the runtime agent itself, or (weft agent
// connection ...) a command against a running agent's own API.
func agentCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "connection" || args[0] == "connections") {
		return agentConnectionCmd(args[1:], stdout, os.Stdin)
	}
	return agentRun(args, stderr)
}

// Bounds of weft agent connection set's input.
const (
	maxAgentSecrets     = 16
	maxSecretLineBytes  = 64 << 10
	maxConnectionFileSz = 1 << 20
)

// secretPathRe names a credential of a connection, as SecretState lists it.
var secretPathRe = lazy.NewRegexp(`^(auth\.(token|password|value|client_secret|refresh_token)|(headers|secrets)\.[A-Za-z0-9_.-]{1,100})$`)

// agentConnectionCmd sets a connection's credentials on a runtime agent,
// through the agent's own API only: the server is checked to be an agent
// (its /healthz names its site) before anything is sent. The credentials
// are merged over what the agent has (a connection placed from the
// control plane keeps its definition and placement) and sealed there with
// the agent's own master key; the control plane learns only which ones are
// set.
func agentConnectionCmd(args []string, stdout io.Writer, stdin io.Reader) error {
	if len(args) == 0 || args[0] != "set" {
		return weft.Errorf(weft.EInvalid, "weft agent connection: want set NAME [--file F] [--secret auth.token]...")
	}
	fs, server, asJSON := newFlagSet("agent connection set")
	file := fs.String("file", "", "the connection's definition or only what changes (YAML or JSON, credentials included; '-': standard input), merged over what the agent has")
	var secrets stringList
	fs.Var(&secrets, "secret", "a credential to set (auth.token, auth.password, auth.value, auth.client_secret, auth.refresh_token, headers.NAME, secrets.NAME), its value read from standard input, one line each in order (repeatable)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || (*file == "" && len(secrets) == 0) {
		return weft.Errorf(weft.EInvalid, "weft agent connection set NAME --file conn.yaml | --secret auth.token (credentials are read from the file or standard input, never from the command line)")
	}
	if *file == "-" && len(secrets) > 0 {
		return weft.Errorf(weft.EInvalid, "--file - and --secret both read standard input: use one")
	}
	if len(secrets) > maxAgentSecrets {
		return weft.Errorf(weft.EInvalid, "at most %d --secret", maxAgentSecrets)
	}
	for _, s := range secrets {
		if !secretPathRe.MatchString(s) {
			return weft.Errorf(weft.EInvalid, "--secret %q: name a credential (auth.token, auth.password, auth.value, auth.client_secret, auth.refresh_token, headers.NAME or secrets.NAME)", clipArg(s))
		}
	}
	name := pos[0]
	c := newClient(*server, *asJSON, stdout)
	// The server must be a runtime agent: a credential meant for the site
	// is never sent to a control plane by mistake.
	var hz struct {
		Site string `json:"site"`
	}
	if err := c.do("GET", "/healthz", nil, &hz); err != nil {
		return err
	}
	if hz.Site == "" {
		return weft.Errorf(weft.EForbidden, "%s is not a runtime agent (it names no site): nothing was sent. Point --server or WEFT_SERVER at the agent's own address (weft agent --addr); on a control plane use weft connection set", c.base)
	}
	// What changes: the file, then each secret.
	change := map[string]any{}
	if *file != "" {
		var data []byte
		if *file == "-" {
			data, err = io.ReadAll(io.LimitReader(stdin, maxConnectionFileSz+1))
		} else {
			data, err = readLimited(*file, maxConnectionFileSz+1)
		}
		if err != nil {
			return weft.Errorf(weft.EInvalid, "%v", err)
		}
		if len(data) > maxConnectionFileSz {
			return weft.Errorf(weft.ETooLarge, "%s: a connection definition is at most %d bytes", *file, maxConnectionFileSz)
		}
		if err := bounded.UnmarshalYAML(*file, data, &change, bounded.Limits{}); err != nil {
			return err
		}
		if n, ok := change["name"].(string); ok && n != name {
			return weft.Errorf(weft.EInvalid, "%s names connection %q, the command %q", *file, n, name)
		}
	}
	if len(secrets) > 0 {
		rd := bufio.NewReaderSize(stdin, 4096)
		for _, s := range secrets {
			v, err := readSecretLine(rd)
			if err != nil {
				return weft.Errorf(weft.EInvalid, "--secret %s: %v", s, err)
			}
			group, key, _ := strings.Cut(s, ".")
			m, _ := change[group].(map[string]any)
			if m == nil {
				m = map[string]any{}
				change[group] = m
			}
			m[key] = v
		}
	}
	// Merged over the agent's definition (no credential comes back from
	// the API; those left out keep their values on the agent).
	body := map[string]any{}
	var cur map[string]any
	if err := c.do("GET", "/api/connections/"+url.PathEscape(name), nil, &cur); err != nil {
		if weft.Code(err) != weft.ENotFound {
			return err
		}
		if _, ok := change["connector"]; !ok {
			return weft.Errorf(weft.EInvalid, "the agent of site %s has no connection %q: give its whole definition with --file (connector, base_url …)", hz.Site, name)
		}
	} else {
		for k, v := range cur {
			if k != "credentials" && k != "source" {
				body[k] = v
			}
		}
	}
	mergeInto(body, change)
	if a, ok := body["auth"].(map[string]any); ok && a["type"] == nil && a["token"] != nil {
		a["type"] = "bearer" // a token is a bearer token's; other kinds name their type
	}
	data, _ := json.Marshal(body)
	var res struct {
		Connector   string            `json:"connector"`
		Credentials map[string]string `json:"credentials"`
	}
	if err := c.do("PUT", "/api/connections/"+url.PathEscape(name), data, &res); err != nil {
		return err
	}
	if c.json {
		c.printJSON(map[string]any{"site": hz.Site, "connection": name, "connector": res.Connector, "credentials": res.Credentials})
		return nil
	}
	set := make([]string, 0, len(res.Credentials))
	for k := range res.Credentials {
		set = append(set, k)
	}
	sort.Strings(set)
	fmt.Fprintf(stdout, "connection %s saved on the agent of site %s (%s), sealed with the agent's own key; credentials set: %s\nthe control plane sees only their names, never their values\n",
		name, hz.Site, res.Connector, orNone(strings.Join(set, ", ")))
	return nil
}

// mergeInto merges src over dst: maps key by key, anything else replaced.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// readSecretLine reads one line of standard input (its newline dropped).
func readSecretLine(rd *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, isPrefix, err := rd.ReadLine()
		b.Write(line)
		if b.Len() > maxSecretLineBytes {
			return "", fmt.Errorf("a value is at most %d bytes", maxSecretLineBytes)
		}
		if err != nil {
			if err == io.EOF && b.Len() > 0 {
				break
			}
			if err == io.EOF {
				return "", fmt.Errorf("no value on standard input (one line per --secret)")
			}
			return "", err
		}
		if !isPrefix {
			break
		}
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", fmt.Errorf("an empty value")
	}
	return strings.TrimRight(b.String(), "\r"), nil
}

func readLimited(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

func clipArg(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
