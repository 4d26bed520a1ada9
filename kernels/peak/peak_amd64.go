//go:build !noasm

package peak

// Code in peak_amd64.s is generated (see generate.go). Pure-Go twins with the
// same names and signatures are in peak_generic.go for noasm or non-amd64
// builds.

// fmaPeakAVX2 runs n iterations of 12 independent ymm FMA chains, no memory
// traffic: n·12·8·2 flops. Reference loop:
//
//	var acc [12][8]float32
//	for it < n: for i < 12: for l < 8: acc[i][l] = x*x + acc[i][l] (fused)
//
//go:noescape
func fmaPeakAVX2(n int, x float32)

// fmaPeakAVX512 is fmaPeakAVX2 with 24 zmm chains: n·24·16·2 flops.
// Reference loop:
//
//	var acc [24][16]float32
//	for it < n: for i < 24: for l < 16: acc[i][l] = x*x + acc[i][l] (fused)
//
//go:noescape
func fmaPeakAVX512(n int, x float32)

// triadAVX2 is the STREAM triad with ymm loads and plain stores; n must be a
// multiple of 32. Reference loop:
//
//	for i < n: a[i] = b[i] + s*c[i] (fused)
//
//go:noescape
func triadAVX2(a, b, c *float32, n int, s float32)
