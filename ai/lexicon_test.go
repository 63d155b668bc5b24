package ai

import (
	"encoding/json"
	"strings"
	"testing"
)

func readLexicon(t *testing.T, name string) []byte {
	t.Helper()
	b, err := lexiconFiles.ReadFile("lexicon/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The embedded files themselves, read without the loader: a word in two
// concept groups fails here unless the file declares it ambiguous with
// both groups among its senses.
func TestLexiconNoWordInTwoGroups(t *testing.T) {
	var f conceptFile
	if err := json.Unmarshal(readLexicon(t, "concepts.json"), &f); err != nil {
		t.Fatal(err)
	}
	declared := map[string][]string{}
	for _, a := range f.Ambiguous {
		declared[a.Word] = a.Senses
	}
	in := map[string][]string{}
	for _, g := range f.Groups {
		for _, w := range g.Words {
			in[w] = append(in[w], g.Concept)
		}
	}
	for w, gs := range in {
		if len(gs) < 2 {
			continue
		}
		senses, ok := declared[w]
		if !ok {
			t.Errorf("%q is in groups %v and not declared ambiguous", w, gs)
			continue
		}
		for _, g := range gs {
			if !strings.Contains(" "+strings.Join(senses, " ")+" ", " "+g+" ") {
				t.Errorf("%q is in group %q, not among its declared senses %v", w, g, senses)
			}
		}
	}
	// The three that once sat silently in two groups, resolved.
	if gs := in["note"]; len(gs) != 1 || gs[0] != "description" {
		t.Errorf("note: groups %v, want description only", gs)
	}
	if gs := in["lead"]; len(gs) != 1 {
		t.Errorf("lead: groups %v, want one", gs)
	}
	if s := declared["address"]; len(s) != 2 {
		t.Errorf("address: declared senses %v, want two", s)
	}
}

func TestLexiconFilesLoad(t *testing.T) {
	l, err := DefaultLexicon()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.Version, "concepts-") || strings.Count(l.Version, "+") != 2 {
		t.Errorf("version %q", l.Version)
	}
	for _, g := range l.Groups() {
		if g.Note == "" {
			t.Errorf("group %q has no note", g.Concept)
		}
	}
	if Concept("client") != "customer" || Concept("qty") != "quantity" || Concept("zzz") != "zzz" {
		t.Errorf("Concept: client %q, qty %q", Concept("client"), Concept("qty"))
	}
}

func TestParseLexiconRejects(t *testing.T) {
	ab := readLexicon(t, "abbreviations.json")
	wd := readLexicon(t, "words.json")
	concepts := func(groups, ambiguous string) []byte {
		return []byte(`{"version": "t", "source": "test", "groups": [` + groups + `], "ambiguous": [` + ambiguous + `]}`)
	}
	good := `{"concept": "note", "words": ["note", "memo"], "note": "n"}, {"concept": "description", "words": ["description", "note"], "note": "d"}`
	for name, tc := range map[string]struct {
		c    []byte
		want string // "" for no error
	}{
		"word in two groups":     {concepts(good, ""), `"note" is in groups note and description`},
		"declared ambiguous":     {concepts(good, `{"word": "note", "senses": ["note", "description"], "note": "x"}`), ""},
		"sense order":            {concepts(good, `{"word": "note", "senses": ["description", "note"], "note": "x"}`), "first sense"},
		"sense not a group":      {concepts(good, `{"word": "note", "senses": ["note", "remark"], "note": "x"}`), "no group names"},
		"group left out":         {concepts(`{"concept": "a", "words": ["a", "b"], "note": "n"}, {"concept": "c", "words": ["c", "b"], "note": "n"}, {"concept": "d", "words": ["d"], "note": "n"}`, `{"word": "b", "senses": ["a", "d"], "note": "x"}`), `not one of its declared senses`},
		"no note":                {concepts(`{"concept": "a", "words": ["a"]}`, ""), "needs a concept, words and a note"},
		"upper case":             {concepts(`{"concept": "a", "words": ["A"], "note": "n"}`, ""), "lower-case word"},
		"unknown field":          {[]byte(`{"version": "t", "source": "s", "groups": [], "extra": 1}`), "unknown field"},
		"no version":             {[]byte(`{"source": "s", "groups": []}`), "version"},
		"too large":              {append([]byte(`{"version": "t", "source": "s", "rule": "`), append([]byte(strings.Repeat("x", maxLexiconFile)), `"}`...)...), "bytes, more than"},
		"same group name twice":  {concepts(`{"concept": "a", "words": ["a"], "note": "n"}, {"concept": "a", "words": ["b"], "note": "n"}`, ""), "two groups"},
		"twice in one group":     {concepts(`{"concept": "a", "words": ["a", "a"], "note": "n"}`, ""), "twice in group"},
		"not json":               {[]byte(`{`), "lexicon concepts"},
		"ambiguous declared 2x":  {concepts(good, `{"word": "note", "senses": ["note", "description"], "note": "x"}, {"word": "note", "senses": ["note", "description"], "note": "x"}`), "declared ambiguous twice"},
		"ambiguous, one sense":   {concepts(good, `{"word": "note", "senses": ["note"], "note": "x"}`), "two different senses"},
		"ambiguous, not a word":  {concepts(good+`, {"concept": "x", "words": ["x"], "note": "n"}`, `{"word": "memo2", "senses": ["note", "x"], "note": "x"}`), "first sense"},
		"fine without ambiguity": {concepts(`{"concept": "a", "words": ["a", "b"], "note": "n"}`, ""), ""},
	} {
		_, err := ParseLexicon(tc.c, ab, wd)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one with %q", name, err, tc.want)
		}
	}
	cs := readLexicon(t, "concepts.json")
	if _, err := ParseLexicon(cs, []byte(`{"version": "t", "source": "s", "note": "n", "entries": {"qty": ""}}`), wd); err == nil {
		t.Error("an abbreviation expanding to nothing was accepted")
	}
	if _, err := ParseLexicon(cs, ab, []byte(`{"version": "t", "source": "s"}`)); err == nil || !strings.Contains(err.Error(), "stop needs") {
		t.Errorf("a words file without lists: %v", err)
	}
}

func TestLexiconWithout(t *testing.T) {
	l, err := DefaultLexicon()
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.Without("concept:customer", "abbreviations", "ambiguous")
	if err != nil {
		t.Fatal(err)
	}
	if n.concept["client"] != "" || n.abbrev["qty"] != "" || len(n.also) != 0 {
		t.Errorf("left in: client %q, qty %q, %d second senses", n.concept["client"], n.abbrev["qty"], len(n.also))
	}
	if l.concept["client"] != "customer" || l.abbrev["qty"] != "quantity" || len(l.also) == 0 {
		t.Error("Without changed the lexicon it copied")
	}
	// address sits in two groups; without its declaration it keeps the first
	if n.concept["address"] != "street" {
		t.Errorf("address: %q", n.concept["address"])
	}
	for _, bad := range []string{"concept:nope", "everything"} {
		if _, err := l.Without(bad); err == nil {
			t.Errorf("Without(%q) accepted", bad)
		}
	}
	saved := used.Load()
	defer used.Store(saved)
	UseLexicon(n)
	if got := Words("cust_qty"); strings.Join(got, " ") != "cust qty" {
		t.Errorf("Words without abbreviations: %v", got)
	}
}

// The embedded lexicon, parsed when first needed (not when the package is
// initialised), is parsed once and shared.
func TestDefaultLexiconBuiltOnce(t *testing.T) {
	l1, err := defaultLexicon()
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := DefaultLexicon()
	if l1 != l2 || currentLexicon() != l1 {
		t.Fatal("the embedded lexicon was built more than once")
	}
	if got := strings.Join(Words("cust_qty"), " "); got != "customer quantity" {
		t.Errorf("Words(cust_qty) = %q", got)
	}
}
