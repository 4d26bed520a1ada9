// Package eltwise holds the element-wise and pooling operators of the
// residual family, the memory-bound glue between convolutions: per-channel
// scale and shift (inference BatchNorm, the SE scale), adds with optional
// ReLU (the residual sum), ReLU, 3x3 max pooling and global average pooling.
//
// Each hot loop has an AVX2 assembly routine (the *_amd64.s files) and a
// pure-Go twin with the same signature (*_generic.go, used under the noasm
// build tag and on other architectures); the Go loop in this file is the
// reference both must match and the one used on the generic tier. These
// operators are bound by memory bandwidth, not arithmetic, so 256-bit
// vectors already saturate it and the AVX-512 tier uses the AVX2 routines.
//
// The routines keep NaN as Go's max does (a broken kernel stays visible
// downstream); of +0 and -0 the assembly may return either where Go's max
// returns +0, values that compare equal.
package eltwise

import "github.com/resbench/resbench/kernels/internal/isa"

// vector reports whether the assembly routines may run now.
func vector() bool { return haveAsm && isa.Active() >= isa.AVX2 }

// ScaleShift computes y[i] = a·x[i] + b, then max(·, 0) if relu (a NaN stays NaN). x and y
// have the same length and may be the same slice.
func ScaleShift(x, y []float32, a, b float32, relu bool) {
	n := len(y)
	x = x[:n]
	done := 0
	if vector() && n >= 8 {
		done = n &^ 7
		scaleShiftAsm(&x[0], &y[0], done, a, b, relu)
	}
	scaleShiftGo(x[done:], y[done:], a, b, relu)
}

func scaleShiftGo(x, y []float32, a, b float32, relu bool) {
	for i, v := range x {
		r := a*v + b
		if relu {
			r = max(r, 0)
		}
		y[i] = r
	}
}

// ScaleAdd computes y[i] = a·x[i] + r[i], then max(·, 0) if relu: the SE
// channel scale fused with the residual add (a channel-wise axpy). y may
// alias x or r.
func ScaleAdd(x, r, y []float32, a float32, relu bool) {
	n := len(y)
	x, r = x[:n], r[:n]
	done := 0
	if vector() && n >= 8 {
		done = n &^ 7
		scaleAddAsm(&x[0], &r[0], &y[0], done, a, relu)
	}
	scaleAddGo(x[done:], r[done:], y[done:], a, relu)
}

func scaleAddGo(x, r, y []float32, a float32, relu bool) {
	for i, v := range x {
		s := a*v + r[i]
		if relu {
			s = max(s, 0)
		}
		y[i] = s
	}
}

// Add computes z[i] = x[i] + y[i], then max(·, 0) if relu. z may alias x
// or y.
func Add(x, y, z []float32, relu bool) {
	n := len(z)
	x, y = x[:n], y[:n]
	done := 0
	if vector() && n >= 8 {
		done = n &^ 7
		addAsm(&x[0], &y[0], &z[0], done, relu)
	}
	addGo(x[done:], y[done:], z[done:], relu)
}

func addGo(x, y, z []float32, relu bool) {
	for i, v := range x {
		s := v + y[i]
		if relu {
			s = max(s, 0)
		}
		z[i] = s
	}
}

// ReLU computes y[i] = max(x[i], 0); y may alias x.
func ReLU(x, y []float32) { ScaleShift(x, y, 1, 0, true) }

// Max3 computes m[i] = max(a[i], b[i], c[i]), the vertical step of a 3x3
// max pool.
func Max3(a, b, c, m []float32) {
	n := len(m)
	a, b, c = a[:n], b[:n], c[:n]
	done := 0
	if vector() && n >= 8 {
		done = n &^ 7
		max3Asm(&a[0], &b[0], &c[0], &m[0], done)
	}
	max3Go(a[done:], b[done:], c[done:], m[done:])
}

func max3Go(a, b, c, m []float32) {
	for i, v := range a {
		m[i] = max(v, b[i], c[i])
	}
}

// Subsample2 picks the even columns of rows rows of src (row r starts at
// src[r*ld]) into dst, cols per row: dst[r*cols+c] = src[r*ld+2c]. With ld =
// 2·W over a W-wide plane it is the stride-2 subsample of a 1x1 pooling or
// of a 1x1 stride-2 convolution's input.
func Subsample2(src, dst []float32, rows, cols, ld int) {
	Subsample2Ahead(src, dst, rows, cols, ld, 16*ld)
}

// Subsample2Ahead is Subsample2 with each source line read prefetching
// the line ahead floats further (Subsample2: 16 rows), for callers that
// read only some rows of each plane and know where their next ones are.
func Subsample2Ahead(src, dst []float32, rows, cols, ld, ahead int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	dst = dst[:rows*cols]
	_ = src[(rows-1)*ld+2*cols-2]
	if !vector() {
		for r := range rows {
			s, d := src[r*ld:], dst[r*cols:(r+1)*cols]
			for c := range d {
				d[c] = s[2*c]
			}
		}
		return
	}
	// Vectors read 16 source floats per 8 outputs: the last one reads
	// src[r*ld+2*vcols-1], which must exist in the last row.
	vcols := min(cols, (len(src)-(rows-1)*ld)/2) &^ 7
	subsample2Asm(&src[0], &dst[0], rows, cols, vcols, ld, cols, ahead)
}

// Sum returns the sum of x, accumulated in 8 (vector) or 1 (generic)
// running partial sums.
func Sum(x []float32) float32 {
	n := len(x)
	done := 0
	var s float32
	if vector() && n >= 8 {
		done = n &^ 7
		s = sumAsm(&x[0], done)
	}
	for _, v := range x[done:] {
		s += v
	}
	return s
}

// Dot returns Σ x[i]·y[i] over len(x) values, accumulated in 32 (vector)
// or 1 (generic) running partial sums: the fully connected layers' GEMV.
func Dot(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	done := 0
	var s float32
	if vector() && n >= 32 {
		done = n &^ 31
		s = dotAsm(&x[0], &y[0], done)
	}
	for i := done; i < n; i++ {
		s += x[i] * y[i]
	}
	return s
}
