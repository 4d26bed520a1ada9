//go:build !noasm

package eltwise

const haveAsm = true

// scaleShiftAsm is the AVX2 form of:
//
//	for i := range n { y[i] = a*x[i] + b; if relu { y[i] = max(y[i], 0) } }
//
// n is a multiple of 8.
//
//go:noescape
func scaleShiftAsm(x, y *float32, n int, a, b float32, relu bool)

// scaleAddAsm is the AVX2 form of:
//
//	for i := range n { y[i] = a*x[i] + r[i]; if relu { y[i] = max(y[i], 0) } }
//
// n is a multiple of 8.
//
//go:noescape
func scaleAddAsm(x, r, y *float32, n int, a float32, relu bool)

// addAsm is the AVX2 form of:
//
//	for i := range n { z[i] = x[i] + y[i]; if relu { z[i] = max(z[i], 0) } }
//
// n is a multiple of 8.
//
//go:noescape
func addAsm(x, y, z *float32, n int, relu bool)

// max3Asm is the AVX2 form of:
//
//	for i := range n { m[i] = max(a[i], b[i], c[i]) }
//
// n is a multiple of 8.
//
//go:noescape
func max3Asm(a, b, c, m *float32, n int)

// sumAsm is the AVX2 form of:
//
//	var s [8]float32; for i := range n { s[i%8] += x[i] }
//	return ((s[0]+s[4]) + (s[2]+s[6])) + ((s[1]+s[5]) + (s[3]+s[7]))
//
// n is a multiple of 8.
//
//go:noescape
func sumAsm(x *float32, n int) float32

// scaleShiftBlockedAsm is the AVX2 form of (b is 8 or 16, n a multiple of b):
//
//	for i := range n { y[i] = scale[i%b]*x[i] + shift[i%b]; if relu { y[i] = max(y[i], 0) } }
//
//go:noescape
func scaleShiftBlockedAsm(x, y *float32, n int, scale, shift *float32, b int, relu bool)

// scaleAddBlockedAsm is the AVX2 form of (b is 8 or 16, n a multiple of b):
//
//	for i := range n { y[i] = scale[i%b]*x[i] + r[i]; if relu { y[i] = max(y[i], 0) } }
//
//go:noescape
func scaleAddBlockedAsm(x, r, y *float32, n int, scale *float32, b int, relu bool)

// sumBlockedAsm is the AVX2 form of (b is 8 or 16, n a multiple of b):
//
//	clear(sum[:b]); for i := range n { sum[i%b] += x[i] }
//
//go:noescape
func sumBlockedAsm(x *float32, n int, sum *float32, b int)

// dotAsm is the AVX2 form of (n a multiple of 32; four 8-wide partial sums
// with fused multiply-adds, added pairwise at the end):
//
//	var s [32]float32; for i := range n { s[i%32] += x[i] * y[i] }
//	a[j] = (s[j]+s[j+8]) + (s[j+16]+s[j+24]) for j < 8
//	return ((a[0]+a[4]) + (a[2]+a[6])) + ((a[1]+a[5]) + (a[3]+a[7]))
//
//go:noescape
func dotAsm(x, y *float32, n int) float32

// subsample2Asm is the AVX2 form of:
//
//	for r := range rows { for c := range cols { dst[r*ldd+c] = src[r*ld+2*c] } }
//
// The first vcols (a multiple of 8) columns are done with vectors, which
// read src[r*ld+2*vcols-1]: it must be in bounds. Each source line read
// also prefetches the line ahead floats further (a hint: it may lie out
// of bounds).
//
//go:noescape
func subsample2Asm(src, dst *float32, rows, cols, vcols, ld, ldd, ahead int)

// subsamplePixelsAsm is the AVX2 form of:
//
//	for r := range rows { for c := range cols { for i := range b {
//		dst[(r*cols+c)*b+i] = src[r*ld+c*step+i] } } }
//
// b is a multiple of 8; pfd (floats) is how far ahead of each pixel read
// the source is prefetched.
//
//go:noescape
func subsamplePixelsAsm(src, dst *float32, rows, cols, b, step, ld, pfd int)
