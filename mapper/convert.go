package mapper

import (
	"fmt"
	"strings"

	"github.com/weftio/weft/ai"
	"github.com/weftio/weft/internal/lazy"
)

var identRe = lazy.NewRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ref is the CEL expression reading path from root (array segments are
// relative to the item variable "it" when the path is inside an array).
func ref(root, path string) string {
	if i := strings.LastIndex(path, "[]."); i >= 0 {
		root, path = "it", path[i+3:]
	}
	path = strings.TrimSuffix(path, "[]")
	var b strings.Builder
	b.WriteString(root)
	for _, seg := range strings.Split(path, ".") {
		if identRe.MatchString(seg) && !celReserved[seg] {
			b.WriteString("." + seg)
		} else {
			fmt.Fprintf(&b, "[%q]", seg)
		}
	}
	return b.String()
}

var celReserved = map[string]bool{"in": true, "as": true, "break": true, "const": true, "continue": true, "else": true, "for": true,
	"function": true, "if": true, "import": true, "let": true, "loop": true, "package": true, "namespace": true, "return": true,
	"var": true, "void": true, "while": true, "true": true, "false": true, "null": true}

func hasWord(f *Field, w string) bool {
	for _, x := range ai.Split(f.Name) {
		if x == w {
			return true
		}
	}
	return false
}

// convert proposes the CEL expression producing t from s.
func convert(s, t *Field) string {
	x := ref("src", s.Path)
	sc, tc := topClass(s.Examples), topClass(t.Examples)
	switch {
	// Units: cents <-> whole amounts.
	case hasWord(s, "cents") && !hasWord(t, "cents"):
		return fmt.Sprintf("double(%s) / 100.0", x)
	case !hasWord(s, "cents") && hasWord(t, "cents"):
		return fmt.Sprintf("int(math.round(double(%s) * 100.0))", x)
	}
	st, tt := s.Type, t.Type
	switch {
	case st == tt && (s.Format == t.Format || s.Format == "" || t.Format == ""):
		if st == "string" && len(t.Enum) > 0 && len(s.Enum) > 0 {
			if m := enumMap(s.Enum, t.Enum); m != "" {
				return fmt.Sprintf("%s[%s]", m, x)
			}
		}
		if st == "string" && caseOnly(s.Examples, t.Examples, true) {
			return x + ".upperAscii()"
		}
		if st == "string" && caseOnly(s.Examples, t.Examples, false) {
			return x + ".lowerAscii()"
		}
		if sc == "date_us" && tc == "date" {
			return usToISO(x)
		}
		return x
	case tt == "string" && (st == "integer" || st == "number" || st == "boolean"):
		return fmt.Sprintf("string(%s)", x)
	case tt == "integer" && st == "number":
		return fmt.Sprintf("int(%s)", x)
	case tt == "number" && st == "integer":
		return fmt.Sprintf("double(%s)", x)
	case tt == "integer" && st == "string":
		return fmt.Sprintf("int(%s)", x)
	case tt == "number" && st == "string":
		return fmt.Sprintf("double(%s)", x)
	case tt == "boolean" && st == "string":
		if v := flagState(t, s); v != "" {
			return fmt.Sprintf("%s.lowerAscii() == %q", x, strings.ToLower(v))
		}
		return fmt.Sprintf(`%s.lowerAscii() in ["y", "yes", "true", "1"]`, x)
	case st == "string" && tt == "string" || st == "" || tt == "":
	}
	// Date formats.
	switch {
	case (s.Format == "date-time" || sc == "datetime") && (t.Format == "date" || tc == "date"):
		return x + ".substring(0, 10)"
	case (s.Format == "date" || sc == "date") && (t.Format == "date-time" || tc == "datetime"):
		return x + ` + "T00:00:00Z"`
	case (s.Format == "date-us" || sc == "date_us") && (t.Format == "date" || t.Format == "date-time" || tc == "date"):
		return usToISO(x)
	}
	return x
}

func usToISO(x string) string {
	p := x + `.split("/")`
	pad := func(i int) string {
		return fmt.Sprintf(`(size(%s[%d]) == 1 ? "0" + %s[%d] : %s[%d])`, p, i, p, i, p, i)
	}
	return fmt.Sprintf(`%s[2] + "-" + %s + "-" + %s`, p, pad(0), pad(1))
}

// caseOnly: the target's examples are the source's in upper (or lower) case.
func caseOnly(sx, tx []any, upper bool) bool {
	if len(sx) == 0 || len(tx) == 0 {
		return false
	}
	for _, v := range tx {
		s, ok := v.(string)
		if !ok || s == "" {
			return false
		}
		if upper && strings.ToUpper(s) != s || !upper && strings.ToLower(s) != s {
			return false
		}
	}
	for _, v := range sx {
		s, ok := v.(string)
		if !ok {
			return false
		}
		if upper && strings.ToUpper(s) == s || !upper && strings.ToLower(s) == s {
			return false
		}
	}
	return true
}

// enumMap pairs source enum values with target ones by similarity; empty
// when they are the same set.
func enumMap(se, te []any) string {
	same := len(se) == len(te)
	for i := range se {
		if same && fmt.Sprint(se[i]) != fmt.Sprint(te[i]) {
			same = false
		}
	}
	if same {
		return ""
	}
	var parts []string
	for _, s := range se {
		ss := strings.ToLower(fmt.Sprint(s))
		best, bestScore := "", 0.0
		for _, t := range te {
			ts := strings.ToLower(fmt.Sprint(t))
			sc := jaccard(conceptSet(ss), conceptSet(ts))
			if strings.HasPrefix(ts, ss) || strings.HasPrefix(ss, ts) {
				sc = max(sc, par.Suggest.EnumPrefix)
			}
			if sc > bestScore {
				best, bestScore = fmt.Sprint(t), sc
			}
		}
		if bestScore > 0 {
			parts = append(parts, fmt.Sprintf("%q: %q", fmt.Sprint(s), best))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// thingParent: the field is the name of something that is not a person
// (location.displayName, product.name, company.name).
func thingParent(f *Field) bool {
	segs := strings.Split(strings.ReplaceAll(f.Parent, "[]", ""), ".")
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i] == "" || vocab().container[strings.ToLower(segs[i])] {
			continue
		}
		return thingWord(segs[i])
	}
	return false
}

// thingWord: a path segment that names a thing, not a person.
func thingWord(seg string) bool {
	ws := ai.Words(seg)
	return len(ws) > 0 && vocab().thing[ai.Concept(ws[len(ws)-1])]
}

// composites adds 1:n and n:1 suggestions where the evidence supports
// them: a full name from first + last, or first / last from a full name.
func composites(src, tgt *Schema, assigned map[int]int, used map[int]bool) []Suggestion {
	var out []Suggestion
	find := func(s *Schema, parent string, want func(*Field) bool, skip map[int]bool) int {
		for i := range s.Fields {
			if !skip[i] && s.Fields[i].Parent == parent && want(&s.Fields[i]) {
				return i
			}
		}
		return -1
	}
	isFirst := func(f *Field) bool {
		return ai.Concept(lastWord(f)) == "first" || strings.Contains(strings.ToLower(f.Name), "firstname")
	}
	isLast := func(f *Field) bool {
		return ai.Concept(lastWord(f)) == "last" || strings.Contains(strings.ToLower(f.Name), "lastname")
	}
	isFirstName := func(f *Field) bool { w := ai.Words(f.Name); return len(w) >= 1 && ai.Concept(w[0]) == "first" }
	isLastName := func(f *Field) bool { w := ai.Words(f.Name); return len(w) >= 1 && ai.Concept(w[0]) == "last" }
	// A person's full name: "name", "full name", "contact name" … but not
	// "owner name" (another person) or "currency name".
	isFull := func(f *Field) bool {
		w := ai.Words(f.Name)
		if len(w) == 0 || ai.Concept(w[len(w)-1]) != "name" || f.Type != "" && f.Type != "string" || thingParent(f) {
			return false
		}
		for _, x := range w[:len(w)-1] {
			if !vocab().personName[ai.Concept(x)] {
				return false
			}
		}
		return true
	}
	_ = isFirst
	_ = isLast
	tUsed := map[int]bool{}
	for j := range assigned {
		tUsed[j] = true
	}
	// n:1 — a target full name from a source first + last.
	for j := range tgt.Fields {
		t := &tgt.Fields[j]
		if tUsed[j] || !isFull(t) {
			continue
		}
		for i := range src.Fields {
			if !isFirstName(&src.Fields[i]) {
				continue
			}
			k := find(src, src.Fields[i].Parent, isLastName, nil)
			if k < 0 || find(src, src.Fields[i].Parent, isFull, nil) >= 0 {
				// No last name beside it, or a full name of its own beside
				// it (a display name): that one fills the target 1:1.
				continue
			}
			f, l := &src.Fields[i], &src.Fields[k]
			out = append(out, Suggestion{Target: t.Path, Sources: []string{f.Path, l.Path}, Confidence: par.Suggest.FullName,
				Reason: "full name from first and last name", Expr: ref("src", f.Path) + ` + " " + ` + ref("src", l.Path)})
			tUsed[j] = true
			break
		}
	}
	// 1:n — target first / last from a source full name.
	for i := range src.Fields {
		s := &src.Fields[i]
		if !isFull(s) {
			continue
		}
		hasFirstSrc := find(src, s.Parent, isFirstName, nil) >= 0
		if hasFirstSrc {
			continue
		}
		for j := range tgt.Fields {
			t := &tgt.Fields[j]
			if tUsed[j] {
				continue
			}
			switch {
			case isFirstName(t):
				out = append(out, Suggestion{Target: t.Path, Sources: []string{s.Path}, Confidence: par.Suggest.SplitName,
					Reason: "first word of the full name", Expr: ref("src", s.Path) + `.split(" ")[0]`})
				tUsed[j] = true
			case isLastName(t):
				x := ref("src", s.Path)
				out = append(out, Suggestion{Target: t.Path, Sources: []string{s.Path}, Confidence: par.Suggest.SplitName,
					Reason: "the rest of the full name", Expr: fmt.Sprintf(`%s.substring(%s.indexOf(" ") + 1)`, x, x)})
				tUsed[j] = true
			}
		}
	}
	return out
}

func lastWord(f *Field) string {
	w := ai.Words(f.Name)
	if len(w) == 0 {
		return ""
	}
	return w[0]
}
