package winograd

import "unsafe"

// Pure-Go input and output transforms of one tile, for every tile size.
// They are the Generic tier's path and the edge path of the others, and
// the reference the assembly is tested against. Each applies a 1-D
// transform to the columns, then to the rows, with the common
// subexpressions of the matrices in matrices.go factored out (the
// coefficients are exact in float32).
//
// Input: the α×α patch d starts at src, rows ld bytes apart; V = Bᵀ d B is
// stored at dst + (i·α+j)·ds bytes.
//
// Output: M is read from src + (i·α+j)·ss bytes; Y = Aᵀ M A is written to
// y[r·m+s].

func ldf(p unsafe.Pointer, off uintptr) float32 { return *(*float32)(unsafe.Add(p, off)) }

func stf(p unsafe.Pointer, off uintptr, v float32) { *(*float32)(unsafe.Add(p, off)) = v }

// inputTile2 is V = Bᵀ d B for F(2x2,3x3).
func inputTile2(src unsafe.Pointer, ld uintptr, dst unsafe.Pointer, ds uintptr) {
	var t [4][4]float32
	for c := uintptr(0); c < 4; c++ {
		p := unsafe.Add(src, c*4)
		d0, d1, d2, d3 := ldf(p, 0), ldf(p, ld), ldf(p, 2*ld), ldf(p, 3*ld)
		t[0][c] = d0 - d2
		t[1][c] = d1 + d2
		t[2][c] = d2 - d1
		t[3][c] = d1 - d3
	}
	for i := uintptr(0); i < 4; i++ {
		d0, d1, d2, d3 := t[i][0], t[i][1], t[i][2], t[i][3]
		o := unsafe.Add(dst, i*4*ds)
		stf(o, 0, d0-d2)
		stf(o, ds, d1+d2)
		stf(o, 2*ds, d2-d1)
		stf(o, 3*ds, d1-d3)
	}
}

// inputTile4 is V = Bᵀ d B for F(4x4,3x3).
func inputTile4(src unsafe.Pointer, ld uintptr, dst unsafe.Pointer, ds uintptr) {
	var t [6][6]float32
	for c := uintptr(0); c < 6; c++ {
		p := unsafe.Add(src, c*4)
		d0, d1, d2 := ldf(p, 0), ldf(p, ld), ldf(p, 2*ld)
		d3, d4, d5 := ldf(p, 3*ld), ldf(p, 4*ld), ldf(p, 5*ld)
		t[0][c] = 4*d0 - 5*d2 + d4
		a, b := d4-4*d2, d3-4*d1
		t[1][c] = a + b
		t[2][c] = a - b
		a, b = d4-d2, 2*(d3-d1)
		t[3][c] = a + b
		t[4][c] = a - b
		t[5][c] = 4*d1 - 5*d3 + d5
	}
	for i := uintptr(0); i < 6; i++ {
		r := &t[i]
		d0, d1, d2, d3, d4, d5 := r[0], r[1], r[2], r[3], r[4], r[5]
		o := unsafe.Add(dst, i*6*ds)
		stf(o, 0, 4*d0-5*d2+d4)
		a, b := d4-4*d2, d3-4*d1
		stf(o, ds, a+b)
		stf(o, 2*ds, a-b)
		a, b = d4-d2, 2*(d3-d1)
		stf(o, 3*ds, a+b)
		stf(o, 4*ds, a-b)
		stf(o, 5*ds, 4*d1-5*d3+d5)
	}
}

// inputTile6 is V = Bᵀ d B for F(6x6,3x3).
func inputTile6(src unsafe.Pointer, ld uintptr, dst unsafe.Pointer, ds uintptr) {
	var t [8][8]float32
	for c := uintptr(0); c < 8; c++ {
		p := unsafe.Add(src, c*4)
		d0, d1, d2, d3 := ldf(p, 0), ldf(p, ld), ldf(p, 2*ld), ldf(p, 3*ld)
		d4, d5, d6, d7 := ldf(p, 4*ld), ldf(p, 5*ld), ldf(p, 6*ld), ldf(p, 7*ld)
		t[0][c] = (d0 - d6) + 5.25*(d4-d2)
		t[7][c] = (d7 - d1) + 5.25*(d3-d5)
		a, b := (d2+d6)-4.25*d4, (d1+d5)-4.25*d3
		t[1][c] = a + b
		t[2][c] = a - b
		a, b = (d6+0.25*d2)-1.25*d4, (0.5*d1-2.5*d3)+2*d5
		t[3][c] = a + b
		t[4][c] = a - b
		a, b = d6+4*(d2-1.25*d4), (2*d1-2.5*d3)+0.5*d5
		t[5][c] = a + b
		t[6][c] = a - b
	}
	for i := uintptr(0); i < 8; i++ {
		r := &t[i]
		d0, d1, d2, d3, d4, d5, d6, d7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
		o := unsafe.Add(dst, i*8*ds)
		stf(o, 0, (d0-d6)+5.25*(d4-d2))
		stf(o, 7*ds, (d7-d1)+5.25*(d3-d5))
		a, b := (d2+d6)-4.25*d4, (d1+d5)-4.25*d3
		stf(o, ds, a+b)
		stf(o, 2*ds, a-b)
		a, b = (d6+0.25*d2)-1.25*d4, (0.5*d1-2.5*d3)+2*d5
		stf(o, 3*ds, a+b)
		stf(o, 4*ds, a-b)
		a, b = d6+4*(d2-1.25*d4), (2*d1-2.5*d3)+0.5*d5
		stf(o, 5*ds, a+b)
		stf(o, 6*ds, a-b)
	}
}

// outputTile2 is Y = Aᵀ M A for F(2x2,3x3).
func outputTile2(src unsafe.Pointer, ss uintptr, y *[36]float32) {
	var t [2][4]float32
	for c := uintptr(0); c < 4; c++ {
		p := unsafe.Add(src, c*ss)
		m0, m1, m2, m3 := ldf(p, 0), ldf(p, 4*ss), ldf(p, 8*ss), ldf(p, 12*ss)
		t[0][c] = m0 + m1 + m2
		t[1][c] = m1 - m2 - m3
	}
	for r := 0; r < 2; r++ {
		m0, m1, m2, m3 := t[r][0], t[r][1], t[r][2], t[r][3]
		y[r*2] = m0 + m1 + m2
		y[r*2+1] = m1 - m2 - m3
	}
}

// outputTile4 is Y = Aᵀ M A for F(4x4,3x3).
func outputTile4(src unsafe.Pointer, ss uintptr, y *[36]float32) {
	var t [4][6]float32
	for c := uintptr(0); c < 6; c++ {
		p := unsafe.Add(src, c*ss)
		m0, m1, m2 := ldf(p, 0), ldf(p, 6*ss), ldf(p, 12*ss)
		m3, m4, m5 := ldf(p, 18*ss), ldf(p, 24*ss), ldf(p, 30*ss)
		a, b, e, f := m1+m2, m1-m2, m3+m4, m3-m4
		t[0][c] = m0 + a + e
		t[1][c] = b + 2*f
		t[2][c] = a + 4*e
		t[3][c] = b + 8*f + m5
	}
	for r := 0; r < 4; r++ {
		q := &t[r]
		m0, m1, m2, m3, m4, m5 := q[0], q[1], q[2], q[3], q[4], q[5]
		a, b, e, f := m1+m2, m1-m2, m3+m4, m3-m4
		y[r*4] = m0 + a + e
		y[r*4+1] = b + 2*f
		y[r*4+2] = a + 4*e
		y[r*4+3] = b + 8*f + m5
	}
}

// outputTile6 is Y = Aᵀ M A for F(6x6,3x3).
func outputTile6(src unsafe.Pointer, ss uintptr, y *[36]float32) {
	var t [6][8]float32
	for c := uintptr(0); c < 8; c++ {
		p := unsafe.Add(src, c*ss)
		m0, m1, m2, m3 := ldf(p, 0), ldf(p, 8*ss), ldf(p, 16*ss), ldf(p, 24*ss)
		m4, m5, m6, m7 := ldf(p, 32*ss), ldf(p, 40*ss), ldf(p, 48*ss), ldf(p, 56*ss)
		a1, b1, a2, b2, a3, b3 := m1+m2, m1-m2, m3+m4, m3-m4, m5+m6, m5-m6
		t[0][c] = m0 + a1 + a2 + a3
		t[1][c] = b1 + 2*b2 + 0.5*b3
		t[2][c] = a1 + 4*a2 + 0.25*a3
		t[3][c] = b1 + 8*b2 + 0.125*b3
		t[4][c] = a1 + 16*a2 + 0.0625*a3
		t[5][c] = b1 + 32*b2 + 0.03125*b3 + m7
	}
	for r := 0; r < 6; r++ {
		q := &t[r]
		m0, m1, m2, m3, m4, m5, m6, m7 := q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]
		a1, b1, a2, b2, a3, b3 := m1+m2, m1-m2, m3+m4, m3-m4, m5+m6, m5-m6
		y[r*6] = m0 + a1 + a2 + a3
		y[r*6+1] = b1 + 2*b2 + 0.5*b3
		y[r*6+2] = a1 + 4*a2 + 0.25*a3
		y[r*6+3] = b1 + 8*b2 + 0.125*b3
		y[r*6+4] = a1 + 16*a2 + 0.0625*a3
		y[r*6+5] = b1 + 32*b2 + 0.03125*b3 + m7
	}
}

// storeTile writes the mh×mw valid part of the m×m tile y to out (rows ow
// floats apart) with the epilogue: + bias, + res (same offsets as out, or
// nil), then max(·, 0) if relu (NaN stays NaN).
func storeTile(y *[36]float32, m, mh, mw int, out, res []float32, ow int, bias float32, relu bool) {
	for r := 0; r < mh; r++ {
		yr := y[r*m : r*m+mw]
		o := out[r*ow : r*ow+mw]
		if res != nil {
			rr := res[r*ow : r*ow+mw]
			for s, v := range yr {
				v += bias
				v += rr[s]
				if relu && v < 0 {
					v = 0
				}
				o[s] = v
			}
			continue
		}
		for s, v := range yr {
			v += bias
			if relu && v < 0 {
				v = 0
			}
			o[s] = v
		}
	}
}

// inputTile is inputTile2, inputTile4 or inputTile6 by tile size m.
func inputTile(m int, src unsafe.Pointer, ld uintptr, dst unsafe.Pointer, ds uintptr) {
	switch m {
	case 2:
		inputTile2(src, ld, dst, ds)
	case 4:
		inputTile4(src, ld, dst, ds)
	default:
		inputTile6(src, ld, dst, ds)
	}
}

// outputTile is outputTile2, outputTile4 or outputTile6 by tile size m.
func outputTile(m int, src unsafe.Pointer, ss uintptr, y *[36]float32) {
	switch m {
	case 2:
		outputTile2(src, ss, y)
	case 4:
		outputTile4(src, ss, y)
	default:
		outputTile6(src, ss, y)
	}
}

// The group loops below are the reference loops of the assembly routines
// (see their doc comments in transform_amd64.go), with the same arguments:
// pointers to the first element, offsets and strides in bytes. They are the
// bodies of the routines' pure-Go twins (transform_generic.go, noasm or
// non-amd64 builds) and are tested in every build. Per tile they make
// exactly the calls of the Conv's pure-Go path (transformIn,
// transformOut), so they compute the same bits.

// inputGroups is winoInputF{m}AVX2: V = Bᵀ d B of the 8·ngroups tiles
// whose patches start at src + offs[t], rows rs bytes apart, stored at
// dst + ξ·ds + 4t.
func inputGroups(m int, src *float32, offs *int, ngroups, rs int, dst *float32, ds int) {
	if ngroups <= 0 {
		return
	}
	s, d := unsafe.Pointer(src), unsafe.Pointer(dst)
	for t, off := range unsafe.Slice(offs, group*ngroups) {
		inputTile(m, unsafe.Add(s, off), uintptr(rs), unsafe.Add(d, 4*t), uintptr(ds))
	}
}

// outputRawGroups is winoOutputRawF{m}AVX2: Y = Aᵀ M A of the 8·ngroups
// tiles whose M[ξ] is at src + ξ·ss + 4t, stored row-major (m·m floats per
// tile, unclipped, without epilogue) at dst.
func outputRawGroups(m int, src *float32, ss, ngroups int, dst *float32) {
	if ngroups <= 0 {
		return
	}
	n := group * ngroups
	d := unsafe.Slice(dst, n*m*m)
	var y [36]float32
	for t := range n {
		outputTile(m, unsafe.Add(unsafe.Pointer(src), 4*t), uintptr(ss), &y)
		copy(d[t*m*m:(t+1)*m*m], y[:m*m])
	}
}

// outputGroups is winoOutputF{m}{Res}{Relu}AVX2: Y = Aᵀ M A of the
// 8·ngroups full tiles whose M[ξ] is at src + ξ·ss + 4t, stored with
// storeTile's epilogue (+ bias, + the residual at res + offs[t] + r·rs if
// withRes, ReLU if relu) to out + offs[t] + r·rs (row r). Without withRes,
// res is not read.
func outputGroups(m int, withRes, relu bool, src *float32, ss, ngroups int, out *float32, offs *int, rs int, res *float32, bias float32) {
	if ngroups <= 0 {
		return
	}
	ow := rs / 4
	n := (m-1)*ow + m // floats from a tile's first output to its last
	var y [36]float32
	for t, off := range unsafe.Slice(offs, group*ngroups) {
		outputTile(m, unsafe.Add(unsafe.Pointer(src), 4*t), uintptr(ss), &y)
		o := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(out), off)), n)
		var r []float32
		if withRes {
			r = unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(res), off)), n)
		}
		storeTile(&y, m, m, m, o, r, ow, bias, relu)
	}
}
