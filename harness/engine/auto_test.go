package engine

import "testing"

func TestChoosePlan(t *testing.T) {
	// Rounds where the whole machine slows down fall on every candidate.
	drift := []float64{1, 1.3, 0.9, 1.1, 1.2}
	scaled := func(f float64, spike int) []float64 {
		v := make([]float64, len(drift))
		for r, d := range drift {
			v[r] = d * f
			if r == spike {
				v[r] *= 2 // one round slowed for this candidate only
			}
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		times [][]float64
		want  int
	}{
		{"alone", [][]float64{scaled(1, -1)}, 0},
		{"tie keeps the first", [][]float64{scaled(1, -1), scaled(1, -1)}, 0},
		{"1% faster is within the margin", [][]float64{scaled(1, -1), scaled(0.99, -1)}, 0},
		{"3% faster replaces it", [][]float64{scaled(1, -1), scaled(0.97, -1)}, 1},
		{"the fastest of several", [][]float64{scaled(1, -1), scaled(0.97, -1), scaled(0.9, -1), scaled(1.2, -1)}, 2},
		{"a slow round does not decide", [][]float64{scaled(1, 2), scaled(0.99, -1)}, 0},
		{"nor does one lucky round", [][]float64{scaled(1, -1), scaled(1.01, -1), func() []float64 { v := scaled(1.01, -1); v[0] *= 0.5; return v }()}, 0},
	} {
		if got := choosePlan(tc.times); got != tc.want {
			t.Errorf("%s: choosePlan = %d, want %d", tc.name, got, tc.want)
		}
	}
}
