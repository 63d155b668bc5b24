package nl2flow_test

import (
	"strings"
	"testing"
)

// valid means deployable and complete: a draft that leaves a required
// argument unset is not valid, names it, and asks for it.
func TestMissingArgumentNotValid(t *testing.T) {
	d := compile(t, "when a deal is won in the crm, post a message to chat")
	if d.Valid {
		t.Fatalf("a draft without a channel is valid:\n%s", d.YAML)
	}
	probs := ""
	for _, p := range d.Problems {
		probs += p.Message + "\n"
	}
	if !strings.Contains(probs, "channelId") {
		t.Errorf("the problem does not name the missing argument: %s", probs)
	}
	if !strings.Contains(strings.ToLower(strings.Join(d.Questions, " ")), "channel") {
		t.Errorf("no question asks for the channel: %v", d.Questions)
	}
	// The same request with the channel is complete.
	d = compile(t, "when a deal is won in the crm, post a message to #sales")
	if !d.Valid {
		t.Fatalf("complete draft not valid: %v\n%s", d.Problems, d.YAML)
	}
}

// Draft names come from the request's own words, so two requests do not
// share a name by default.
func TestDraftNameFromRequest(t *testing.T) {
	a := compile(t, "when a deal is won in the crm, post a message to #sales")
	b := compile(t, "when a contact is created in the crm, email ada@example.com")
	for _, w := range []string{"deal", "won"} {
		if !strings.Contains(a.Name, w) {
			t.Errorf("name %q does not come from the request (no %q)", a.Name, w)
		}
	}
	if a.Name == "" || a.Name == b.Name {
		t.Errorf("names %q and %q", a.Name, b.Name)
	}
}
