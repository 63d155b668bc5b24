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
// does not carry takes the rest of its clause with it; a clause no step
// accounts for (only the trigger or a note names its words) is named
// whole; a clause whose head word is not understood names it with the
// words it acts on.
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
		stepEv    map[string]bool // nil: the same as ev (every word from a step)
		said      string
		want      []string
	}{
		// a chat step only: the CRM report is not done
		{"Weekly CRM lead report to chat", set("weekly", "chat"), set("chat"), set("chat"), "", []string{"CRM lead report"}},
		// nothing accounted: the whole clause
		{"Weekly CRM lead report", set(), set(), nil, "", []string{"Weekly CRM lead report"}},
		// "crm" among the evidence words (a field value, a message text) but
		// no step on the CRM: still named
		{"Weekly CRM lead report to chat", set("weekly", "chat", "crm", "lead", "report"), set("chat"), nil, "", []string{"CRM"}},
		// everything accounted
		{"Weekly CRM lead report to chat", set("weekly", "chat", "lead", "report"), set("chat", "crm"), nil, "", nil},
		// already said in not_understood
		{"Weekly CRM lead report to chat", set("weekly", "chat"), set("chat"), nil, "\"crm lead report\": …", nil},
		// a verb not carried: its object and destination go with it
		{"and create a project in the tracker", set("project", "tracker"), set("tracker"), nil, "", []string{"create a project in the tracker"}},
		// stop words between open words join the run; at its end they are cut
		{"the report of sales to chat", set("chat"), set("chat"), nil, "", []string{"report of sales"}},
		// only the trigger is on the CRM, no step comes from the clause: whole
		{"Capture leads in CRM from a form", set("crm", "lead", "leads"), set("crm"), set(), "", []string{"Capture leads in CRM from a form"}},
		// the head word not understood: with what it acts on, though a step
		// uses those words
		{"Upload leads from a file to CRM", set("crm", "lead", "leads", "file"), set("crm"), nil, "", []string{"Upload leads"}},
	} {
		stepEv := c.stepEv
		if stepEv == nil {
			stepEv = c.ev
		}
		s := &state{b: &builtin{cat: cat}, ev: c.ev, sysEv: c.sysEv, stepEv: stepEv}
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

// A hyphenated word around a word of direction is the words it joins
// ("chat-to-tracker"); other hyphenated words stay one word.
func TestDirectionCompound(t *testing.T) {
	var got []string
	for _, tk := range tokenize("Automated chat-to-tracker issue creation, a follow-up and high-value deals") {
		got = append(got, tk.w)
	}
	want := "automated chat to tracker issue creation , a follow-up and high-value deals"
	if strings.Join(got, " ") != want {
		t.Errorf("tokens %q\nwant %q", strings.Join(got, " "), want)
	}
}

// A webhook trigger accounts for the words that name it and say how its
// request arrives — read from the lexicon (trigger.webhook,
// cue.webhook_arrival), not from a list in the code: every word of those
// groups is evidence of a webhook draft, and none is without one.
func TestWebhookEvidenceFromLexicon(t *testing.T) {
	s := &state{b: &builtin{cat: exampleCatalog(t)}, p: &Plan{Trigger: TriggerPlan{Kind: "webhook"}}, n: &notes{}}
	ev := s.evidence()
	for _, set := range []wordSet{lxTriggerWebhook, lxWebhookArrival} {
		for w := range set.m {
			if !ev[w] {
				t.Errorf("%q not accounted for by a webhook trigger", w)
			}
		}
	}
	s.p.Trigger = TriggerPlan{Kind: "manual"}
	if ev := s.evidence(); ev["submission"] || ev["payload"] {
		t.Errorf("a manual draft accounts for a webhook's words")
	}
}
