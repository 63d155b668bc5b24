package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftio/weft/internal/examplecat"
	"github.com/weftio/weft/nl2flow"
)

// Every gold outline is well formed and names only operations the example
// catalog has (pollable ones for poll triggers); the splits do not share a
// request; the dataset has at least 150 requests.
func TestDatasetGold(t *testing.T) {
	cc, err := examplecat.Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	cat := nl2flow.FromConnectors(cc)
	seen := map[string]string{}
	total := 0
	for _, split := range []string{"dev", "heldout"} {
		items, err := load(filepath.Join("data", split+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		total += len(items)
		for _, it := range items {
			where := split + ":" + it.text
			if prev, dup := seen[strings.ToLower(it.text)]; dup {
				t.Errorf("%s repeats %s", where, prev)
			}
			seen[strings.ToLower(it.text)] = where
			kind, op, _ := strings.Cut(it.trigger, " ")
			switch kind {
			case "poll":
				o, ok := cat.Op(op)
				if !ok || o.Trigger == nil {
					t.Errorf("%s: %s is not a pollable operation", where, op)
				}
			case "schedule":
				if len(strings.Fields(op)) != 6 {
					t.Errorf("%s: schedule wants 5 cron fields and a zone: %q", where, op)
				}
			case "webhook", "manual":
			default:
				t.Errorf("%s: trigger %q", where, it.trigger)
			}
			depth := 0
			for _, tok := range it.steps {
				switch {
				case tok == "if(" || tok == "else(" || tok == "each(":
					depth++
				case tok == ")":
					depth--
				default:
					if _, ok := cat.Op(tok); !ok {
						t.Errorf("%s: unknown operation %s", where, tok)
					}
				}
				if depth < 0 {
					t.Errorf("%s: unbalanced", where)
				}
			}
			if depth != 0 {
				t.Errorf("%s: unbalanced", where)
			}
		}
	}
	if total < 150 {
		t.Fatalf("%d requests; the issue asks for at least 150", total)
	}
}

// The scorer: a perfect draft scores perfectly; a wrong trigger, a missing
// step and a wrong parameter are each counted.
func TestJudge(t *testing.T) {
	cc, err := examplecat.Load("../..")
	if err != nil {
		t.Fatal(err)
	}
	cat := nl2flow.FromConnectors(cc)
	comp := &nl2flow.Compiler{Catalog: func() *nl2flow.Catalog { return cat }}
	d, err := comp.Compile(context.Background(), nl2flow.Request{Text: "When a deal is won, email ceo@acme.example if the amount is over 10k"})
	if err != nil {
		t.Fatal(err)
	}
	gold := item{trigger: "poll crm.listOpportunities", steps: skeletonTokens("if(smtp.send)"),
		params: map[string]string{"trigger.stage": "closed_won", "if": "amount > 10000", "smtp.send.to": "ceo@acme.example"}}
	r := judge(gold, d, nil, cat)
	if !r.perfect() {
		t.Fatalf("%+v\n%s", r, d.YAML)
	}
	gold = item{trigger: "poll crm.listContacts", steps: skeletonTokens("if(smtp.send chat.postMessage)"),
		params: map[string]string{"trigger.stage": "closed_lost", "smtp.send.to": "ceo@acme.example"}}
	r = judge(gold, d, nil, cat)
	if r.trigOK || r.structOK || r.tp != 1 || r.fn != 1 || r.fp != 0 || r.pOK != 1 || r.pAll != 2 {
		t.Fatalf("%+v", r)
	}
}
