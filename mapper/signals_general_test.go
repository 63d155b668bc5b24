package mapper

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTrigramDice(t *testing.T) {
	if d := TrigramDice("birthDate", "birth_date"); !near(d, 1) {
		t.Errorf("same words, other separators: %v, want 1", d)
	}
	if d := TrigramDice("abc", "xyz"); d != 0 {
		t.Errorf("nothing in common: %v, want 0", d)
	}
	if d := TrigramDice("", "x"); d != 0 {
		t.Errorf("empty: %v", d)
	}
	// " ab" "abc" "bc " against " ab" "abd" "bd ": one of three in common.
	if d := TrigramDice("abc", "abd"); !near(d, 2.0/6) {
		t.Errorf("abc/abd: %v, want 1/3", d)
	}
	if a, b := TrigramDice("gender", "gender_concept_id"), TrigramDice("gender", "care_site_id"); a <= b {
		t.Errorf("a shared word should score higher: %v <= %v", a, b)
	}
}
