package ai

// The builtin embedder's vocabulary as data: concept groups (synonyms),
// abbreviations, stop-words and the word rules of Words, in embedded,
// versioned files under lexicon/, loaded once and validated. No word list
// lives in Go code.

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

//go:embed lexicon/*.json
var lexiconFiles embed.FS

// ConceptGroup is a set of words that name one concept.
type ConceptGroup struct {
	Concept string   `json:"concept"` // the concept's name (a label; a member only if also in Words)
	Words   []string `json:"words"`
	Note    string   `json:"note"` // its source or reason
}

// Ambiguity declares a word that leans two ways: Senses[0] is its concept,
// Senses[1] a weaker second one.
type Ambiguity struct {
	Word   string   `json:"word"`
	Senses []string `json:"senses"`
	Note   string   `json:"note"`
}

type conceptFile struct {
	Version   string         `json:"version"`
	Source    string         `json:"source"`
	Rule      string         `json:"rule"`
	Groups    []ConceptGroup `json:"groups"`
	Ambiguous []Ambiguity    `json:"ambiguous"`
}

type abbrevFile struct {
	Version string            `json:"version"`
	Source  string            `json:"source"`
	Note    string            `json:"note"`
	Entries map[string]string `json:"entries"`
}

type wordList struct {
	Note  string   `json:"note"`
	Words []string `json:"words"`
}

type wordMap struct {
	Note string            `json:"note"`
	Map  map[string]string `json:"map"`
}

type wordsFile struct {
	Version   string       `json:"version"`
	Source    string       `json:"source"`
	Stop      wordList     `json:"stop"`       // filler words dropped
	Segment   wordList     `json:"segment"`    // extra words for splitting run-on names
	Order     wordMap      `json:"order"`      // first / last before a word other than "name"
	Agent     wordMap      `json:"agent"`      // by / with after another word
	NetBefore wordList     `json:"net_before"` // amountWithoutTax
	NetAfter  wordList     `json:"net_after"`  // "(tax excluded)"
	CountOf   wordList     `json:"count_of"`   // "number of"
	Embedding embedWeights `json:"embedding"`
}

// embedWeights are the builtin embedder's feature weights.
type embedWeights struct {
	Note        string  `json:"note"`
	Concept     float64 `json:"concept"`
	FirstSense  float64 `json:"first_sense"`
	SecondSense float64 `json:"second_sense"`
	Trigram     float64 `json:"trigram"`
	Bigram      float64 `json:"bigram"`
}

// Lexicon is the parsed vocabulary.
type Lexicon struct {
	Version string // the three files' versions, joined by "+"

	concepts conceptFile
	abbrevs  abbrevFile
	words    wordsFile

	concept             map[string]string
	also                map[string]string
	abbrev              map[string]string
	order, agent        map[string]string
	stop, vocab         map[string]bool
	netBefore, netAfter map[string]bool
	countOf             map[string]bool
}

// Lexicon file limits: a file or a word beyond them is refused.
const (
	maxLexiconFile = 1 << 20
	maxLexiconWord = 40
)

// ParseLexicon reads and validates the three lexicon files: a word may sit
// in one concept group only unless the file declares it ambiguous (with
// both groups among its senses); every group, list and file has a note or
// source; words are lower-case, without spaces, at most 40 bytes.
func ParseLexicon(concepts, abbrevs, words []byte) (*Lexicon, error) {
	l := &Lexicon{}
	for _, f := range []struct {
		name string
		data []byte
		into any
	}{{"concepts", concepts, &l.concepts}, {"abbreviations", abbrevs, &l.abbrevs}, {"words", words, &l.words}} {
		if len(f.data) > maxLexiconFile {
			return nil, fmt.Errorf("lexicon %s: %d bytes, more than %d", f.name, len(f.data), maxLexiconFile)
		}
		dec := json.NewDecoder(strings.NewReader(string(f.data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f.into); err != nil {
			return nil, fmt.Errorf("lexicon %s: %v", f.name, err)
		}
	}
	if err := l.build(false); err != nil {
		return nil, err
	}
	return l, nil
}

func checkWord(file, w string) error {
	if w == "" || len(w) > maxLexiconWord || strings.ToLower(w) != w || strings.ContainsAny(w, " \t\n") {
		return fmt.Errorf("lexicon %s: %q is not a lower-case word of at most %d bytes", file, w, maxLexiconWord)
	}
	return nil
}

// build validates the parsed files and derives the lookup maps; lenient
// (for ablations) lets a list or a group be empty.
func (l *Lexicon) build(lenient bool) error {
	c, a, w := &l.concepts, &l.abbrevs, &l.words
	if c.Version == "" || c.Source == "" || a.Version == "" || a.Source == "" || w.Version == "" || w.Source == "" {
		return fmt.Errorf("lexicon: every file needs a version and a source")
	}
	l.Version = c.Version + "+" + a.Version + "+" + w.Version
	l.concept, l.also = map[string]string{}, map[string]string{}
	groupsOf := map[string][]string{} // word -> the concepts of its groups, in file order
	names := map[string]bool{}
	for _, g := range c.Groups {
		if g.Concept == "" || len(g.Words) == 0 && !lenient || strings.TrimSpace(g.Note) == "" {
			return fmt.Errorf("lexicon concepts: group %q needs a concept, words and a note", g.Concept)
		}
		if names[g.Concept] {
			return fmt.Errorf("lexicon concepts: two groups are named %q", g.Concept)
		}
		names[g.Concept] = true
		for _, x := range g.Words {
			if err := checkWord("concepts", x); err != nil {
				return err
			}
			if slices.Contains(groupsOf[x], g.Concept) {
				return fmt.Errorf("lexicon concepts: %q twice in group %q", x, g.Concept)
			}
			groupsOf[x] = append(groupsOf[x], g.Concept)
		}
	}
	declared := map[string]Ambiguity{}
	for _, d := range c.Ambiguous {
		if _, dup := declared[d.Word]; dup {
			return fmt.Errorf("lexicon concepts: %q declared ambiguous twice", d.Word)
		}
		if len(d.Senses) != 2 || d.Senses[0] == d.Senses[1] || strings.TrimSpace(d.Note) == "" {
			return fmt.Errorf("lexicon concepts: ambiguous %q needs two different senses and a note", d.Word)
		}
		for _, s := range d.Senses {
			if !names[s] {
				return fmt.Errorf("lexicon concepts: ambiguous %q has sense %q, which no group names", d.Word, s)
			}
		}
		gs := groupsOf[d.Word]
		if len(gs) == 0 || gs[0] != d.Senses[0] {
			return fmt.Errorf("lexicon concepts: ambiguous %q: its first sense %q must be the first group it is in", d.Word, d.Senses[0])
		}
		declared[d.Word] = d
	}
	for x, gs := range groupsOf {
		if len(gs) == 1 {
			continue
		}
		d, ok := declared[x]
		if !ok {
			return fmt.Errorf("lexicon concepts: %q is in groups %s; keep it in one or declare it ambiguous", x, strings.Join(gs, " and "))
		}
		for _, g := range gs {
			if !slices.Contains(d.Senses, g) {
				return fmt.Errorf("lexicon concepts: %q is in group %q, not one of its declared senses %v", x, g, d.Senses)
			}
		}
	}
	for x, gs := range groupsOf {
		l.concept[x] = gs[0]
	}
	for x, d := range declared {
		l.also[x] = d.Senses[1]
	}
	l.abbrev = map[string]string{}
	for k, v := range a.Entries {
		if err := checkWord("abbreviations", k); err != nil {
			return err
		}
		if len(strings.Fields(v)) == 0 || strings.ToLower(v) != v || len(v) > 2*maxLexiconWord {
			return fmt.Errorf("lexicon abbreviations: %q expands to %q", k, v)
		}
		l.abbrev[k] = v
	}
	set := func(name string, wl wordList) (map[string]bool, error) {
		if strings.TrimSpace(wl.Note) == "" || len(wl.Words) == 0 && !lenient {
			return nil, fmt.Errorf("lexicon words: %s needs a note and words", name)
		}
		out := make(map[string]bool, len(wl.Words))
		for _, x := range wl.Words {
			if err := checkWord("words", x); err != nil {
				return nil, err
			}
			out[x] = true
		}
		return out, nil
	}
	var err error
	if l.stop, err = set("stop", w.Stop); err != nil {
		return err
	}
	seg, err := set("segment", w.Segment)
	if err != nil {
		return err
	}
	if l.netBefore, err = set("net_before", w.NetBefore); err != nil {
		return err
	}
	if l.netAfter, err = set("net_after", w.NetAfter); err != nil {
		return err
	}
	if l.countOf, err = set("count_of", w.CountOf); err != nil {
		return err
	}
	for name, m := range map[string]wordMap{"order": w.Order, "agent": w.Agent} {
		if strings.TrimSpace(m.Note) == "" || len(m.Map) == 0 && !lenient {
			return fmt.Errorf("lexicon words: %s needs a note and entries", name)
		}
		for k, v := range m.Map {
			if err := checkWord("words", k); err != nil {
				return err
			}
			if err := checkWord("words", v); err != nil {
				return err
			}
		}
	}
	l.order, l.agent = w.Order.Map, w.Agent.Map
	e := w.Embedding
	if strings.TrimSpace(e.Note) == "" {
		return fmt.Errorf("lexicon words: embedding needs a note")
	}
	for _, x := range []float64{e.Concept, e.FirstSense, e.SecondSense, e.Trigram, e.Bigram} {
		if !(x > 0 && x <= 10) {
			return fmt.Errorf("lexicon words: an embedding weight is %v, not in (0, 10]", x)
		}
	}
	// The words segment splits run-on words into: every concept word,
	// every word of an abbreviation's expansion, and the segment list.
	l.vocab = seg
	for x := range l.concept {
		l.vocab[x] = true
	}
	for _, e := range l.abbrev {
		for _, x := range strings.Fields(e) {
			l.vocab[x] = true
		}
	}
	return nil
}

// Groups lists the concept groups (a copy).
func (l *Lexicon) Groups() []ConceptGroup {
	out := make([]ConceptGroup, len(l.concepts.Groups))
	for i, g := range l.concepts.Groups {
		out[i] = ConceptGroup{Concept: g.Concept, Words: append([]string(nil), g.Words...), Note: g.Note}
	}
	return out
}

// Parts names what Without can leave out besides a concept group.
var lexiconParts = []string{"abbreviations", "ambiguous", "stop", "segment", "order", "agent", "net", "count_of"}

// Without is a copy of the lexicon with parts left out, for ablations:
// "concept:NAME" (one concept group), "abbreviations", "ambiguous" (every
// second sense), "stop", "segment", "order", "agent", "net", "count_of"
// (the word rules of Words).
func (l *Lexicon) Without(parts ...string) (*Lexicon, error) {
	n := &Lexicon{concepts: l.concepts, abbrevs: l.abbrevs, words: l.words}
	n.concepts.Groups = slices.Clone(l.concepts.Groups)
	empty := wordList{Note: "left out"}
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "concept:"):
			name := strings.TrimPrefix(p, "concept:")
			i := slices.IndexFunc(n.concepts.Groups, func(g ConceptGroup) bool { return g.Concept == name })
			if i < 0 {
				return nil, fmt.Errorf("lexicon: no concept group %q", name)
			}
			n.concepts.Groups = slices.Delete(n.concepts.Groups, i, i+1)
			// declarations that name the group go with it
			n.concepts.Ambiguous = slices.DeleteFunc(slices.Clone(n.concepts.Ambiguous), func(a Ambiguity) bool { return slices.Contains(a.Senses, name) })
		case p == "abbreviations":
			n.abbrevs.Entries = nil
		case p == "ambiguous":
			n.concepts.Ambiguous = nil
		case p == "stop":
			n.words.Stop = empty
		case p == "segment":
			n.words.Segment = empty
		case p == "order":
			n.words.Order = wordMap{Note: "left out"}
		case p == "agent":
			n.words.Agent = wordMap{Note: "left out"}
		case p == "net":
			n.words.NetBefore, n.words.NetAfter = empty, empty
		case p == "count_of":
			n.words.CountOf = empty
		default:
			return nil, fmt.Errorf("lexicon: cannot leave out %q (concept:NAME or one of %s)", p, strings.Join(lexiconParts, ", "))
		}
	}
	if err := n.buildLenient(); err != nil {
		return nil, err
	}
	return n, nil
}

// buildLenient is build for ablations: lists may be empty, and a word
// whose ambiguity declaration was left out keeps its first group only.
func (n *Lexicon) buildLenient() error {
	seen := map[string]bool{}
	declared := map[string]bool{}
	for _, d := range n.concepts.Ambiguous {
		declared[d.Word] = true
	}
	for i, g := range n.concepts.Groups {
		var ws []string
		for _, x := range g.Words {
			if !seen[x] || declared[x] {
				ws = append(ws, x)
			}
			seen[x] = true
		}
		n.concepts.Groups[i].Words = ws
	}
	return n.build(true)
}

// defaultLexicon is the embedded lexicon, parsed on first use: a server
// whose configuration never embeds, searches or maps fields never builds it.
var defaultLexicon = sync.OnceValues(loadDefaultLexicon)

func loadDefaultLexicon() (*Lexicon, error) {
	read := func(name string) []byte {
		b, _ := lexiconFiles.ReadFile("lexicon/" + name)
		return b
	}
	return ParseLexicon(read("concepts.json"), read("abbreviations.json"), read("words.json"))
}

// DefaultLexicon is the embedded lexicon.
func DefaultLexicon() (*Lexicon, error) { return defaultLexicon() }

// used is the lexicon set by UseLexicon; nil: the embedded one.
var used atomic.Pointer[Lexicon]

// emptyLexicon stands in should the embedded files not load.
var emptyLexicon = &Lexicon{}

// currentLexicon is the lexicon Words, Concepts and the builtin embedder
// use: UseLexicon's, else the embedded one. Should the embedded files not
// load (TestLexiconFilesLoad keeps them valid), it is empty and the builtin
// embedder returns the error.
func currentLexicon() *Lexicon {
	if l := used.Load(); l != nil {
		return l
	}
	if l, err := defaultLexicon(); err == nil {
		return l
	}
	return emptyLexicon
}

// UseLexicon makes l the lexicon of Words, Concepts and the builtin
// embedder, for ablations (evals); not safe while anything embeds or
// splits words concurrently, and cached embeddings made before it stay.
func UseLexicon(l *Lexicon) {
	if l != nil {
		used.Store(l)
	}
}
