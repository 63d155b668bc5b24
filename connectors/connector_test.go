package connectors

import "testing"

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
