package connectors

import (
	"errors"
	"strings"
	"testing"
)

func TestSearch(t *testing.T) {
	c := NewCatalog(&Connector{Name: "crm", Operations: []*Operation{
		{Name: "createContact", Description: "Create a contact in the CRM"},
		{Name: "listDeals", Description: "List deals, newest first"},
		{Name: "closeDeal", Description: "Mark a deal as won or lost"},
	}}, &Connector{Name: "chat", Operations: []*Operation{{Name: "postMessage", Description: "Send a message to a channel"}}})
	hits := c.Search("close the deal", 10)
	if len(hits) < 2 || hits[0].Operation != "crm.closeDeal" {
		t.Fatalf("%+v", hits)
	}
	if hits := c.Search("send message to channel", 1); len(hits) != 1 || hits[0].Operation != "chat.postMessage" {
		t.Fatalf("%+v", hits)
	}
	if hits := c.Search("", 5); hits != nil {
		t.Fatalf("%+v", hits)
	}
	if hits := c.Search("kubernetes", 5); len(hits) != 0 {
		t.Fatalf("%+v", hits)
	}
}

func TestRegisterImport(t *testing.T) {
	built := 0
	build := func(req *Operation) (*Connector, string, error) {
		built++
		if req == nil || req.Name != "request" {
			t.Fatalf("build got %+v, want the http connector's request operation", req)
		}
		return &Connector{Name: "crm", Operations: []*Operation{{Name: "list"}}}, "report", nil
	}
	bare := NewCatalog()
	if _, err := RegisterImport(bare, "crm", build); err == nil || !strings.Contains(err.Error(), "http connector is not installed") {
		t.Fatalf("a catalog without http: %v", err)
	}
	cat := NewCatalog(&Connector{Name: "http", Operations: []*Operation{{Name: "request"}}})
	for _, bad := range []string{"", "CRM", "1crm", "crm-x", strings.Repeat("a", 33), "http"} {
		if _, err := RegisterImport(cat, bad, build); err == nil {
			t.Fatalf("name %q accepted", bad)
		}
	}
	if built != 0 {
		t.Fatalf("build ran %d times for refused names", built)
	}
	rep, err := RegisterImport(cat, "crm", build)
	if err != nil || rep != "report" {
		t.Fatalf("RegisterImport = %q, %v", rep, err)
	}
	if _, ok := cat.Operation("crm.list"); !ok {
		t.Fatal("crm.list not registered")
	}
	if _, err := RegisterImport(cat, "erp", func(*Operation) (*Connector, string, error) { return nil, "", errors.New("bad doc") }); err == nil || err.Error() != "bad doc" {
		t.Fatalf("build's error not returned: %v", err)
	}
}
