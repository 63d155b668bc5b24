package nl2flow

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLexiconLoads(t *testing.T) {
	sub := mustLexicon()
	if len(sub.order) == 0 {
		t.Fatal("no groups loaded")
	}
	for _, name := range []string{"stop", "english", "event", "vendor"} {
		if sub.byName[name] == nil {
			t.Errorf("group %q is missing", name)
		}
	}
	for _, k := range lexConstantNames {
		if _, ok := sub.constants[k]; !ok {
			t.Errorf("constant %q is missing", k)
		}
	}
	if actionVerbs["email"] != "send" || objectWords["deal"] != "opportunity" || weekdays["fri"] != "5" {
		t.Errorf("tables not built from the files: %q %q %q", actionVerbs["email"], objectWords["deal"], weekdays["fri"])
	}
	if comparator("below") != "<" || comparator("exceeds") != ">" || comparator("at") != "" || ordinal("third") != 3 || verbOf["search"] != "list" {
		t.Errorf("grammar tables: below %q exceeds %q third %d search %q", comparator("below"), comparator("exceeds"), ordinal("third"), verbOf["search"])
	}
	for _, m := range []map[string]string{actionVerbs, objectWords, zones, weekdays} {
		for w, v := range m {
			if v == "" {
				t.Errorf("%q maps to nothing: a membership group sits under a map's prefix", w)
			}
		}
	}
	if got := stateWords["closed"]; len(got) != 2 || got[0] != "closed_won" {
		t.Errorf("closed: file order lost: %v", got)
	}
}

func lexFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return m
}

const twoGroups = `{"version": 1, "note": "n", "groups": [
 {"name": "verb.send", "note": "n", "class": "meaning", "value": "send", "words": ["send", "post"]},
 {"name": "object.message", "note": "n", "class": "meaning", "value": "message", "words": ["message", "post"]}
], "ambiguous": [%s]}`

// A word in two groups of one class is refused unless declared ambiguous.
func TestLexiconWordInTwoGroups(t *testing.T) {
	_, err := loadLexicon(lexFS(map[string]string{"a.json": strings.Replace(twoGroups, "%s", "", 1)}))
	if err == nil || !strings.Contains(err.Error(), `"post" in verb.send and object.message`) {
		t.Fatalf("undeclared conflict: %v", err)
	}
	decl := `{"word": "post", "groups": ["verb.send", "object.message"], "note": "verb or noun"}`
	if _, err := loadLexicon(lexFS(map[string]string{"a.json": strings.Replace(twoGroups, "%s", decl, 1)})); err != nil {
		t.Fatalf("declared ambiguity refused: %v", err)
	}
	// Across files too.
	other := `{"version": 1, "note": "n", "groups": [{"name": "object.post", "note": "n", "class": "meaning", "value": "post", "words": ["send"]}], "ambiguous": []}`
	_, err = loadLexicon(lexFS(map[string]string{"a.json": strings.Replace(twoGroups, "%s", decl, 1), "b.json": other}))
	if err == nil || !strings.Contains(err.Error(), `"send" in verb.send and object.post`) {
		t.Fatalf("conflict across files: %v", err)
	}
	// Groups without a class only answer membership and may overlap.
	lists := `{"version": 1, "note": "n", "groups": [{"name": "stop", "note": "n", "words": ["a"]}, {"name": "english", "note": "n", "words": ["a"]}], "ambiguous": []}`
	if _, err := loadLexicon(lexFS(map[string]string{"a.json": lists})); err != nil {
		t.Fatalf("membership lists: %v", err)
	}
}

func TestLexiconValidation(t *testing.T) {
	for name, file := range map[string]string{
		"declaration not needed":   strings.Replace(twoGroups, "%s", `{"word": "post", "groups": ["verb.send", "object.message"], "note": "x"}, {"word": "send", "groups": ["verb.send", "object.message"], "note": "x"}`, 1),
		"declaration without note": strings.Replace(twoGroups, "%s", `{"word": "post", "groups": ["verb.send", "object.message"]}`, 1),
		"wrong version":            `{"version": 2, "note": "n", "groups": [], "ambiguous": []}`,
		"no file note":             `{"version": 1, "groups": [], "ambiguous": []}`,
		"group without note":       `{"version": 1, "note": "n", "groups": [{"name": "stop", "words": ["a"]}]}`,
		"upper case":               `{"version": 1, "note": "n", "groups": [{"name": "stop", "note": "n", "words": ["The"]}]}`,
		"repeated word":            `{"version": 1, "note": "n", "groups": [{"name": "stop", "note": "n", "words": ["a", "a"]}]}`,
		"class without value":      `{"version": 1, "note": "n", "groups": [{"name": "verb.x", "note": "n", "class": "meaning", "words": ["a"]}]}`,
		"unknown field":            `{"version": 1, "note": "n", "groups": [], "weights": 1}`,
		"constant without note":    `{"version": 1, "note": "n", "groups": [], "constants": {"x": {"value": 1}}}`,
		"not json":                 `{"version": 1,`,
		"too long":                 `{"version": 1, "note": "n", "groups": [{"name": "stop", "note": "n", "words": ["` + strings.Repeat("a", 65) + `"]}]}`,
	} {
		if _, err := loadLexicon(lexFS(map[string]string{"a.json": file})); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	dup := `{"version": 1, "note": "n", "groups": [{"name": "stop", "note": "n", "words": ["a"]}]}`
	if _, err := loadLexicon(lexFS(map[string]string{"a.json": dup, "b.json": dup})); err == nil {
		t.Error("a group defined in two files was accepted")
	}
	if _, err := loadLexicon(fstest.MapFS{}); err == nil {
		t.Error("no files accepted")
	}
}

// Dictionary words are not typos; a real misspelling is still corrected.
func TestTyposOnlyForUnknownWords(t *testing.T) {
	vocab := map[string]bool{"able": true, "mailed": true, "want": true, "opportunity": true, "created": true, "when": true}
	for _, w := range []string{"table", "failed", "wait"} {
		toks := tokenize("log it in the " + w)
		if fixed := fixTypos(toks, vocab); len(fixed) != 0 {
			t.Errorf("%q corrected: %v", w, fixed)
		}
	}
	toks := tokenize("wen a new oportunity is creatd")
	fixed := fixTypos(toks, vocab)
	if strings.Join(fixed, " ") != "wen→when oportunity→opportunity creatd→created" {
		t.Errorf("real typos: %v", fixed)
	}
}

// Comparison phrases come from the lexicon, longest first.
func TestComparePhrase(t *testing.T) {
	for text, want := range map[string]string{"no more than 5": "<= 3", "at least 5": ">= 2", "is not DE": "!= 2", "is DE": "== 1",
		"over 5": "> 1", "greater than 5": "> 2", "below 5": "< 1", "fewer than 5": "< 2", "amount 5": " 0"} {
		op, n := comparePhrase(tokenize(text), 0)
		if got := fmt.Sprintf("%s %d", op, n); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

// Every group under a prefix the code reads as a map has a value: a
// group without one would be skipped silently.
func TestLexiconValuePrefixes(t *testing.T) {
	lx := mustLexicon()
	for _, prefix := range []string{"verb.", "object.", "state.", "weekday.", "zone.", "system.", "respell.", "opverb.", "auto.",
		"comparator.", "compare.phrase.", "event.kind.", "schedule.adverb.", "schedule.period.", "clock.", "field.source.", "number.scale."} {
		n := 0
		for _, g := range lx.order {
			if strings.HasPrefix(g.Name, prefix) {
				n++
				if g.Value == "" {
					t.Errorf("group %s (in %s) has no value, so the %s* map skips it", g.Name, g.file, prefix)
				}
			}
		}
		if n == 0 {
			t.Errorf("no group under %s", prefix)
		}
	}
}

// The product's own name and the catalog's names (connectors, connections,
// the words of operation titles) are known words: "weft" is never read as
// "went", nor a connection's name as a nearby word.
func TestTyposNeverCorrectNames(t *testing.T) {
	b := &builtin{cat: exampleCatalog(t)}
	vocab := b.vocab()
	for _, text := range []string{"get the weft repository", "post it to weft", "call the local connection"} {
		if fixed := fixTypos(tokenize(text), vocab); len(fixed) != 0 {
			t.Errorf("%q corrected: %v", text, fixed)
		}
	}
	if fixed := fixTypos(tokenize("wen a new oportunity is creatd"), vocab); len(fixed) != 3 {
		t.Errorf("real typos not corrected with the catalog's vocabulary: %v", fixed)
	}
}
