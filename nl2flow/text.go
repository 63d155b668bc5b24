package nl2flow

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/weftio/weft/internal/lazy"
)

// Token kinds.
const (
	tWord    = iota
	tEmail   // ada@example.com
	tChannel // #delivery
	tQuote   // "text"
	tNumber  // 10,000  50k  $1.5m
	tTime    // 9am 8:30 17:00 noon
	tPunct   // , ; . ! ? :
	tArrow   // -> => + (terse requests)
)

type token struct {
	kind int
	w    string  // lower-case word (typos corrected), or the value
	raw  string  // as written
	num  float64 // tNumber
	hh   int     // tTime
	mm   int
	used bool // consumed by the schedule, a manual phrase …
	// gap: a bracket or other dropped mark stands right before the token
	// ("issue (project LEADS)"): no noun compound runs across it.
	gap bool
}

var (
	emailRe  = lazy.NewRegexp(`^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	timeRe   = lazy.NewRegexp(`^(\d{1,2})(?::(\d{2}))?(?:\s?(` + alternation(meridiem) + `))?`)
	numberRe = lazy.NewRegexp(`^[$€£]?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s?(` + alternation(numberScales) + `))?`)
	wordRe   = lazy.NewRegexp(`^[\p{L}\p{N}][\p{L}\p{N}_'’\-]*`)
	// dottedRe: a name written with inner dots ("Marker.io", "OCR.space",
	// "Oauth2.0", "Node.js") is one word: a dot between letters with no
	// space after it ends no sentence.
	dottedRe = lazy.NewRegexp(`^[\p{L}\p{N}][\p{L}\p{N}_\-]*(?:\.[\p{L}\p{N}][\p{L}\p{N}_\-]*)+`)
)

// tokenize splits a request into tokens; punctuation that separates
// clauses is kept, other symbols are dropped.
func tokenize(s string) []token {
	var out []token
	i := 0
	gapAt := -1 // len(out) when a mark was dropped
	for i < len(s) {
		if gapAt >= 0 && len(out) > gapAt {
			out[gapAt].gap, gapAt = true, -1
		}
		rest := s[i:]
		c := rune(rest[0])
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(rest, "->") || strings.HasPrefix(rest, "=>") || strings.HasPrefix(rest, "→"):
			out = append(out, token{kind: tArrow, w: "->", raw: rest[:2]})
			if strings.HasPrefix(rest, "→") {
				i += len("→")
			} else {
				i += 2
			}
		case c == '+' || c == '&':
			if c == '&' {
				out = append(out, token{kind: tWord, w: "and", raw: "&"})
			} else {
				out = append(out, token{kind: tArrow, w: "+", raw: "+"})
			}
			i++
		case c == '"' || strings.HasPrefix(rest, "“") || strings.HasPrefix(rest, "”") || (c == '\'' && (i == 0 || s[i-1] == ' ')):
			open := string(c)
			closeq := open
			if c != '"' && c != '\'' {
				open, closeq = "“", "”"
			}
			body := rest[len(open):]
			end := strings.Index(body, closeq)
			if closeq == "”" && end < 0 {
				end = strings.Index(body, "\"")
			}
			if end < 0 {
				i += len(open)
				continue
			}
			out = append(out, token{kind: tQuote, w: body[:end], raw: rest[:len(open)+end+len(closeq)]})
			i += len(open) + end + len(closeq)
		case c == '#':
			m := wordRe.FindString(rest[1:])
			if m == "" {
				i++
				continue
			}
			out = append(out, token{kind: tChannel, w: strings.ToLower(m), raw: "#" + m})
			i += 1 + len(m)
		case c == ',' || c == ';' || c == '.' || c == '!' || c == '?' || c == ':' || c == ')' && len(out) > 0 && out[len(out)-1].kind == tNumber:
			if c == ')' { // "1)" numbered list
				out[len(out)-1] = token{kind: tPunct, w: ",", raw: out[len(out)-1].raw + ")"}
			} else {
				out = append(out, token{kind: tPunct, w: string(c), raw: string(c)})
			}
			i++
		default:
			if m := emailRe.FindString(rest); m != "" {
				out = append(out, token{kind: tEmail, w: strings.ToLower(m), raw: m})
				i += len(m)
				continue
			}
			if unicode.IsDigit(c) || c == '$' || strings.HasPrefix(rest, "€") || strings.HasPrefix(rest, "£") {
				if t, n := scanTime(rest); n > 0 {
					out = append(out, t)
					i += n
					continue
				}
				if m := numberRe.FindStringSubmatch(rest); m != nil && !strings.HasPrefix(rest[len(m[0]):], "-") && !wordStart(rest[len(m[0]):]) {
					out = append(out, token{kind: tNumber, w: m[0], raw: m[0], num: parseAmount(m)})
					i += len(m[0])
					continue
				}
			}
			if m := dottedRe.FindString(rest); m != "" && strings.ContainsFunc(m, unicode.IsLetter) {
				out = append(out, token{kind: tWord, w: strings.ToLower(m), raw: m})
				i += len(m)
				continue
			}
			if m := wordRe.FindString(rest); m != "" {
				m = strings.TrimRight(m, "-'’")
				if m == "" {
					i++
					continue
				}
				if parts := directionCompound(m); parts != nil {
					// "chat-to-tracker": two things and the way between
					// them, read as the words they are.
					for _, p := range parts {
						out = append(out, token{kind: tWord, w: strings.ToLower(p), raw: p})
					}
					i += len(m)
					continue
				}
				if parts := basedCompound(m); parts != nil {
					// "webhook-based": what it is based on, then how.
					for _, p := range parts {
						out = append(out, token{kind: tWord, w: strings.ToLower(p), raw: p})
					}
					i += len(m)
					continue
				}
				w := strings.ToLower(strings.ReplaceAll(m, "’", "'"))
				out = append(out, token{kind: tWord, w: w, raw: m})
				i += len(m)
				continue
			}
			if unicode.IsPunct(c) || unicode.IsSymbol(c) {
				gapAt = len(out)
			}
			i += len(string([]rune(rest)[:1]))
		}
	}
	if gapAt >= 0 && len(out) > gapAt {
		out[gapAt].gap = true
	}
	return out
}

// directionCompound splits a hyphenated word whose inner part is a word of
// direction ("chat-to-tracker", "email-to-CRM") into its parts; nil for any
// other word ("follow-up", "high-value").
func directionCompound(m string) []string {
	parts := strings.Split(m, "-")
	if len(parts) < 3 {
		return nil
	}
	inner := false
	for i, p := range parts {
		if p == "" {
			return nil
		}
		if i > 0 && i < len(parts)-1 && lxDirection.has(strings.ToLower(p)) {
			inner = true
		}
	}
	if !inner {
		return nil
	}
	return parts
}

// basedCompound splits a two-part hyphenated word whose first part is a
// word of a webhook trigger and whose last says it is what the thing is
// based on or driven by ("webhook-based", "form-driven") into its parts;
// nil for any other word ("follow-up", "menu-driven": kept whole, as the
// request wrote it, where nothing is gained by splitting).
func basedCompound(m string) []string {
	parts := strings.Split(m, "-")
	if len(parts) != 2 || parts[0] == "" || !lxBasedSuffix.has(strings.ToLower(parts[1])) {
		return nil
	}
	if w := strings.ToLower(parts[0]); !lxTriggerWebhookHint.has(w) && !lxTriggerWebhookHint.has(singular(w)) {
		return nil
	}
	return parts
}

func wordStart(s string) bool {
	return s != "" && (unicode.IsLetter(rune(s[0])) || s[0] == '_')
}

// scanTime reads 9am, 9:15, 17:30, 5 pm; a bare number is not a time.
func scanTime(s string) (token, int) {
	m := timeRe.FindStringSubmatch(s)
	if m == nil || (m[2] == "" && m[3] == "") {
		return token{}, 0
	}
	if len(m[0]) < len(s) && (wordStart(s[len(m[0]):]) && m[3] == "") {
		return token{}, 0
	}
	hh, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	switch meridiem[m[3]] {
	case "pm":
		if hh < 12 {
			hh += 12
		}
	case "am":
		if hh == 12 {
			hh = 0
		}
	}
	if hh > 23 || mm > 59 {
		return token{}, 0
	}
	return token{kind: tTime, w: strings.TrimSpace(m[0]), raw: m[0], hh: hh, mm: mm}, len(m[0])
}

func parseAmount(m []string) float64 {
	v, _ := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
	if m[2] != "" {
		f, _ := strconv.ParseFloat("0."+m[2], 64)
		v += f
	}
	if m[3] != "" {
		scale, _ := strconv.ParseFloat(numberScales[m[3]], 64)
		v *= scale
	}
	return v
}

// fixTypos corrects misspelled words against the vocabulary (the
// lexicon plus the catalog's words): an edit distance of one for words of
// four to six letters, two for longer ones, the same first letter
// preferred. Words after # and in quotes are never touched, and neither
// is a word an English dictionary knows ("table", "failed", "wait" are
// words, not typos for "able", "mailed", "want"); only respell.* entries
// (short misspellings written down as such) apply to those.
func fixTypos(toks []token, vocab map[string]bool) []string {
	var fixed []string
	for i := range toks {
		t := &toks[i]
		if t.kind != tWord || vocab[t.w] || len(t.w) < 3 && respell[t.w] == "" || strings.ContainsAny(t.w, "0123456789") || acronym(t.raw) {
			continue
		}
		if alias, ok := respell[t.w]; ok {
			fixed = append(fixed, t.w+"→"+alias)
			t.w = alias
			continue
		}
		if len(t.w) < typoMinLen || dictionaryWord(t.w) {
			continue
		}
		max := 1
		if len(t.w) >= typoLongLen {
			max = 2
		}
		best, bestD, bestFirst := "", max+1, false
		for v := range vocab {
			if abs(len(v)-len(t.w)) > max || len(v) < 3 {
				continue
			}
			d := osa(t.w, v)
			first := v[0] == t.w[0]
			if d < bestD || (d == bestD && first && !bestFirst) || (d == bestD && first == bestFirst && v < best) {
				best, bestD, bestFirst = v, d, first
			}
		}
		if best != "" && bestD <= max && (bestFirst || bestD == 1 && len(t.w) > 3) {
			fixed = append(fixed, t.w+"→"+best)
			t.w = best
		}
	}
	return fixed
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// osa is the optimal-string-alignment edit distance (adjacent swaps count
// one).
func osa(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// acronym: SUP, KYC, IT are names, not misspellings.
func acronym(s string) bool {
	up := 0
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			up++
		}
	}
	return up >= 2
}
