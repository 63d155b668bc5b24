package gateway

// POST /api/flows/test: a draft flow run against a sample input without
// deploying it and without recording a run (the builder's "test run").

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/weftio/weft"
	"github.com/weftio/weft/access"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/flow"
)

// sandboxHost is the host of the URLs a test run's sandboxed calls go to;
// they never leave the process (sandboxTransport serves them).
const sandboxHost = "sandbox.weft.invalid"

type testRunRequest struct {
	Source string `json:"source"`
	File   string `json:"file"`
	Input  *struct {
		Body    any            `json:"body"`
		Headers map[string]any `json:"headers"`
		Query   map[string]any `json:"query"`
		Params  map[string]any `json:"params"` // an api trigger's path parameters
	} `json:"input"`
	FromRun string `json:"from_run"`
	Sandbox bool   `json:"sandbox"`
}

func (s *Server) testFlow(w http.ResponseWriter, r *http.Request) {
	data, err := s.readBody(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	var req testRunRequest
	if err := decodeJSON(data, &req); err != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, `body must be {"source": "<flow YAML>", "file"?, "input"?: {"body", "headers", "query", "params"}, "from_run"?, "sandbox"?}: %s`, weft.Message(err)))
		return
	}
	if strings.TrimSpace(req.Source) == "" {
		writeErr(w, weft.Errorf(weft.EInvalid, "source is empty: send the draft flow's YAML as \"source\""))
		return
	}
	if req.FromRun != "" && req.Input != nil {
		writeErr(w, weft.Errorf(weft.EInvalid, "give input or from_run, not both"))
		return
	}
	// The draft runs as a flow of its namespace: its author needs
	// flows.write there (and to read the run it borrows input from).
	if f, err := flow.Parse(req.File, []byte(req.Source)); err == nil {
		ns, err := s.e.FlowNamespace(r.Context(), f)
		if err == nil {
			err = allow(r, access.FlowsWrite, ns)
		}
		if err != nil {
			writeErr(w, err)
			return
		}
	}
	if req.FromRun != "" {
		if err := s.allowResource(r, access.RunsRead, s.runResolver(), req.FromRun); err != nil {
			writeErr(w, err)
			return
		}
	}
	tr := engine.TestRequest{File: req.File, Source: []byte(req.Source), FromRun: req.FromRun}
	if in := req.Input; in != nil {
		tr.Body, tr.Headers, tr.Query = in.Body, stringMap(in.Headers), stringMap(in.Query)
		if in.Params != nil {
			tr.Params = stringMap(in.Params)
		}
	}
	if req.Sandbox {
		if s.cfg.Sandbox == nil || len(s.cfg.Sandboxes) == 0 {
			writeErr(w, weft.Errorf(weft.EConflict, "this server serves no sandboxes (sandboxes: in the config): run the test without sandbox"))
			return
		}
		tr.Divert = s.divertToSandbox
	}
	res, err := s.e.TestRun(r.Context(), tr)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func stringMap(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

// divertToSandbox sends a call of a connector this server simulates to
// its sandbox, in process, with no credentials: the connection's auth and
// headers stay behind.
func (s *Server) divertToSandbox(connector string, c *connectors.Call) bool {
	if !slices.Contains(s.cfg.Sandboxes, connector) {
		return false
	}
	conn := &connectors.Connection{Name: "sandbox:" + connector, Connector: connector, AllowPrivate: true,
		BaseURL: "http://" + sandboxHost + "/sandbox/" + connector}
	if c.Connection != nil {
		conn.Timeout = c.Connection.Timeout
	}
	c.Connection, c.BaseURL, c.Transport = conn, "", sandboxTransport{s.cfg.Sandbox}
	return true
}

// sandboxTransport serves requests with a handler in process.
type sandboxTransport struct{ h http.Handler }

func (t sandboxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != sandboxHost {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &connectors.Error{Class: connectors.Permanent, Message: "a sandboxed call may reach only its sandbox, not " + req.URL.Host}
	}
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.Host = sandboxHost
	in.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
