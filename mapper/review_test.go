package mapper_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/engine"
	"github.com/weftio/weft/mapper"
	"github.com/weftio/weft/store/sqlite"
)

const shopOrder = `{"name": "shop order", "fields": [
 {"name": "order_number", "examples": ["#1001"]}, {"name": "customer.first_name", "examples": ["Bob"]},
 {"name": "customer.last_name", "examples": ["Norman"]}, {"name": "email", "examples": ["bob@example.com"]},
 {"name": "created_at", "type": "string", "format": "date-time", "examples": ["2024-03-13T16:09:54Z"]},
 {"name": "total_price", "type": "string", "examples": ["199.65"]},
 {"name": "line_items[].sku", "examples": ["IPOD-RED"]}, {"name": "line_items[].quantity", "type": "integer", "examples": [2]}]}`

const erpOrder = `{"name": "erp sales order", "fields": [
 {"name": "external_ref", "description": "the shop's order number"}, {"name": "customer_name", "required": true},
 {"name": "customer_email", "type": "string", "format": "email"}, {"name": "order_date", "type": "string", "format": "date"},
 {"name": "total", "type": "number"}, {"name": "lines[].item_sku"}, {"name": "lines[].qty", "type": "integer"}, {"name": "warehouse", "required": true}]}`

// Suggest, review, export: the exported set step deploys and maps a real
// payload.
func TestReviewAndExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, t.TempDir(), quiet, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := mapper.NewService(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := mapper.Parse("shop.json", []byte(shopOrder))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := mapper.Parse("erp.json", []byte(erpOrder))
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.Create(ctx, "", src, tgt, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*mapper.Item{}
	for _, it := range m.Items {
		got[it.Target] = it
	}
	for target, want := range map[string]string{"customer_email": "email", "order_date": "created_at", "total": "total_price", "lines[].item_sku": "line_items[].sku", "lines[].qty": "line_items[].quantity"} {
		if got[target] == nil || got[target].Sources[0] != want {
			t.Fatalf("%s: %+v", target, got[target])
		}
	}
	if got["customer_name"] == nil || len(got["customer_name"].Sources) != 2 {
		t.Fatalf("customer_name from first + last: %+v", got["customer_name"])
	}
	if got["order_date"].Expr != "src.created_at.substring(0, 10)" || got["total"].Expr != "double(src.total_price)" {
		t.Fatalf("conversions: %q %q", got["order_date"].Expr, got["total"].Expr)
	}
	if len(m.UnmatchedRequired) != 1 || m.UnmatchedRequired[0] != "warehouse" {
		t.Fatalf("unmatched required: %v", m.UnmatchedRequired)
	}
	// Review: accept all, then edit one and reject one.
	if _, err := svc.Apply(ctx, m.ID, []mapper.Review{{Target: "*", Action: "accept", Reviewer: "ana"}}); err != nil {
		t.Fatal(err)
	}
	m, err = svc.Apply(ctx, m.ID, []mapper.Review{
		{Target: "external_ref", Action: "edit", Expr: `src.order_number.replace("#", "")`, Sources: []string{"order_number"}, Reviewer: "ana", Note: "no hash"},
		{Target: "warehouse", Action: "edit", Expr: `"MAIN"`, Reviewer: "ana"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, m.ID, []mapper.Review{{Target: "external_ref", Action: "edit", Expr: "src.(", Reviewer: "ana"}}); err == nil {
		t.Fatal("a broken expression was accepted")
	}
	if _, err := svc.Apply(ctx, m.ID, []mapper.Review{{Target: "nope", Action: "accept"}}); err == nil {
		t.Fatal("unknown target accepted")
	}
	step, err := svc.Export(ctx, m.ID, "trigger.body", "mapped")
	if err != nil {
		t.Fatal(err)
	}
	// Deploy the exported step in a flow and run it.
	e := engine.New(st, connectors.NewCatalog(), quiet, engine.Config{})
	flowSrc := "name: map-order\ntrigger: {webhook: {}}\nsteps:\n" + indent(step) + "  - respond: {body: =steps.mapped}\n"
	if _, _, err := e.Deploy(ctx, "map-order.yaml", []byte(flowSrc)); err != nil {
		t.Fatalf("deploy:\n%s\n%v", flowSrc, err)
	}
	res, err := e.Trigger(ctx, engine.Event{Flow: "map-order", Kind: "webhook", Body: map[string]any{
		"order_number": "#1001", "email": "bob@example.com", "created_at": "2024-03-13T16:09:54Z", "total_price": "199.65",
		"customer":   map[string]any{"first_name": "Bob", "last_name": "Norman"},
		"line_items": []any{map[string]any{"sku": "IPOD-RED", "quantity": 2.0}, map[string]any{"sku": "CASE", "quantity": 1.0}}}})
	if err != nil || res.Response == nil {
		t.Fatalf("run: %v %+v", err, res)
	}
	out := res.Response.Body.(map[string]any)
	lines := out["lines"].([]any)
	if out["external_ref"] != "1001" || out["customer_name"] != "Bob Norman" || out["order_date"] != "2024-03-13" || out["total"] != 199.65 ||
		out["warehouse"] != "MAIN" || len(lines) != 2 || lines[1].(map[string]any)["item_sku"] != "CASE" {
		t.Fatalf("mapped: %v", out)
	}
	// The reviews survive a restart of the service (memory rebuilt from the store).
	svc2, err := mapper.NewService(ctx, st, nil)
	if err != nil || svc2.MemoryIn("").Len() == 0 {
		t.Fatalf("memory not rebuilt: %v %d", err, svc2.MemoryIn("").Len())
	}
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
