package nl2flow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/weftio/weft/nl2flow"
)

// FuzzCompile: whatever the text, the builtin compiler answers with a
// draft or a clear error, never a panic, and a draft it calls valid passes
// the checks again.
//
//	go test ./nl2flow -run '^$' -fuzz FuzzCompile -fuzztime 60s
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		mission, "", "every", "when", "for each", "if the amount is over", "-> -> ->", "#", "\"unclosed",
		"Every weekday at 25:99 post in #x", "on the 99th of every month", "every 0 minutes email a@b.co",
		"when a deal is won, otherwise post in #x", "unless", "for each line item", "then then then",
		"When an invoice is paid in the ERP, post in #finance and email the customer",
		"Expose a webhook that creates a contact and replies with ok", "... actually, ...", "scratch that",
	} {
		f.Add(s)
	}
	c := &nl2flow.Compiler{}
	f.Fuzz(func(t *testing.T, text string) {
		if c.Catalog == nil {
			cc := compiler(t)
			c.Catalog = cc.Catalog
		}
		d, err := c.Compile(context.Background(), nl2flow.Request{Text: text})
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if d.Valid {
			if _, probs := nl2flow.Check(d.YAML, cat, text); len(probs) != 0 {
				t.Fatalf("a valid draft fails the check: %v\n%s", probs, d.YAML)
			}
		}
	})
}
