// Package randx draws the counts the evals' seeded generators need (the
// anomaly and the error-prediction transaction-log sets).
package randx

import (
	"math"
	"math/rand"
)

// Poisson draws a Poisson count of the given mean: by multiplying
// uniforms up to a mean of 50, by the normal approximation above it.
func Poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return int(math.Max(0, math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
