package nl2flow

import (
	"strings"
	"testing"
)

func TestSegmentsByStructure(t *testing.T) {
	var got []string
	for _, seg := range segments(tokenize("When a deal is won, create a project and notify #sales unless the amount is under 100 then for each line item email x@y.example")) {
		var ws []string
		for _, t := range seg {
			ws = append(ws, t.raw)
		}
		got = append(got, strings.Join(ws, " "))
	}
	want := []string{"When a deal is won", "create a project", "and notify #sales", "unless the amount is under 100", "then", "for each line item email x@y.example"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("segments\n got %q\nwant %q", got, want)
	}
}

// Word-level coverage: each run of content words the draft does not
// account for is named; a system counts only when a step or the trigger
// is on it; what the notes already say counts; an action verb the draft
// does not carry takes the rest of its clause with it.
func TestUnaccountedRuns(t *testing.T) {
	cat := exampleCatalog(t)
	set := func(ws ...string) map[string]bool {
		m := map[string]bool{}
		for _, w := range ws {
			m[w] = true
		}
		return m
	}
	for _, c := range []struct {
		text      string
		ev, sysEv map[string]bool
		said      string
		want      []string
	}{
		// a chat step only: the CRM report is not done
		{"Weekly CRM lead report to chat", set("weekly", "chat"), set("chat"), "", []string{"CRM lead report"}},
		// nothing accounted: the whole clause
		{"Weekly CRM lead report", set(), set(), "", []string{"Weekly CRM lead report"}},
		// "crm" among the evidence words (a field value, a message text) but
		// no step on the CRM: still named
		{"Weekly CRM lead report to chat", set("weekly", "chat", "crm", "lead", "report"), set("chat"), "", []string{"CRM"}},
		// everything accounted
		{"Weekly CRM lead report to chat", set("weekly", "chat", "lead", "report"), set("chat", "crm"), "", nil},
		// already said in not_understood
		{"Weekly CRM lead report to chat", set("weekly", "chat"), set("chat"), "\"crm lead report\": …", nil},
		// a verb not carried: its object and destination go with it
		{"and create a project in the tracker", set("project", "tracker"), set("tracker"), "", []string{"create a project in the tracker"}},
		// stop words between open words join the run; at its end they are cut
		{"the report of sales to chat", set("chat"), set("chat"), "", []string{"report of sales"}},
	} {
		s := &state{b: &builtin{cat: cat}, ev: c.ev, sysEv: c.sysEv}
		got := s.unaccounted(tokenize(c.text), c.said)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%q: unaccounted %q, want %q", c.text, got, c.want)
		}
	}
}

func TestWithoutAsides(t *testing.T) {
	if got := withoutAsides(`"x": not connected (connected: chat, crm) here`); got != `"x": not connected  here` {
		t.Errorf("got %q", got)
	}
	if got := withoutAsides("a) b (c"); got != "a) b " {
		t.Errorf("unbalanced: got %q", got)
	}
}
