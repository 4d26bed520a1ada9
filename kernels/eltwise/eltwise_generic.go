//go:build noasm || !amd64

package eltwise

import "unsafe"

const haveAsm = false

func view(p *float32, n int) []float32 { return unsafe.Slice(p, n) }

// scaleShiftAsm is the portable form of:
//
//	for i := range n { y[i] = a*x[i] + b; if relu { y[i] = max(y[i], 0) } }
func scaleShiftAsm(x, y *float32, n int, a, b float32, relu bool) {
	scaleShiftGo(view(x, n), view(y, n), a, b, relu)
}

// scaleAddAsm is the portable form of:
//
//	for i := range n { y[i] = a*x[i] + r[i]; if relu { y[i] = max(y[i], 0) } }
func scaleAddAsm(x, r, y *float32, n int, a float32, relu bool) {
	scaleAddGo(view(x, n), view(r, n), view(y, n), a, relu)
}

// addAsm is the portable form of:
//
//	for i := range n { z[i] = x[i] + y[i]; if relu { z[i] = max(z[i], 0) } }
func addAsm(x, y, z *float32, n int, relu bool) {
	addGo(view(x, n), view(y, n), view(z, n), relu)
}

// max3Asm is the portable form of:
//
//	for i := range n { m[i] = max(a[i], b[i], c[i]) }
func max3Asm(a, b, c, m *float32, n int) {
	max3Go(view(a, n), view(b, n), view(c, n), view(m, n))
}

// sumAsm is the portable form of:
//
//	var s [8]float32; for i := range n { s[i%8] += x[i] }
//	return ((s[0]+s[4]) + (s[2]+s[6])) + ((s[1]+s[5]) + (s[3]+s[7]))
func sumAsm(x *float32, n int) float32 {
	var s [8]float32
	for i, v := range view(x, n) {
		s[i%8] += v
	}
	return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

// scaleShiftBlockedAsm is the portable form of (b is 8 or 16, n a multiple of b):
//
//	for i := range n { y[i] = scale[i%b]*x[i] + shift[i%b]; if relu { y[i] = max(y[i], 0) } }
func scaleShiftBlockedAsm(x, y *float32, n int, scale, shift *float32, b int, relu bool) {
	scaleShiftBlockedGo(view(x, n), view(y, n), view(scale, b), view(shift, b), relu)
}

// scaleAddBlockedAsm is the portable form of (b is 8 or 16, n a multiple of b):
//
//	for i := range n { y[i] = scale[i%b]*x[i] + r[i]; if relu { y[i] = max(y[i], 0) } }
func scaleAddBlockedAsm(x, r, y *float32, n int, scale *float32, b int, relu bool) {
	scaleAddBlockedGo(view(x, n), view(r, n), view(y, n), view(scale, b), relu)
}

// sumBlockedAsm is the portable form of (b is 8 or 16, n a multiple of b):
//
//	clear(sum[:b]); for i := range n { sum[i%b] += x[i] }
func sumBlockedAsm(x *float32, n int, sum *float32, b int) {
	sumBlockedGo(view(x, n), view(sum, b))
}

// dotAsm is the portable form of (n a multiple of 32):
//
//	var s [32]float32; for i := range n { s[i%32] += x[i] * y[i] }
//	a[j] = (s[j]+s[j+8]) + (s[j+16]+s[j+24]) for j < 8
//	return ((a[0]+a[4]) + (a[2]+a[6])) + ((a[1]+a[5]) + (a[3]+a[7]))
//
// It sums in the assembly's order; the assembly fuses each multiply-add
// (one rounding), while here the product is rounded first (the explicit
// conversion stops the compiler from fusing on some targets and not on
// others), so the two may differ in the last bits.
func dotAsm(x, y *float32, n int) float32 {
	var s [32]float32
	yv := view(y, n)
	for i, v := range view(x, n) {
		s[i%32] += float32(v * yv[i])
	}
	var a [8]float32
	for j := range a {
		a[j] = (s[j] + s[j+8]) + (s[j+16] + s[j+24])
	}
	return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

// subsample2Asm is the portable form of:
//
//	for r := range rows { for c := range cols { dst[r*ldd+c] = src[r*ld+2*c] } }
//
// ahead, the assembly's prefetch distance, is ignored.
func subsample2Asm(src, dst *float32, rows, cols, vcols, ld, ldd, ahead int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	s, d := view(src, (rows-1)*ld+2*cols-1), view(dst, (rows-1)*ldd+cols)
	for r := range rows {
		for c := range cols {
			d[r*ldd+c] = s[r*ld+2*c]
		}
	}
}

// subsamplePixelsAsm is the portable form of:
//
//	for r := range rows { for c := range cols { for i := range b {
//		dst[(r*cols+c)*b+i] = src[r*ld+c*step+i] } } }
//
// b is a multiple of 8; pfd (floats) is how far ahead of each pixel read
// the source is prefetched.
func subsamplePixelsAsm(src, dst *float32, rows, cols, b, step, ld, pfd int) {
	subsamplePixelsGo(view(src, (rows-1)*ld+(cols-1)*step+b), view(dst, rows*cols*b), rows, cols, b, step, ld)
}
