package engine

import "math"

// Diff measures how far a float32 result is from the float64 oracle.
type Diff struct {
	MaxAbs float64 // max |got − want|
	RelL2  float64 // ‖got − want‖₂ / ‖want‖₂
	MaxRef float64 // max |want|, the scale MaxAbs should be read against
}

// Compare computes the Diff of got against want (same length). A NaN or Inf
// in got makes both errors +Inf, so a broken kernel can never pass.
func Compare(got []float32, want []float64) Diff {
	var d Diff
	var num, den float64
	for i, w := range want {
		g := float64(got[i])
		e := math.Abs(g - w)
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return Diff{MaxAbs: math.Inf(1), RelL2: math.Inf(1), MaxRef: d.MaxRef}
		}
		d.MaxAbs = max(d.MaxAbs, e)
		d.MaxRef = max(d.MaxRef, math.Abs(w))
		num += e * e
		den += w * w
	}
	if den > 0 {
		d.RelL2 = math.Sqrt(num / den)
	} else if num > 0 {
		d.RelL2 = math.Inf(1)
	}
	return d
}

// TopK returns the indices of the k largest values of v, largest first.
func TopK[T float32 | float64](v []T, k int) []int {
	idx := make([]int, 0, k)
	for i := range v {
		pos := len(idx)
		for pos > 0 && v[i] > v[idx[pos-1]] {
			pos--
		}
		if pos < k {
			if len(idx) < k {
				idx = append(idx, 0)
			}
			copy(idx[pos+1:], idx[pos:len(idx)-1])
			idx[pos] = i
		}
	}
	return idx
}
