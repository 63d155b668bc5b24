package mapper

import "testing"

func TestAssignFindsTheBestTotal(t *testing.T) {
	// Greedy would take (0,0)=0.9 and leave row 1 with 0.1; the optimum is 0.8+0.85.
	got := assign([][]float64{{0.9, 0.8}, {0.85, 0.1}})
	if got[0] != 1 || got[1] != 0 {
		t.Fatalf("%v", got)
	}
	// Rectangular: 3 rows, 2 columns.
	got = assign([][]float64{{0.1, 0.2}, {0.9, 0.1}, {0.2, 0.95}})
	if got[0] != -1 || got[1] != 0 || got[2] != 1 {
		t.Fatalf("%v", got)
	}
	if assign(nil) != nil {
		t.Fatal("empty")
	}
}
