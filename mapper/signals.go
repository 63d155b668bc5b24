package mapper

// General matching signals: each a small function of two fields (or of a
// field and the schemas at hand), in [0, 1], with no word lists. The
// learned model (model.go) weighs them.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/weftio/weft/ai"
)

// splitName is a name as lower-case words joined by single spaces:
// camelCase, snake_case, kebab-case and digits split.
func splitName(s string) string { return strings.Join(ai.Split(s), " ") }

// grams is a set of character 3-grams, each packed into a number, sorted.
type grams []uint64

// trigrams is the set of character 3-grams of s, padded with a space at
// each end so that short words have grams of their own.
func trigrams(s string) grams {
	rs := []rune(" " + s + " ")
	out := make(grams, 0, len(rs))
	for i := 0; i+3 <= len(rs); i++ {
		out = append(out, uint64(rs[i])<<42|uint64(rs[i+1])<<21|uint64(rs[i+2]))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// dice is the Sørensen–Dice coefficient of two sets.
func dice(a, b grams) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return 2 * float64(inter) / float64(len(a)+len(b))
}

// TrigramDice is the Sørensen–Dice coefficient over character 3-grams of
// two names split on case and separators ("birthDate" and "birth_date"
// score 1).
func TrigramDice(a, b string) float64 {
	sa, sb := splitName(a), splitName(b)
	if sa == "" || sb == "" {
		return 0
	}
	return dice(trigrams(sa), trigrams(sb))
}

// tokens are the lower-case words of a text (split on case, separators
// and digits), single letters left out.
func tokens(s string) []string {
	var out []string
	for _, w := range ai.Split(s) {
		if len(w) > 1 {
			out = append(out, w)
		}
	}
	return out
}

// idf holds inverse document frequencies learned from the documents at
// hand (the fields of the two schemas being matched): a word that every
// field has ("id" in a table of ids) weighs little.
type idf struct {
	n  int
	df map[string]int
}

func newIDF() *idf { return &idf{df: map[string]int{}} }

// add counts one document.
func (d *idf) add(words []string) {
	d.n++
	seen := map[string]bool{}
	for _, w := range words {
		if !seen[w] {
			seen[w] = true
			d.df[w]++
		}
	}
}

// weight is ln(1 + N/df); a word no document has weighs the most.
func (d *idf) weight(w string) float64 {
	df := d.df[w]
	if df == 0 {
		df = 1
	}
	return math.Log(1 + float64(max(d.n, 1))/float64(df))
}

// vector is the tf·idf vector of words, normalised to length 1.
func (d *idf) vector(words []string) map[string]float64 {
	out := map[string]float64{}
	for _, w := range words {
		out[w] += d.weight(w)
	}
	norm := 0.0
	for _, v := range out {
		norm += v * v
	}
	if norm == 0 {
		return nil
	}
	norm = math.Sqrt(settle(norm))
	for k := range out {
		out[k] /= norm
	}
	return out
}

// cosineSparse is the dot product of two unit vectors.
func cosineSparse(a, b map[string]float64) float64 {
	if len(a) > len(b) {
		a, b = b, a
	}
	s := 0.0
	for k, v := range a {
		s += v * b[k]
	}
	return settle(s)
}

// settle rounds away the last bits of a sum over a map, whose order
// varies from run to run: equal inputs then give equal signals (two fields
// with the same description tie, and the tie is broken the same way every
// run).
func settle(x float64) float64 { return math.Round(x*1e12) / 1e12 }

// coverage is the idf-weighted share of words found in set: how much of
// a name a description (or a table's text) mentions.
func (d *idf) coverage(words []string, set map[string]bool) float64 {
	if len(words) == 0 || len(set) == 0 {
		return 0
	}
	have, all := 0.0, 0.0
	for _, w := range words {
		x := d.weight(w)
		all += x
		if set[w] {
			have += x
		}
	}
	return have / all
}

func wordSet(words []string) map[string]bool {
	out := make(map[string]bool, len(words))
	for _, w := range words {
		out[w] = true
	}
	return out
}

// sampleOverlap is the Jaccard similarity of two fields' example values
// (case and surrounding space aside).
func sampleOverlap(s, t *Field) float64 {
	return setJaccard(exampleStrings(s.Examples), exampleStrings(t.Examples))
}

func setJaccard(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// patternOverlap is the overlap of the two fields' value-class
// distributions (date, e-mail, code, number, URL, name, text …): 1 when
// their examples look alike throughout.
func patternOverlap(s, t *Field) float64 {
	return minOverlap(classes(s.Examples), classes(t.Examples))
}

// minOverlap is the shared mass of two distributions.
func minOverlap(a, b map[string]float64) float64 {
	o := 0.0
	for k, v := range a {
		o += math.Min(v, b[k])
	}
	return settle(o)
}

// shapeOverlap compares the shapes of the values (letters as a, digits as
// 9, runs collapsed: "F" and "M" are both "A", "2153-01-02" is
// "9-9-9"), which says "an enum of one-letter codes" or "a year" where
// the value classes only say "text" or "int"; with their lengths binned.
func shapeOverlap(s, t *Field) float64 {
	return minOverlap(shapes(s.Examples), shapes(t.Examples))
}

func shapes(ex []any) map[string]float64 {
	out := map[string]float64{}
	n := 0.0
	for _, v := range ex {
		x := strings.TrimSpace(fmt.Sprint(v))
		if x == "" || len(x) > 200 {
			continue
		}
		var b strings.Builder
		var last rune
		for _, r := range x {
			c := r
			switch {
			case unicode.IsUpper(r):
				c = 'A'
			case unicode.IsLetter(r):
				c = 'a'
			case unicode.IsDigit(r):
				c = '9'
			}
			if c != last {
				b.WriteRune(c)
			}
			last = c
		}
		l := len(x)
		bin := "s"
		switch {
		case l > 20:
			bin = "l"
		case l > 4:
			bin = "m"
		}
		out[b.String()+"/"+bin]++
		n++
	}
	for k := range out {
		out[k] /= n
	}
	return out
}

// valueKind is what kind of value a field holds, by its format or, failing
// that, by the class most of its examples have: date, email, url, uuid,
// number, bool, phone or text; "" when nothing says.
func valueKind(f *Field) string {
	switch {
	case dateish(f.Format) || f.Format == "time":
		return "date"
	case f.Format == "uri":
		return "url"
	case f.Format == "email" || f.Format == "uuid":
		return f.Format
	case f.Type == "boolean":
		return "bool"
	}
	best, n := "", 0.0
	for c, x := range classes(f.Examples) {
		if x > n || x == n && c < best {
			best, n = c, x
		}
	}
	if n < par.Values.KindShare {
		return ""
	}
	switch best {
	case "date", "datetime", "date_us", "date_eu":
		return "date"
	case "int", "decimal", "money", "digits":
		return "number"
	case "email", "url", "uuid", "bool", "phone":
		return best
	case "":
		return ""
	}
	return "text"
}
