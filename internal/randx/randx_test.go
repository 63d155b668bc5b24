package randx

import (
	"math"
	"math/rand"
	"testing"
)

func TestPoissonMean(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, mean := range []float64{0.5, 4, 30, 200} {
		sum := 0
		const n = 20000
		for i := 0; i < n; i++ {
			sum += Poisson(r, mean)
		}
		if got := float64(sum) / n; math.Abs(got-mean) > 0.05*mean+0.05 {
			t.Errorf("mean %v: drew %v on average", mean, got)
		}
	}
	if Poisson(r, 0) != 0 || Poisson(r, -1) != 0 {
		t.Error("a mean of 0 or less draws 0")
	}
}
