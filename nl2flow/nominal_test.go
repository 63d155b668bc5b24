package nl2flow_test

import (
	"slices"
	"strings"
	"testing"
)

// A clause with no verb whose noun names an action is read as that action
// on the connected system beside the noun: before it in the compound
// ("CRM deal updates"), or in the list of tools after it ("notification
// system with chat"). What the noun is about ("alerts for CRM deal
// updates") and a read's noun ("contact lookup") ask for no write.
func TestVerblessActionNouns(t *testing.T) {
	for text, want := range map[string]string{
		"Monthly ERP invoicing for retainer clients":     "erp.createInvoice",
		"Chat messaging for the on-call rota":            "chat.postMessage",
		"Nightly CRM deal updates":                       "crm.updateOpportunity",
		"Escalation notification system with chat":       "chat.postMessage",
		"Contract generation & delivery with email":      "smtp.send",
		"Quarterly tracker project creation for clients": "tracker.createProject",
	} {
		d := compile(t, text)
		if !slices.Contains(calls(d.Flow), want) {
			t.Errorf("%q: want %s\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
		}
	}
	for text, never := range map[string]string{
		"Chat alerts for CRM deal updates": "crm.updateOpportunity",
		"Post to chat on CRM deal updates": "crm.updateOpportunity",
		"Deal updates digest":              "crm.updateOpportunity",
		"CRM contact lookup":               "crm.createContact",
	} {
		d := compile(t, text)
		if slices.Contains(calls(d.Flow), never) {
			t.Errorf("%q: drafted %s, which the request does not ask for\n%s", text, never, d.YAML)
		}
	}
}

// An action noun after "with" or "&" in a clause that has its own verb is
// a step of its own ("… in the CRM with chat follow-up", "generation &
// delivery with email"); when the draft already makes that step there
// ("Send welcome emails … with email delivery"), the noun names it and no
// second one is made.
func TestAccompanyingActionNouns(t *testing.T) {
	for text, want := range map[string][]string{
		"Save webinar leads in the CRM with chat follow-up":                 {"crm.createContact", "chat.postMessage"},
		"Quote generation & delivery with email and Dropbox":                {"smtp.send"},
		"Open a tracker issue for each new hire with an email confirmation": {"tracker.createIssue", "smtp.send"},
		"Generate a tracker issue from a form, with email delivery":         {"tracker.createIssue", "smtp.send"},
	} {
		d := compile(t, text)
		for _, w := range want {
			if !slices.Contains(calls(d.Flow), w) {
				t.Errorf("%q: want %s\n%s\n%v", text, w, d.YAML, d.NotUnderstood)
			}
		}
	}
	for _, text := range []string{
		"Send welcome emails to new CRM contacts with email delivery",
		"Email the weekly pipeline report to sales with email delivery",
		"Create signature emails in HTML & PDF with email delivery",
	} {
		d := compile(t, text)
		n := 0
		for _, c := range calls(d.Flow) {
			if c == "smtp.send" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q: %d smtp.send steps, want 1\n%s", text, n, d.YAML)
		}
	}
}

// A product the catalog lacks named only in the list of tools after a
// connected system's records ("update CRM deals with Stripe") is what the
// change is made with: the step in the connected system is drafted and the
// product named as not understood. Records kept in the product ("deals in
// Pipedrive with CRM") are still not written anywhere.
func TestToolProductIsNoDestination(t *testing.T) {
	for text, want := range map[string]string{
		"Update CRM deals with Stripe":                          "crm.updateOpportunity",
		"Nightly CRM deal stage updates with Stripe & Airtable": "crm.updateOpportunity",
	} {
		d := compile(t, text)
		if !slices.Contains(calls(d.Flow), want) {
			t.Errorf("%q: want %s\n%s\n%v", text, want, d.YAML, d.NotUnderstood)
		}
		named := false
		for _, u := range d.NotUnderstood {
			named = named || strings.Contains(u, "Stripe is not connected")
		}
		if !named {
			t.Errorf("%q: Stripe not named as not connected: %v", text, d.NotUnderstood)
		}
	}
	for _, text := range []string{"Update deals in Pipedrive with CRM", "Create tracker issues in Asana with CRM"} {
		if d := compile(t, text); len(calls(d.Flow)) != 0 {
			t.Errorf("%q: drafted %v in a product's place\n%s", text, calls(d.Flow), d.YAML)
		}
	}
}

// Coordinated verbs that share one object share its place too: "Create,
// update and get a contact from the CRM" keeps the records the read takes
// from the CRM in the CRM ("a person" there is a contact); a write after
// the read ("get and update deals from CRM") still reads "from" as the
// source.
func TestCoordinatedVerbsShareThePlace(t *testing.T) {
	for text, want := range map[string]string{
		"Create, update and get a contact from the CRM": "crm.createContact crm.updateContact crm.getContact",
		"Create and fetch a person from CRM":            "crm.createContact crm.getContact",
		"Add, change and look up an issue from tracker": "tracker.createIssue tracker.updateIssue tracker.getIssue",
	} {
		d := compile(t, text)
		if got := strings.Join(calls(d.Flow), " "); got != want {
			t.Errorf("%q: calls %q, want %q\n%v", text, got, want, d.NotUnderstood)
		}
	}
	if d := compile(t, "Get and update deals from CRM"); slices.Contains(calls(d.Flow), "crm.updateOpportunity") {
		t.Errorf("a write after the read took its source as its place\n%s", d.YAML)
	}
}

// "… and updates their status": a possessive after an update verb refers
// back to the records the trigger watches, which are updated; with no
// records in scope it still asks what to update.
func TestPossessiveUpdatesTriggerRecords(t *testing.T) {
	d := compile(t, "When a CRM deal goes stale, update its stage to lost")
	if !slices.Contains(calls(d.Flow), "crm.updateOpportunity") {
		t.Errorf("want crm.updateOpportunity\n%s\n%v", d.YAML, d.NotUnderstood)
	}
	if d := compile(t, "Update their status to done"); len(calls(d.Flow)) != 0 {
		t.Errorf("with no records in scope, drafted %v", calls(d.Flow))
	}
}
