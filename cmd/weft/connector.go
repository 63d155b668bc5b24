package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/internal/bounded"
)

func connectorCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft connector: want import, list or show")
	}
	fs, server, asJSON := newFlagSet("connector " + args[0])
	name := fs.String("name", "", "connector name (import)")
	annotations := fs.String("annotations", "", "import: a YAML or JSON file of hint overrides, {operationId or \"METHOD /path\": {read_only, destructive, idempotent, open_world}}")
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
		if *annotations != "" {
			overrides, err := readAnnotations(*annotations)
			if err != nil {
				return err
			}
			if spec, err = openapi.Annotate(spec, overrides); err != nil {
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
		fmt.Fprintf(stdout, "imported %s from %s (%s %s): %s operations, %d rejected, %v\n", res.Name, str(rep["source_kind"]), str(rep["title"]), str(rep["version"]),
			str(rep["imported"]), len(anyList(rep["rejected"])), time.Duration(num(rep["duration"])))
		if auth, ok := rep["auth"].(map[string]any); ok {
			for scheme, a := range auth {
				j, _ := json.Marshal(a)
				fmt.Fprintf(stdout, "  security scheme %s: give the connection auth: %s (plus its secret)\n", scheme, j)
			}
		}
		for _, r := range anyList(rep["rejected"]) {
			m, _ := r.(map[string]any)
			fmt.Fprintf(stdout, "  rejected %s: %s\n", str(m["operation"]), str(m["reason"]))
		}
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
		}
		if err := c.do("GET", "/api/connectors/"+url.PathEscape(pos[0]), nil, &res); err != nil {
			return err
		}
		if c.json {
			c.printJSON(res)
			return nil
		}
		fmt.Fprintf(stdout, "%s: %s (%d operations)\n", res.Name, res.Title, len(res.Operations))
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
