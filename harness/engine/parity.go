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

// tolerances are each kernel's end-to-end bound on the logits: relative L2
// error against the float64 oracle of the unfused graph.
//
// The naive float32 path runs the oracle's loops in the same order, so it
// differs only by float32 rounding in sums of up to 4608 terms through up to
// 50 blocks: measured 0.5e-6 to 1e-6 on every model; im2col and direct
// reorder the same dot products (same order of error). Winograd's
// transforms add rounding that grows with the tile; on the logits it stays
// small (measured ≤ 0.6e-6 for F2/F4, ≤ 1.4e-6 for F6); the per-layer bounds
// in kernels/kerneltest are the sharper check. 2e-5 and 5e-5 leave an order
// of magnitude of room without hiding a wrong result, which is O(1).
var tolerances = map[string]float64{
	KernelNaive:      2e-5,
	KernelIm2col:     2e-5,
	KernelDirect:     2e-5,
	KernelWinogradF2: 2e-5,
	KernelWinogradF4: 2e-5,
	KernelWinogradF6: 5e-5,
	KernelWinograd:   5e-5,
	KernelAuto:       5e-5, // may pick F6
}

// Tolerance is the kernel's bound on the relative L2 error of the logits
// (0 for an unknown kernel).
func Tolerance(kernel string) float64 { return tolerances[kernel] }
