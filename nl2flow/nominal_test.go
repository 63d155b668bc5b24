package nl2flow_test

import (
	"slices"
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
