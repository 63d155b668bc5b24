package flow

import (
	"strings"
	"testing"
)

type roOps struct {
	opsList
	ro map[string]bool
}

func (o roOps) OperationReadOnly(n string) (bool, bool) {
	v, ok := o.ro[n]
	return v, ok
}

func TestOperationResource(t *testing.T) {
	for _, c := range []struct{ in, conn, verb, res string }{
		{"crm.listAccounts", "crm", "list", "account"},
		{"crm.createAccount", "crm", "create", "account"},
		{"erp.listSalesOrders", "erp", "list", "sales order"},
		{"crm.listOpportunities", "crm", "list", "opportunity"},
		{"chat.postMessage", "chat", "post", "message"},
		{"hr.hireEmployee", "hr", "hire", "employee"},
		{"db.list_addresses", "db", "list", "address"},
		{"http.request", "http", "request", ""},
		{"nodot", "", "", ""},
	} {
		conn, verb, res := OperationResource(c.in)
		if conn != c.conn || verb != c.verb || res != c.res {
			t.Errorf("%s: got %q %q %q, want %q %q %q", c.in, conn, verb, res, c.conn, c.verb, c.res)
		}
	}
}

func TestWritesUsesHintsThenVerb(t *testing.T) {
	ops := roOps{opsList{"crm.createAccount", "crm.searchAccounts", "crm.syncAccount"}, map[string]bool{"crm.syncAccount": true}}
	if !Writes("crm.createAccount", ops) {
		t.Error("createAccount writes")
	}
	if Writes("crm.searchAccounts", ops) {
		t.Error("searchAccounts only reads (verb)")
	}
	if Writes("crm.syncAccount", ops) {
		t.Error("syncAccount is read-only by its hint")
	}
	if Writes("crm.deleteAccount", ops) {
		t.Error("a delete makes nothing new for a poll to see")
	}
}

func TestLoopsFlagsSelfTriggeringWrites(t *testing.T) {
	ops := opsList{"crm.listAccounts", "crm.createAccount", "crm.updateAccount", "crm.createContact", "crm.getAccount", "chat.postMessage"}
	loop := `name: acc
trigger:
  poll: {operation: crm.listAccounts, connection: crm}
steps:
  - id: look
    call: crm.getAccount
    with: {id: =trigger.body.id}
  - id: twin
    call: crm.createAccount
    connection: crm
    with: {name: =trigger.body.name}
  - id: contact
    call: crm.createContact
    with: {name: x}
  - id: say
    call: chat.postMessage
    with: {text: hi}
`
	f, err := Load("acc.yaml", []byte(loop), ops)
	if err != nil {
		t.Fatal(err)
	}
	ws := Loops(f, ops)
	if len(ws) != 1 {
		t.Fatalf("want one warning (step twin), got %v", ws)
	}
	if !strings.HasPrefix(ws[0].Pos, "acc.yaml:") || strings.Count(ws[0].Pos, ":") != 2 {
		t.Errorf("warning position %q is not file:line:col", ws[0].Pos)
	}
	if !strings.Contains(ws[0].Message, "feedback loop") || !strings.Contains(ws[0].Message, "twin") || !strings.Contains(ws[0].Message, "crm.listAccounts") {
		t.Errorf("unclear warning: %s", ws[0].Message)
	}
	if !strings.HasPrefix(ws[0].Pos, "acc.yaml:8:") {
		t.Errorf("warning at %s, want the twin step (line 8)", ws[0].Pos)
	}

	// Inside a branch, an update counts too.
	nested := `name: acc2
trigger:
  poll: {operation: crm.listAccounts}
steps:
  - if: =trigger.body.name == "x"
    then:
      - id: fix
        call: crm.updateAccount
        with: {id: =trigger.body.id}
`
	f, err = Load("acc2.yaml", []byte(nested), ops)
	if err != nil {
		t.Fatal(err)
	}
	if ws := Loops(f, ops); len(ws) != 1 || !strings.Contains(ws[0].Message, "fix") {
		t.Errorf("nested update: got %v", ws)
	}

	// Another connection of the same connector is another system: no loop.
	other := `name: acc3
trigger:
  poll: {operation: crm.listAccounts, connection: crm_eu}
steps:
  - id: copy
    call: crm.createAccount
    connection: crm_us
    with: {name: =trigger.body.name}
`
	f, err = Load("acc3.yaml", []byte(other), ops)
	if err != nil {
		t.Fatal(err)
	}
	if ws := Loops(f, ops); len(ws) != 0 {
		t.Errorf("two connections: no loop, got %v", ws)
	}
}

func TestLoopsFlagsOwnWebhook(t *testing.T) {
	ops := opsList{"http.request"}
	src := `name: echo
trigger: {webhook: {}}
steps:
  - id: again
    call: http.request
    with: {method: POST, url: "https://weft.example.com/hooks/echo"}
`
	f, err := Load("echo.yaml", []byte(src), ops)
	if err != nil {
		t.Fatal(err)
	}
	if ws := Loops(f, ops); len(ws) != 1 {
		t.Errorf("a call to the flow's own hook: want a warning, got %v", ws)
	}
	src = strings.Replace(src, "/hooks/echo", "/hooks/echo-other", 1)
	f, _ = Load("echo.yaml", []byte(src), ops)
	if ws := Loops(f, ops); len(ws) != 0 {
		t.Errorf("another flow's hook: no warning, got %v", ws)
	}
}
