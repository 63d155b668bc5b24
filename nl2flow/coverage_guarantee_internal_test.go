package nl2flow

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/weftio/weft/ai"
)

// devRequests are the requests of the two dev splits (never the held-back
// ones): the own set's and the external set's, as written.
func devRequests(t *testing.T) []string {
	t.Helper()
	var out []string
	f, err := os.Open("../evals/nl2flow/data/dev.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		if parts := strings.Split(line, " | "); len(parts) >= 2 {
			out = append(out, parts[1])
		}
	}
	g, err := os.Open("../evals/nl2flow/data/external/dev.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	sc = bufio.NewScanner(g)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Text)
	}
	if len(out) < 250 {
		t.Fatalf("read %d dev requests", len(out))
	}
	return out
}

// randomRequests mixes the vocabulary the compiler knows, English words it
// does not use, product names, numbers and punctuation at random.
func randomRequests(cat *Catalog, n int, seed int64) []string {
	r := rand.New(rand.NewSource(seed))
	var pool []string
	add := func(m map[string]bool) {
		var ws []string
		for w := range m {
			ws = append(ws, w)
		}
		sort.Strings(ws)
		pool = append(pool, ws...)
	}
	verbs := map[string]bool{}
	for w := range actionVerbs {
		verbs[w] = true
	}
	objs := map[string]bool{}
	for w := range objectWords {
		objs[w] = true
	}
	syss := map[string]bool{}
	for _, op := range cat.Ops {
		for _, w := range op.System {
			syss[w] = true
		}
	}
	add(verbs)
	add(objs)
	add(syss)
	add(stop.m)
	add(eventWords.m)
	var eng []string
	for w := range englishWords.m {
		eng = append(eng, w)
	}
	sort.Strings(eng)
	extra := []string{"Typeform", "Google Sheets", "WhatsApp", "if", "unless", "for each", "every", "then", "when", "only", "two hours later",
		"over 1,000 euros", "#sales", "a@b.example", "\"Q3 plan\"", ",", ".", "->", "and", "as a PDF", "every Monday at 9am"}
	out := make([]string, n)
	for i := range out {
		k := 3 + r.Intn(20)
		var ws []string
		for j := 0; j < k; j++ {
			switch x := r.Intn(10); {
			case x < 6:
				ws = append(ws, pool[r.Intn(len(pool))])
			case x < 8:
				ws = append(ws, eng[r.Intn(len(eng))])
			default:
				ws = append(ws, extra[r.Intn(len(extra))])
			}
		}
		out[i] = strings.Join(ws, " ")
	}
	return out
}

// Nothing dropped silently, as a property: after the builtin compiler has
// read a request, every content word of it is accounted for by a part of
// the draft (a step's system, record, action or argument, the trigger, a
// condition) or named as a word in what the draft reports (not_understood,
// questions, warnings), and every condition, loop or wait clause is carried
// or named. Over both dev splits and random requests. The passes before the
// coverage stage's last one (silent) should leave it nothing to do on the
// dev splits; the count it had to name is reported.
func TestNothingDroppedSilently(t *testing.T) {
	cat := exampleCatalog(t)
	b := &builtin{cat: cat, emb: ai.Builtin{}}
	check := func(text string) (checked bool, backstop int) {
		_, n, err := b.compile(context.Background(), text)
		if err != nil {
			return false, 0 // refused with a clear error (empty, not English): nothing drafted
		}
		st := n.cov
		named := map[string]bool{}
		for _, l := range [][]string{n.unknown, n.questions, n.warnings} {
			for _, x := range l {
				for _, w := range strings.FieldsFunc(strings.ToLower(withoutAsides(x)), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
					named[w], named[singular(w)] = true, true
				}
			}
		}
		isNamed := func(tk token) bool {
			if named[strings.ToLower(tk.w)] || named[strings.ToLower(tk.raw)] || named[singular(strings.ToLower(tk.w))] {
				return true
			}
			parts := strings.FieldsFunc(strings.ToLower(tk.raw), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
			for _, p := range parts {
				if !named[p] && !named[singular(p)] {
					return false
				}
			}
			return len(parts) > 0
		}
		for _, seg := range segments(st.req) {
			var clause []string
			anyNamed := false
			for _, tk := range seg {
				clause = append(clause, tk.raw)
				if !content(tk) {
					continue
				}
				if isNamed(tk) {
					anyNamed = true
					continue
				}
				if !st.accounted(tk, "") {
					t.Errorf("%q: the word %q is neither compiled nor named\n  not_understood: %q\n  questions: %q", text, tk.raw, n.unknown, n.questions)
				}
			}
			if kind := structureOf(seg); kind != "" && !st.carries(kind) && !onlyTalk(seg[1:]) && !anyNamed {
				t.Errorf("%q: the %s %q is neither carried nor named\n  not_understood: %q", text, kind, strings.Join(clause, " "), n.unknown)
			}
		}
		return true, n.backstop
	}
	devBack, devN := 0, 0
	for _, text := range devRequests(t) {
		if ok, bs := check(text); ok {
			devN++
			if bs > 0 {
				devBack++
				t.Logf("dev: the last pass named %d word(s) of %q", bs, text)
			}
		}
	}
	randBack, randN := 0, 0
	for _, text := range randomRequests(cat, 400, 19) {
		if ok, bs := check(text); ok {
			randN++
			if bs > 0 {
				randBack++
			}
		}
	}
	t.Logf("checked %d dev and %d random requests; the last pass was needed in %d and %d", devN, randN, devBack, randBack)
	if randN < 100 {
		t.Errorf("only %d of the random requests were drafted: the property says little", randN)
	}
}
