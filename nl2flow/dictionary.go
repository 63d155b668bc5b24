package nl2flow

import (
	_ "embed"
	"strings"
	"sync"
)

// An English dictionary (SCOWL size 35 via Debian's wamerican-small,
// lower-case entries only; lexicon/dict/README.md): a word in it is never
// taken for a typo.
//
//go:embed lexicon/dict/en.txt
var dictionaryText string

var (
	dictOnce sync.Once
	dict     map[string]bool
)

// dictionaryWord: the dictionary knows w, as written or with a regular
// plural / third-person "s" taken off.
func dictionaryWord(w string) bool {
	dictOnce.Do(func() {
		dict = make(map[string]bool, 41000)
		for _, line := range strings.Split(dictionaryText, "\n") {
			if line = strings.TrimSpace(line); line != "" && len(line) <= maxLexWord {
				dict[line] = true
			}
		}
	})
	if len(w) > maxLexWord {
		return false
	}
	return dict[w] || dict[singular(w)]
}
