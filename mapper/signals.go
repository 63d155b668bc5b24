package mapper

// General matching signals: each a small function of two fields (or of a
// field and the schemas at hand), in [0, 1], with no word lists. The
// learned model (model.go) weighs them.

import (
	"strings"

	"github.com/weftio/weft/ai"
)

// splitName is a name as lower-case words joined by single spaces:
// camelCase, snake_case, kebab-case and digits split.
func splitName(s string) string { return strings.Join(ai.Split(s), " ") }

// trigrams is the set of character 3-grams of s, padded with a space at
// each end so that short words have grams of their own.
func trigrams(s string) map[string]bool {
	rs := []rune(" " + s + " ")
	out := make(map[string]bool, len(rs))
	for i := 0; i+3 <= len(rs); i++ {
		out[string(rs[i:i+3])] = true
	}
	return out
}

// dice is the Sørensen–Dice coefficient of two sets.
func dice(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
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
