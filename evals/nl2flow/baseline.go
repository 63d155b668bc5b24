package main

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/nl2flow"
)

// baselineDraft is the eval's reference point, measured in the same run:
// no vocabulary and no grammar, only retrieval. The draft calls the one
// catalog operation whose name, title and description share the most
// words (three letters or more, case and separators split) with the
// request, from a manual trigger; its confidence is that overlap (Jaccard).
// A compiler that does not beat it has learned nothing from the request's
// structure.
func baselineDraft(text string, cat *nl2flow.Catalog) *nl2flow.Draft {
	req := baselineWords(text)
	var best *nl2flow.Op
	bestScore := 0.0
	for _, op := range cat.Ops {
		ow := baselineWords(op.Name + " " + op.Title + " " + op.Description + " " + op.Connector)
		inter := 0
		for w := range ow {
			if req[w] {
				inter++
			}
		}
		union := len(req) + len(ow) - inter
		if union == 0 {
			continue
		}
		if s := float64(inter) / float64(union); s > bestScore {
			best, bestScore = op, s
		}
	}
	var b strings.Builder
	b.WriteString("name: baseline\ntrigger:\n  manual: {}\n")
	if best == nil {
		b.WriteString("steps: []\n")
	} else {
		fmt.Fprintf(&b, "steps:\n  - id: s1\n    call: %s\n", best.Ref)
		if best.Connection != "" {
			fmt.Fprintf(&b, "    connection: %s\n", best.Connection)
		}
	}
	src := b.String()
	f, probs := nl2flow.Check(src, cat, text)
	return &nl2flow.Draft{Name: "baseline", YAML: src, Flow: f, Problems: probs, Valid: len(probs) == 0, Confidence: bestScore, Backend: "baseline"}
}

func baselineWords(s string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		for _, w := range ai.Split(f) {
			if w = strings.ToLower(w); len(w) >= 3 {
				out[w] = true
			}
		}
	}
	return out
}
