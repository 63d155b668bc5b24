package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftio/weft/connectors"
	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/gateway"
	"github.com/weftio/weft/internal/jsonenc"
	"github.com/weftio/weft/store"
	"github.com/weftio/weft/store/sqlite"
)

// TestLargeBodyKeptRaw: a webhook body of RawBodyMin or more reaches its
// run as a jsonenc.Raw, and the run does what it does with the body
// decoded: the POSTed JSON is byte for byte the encoding of the decoded
// shape, a connector that does not take raw inputs gets them decoded,
// foreach reads the items, the response and the failed run's replay input
// are what they were.
func TestLargeBodyKeptRaw(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"small":[{"sku":"a"},{"sku":"b"}], "rows":[`)
	for i := 0; sb.Len() < gateway.RawBodyMin; i++ {
		if i > 0 {
			sb.WriteString(" ,")
		}
		fmt.Fprintf(&sb, `{"name":"n<%d>","id":%d,"v":1.50,"id":%d}`, i, i, i*2)
	}
	sb.WriteString(`]}`)
	raw := []byte(sb.String())
	body, err := gateway.WebhookBody(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := body.(*jsonenc.Raw); !ok {
		t.Fatalf("a %d-byte body is %T, want *jsonenc.Raw", len(raw), body)
	}
	var dec map[string]any
	if err := json.Unmarshal(raw, &dec); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var posted [][]byte
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"received":%d}`, len(b))
	}))
	defer sink.Close()
	var probed []any
	probe := &connectors.Connector{Name: "probe", Version: "1", Operations: []*connectors.Operation{{Name: "echo",
		Invoke: func(_ context.Context, c connectors.Call) (any, error) {
			mu.Lock()
			probed = append(probed, c.Input["data"])
			mu.Unlock()
			return map[string]any{"ok": true}, nil
		}}}}
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cat := connectors.NewCatalog(httpconn.New(httpconn.Options{}), probe)
	if err := cat.AddConnection(&connectors.Connection{Name: "local", Connector: "http", AllowPrivate: true}); err != nil {
		t.Fatal(err)
	}
	e := engine.New(st, cat, quiet, engine.Config{LongWait: 500 * time.Millisecond})
	src := `
name: big
trigger: {webhook: {}}
steps:
  - id: shape
    set: {rows: =trigger.body.rows, count: =size(trigger.body.rows), first: "=trigger.body.rows[0].name"}
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "` + sink.URL + `", body: =steps.shape}
  - id: probe
    call: probe.echo
    with: {data: =trigger.body.rows}
  - id: each
    foreach: trigger.body.small
    do:
      - id: one
        call: http.request
        connection: local
        with: {method: POST, url: "` + sink.URL + `", body: {sku: =item.sku}}
  - if: "=trigger.body.small[0].sku == 'fail'"
    then:
      - fail: {message: "asked to"}
  - respond: {body: {received: =steps.post.body.received, count: =steps.shape.count, rows: =trigger.body.rows}}
`
	if _, _, err := e.Deploy(ctx, "big.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "big", Kind: "webhook", Body: body, RawBody: raw})
	if err != nil || res.Run.Status != store.RunSucceeded {
		t.Fatalf("%v %+v", err, res.Run)
	}
	rows := dec["rows"].([]any)
	want, _ := json.Marshal(map[string]any{"rows": rows, "count": int64(len(rows)), "first": rows[0].(map[string]any)["name"]})
	if len(posted) != 3 || !bytes.Equal(posted[0], want) {
		t.Fatalf("the POST of steps.shape sent %d bytes, want the %d of its decoded encoding", len(posted[0]), len(want))
	}
	if string(posted[1]) != `{"sku":"a"}` || string(posted[2]) != `{"sku":"b"}` {
		t.Fatalf("foreach posted %s, %s", posted[1], posted[2])
	}
	if got, ok := probed[0].([]any); !ok || len(got) != len(rows) {
		t.Fatalf("probe.echo got %T, want the rows decoded", probed[0])
	}
	gotResp, _ := jsonenc.Marshal(res.Response.Body)
	wantResp, _ := json.Marshal(map[string]any{"received": float64(len(want)), "count": int64(len(rows)), "rows": rows})
	if !bytes.Equal(gotResp, wantResp) {
		t.Fatalf("response differs from the decoded body's (%d vs %d bytes)", len(gotResp), len(wantResp))
	}

	// A failed run keeps its input for replay, byte for byte the body.
	failing := bytes.Replace(raw, []byte(`"sku":"a"`), []byte(`"sku":"fail"`), 1)
	fb, err := gateway.WebhookBody(failing)
	if err != nil {
		t.Fatal(err)
	}
	res, err = e.Trigger(ctx, engine.Event{Flow: "big", Kind: "webhook", Body: fb, RawBody: failing})
	if err != nil || res.Run.Status == store.RunSucceeded {
		t.Fatalf("%v %+v", err, res.Run)
	}
	got, err := st.GetRun(ctx, res.Run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(got.Input, &in); err != nil || !bytes.Equal(in.Body, failing) {
		t.Fatalf("the failed run's input body is not the request's (%d bytes, %v)", len(in.Body), err)
	}
}

// TestLargeBodyQueuedRun: a queued run of a large webhook body reads it
// from its stored input as a Raw too, and POSTs exactly the encoding of
// the decoded rows.
func TestLargeBodyQueuedRun(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"rows":[`)
	for i := 0; sb.Len() < gateway.RawBodyMin+10; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"v":%d.0,"name":"&%d"}`, i, i)
	}
	sb.WriteString(`]}`)
	raw := []byte(sb.String())
	var dec map[string]any
	if err := json.Unmarshal(raw, &dec); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		fmt.Fprint(w, `{}`)
	}))
	defer sink.Close()
	e := newEngine(t)
	src := `
name: bigq
trigger: {webhook: {mode: async}}
steps:
  - id: post
    call: http.request
    connection: local
    with: {method: POST, url: "` + sink.URL + `", body: {rows: =trigger.body.rows, n: =size(trigger.body.rows)}}
`
	if _, _, err := e.Deploy(context.Background(), "bigq.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	body, err := gateway.WebhookBody(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Trigger(context.Background(), engine.Event{Flow: "bigq", Kind: "webhook", Body: body, RawBody: raw, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, e, res.Run.ID, store.RunSucceeded)
	rows := dec["rows"].([]any)
	want, _ := json.Marshal(map[string]any{"rows": rows, "n": int64(len(rows))})
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("the queued run POSTed %d bytes, want the %d of the decoded rows' encoding", len(b), len(want))
	}
}
