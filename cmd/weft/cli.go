package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/flow"
	"github.com/weftio/weft/store"
)

// client talks to a running server's HTTP API.
type client struct {
	base, token string
	json        bool
	out         io.Writer
	hc          *http.Client
	hcErr       error // the TLS files named in the environment did not load
}

func newFlagSet(name string) (*flag.FlagSet, *string, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "", "server URL (env WEFT_SERVER, default http://127.0.0.1:8080)")
	asJSON := fs.Bool("json", false, "print JSON")
	return fs, server, asJSON
}

// parseArgs lets flags follow positional arguments (weft runs show ID --json).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func newClient(server string, asJSON bool, out io.Writer) *client {
	if server == "" {
		server = os.Getenv("WEFT_SERVER")
	}
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	c := &client{base: strings.TrimRight(server, "/"), token: os.Getenv("WEFT_API_TOKEN"), json: asJSON, out: out}
	c.hc, c.hcErr = cliHTTPClient(os.Getenv("WEFT_CA_FILE"), os.Getenv("WEFT_CLIENT_CERT"), os.Getenv("WEFT_CLIENT_KEY"))
	return c
}

// cliHTTPClient is the CLI's client to an https server: caFile adds the
// CA that signed the server's certificate to the system's roots, and a
// client certificate (certFile, keyFile) answers a server that requires
// mutual TLS.
func cliHTTPClient(caFile, certFile, keyFile string) (*http.Client, error) {
	hc := &http.Client{Timeout: 60 * time.Second}
	if caFile == "" && certFile == "" && keyFile == "" {
		return hc, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "WEFT_CA_FILE: %v", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, weft.Errorf(weft.EInvalid, "WEFT_CA_FILE %s holds no PEM certificate", caFile)
		}
		tc.RootCAs = roots
	}
	if certFile != "" || keyFile != "" {
		if certFile == "" || keyFile == "" {
			return nil, weft.Errorf(weft.EInvalid, "WEFT_CLIENT_CERT and WEFT_CLIENT_KEY go together")
		}
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, weft.Errorf(weft.EInvalid, "WEFT_CLIENT_CERT/WEFT_CLIENT_KEY: %v", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	hc.Transport = &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}
	return hc, nil
}

func (c *client) do(method, path string, body []byte, out any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.hcErr != nil {
		return c.hcErr
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return weft.Errorf(weft.EUnavailable, "cannot reach the weft server at %s (is `weft serve` running?): %v", c.base, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var eb struct {
			Error *weft.Error `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
			return eb.Error
		}
		return weft.Errorf(weft.EInternal, "server answered %s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = data
			return nil
		}
		return json.Unmarshal(data, out)
	}
	return nil
}

// col is one column of a listing: its header and the JSON field it shows.
type col struct{ head, field string }

// list GETs path and prints the objects under field as a table, or the
// whole answer with --json.
func (c *client) list(path, field string, cols ...col) error {
	return c.listRows(path, field, nil, cols...)
}

// listRows is list with prep (when set) applied to each object before its
// cells are read.
func (c *client) listRows(path, field string, prep func(map[string]any), cols ...col) error {
	var res map[string]any
	if err := c.do("GET", path, nil, &res); err != nil {
		return err
	}
	if c.json {
		c.printJSON(res)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 2, 2, ' ', 0)
	heads := make([]string, len(cols))
	for i, k := range cols {
		heads[i] = k.head
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for _, row := range anyList(res[field]) {
		m, _ := row.(map[string]any)
		if prep != nil && m != nil {
			prep(m)
		}
		cells := make([]string, len(cols))
		for i, k := range cols {
			cells[i] = str(m[k.field])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func (c *client) printJSON(v any) {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// readInput reads a JSON argument, or @file.
func readInput(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	data := []byte(s)
	if strings.HasPrefix(s, "@") {
		var err error
		if data, err = os.ReadFile(s[1:]); err != nil {
			return nil, weft.Errorf(weft.EInvalid, "%v", err)
		}
	}
	if !json.Valid(data) {
		return nil, weft.Errorf(weft.EInvalid, "input is not valid JSON")
	}
	return data, nil
}

func flowCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft flow: want validate, deploy, list, show, run, rollback or cdc-reset")
	}
	fs, server, asJSON := newFlagSet("flow " + args[0])
	ver := fs.Int("version", 0, "version (show)")
	input := fs.String("input", "", "run input: JSON or @file")
	async := fs.Bool("async", false, "run asynchronously (returns a run id)")
	ns := fs.String("namespace", "", "deploy: the namespace of flows whose file names none (default: where the flow is, else default)")
	cfgPath := fs.String("config", "", "validate: also know the connectors the config file imports (its imports: section)")
	var catalogs specList
	fs.Var(&catalogs, "catalog", "validate: also know this OpenAPI document as a connector: NAME=FILE or FILE (repeatable)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	switch args[0] {
	case "schema":
		_, err := stdout.Write(flow.Schema())
		return err
	case "validate":
		return validateFlows(pos, c, *server != "", *cfgPath, catalogs, stdout)
	case "deploy":
		if len(pos) == 0 {
			return weft.Errorf(weft.EInvalid, "weft flow deploy FILE...")
		}
		for _, file := range pos {
			src, err := os.ReadFile(file)
			if err != nil {
				return weft.Errorf(weft.EInvalid, "%v", err)
			}
			var res map[string]any
			q := "?file=" + url.QueryEscape(file)
			if *ns != "" {
				q += "&namespace=" + url.QueryEscape(*ns)
			}
			if err := c.do("POST", "/api/flows"+q, src, &res); err != nil {
				return err
			}
			if c.json {
				c.printJSON(res)
			} else {
				fmt.Fprintf(stdout, "deployed %s version %s (%s trigger) in namespace %s\n", str(res["name"]), str(res["version"]), str(res["trigger"]), str(res["namespace"]))
			}
		}
		return nil
	case "list":
		return c.list("/api/flows", "flows", col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"ACTIVE", "active_version"}, col{"LATEST", "latest_version"}, col{"UPDATED", "updated_at"})
	case "show":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft flow show NAME [--version N]")
		}
		path := "/api/flows/" + url.PathEscape(pos[0])
		if *ver > 0 {
			path += fmt.Sprintf("/versions/%d", *ver)
		}
		var res map[string]any
		if err := c.do("GET", path, nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "# %s version %s (active: %s), from %s\n%s", str(res["name"]), str(res["version"]), str(res["active"]), str(res["file"]), str(res["source"]))
		return nil
	case "rollback":
		if len(pos) != 2 {
			return weft.Errorf(weft.EInvalid, "weft flow rollback NAME VERSION")
		}
		body := []byte(`{"version": ` + pos[1] + `}`)
		if !json.Valid(body) {
			return weft.Errorf(weft.EInvalid, "VERSION must be a number")
		}
		var res map[string]any
		if err := c.do("POST", "/api/flows/"+url.PathEscape(pos[0])+"/rollback", body, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s now runs version %s\n", str(res["name"]), str(res["active_version"]))
		return nil
	case "cdc-reset":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft flow cdc-reset NAME")
		}
		var res map[string]any
		if err := c.do("DELETE", "/api/flows/"+url.PathEscape(pos[0])+"/cdc", nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "cleared the cdc position of %s (from PostgreSQL its replication slot %s was dropped; a binlog reader holds none); it streams again from now\n", str(res["name"]), str(res["slot"]))
		return nil
	case "run":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft flow run NAME [--input JSON|@file] [--async]")
		}
		body, err := readInput(*input)
		if err != nil {
			return err
		}
		if body == nil {
			body = []byte("{}")
		}
		path := "/api/flows/" + url.PathEscape(pos[0]) + "/runs"
		if *async {
			path += "?async=true"
		}
		var raw json.RawMessage
		if err := c.do("POST", path, body, &raw); err != nil {
			return err
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		c.printJSON(v)
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft flow: unknown verb %q", args[0])
}

func runsCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft runs: want list, show, replay or cancel")
	}
	return runVerbs("runs", args, stdout, "")
}

func dlqCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft dlq: want list or replay")
	}
	if args[0] != "list" && args[0] != "replay" {
		return weft.Errorf(weft.EInvalid, "weft dlq: unknown verb %q", args[0])
	}
	return runVerbs("dlq", args, stdout, "dead")
}

func runVerbs(group string, args []string, stdout io.Writer, forceStatus string) error {
	fs, server, asJSON := newFlagSet(group + " " + args[0])
	flowName := fs.String("flow", "", "only this flow")
	status := fs.String("status", "", "only this status (queued, running, succeeded, failed, dead, canceled)")
	since := fs.String("since", "", "only runs since: 30m, 1h, 7d or RFC 3339")
	limit := fs.Int("limit", 50, fmt.Sprintf("at most this many (1 to %d; fetched %d a page)", maxCLIRuns, store.MaxRunsPage))
	before := fs.String("before", "", "only runs older than this run id (the cursor a truncated listing prints)")
	input := fs.String("input", "", "replay: new input for the failed step (JSON or @file)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	switch args[0] {
	case "list":
		q := url.Values{}
		if *flowName != "" {
			q.Set("flow", *flowName)
		}
		if forceStatus != "" {
			q.Set("status", forceStatus)
		} else if *status != "" {
			q.Set("status", *status)
		}
		if *since != "" {
			q.Set("since", *since)
		}
		return c.listRuns(q, *limit, *before)
	case "show":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft runs show ID")
		}
		var res struct {
			Run   map[string]any   `json:"run"`
			Steps []map[string]any `json:"steps"`
		}
		if err := c.do("GET", "/api/runs/"+url.PathEscape(pos[0]), nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		r := res.Run
		fmt.Fprintf(stdout, "run %s  flow %s v%s  %s  trigger %s\n", str(r["id"]), str(r["flow"]), str(r["version"]), str(r["status"]), str(r["trigger_kind"]))
		if e := str(r["error_message"]); e != "" {
			fmt.Fprintf(stdout, "error [%s] at %s: %s\n", str(r["error_code"]), str(r["failed_step"]), e)
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "STEP\tKIND\tATTEMPT\tSTATUS\tDURATION\tIN\tOUT\tERROR")
		for _, a := range res.Steps {
			d := time.Duration(num(a["duration_us"])) * time.Microsecond
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%sB\t%sB\t%s\n", str(a["step_key"]), str(a["kind"]), str(a["attempt"]), str(a["status"]), d, str(a["input_size"]), str(a["output_size"]), str(a["error_message"]))
		}
		return tw.Flush()
	case "replay":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft %s replay ID [--input JSON|@file]", group)
		}
		in, err := readInput(*input)
		if err != nil {
			return err
		}
		var body []byte
		if in != nil {
			body, _ = json.Marshal(map[string]json.RawMessage{"input": in})
		}
		var res map[string]any
		if err := c.do("POST", "/api/runs/"+url.PathEscape(pos[0])+"/replay", body, &res); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "run %s requeued (%s)\n", str(res["run_id"]), str(res["status"]))
		return nil
	case "cancel":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft runs cancel ID")
		}
		if err := c.do("POST", "/api/runs/"+url.PathEscape(pos[0])+"/cancel", nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "run %s canceled\n", pos[0])
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft %s: unknown verb %q", group, args[0])
}

// maxCLIRuns bounds weft runs list --limit.
const maxCLIRuns = 100000

// listRuns pages through GET /api/runs (store.MaxRunsPage runs a page,
// following next_cursor) until limit runs, and prints them with how many
// there are: all of them, or limit of the total and the cursor for more.
func (c *client) listRuns(q url.Values, limit int, before string) error {
	if limit < 1 || limit > maxCLIRuns {
		return weft.Errorf(weft.EInvalid, "--limit must be from 1 to %d", maxCLIRuns)
	}
	var runs []map[string]any
	more, cursor := false, before
	for len(runs) < limit {
		want := min(limit-len(runs)+1, store.MaxRunsPage) // one more than needed tells whether more match
		q.Set("limit", strconv.Itoa(want))
		if cursor != "" {
			q.Set("before", cursor)
		}
		var page struct {
			Runs       []map[string]any `json:"runs"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := c.do("GET", "/api/runs?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		if len(runs)+len(page.Runs) > limit {
			runs, more = append(runs, page.Runs[:limit-len(runs)]...), true
			break
		}
		runs = append(runs, page.Runs...)
		if page.NextCursor == "" || len(page.Runs) == 0 || page.NextCursor == cursor {
			break
		}
		if len(runs) == limit { // exactly limit and a full last page: is there one more?
			q.Set("limit", "1")
			q.Set("before", page.NextCursor)
			var probe struct {
				Runs []map[string]any `json:"runs"`
			}
			if err := c.do("GET", "/api/runs?"+q.Encode(), nil, &probe); err != nil {
				return err
			}
			more = len(probe.Runs) > 0
			break
		}
		cursor = page.NextCursor
	}
	next := ""
	if more && len(runs) > 0 {
		next = str(runs[len(runs)-1]["id"])
	}
	// The total, when the run counts can say it (no time window, no cursor).
	total := int64(-1)
	if !more && before == "" {
		total = int64(len(runs))
	} else if more && before == "" && q.Get("since") == "" {
		var st struct {
			Counts map[string]int64 `json:"counts"`
		}
		if c.do("GET", "/api/stats/runs?flow="+url.QueryEscape(q.Get("flow")), nil, &st) == nil {
			total = 0
			for status, n := range st.Counts {
				if q.Get("status") == "" || q.Get("status") == status {
					total += n
				}
			}
		}
	}
	if c.json {
		res := map[string]any{"runs": runs, "count": len(runs)}
		if runs == nil {
			res["runs"] = []any{}
		}
		if total >= 0 {
			res["total"] = total
		}
		if next != "" {
			res["next_cursor"] = next
		}
		c.printJSON(res)
		return nil
	}
	tw := tabwriter.NewWriter(c.out, 0, 2, 2, ' ', 0)
	cols := []col{{"RUN", "id"}, {"FLOW", "flow"}, {"VERSION", "version"}, {"STATUS", "status"}, {"TRIGGER", "trigger_kind"}, {"CREATED", "created_at"}, {"ERROR", "error_message"}}
	heads := make([]string, len(cols))
	for i, k := range cols {
		heads[i] = k.head
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for _, r := range runs {
		cells := make([]string, len(cols))
		for i, k := range cols {
			cells[i] = str(r[k.field])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case !more:
		fmt.Fprintf(c.out, "%d %s\n", len(runs), plural(len(runs), "run", "runs"))
	case total >= 0:
		fmt.Fprintf(c.out, "%d of %d runs (more: a higher --limit, or --before %s)\n", len(runs), total, next)
	default:
		fmt.Fprintf(c.out, "%d runs; more match (a higher --limit, or --before %s)\n", len(runs), next)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// str prints a JSON value for people: strings as they are, numbers
// without exponents, lists comma-separated, objects as their keys (e.g.
// credentials: {"auth.token": "set"} -> "auth.token"); never Go syntax.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return strings.Join(keys, ",")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = str(e)
		}
		return strings.Join(parts, ",")
	case json.Number:
		return x.String()
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
