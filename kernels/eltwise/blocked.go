package eltwise

// Blocked-layout forms of the per-channel ops: in nChw8c or nChw16c a
// channel block's plane is H·W groups of b consecutive channels, so a
// per-channel scale becomes a b-wide vector repeated along the plane.

// ScaleShiftBlocked computes y[i] = scale[i%b]·x[i] + shift[i%b], then
// max(·, 0) if relu, where b = len(scale) (8 or 16) divides len(y). x and y
// may be the same slice.
func ScaleShiftBlocked(x, y, scale, shift []float32, relu bool) {
	b := len(scale)
	n := len(y)
	x, shift = x[:n], shift[:b]
	if vector() && n > 0 && (b == 8 || b == 16) {
		scaleShiftBlockedAsm(&x[0], &y[0], n, &scale[0], &shift[0], b, relu)
		return
	}
	scaleShiftBlockedGo(x, y, scale, shift, relu)
}

func scaleShiftBlockedGo(x, y, scale, shift []float32, relu bool) {
	b := len(scale)
	for i, v := range x {
		r := scale[i%b]*v + shift[i%b]
		if relu {
			r = max(r, 0)
		}
		y[i] = r
	}
}

// ScaleAddBlocked computes y[i] = scale[i%b]·x[i] + r[i], then max(·, 0)
// if relu: the SE scale + residual add on a blocked tensor. y may alias x
// or r.
func ScaleAddBlocked(x, r, y, scale []float32, relu bool) {
	b := len(scale)
	n := len(y)
	x, r = x[:n], r[:n]
	if vector() && n > 0 && (b == 8 || b == 16) {
		scaleAddBlockedAsm(&x[0], &r[0], &y[0], n, &scale[0], b, relu)
		return
	}
	scaleAddBlockedGo(x, r, y, scale, relu)
}

func scaleAddBlockedGo(x, r, y, scale []float32, relu bool) {
	b := len(scale)
	for i, v := range x {
		s := scale[i%b]*v + r[i]
		if relu {
			s = max(s, 0)
		}
		y[i] = s
	}
}

// SumBlocked adds the b-wide groups of x lane by lane into sum (len b):
// the per-channel sums of one channel block's plane.
func SumBlocked(x, sum []float32) {
	b := len(sum)
	if vector() && len(x) > 0 && (b == 8 || b == 16) {
		sumBlockedAsm(&x[0], len(x), &sum[0], b)
		return
	}
	sumBlockedGo(x, sum)
}

func sumBlockedGo(x, sum []float32) {
	b := len(sum)
	clear(sum)
	for i, v := range x {
		sum[i%b] += v
	}
}

// SubsamplePixels copies every stride-th pixel of b floats (a channel
// block's pixel in nChw8c/nChw16c) from rows rows of src into dst:
//
//	dst[(r*cols+c)*b+i] = src[r*ld + c*stride*b + i]  for r < rows, c < cols, i < b
//
// With ld = strideH·W·b over a W-pixel-wide plane it is the subsample of a
// strided 1x1 convolution or a 1x1 pooling. b is 8 or 16. Vectorized, it
// prefetches the source two rows ahead: one line per pixel from an input
// in L3 or memory, too short a run per row for the hardware prefetchers
// (copying pixel by pixel in Go ran at 3.3 GB/s in ResNet-50's res3a
// subsample, 0.7 ms).
func SubsamplePixels(src, dst []float32, rows, cols, b, stride, ld int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	dst = dst[:rows*cols*b]
	_ = src[(rows-1)*ld+(cols-1)*stride*b+b-1]
	if vector() && (b == 8 || b == 16) {
		subsamplePixelsAsm(&src[0], &dst[0], rows, cols, b, stride*b, ld, 2*ld)
		return
	}
	subsamplePixelsGo(src, dst, rows, cols, b, stride*b, ld)
}

func subsamplePixelsGo(src, dst []float32, rows, cols, b, step, ld int) {
	for r := range rows {
		for c := range cols {
			copy(dst[(r*cols+c)*b:][:b], src[r*ld+c*step:])
		}
	}
}
