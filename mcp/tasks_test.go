package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mcp"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// weftNode is one Weft process over a data directory: store, queue,
// engine, MCP gateway.
type weftNode struct {
	e    *engine.Engine
	gw   *mcp.Gateway
	st   store.Store
	srv  *httptest.Server
	stop func()
}

func startNode(t *testing.T, dir string) *weftNode {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, dir, quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, connectors.NewCatalog(httpconn.New(httpconn.Options{})), quiet, engine.Config{LongWait: 200 * time.Millisecond})
	if err := st.StartQueue(ctx, e.Workers(), store.QueueConfig{Workers: 4, FetchPollInterval: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	gw := mcp.New(e, quiet, mcp.Config{})
	n := &weftNode{e: e, gw: gw, st: st, srv: httptest.NewServer(gw)}
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		n.srv.Close()
		e.BeginShutdown()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.StopQueue(c)
		_ = st.Close()
	}
	t.Cleanup(n.stop)
	return n
}

type rpcAnswer struct {
	status int
	Result map[string]any `json:"result"`
	Error  *struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	} `json:"error"`
}

// taskRPC sends one 2026-07-28 request (with the tasks extension declared
// when tasks is true), with the standard headers.
func taskRPC(t *testing.T, url, method string, params map[string]any, tasks bool) rpcAnswer {
	t.Helper()
	caps := map[string]any{}
	if tasks {
		caps["extensions"] = map[string]any{mcp.TasksExtension: map[string]any{}}
	}
	params["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28",
		"io.modelcontextprotocol/clientInfo": map[string]any{"name": "t", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": caps}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", method)
	if n, ok := params["name"].(string); ok {
		req.Header.Set("Mcp-Name", n)
	}
	if id, ok := params["taskId"].(string); ok {
		req.Header.Set("Mcp-Name", id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a rpcAnswer
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(resp.Body)
	b := raw.Bytes()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, line := range strings.Split(raw.String(), "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				b = []byte(d)
			}
		}
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v: %s", method, err, raw.String())
	}
	a.status = resp.StatusCode
	return a
}

func pollTask(t *testing.T, url, id string, until func(status string) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := taskRPC(t, url, "tasks/get", map[string]any{"taskId": id}, true)
		if a.Error != nil {
			t.Fatalf("tasks/get %s: %+v", id, a.Error)
		}
		if until(a.Result["status"].(string)) {
			return a.Result
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s stayed %v", id, a.Result)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const asyncFlow = `
name: slowjob
trigger: {webhook: {mode: async}}
steps:
  - id: first
    set: {n: =trigger.body.n}
  - id: pause
    wait: 1s
  - id: answer
    respond: {status: 200, body: {doubled: =trigger.body.n * 2.0}}
`

// A call of an asynchronous flow by a client with the tasks extension is a
// task that is the run: it is working while the run is, it is still there
// (and completes) after the process is replaced, and tasks/get then
// inlines what the flow responded.
func TestFlowTaskSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	a := startNode(t, dir)
	if _, _, err := a.e.Deploy(context.Background(), "slowjob.yaml", []byte(asyncFlow)); err != nil {
		t.Fatal(err)
	}
	a.gw.Refresh(context.Background())
	url := a.srv.URL + "/mcp"
	created := taskRPC(t, url, "tools/call", map[string]any{"name": "flow__slowjob", "arguments": map[string]any{"n": 21}}, true)
	if created.Error != nil || created.Result["resultType"] != "task" || created.Result["content"] != nil {
		t.Fatalf("tools/call: %+v %+v", created, created.Error)
	}
	id, _ := created.Result["taskId"].(string)
	run, err := a.st.GetRun(context.Background(), id)
	if err != nil || run.Flow != "slowjob" {
		t.Fatalf("the task %q is not a run of slowjob: %v %v", id, run, err)
	}
	got := taskRPC(t, url, "tasks/get", map[string]any{"taskId": id}, true)
	if got.Result["status"] != "working" || got.Result["result"] != nil {
		t.Fatalf("right after creation: %+v", got.Result)
	}

	a.stop() // the process goes away while the run waits
	b := startNode(t, dir)
	url = b.srv.URL + "/mcp"
	done := pollTask(t, url, id, func(s string) bool { return s != "working" })
	if done["status"] != "completed" {
		t.Fatalf("after the restart: %v", done)
	}
	res, _ := done["result"].(map[string]any)
	if sc, _ := res["structuredContent"].(map[string]any); sc["doubled"] != 42.0 {
		t.Fatalf("result %v", res)
	}

	// A client without the extension waits for the run, as before.
	sync := taskRPC(t, url, "tools/call", map[string]any{"name": "flow__slowjob", "arguments": map[string]any{"n": 2}}, false)
	if sync.Error != nil || sync.Result["resultType"] != "complete" || !strings.Contains(mustText(sync.Result), `"doubled":4`) {
		t.Fatalf("sync call: %+v", sync)
	}
}

func mustText(r map[string]any) string {
	c, _ := r["content"].([]any)
	var b strings.Builder
	for _, x := range c {
		if m, ok := x.(map[string]any); ok {
			s, _ := m["text"].(string)
			b.WriteString(s)
		}
	}
	return b.String()
}

// tasks/cancel cancels the run; a failed run is a completed task with
// isError naming the step; unknown and undeclared requests are refused.
func TestFlowTaskCancelFailAndRefusals(t *testing.T) {
	n := startNode(t, t.TempDir())
	for _, src := range []string{"name: forever\ntrigger: {webhook: {mode: async}}\nsteps:\n  - id: first\n    set: {a: 1}\n  - id: pause\n    wait: 1h\n",
		"name: broken\ntrigger: {webhook: {mode: async}}\nsteps:\n  - id: check\n    fail: {message: =\"amount \" + string(trigger.body.amount) + \" is too large\", code: too_large}\n"} {
		if _, _, err := n.e.Deploy(context.Background(), "f.yaml", []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	n.gw.Refresh(context.Background())
	url := n.srv.URL + "/mcp"
	c := taskRPC(t, url, "tools/call", map[string]any{"name": "flow__forever", "arguments": map[string]any{}}, true)
	id, _ := c.Result["taskId"].(string)
	if id == "" {
		t.Fatalf("no task: %+v", c)
	}
	// Progress is the run's steps so far.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got := taskRPC(t, url, "tasks/get", map[string]any{"taskId": id}, true).Result
		if msg, _ := got["statusMessage"].(string); got["status"] == "working" && strings.HasSuffix(msg, "1 step(s) done: first; waiting at pause") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress in the task: %v", got)
		}
	}
	ack := taskRPC(t, url, "tasks/cancel", map[string]any{"taskId": id}, true)
	if ack.Error != nil || ack.Result["resultType"] != "complete" || ack.Result["status"] != nil {
		t.Fatalf("cancel ack: %+v", ack)
	}
	pollTask(t, url, id, func(s string) bool { return s == "cancelled" })
	if r, _ := n.st.GetRun(context.Background(), id); r.Status != store.RunCanceled {
		t.Fatalf("run %s after tasks/cancel", r.Status)
	}
	if again := taskRPC(t, url, "tasks/cancel", map[string]any{"taskId": id}, true); again.Error != nil {
		t.Fatalf("cancel of a cancelled task: %+v", again.Error)
	}

	f := taskRPC(t, url, "tools/call", map[string]any{"name": "flow__broken", "arguments": map[string]any{"amount": 900}}, true)
	fid, _ := f.Result["taskId"].(string)
	done := pollTask(t, url, fid, func(s string) bool { return s != "working" })
	res, _ := done["result"].(map[string]any)
	if done["status"] != "completed" || res["isError"] != true || !strings.Contains(mustText(res), "at step check: amount 900 is too large") {
		t.Fatalf("failed run as a task: %v", done)
	}

	if a := taskRPC(t, url, "tasks/get", map[string]any{"taskId": "no-such-task"}, true); a.Error == nil || a.Error.Code != -32602 {
		t.Fatalf("unknown task: %+v", a)
	}
	if a := taskRPC(t, url, "tasks/get", map[string]any{"taskId": fid}, false); a.Error == nil || a.Error.Code != -32021 {
		t.Fatalf("undeclared client: %+v", a)
	}
	if a := taskRPC(t, url, "tasks/list", map[string]any{}, true); a.Error == nil || a.Error.Code != -32601 {
		t.Fatalf("tasks/list: %+v", a)
	}
	// Another toolset does not see this toolset's tasks.
	if a := taskRPC(t, n.srv.URL+"/mcp/discovery", "tasks/get", map[string]any{"taskId": fid}, true); a.Error == nil || a.Error.Code != -32602 {
		t.Fatalf("task seen from another toolset: %+v", a)
	}
	// A run that is not an MCP task is not a task.
	r, err := n.e.Trigger(context.Background(), engine.Event{Flow: "forever", Kind: "webhook", Async: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := taskRPC(t, url, "tasks/get", map[string]any{"taskId": r.Run.ID}, true); a.Error == nil || a.Error.Code != -32602 {
		t.Fatalf("a webhook run read as a task: %+v", a)
	}
	_ = n.e.Cancel(context.Background(), r.Run.ID)
}

// The conformance fixture's in-process tasks: input requests answered in
// parts, a crash is a failed task with an error and no result, and the
// routing headers must name the task.
func TestFixtureTasks(t *testing.T) {
	e := newEngine(t)
	srv := httptest.NewServer(mcp.New(e, slog.New(slog.DiscardHandler), mcp.Config{Conformance: true}))
	defer srv.Close()
	url := srv.URL + "/mcp/conformance"
	c := taskRPC(t, url, "tools/call", map[string]any{"name": "multi_input", "arguments": map[string]any{}}, true)
	id, _ := c.Result["taskId"].(string)
	got := pollTask(t, url, id, func(s string) bool { return s == "input_required" })
	if reqs, _ := got["inputRequests"].(map[string]any); len(reqs) != 2 {
		t.Fatalf("input requests %v", got)
	}
	taskRPC(t, url, "tasks/update", map[string]any{"taskId": id, "inputResponses": map[string]any{"name": map[string]any{"action": "accept", "content": map[string]any{"name": "Ada"}}}}, true)
	got = taskRPC(t, url, "tasks/get", map[string]any{"taskId": id}, true).Result
	if reqs, _ := got["inputRequests"].(map[string]any); got["status"] != "input_required" || len(reqs) != 1 || reqs["confirm"] == nil {
		t.Fatalf("after a partial answer: %v", got)
	}
	taskRPC(t, url, "tasks/update", map[string]any{"taskId": id, "inputResponses": map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"confirm": true}}}}, true)
	done := pollTask(t, url, id, func(s string) bool { return s != "working" && s != "input_required" })
	if res, _ := done["result"].(map[string]any); done["status"] != "completed" || mustText(res) != "name Ada, confirmed true" {
		t.Fatalf("done: %v", done)
	}

	c = taskRPC(t, url, "tools/call", map[string]any{"name": "protocol_error_job", "arguments": map[string]any{}}, true)
	done = pollTask(t, url, c.Result["taskId"].(string), func(s string) bool { return s != "working" })
	if er, _ := done["error"].(map[string]any); done["status"] != "failed" || done["result"] != nil || er["code"] != -32603.0 || !strings.Contains(er["message"].(string), "panicked") {
		t.Fatalf("crashed task: %v", done)
	}

	// Mcp-Name must be the task id.
	body := `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"` + id + `","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"` + mcp.TasksExtension + `":{}}}}}}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tasks/get")
	req.Header.Set("Mcp-Name", "another-task")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var a rpcAnswer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if resp.StatusCode != 400 || a.Error == nil || a.Error.Code != -32020 {
		t.Fatalf("mismatched Mcp-Name: %d %+v", resp.StatusCode, a.Error)
	}
}
