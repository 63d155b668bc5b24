package ai

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Builtin is an embedder for field names and short descriptions that needs
// no model and no network: words are split (camelCase, snake_case, kebab,
// digits), abbreviations expanded (qty, amt, addr, dob …), mapped onto
// business concepts through a synonym lexicon (customer/client/account,
// zip/postal code, phone/tel/mobile …), and hashed with character trigrams
// (for misspellings) into a fixed-size vector.
type Builtin struct {
	Dim int // default 1024
}

// Name implements Embedder.
func (Builtin) Name() string { return "builtin-v4" }

// Embed implements Embedder.
func (b Builtin) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if _, err := defaultLexicon(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = b.vector(t)
	}
	return out, nil
}

func (b Builtin) dim() int {
	if b.Dim <= 0 {
		return 1024
	}
	return b.Dim
}

func hashIndex(s string, dim int) (int, float32) {
	h := fnv.New64a()
	h.Write([]byte(s))
	v := h.Sum64()
	sign := float32(1)
	if v&(1<<63) != 0 {
		sign = -1
	}
	return int(v % uint64(dim)), sign
}

func (b Builtin) vector(text string) []float32 {
	current := currentLexicon()
	dim := b.dim()
	v := make([]float32, dim)
	add := func(feature string, w float32) {
		i, s := hashIndex(feature, dim)
		v[i] += s * w
	}
	words := Words(text)
	e := &current.words.Embedding
	for _, w := range words {
		add("w:"+w, 1)
		if c, ok := current.concept[w]; ok {
			if o, ok := current.also[w]; ok {
				// An ambiguous word leans both ways, more to its first sense.
				add("c:"+c, float32(e.Concept*e.FirstSense))
				add("c:"+o, float32(e.Concept*e.SecondSense))
			} else {
				add("c:"+c, float32(e.Concept))
			}
		}
		// Character trigrams: "adress" still lands near "address".
		p := "^" + w + "$"
		if len(w) >= 3 {
			n := float32(len(p) - 2)
			for j := 0; j+3 <= len(p); j++ {
				add("t:"+p[j:j+3], float32(e.Trigram)/float32(math.Sqrt(float64(n))))
			}
		}
	}
	for j := 0; j+1 < len(words); j++ {
		add("b:"+words[j]+"_"+words[j+1], float32(e.Bigram))
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		s := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= s
		}
	}
	return v
}

// Split breaks an identifier or phrase into lower-case words: camelCase,
// snake_case, kebab-case, dotted paths and digits all split.
func Split(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r):
			if len(cur) > 0 {
				prev := cur[len(cur)-1]
				// fooBar | FOOBar -> FOO Bar | foo2bar
				if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) ||
					unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]) ||
					unicode.IsDigit(prev) {
					flush()
				}
			}
			cur = append(cur, r)
		case unicode.IsDigit(r):
			if len(cur) > 0 && !unicode.IsDigit(cur[len(cur)-1]) {
				flush()
			}
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// Words splits s, expands abbreviations and drops filler words. Run-on
// lower-case words ("jobtitle", "createdon") are split into known words.
func Words(s string) []string {
	current := currentLexicon()
	var out []string
	var parts []string
	for _, w := range Split(s) {
		parts = append(parts, segment(w)...)
	}
	skip := false
	for i, w := range parts {
		if skip {
			skip = false
			continue
		}
		if i+1 < len(parts) {
			// A compound written apart (sub_total, Post_Code, e_mail,
			// AddressLine1) is the compound, where the lexicon knows it as
			// something the first word alone is not.
			if c, ok := current.concept[w+parts[i+1]]; ok && c != current.concept[w] {
				out = append(out, w+parts[i+1])
				skip = true
				continue
			}
		}
		if a, ok := current.agent[w]; ok && i > 0 {
			// created_by is who created it, created_with what with: not when.
			out = append(out, a)
			continue
		}
		if current.stop[w] {
			continue
		}
		if _, ok := current.order[w]; ok && i+1 < len(parts) && parts[i+1] != "name" && current.abbrev[parts[i+1]] != "name" {
			// last_name is a surname, lastUpdated and last_4 are not: before
			// a word other than "name", first and last say which one in time
			// or order.
			out = append(out, current.order[w])
			continue
		}
		if current.netBefore[w] && i+1 < len(parts) && i > 0 {
			// amountWithoutTax is the net amount, not a tax.
			out = append(out, "net")
			skip = true
			continue
		}
		if current.netAfter[w] && len(out) > 0 && i > 0 {
			// "Subtotal (tax excluded)": the same net reading, written after.
			out[len(out)-1] = "net"
			continue
		}
		if current.countOf[w] && i+1 < len(parts) && parts[i+1] == "of" {
			out = append(out, "count") // "number of pieces" is a count, not an identifier
			continue
		}
		if e, ok := current.abbrev[w]; ok {
			for _, x := range strings.Fields(e) {
				out = append(out, x)
			}
			continue
		}
		out = append(out, singular(w))
	}
	return out
}

// Concepts maps words onto business concepts (customer, postal_code …).
func Concepts(words []string) []string {
	current := currentLexicon()
	var out []string
	for _, w := range words {
		if c, ok := current.concept[w]; ok {
			out = append(out, c)
		} else {
			out = append(out, w)
		}
	}
	return out
}

// Concept returns the concept of one word (the word itself when it has none).
func Concept(w string) string {
	current := currentLexicon()
	if c, ok := current.concept[w]; ok {
		return c
	}
	return w
}

// segment splits a run-on lower-case word into known words when it is
// not one itself ("jobtitle" -> job title); otherwise returns it.
func segment(w string) []string {
	current := currentLexicon()
	if len(w) < 6 || current.vocab[w] || current.concept[w] != "" || current.abbrev[w] != "" {
		return []string{w}
	}
	var best []string
	// Two or three known words, longest pieces first.
	for i := len(w) - 2; i >= 2; i-- {
		a, rest := w[:i], w[i:]
		if !current.vocab[a] && current.abbrev[a] == "" {
			continue
		}
		if current.vocab[rest] || current.abbrev[rest] != "" {
			return []string{a, rest}
		}
		for j := len(rest) - 2; j >= 2 && best == nil; j-- {
			if (current.vocab[rest[:j]] || current.abbrev[rest[:j]] != "") && (current.vocab[rest[j:]] || current.abbrev[rest[j:]] != "") {
				best = []string{a, rest[:j], rest[j:]}
			}
		}
	}
	if best != nil {
		return best
	}
	return []string{w}
}

func singular(w string) string {
	switch {
	case len(w) > 4 && strings.HasSuffix(w, "ies"):
		return w[:len(w)-3] + "y"
	case len(w) > 4 && (strings.HasSuffix(w, "ses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes")):
		return w[:len(w)-2]
	case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}
