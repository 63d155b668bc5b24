package mapper

import "math"

// assign solves the assignment problem (maximum total score) for an n×m
// score matrix with the Hungarian algorithm (O(k³), k = max(n, m)); the
// result maps row -> column, -1 where a row gets none.
func assign(score [][]float64) []int {
	n := len(score)
	if n == 0 {
		return nil
	}
	m := len(score[0])
	k := n
	if m > k {
		k = m
	}
	// Cost matrix (minimisation), padded square with zeros.
	cost := make([][]float64, k+1)
	for i := range cost {
		cost[i] = make([]float64, k+1)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			cost[i+1][j+1] = 1 - score[i][j]
		}
		for j := m; j < k; j++ {
			cost[i+1][j+1] = 1 // a dummy column: no match
		}
	}
	for i := n; i < k; i++ {
		for j := 0; j < k; j++ {
			cost[i+1][j+1] = 1
		}
	}
	u := make([]float64, k+1)
	v := make([]float64, k+1)
	p := make([]int, k+1)
	way := make([]int, k+1)
	for i := 1; i <= k; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, k+1)
		used := make([]bool, k+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= k; j++ {
				if used[j] {
					continue
				}
				cur := cost[i0][j] - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= k; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
			if j0 == 0 {
				break
			}
		}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	for j := 1; j <= k; j++ {
		if p[j] >= 1 && p[j] <= n && j <= m {
			out[p[j]-1] = j - 1
		}
	}
	return out
}
