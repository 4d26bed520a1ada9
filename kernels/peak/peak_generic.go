//go:build noasm || !amd64

package peak

import "unsafe"

// fmaPeakAVX2 runs n iterations of 12×8 independent multiply-add chains.
// Reference loop:
//
//	var acc [12][8]float32
//	for it < n: for i < 12: for l < 8: acc[i][l] = x*x + acc[i][l]
func fmaPeakAVX2(n int, x float32) {
	var acc [12 * 8]float32
	for it := 0; it < n; it++ {
		for i := range acc {
			acc[i] = x*x + acc[i]
		}
	}
	sink = acc[0]
}

// fmaPeakAVX512 runs n iterations of 24×16 independent multiply-add chains.
// Reference loop:
//
//	var acc [24][16]float32
//	for it < n: for i < 24: for l < 16: acc[i][l] = x*x + acc[i][l]
func fmaPeakAVX512(n int, x float32) {
	var acc [24 * 16]float32
	for it := 0; it < n; it++ {
		for i := range acc {
			acc[i] = x*x + acc[i]
		}
	}
	sink = acc[0]
}

// triadAVX2 is the STREAM triad; n must be a multiple of 32. Reference loop:
//
//	for i < n: a[i] = b[i] + s*c[i]
func triadAVX2(a, b, c *float32, n int, s float32) {
	triadGo(unsafe.Slice(a, n), unsafe.Slice(b, n), unsafe.Slice(c, n), s)
}
