package nl2flow_test

import (
	"strings"
	"testing"
)

// Every clause is compiled or named: product names the catalog lacks and
// clauses nothing in the draft comes from are listed in not_understood;
// a fully compiled request gets no such entry.
func TestCoverageNamesWhatIsLeftOut(t *testing.T) {
	d := compile(t, "When a new contact is added to the CRM, post in #sales and add them to Google Sheets")
	nu := strings.Join(d.NotUnderstood, " | ")
	if !strings.Contains(nu, "Google Sheets") {
		t.Errorf("the product the catalog lacks is not named: %q", d.NotUnderstood)
	}
	d = compile(t, "When a new contact is added to the CRM, post in #sales, then translate the weather forecast")
	nu = strings.Join(d.NotUnderstood, " | ")
	if !strings.Contains(nu, "weather forecast") {
		t.Errorf("an uncompiled clause is not named: %q", d.NotUnderstood)
	}
	for _, ok := range []string{
		"When a new opportunity closes in the CRM, create a project in the tracker and notify the delivery team in chat",
		"When a sales order is created in the ERP, if the currency is USD, notify #us-sales",
		"Every weekday at 8am Pacific, list issues in tracker project SUP that are todo and post them in #support",
	} {
		d := compile(t, ok)
		for _, u := range d.NotUnderstood {
			if strings.Contains(u, "not compiled") || strings.Contains(u, "not a system") {
				t.Errorf("%q: compiled in full, yet %q", ok, u)
			}
		}
	}
}

// Coordinated verbs share the object that follows the last of them.
func TestCoordinatedVerbsShareObject(t *testing.T) {
	d := compile(t, "Create, update, and get an issue on tracker")
	got := strings.Join(calls(d.Flow), " ")
	for _, want := range []string{"tracker.createIssue", "tracker.updateIssue", "tracker.getIssue"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %s in %q (not understood %q)", want, got, d.NotUnderstood)
		}
	}
}

// A condition, loop or qualifier the draft does not carry is named, even
// when its words appear elsewhere in the draft.
func TestCoverageNamesStructureNotCarried(t *testing.T) {
	d := compile(t, "When a new contact is added to the CRM, post in #sales only for enterprise contacts")
	if !strings.Contains(strings.Join(d.NotUnderstood, " | "), "enterprise") && !strings.Contains(d.YAML, "if:") {
		t.Errorf("the condition is neither compiled nor named: %q\n%s", d.NotUnderstood, d.YAML)
	}
	d = compile(t, "When a new contact is added to the CRM, email hot leads at sales@acme.example")
	if !strings.Contains(strings.Join(d.NotUnderstood, " | "), "hot leads") {
		t.Errorf("the qualifier is not named: %q", d.NotUnderstood)
	}
	// Talk around a request is not a condition.
	d = compile(t, "It would be great if a new CRM opportunity automatically created a matching sales order in the ERP")
	for _, u := range d.NotUnderstood {
		if strings.Contains(u, "condition") {
			t.Errorf("talk read as a condition: %q", u)
		}
	}
}

// "new <record>" with no other trigger: the flow polls that record; "create
// a new <record>" is what is made, not what happened.
func TestNewRecordTrigger(t *testing.T) {
	d := compile(t, "Send an outreach email to new CRM contacts")
	if d.Flow == nil || d.Flow.Trigger.Poll == nil || d.Flow.Trigger.Poll.Operation != "crm.listContacts" || !strings.Contains(strings.Join(calls(d.Flow), " "), "smtp.send") {
		t.Errorf("new CRM contacts:\n%s\n%q", d.YAML, d.NotUnderstood)
	}
	d = compile(t, "Create a new issue in tracker project OPS")
	if d.Flow == nil || d.Flow.Trigger.Poll != nil {
		t.Errorf("create a new issue polls:\n%s", d.YAML)
	}
}

// No system named in a request is dropped silently: the draft has a step
// or a trigger on it, or not_understood names it.
func TestCoverageEverySystemNamed(t *testing.T) {
	systems := []string{"crm", "tracker", "erp", "hr", "chat", "email"}
	for _, text := range []string{
		"Weekly CRM lead report to chat",
		"Daily tracker task summaries to chat by assignee",
		"Get notified on email and chat when a new ERP invoice arrives",
		"Automate client renewal alerts from CRM to email and chat",
		"When a new employee joins in HR, post in #people and record it in the CRM",
	} {
		d := compile(t, text)
		nu := strings.ToLower(strings.Join(d.NotUnderstood, " | "))
		on := map[string]bool{}
		if d.Flow != nil {
			for _, c := range calls(d.Flow) {
				on[strings.Split(c, ".")[0]] = true
			}
			if p := d.Flow.Trigger.Poll; p != nil {
				on[strings.Split(p.Operation, ".")[0]] = true
			}
		}
		on["email"] = on["email"] || on["smtp"]
		for _, sys := range systems {
			if !strings.Contains(strings.ToLower(text), sys) || on[sys] {
				continue
			}
			if !strings.Contains(nu, sys) {
				t.Errorf("%q: %s dropped silently (calls %v, not understood %q)", text, sys, calls(d.Flow), d.NotUnderstood)
			}
		}
	}
}
