// Command asmgen generates the amd64 assembly of the Winograd input and
// output transforms (kernels/winograd/transform_amd64.s) with avo. It lives
// in its own module so that avo is not a dependency of the main module.
//
// Every routine processes a group of 8 tiles at once, one tile per lane of
// a ymm register, for the three tile sizes F(m×m,3×3), m = 2, 4, 6 (α = m+2
// points). One generator function per routine kind emits all tile sizes
// from the same code path; only the 1-D transforms (the matrices) differ.
//
// Input transform (winoInputF{m}AVX2), per group of 8 tiles:
//
//	for each patch row r: load row r of the 8 tiles' α×α patches (two
//	  128-bit halves per tile, tiles t and t+4 sharing a ymm), transpose
//	  in-lane so that vector s holds column s of all 8 tiles, apply the
//	  1-D transform Bᵀ along the row and spill the α results;
//	for each column j: reload the α spilled vectors of column j, apply Bᵀ
//	  down the column and store V[i][j] (8 tiles, 32 bytes) to position
//	  ξ = i·α+j of the GEMM operand.
//
// Output transform (winoOutputF{m}{Res}{Relu}AVX2), per group of 8 full
// tiles: load the α² vectors M[ξ] (8 tiles each), apply Aᵀ down the
// columns (spilled), then along each row, transpose in-lane back to one
// m-float row per tile, add the bias, the residual and apply ReLU (NaN
// propagates), and store each tile row straight into the NCHW output. The
// raw variant (winoOutputRawF{m}AVX2) stores Y = Aᵀ M A tile by tile to a
// scratch buffer instead, for the tiles of the right and bottom edges that
// are partial (the Go caller clips them).
//
// With -goout it also writes the pure-Go twins of the routines (same
// names, signatures and doc comments; see gofile.go).
//
// Usage (see the go:generate line in kernels/winograd/generate.go):
//
//	go run . -out ../../transform_amd64.s -stubs ../../transform_amd64.go -goout ../../transform_generic.go -pkg winograd
package main

import (
	"flag"
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// constant table: 32-byte vectors of each coefficient.
var (
	constVals = []float32{2, 4, 5, 8, 16, 32, 0.5, 0.25, 0.125, 0.0625, 0.03125, 5.25, 4.25, 1.25, 2.5}
	constTab  Mem
)

func k(v float32) Mem {
	for i, c := range constVals {
		if c == v {
			return constTab.Offset(32 * i)
		}
	}
	panic(fmt.Sprintf("asmgen: constant %v not in the table", v))
}

type vec = VecVirtual

func add(a, b Op) vec { r := YMM(); VADDPS(b, a, r); return r } // a + b
func sub(a, b Op) vec { r := YMM(); VSUBPS(b, a, r); return r } // a − b
func mov(a Op) vec    { r := YMM(); VMOVUPS(a, r); return r }
func fma(acc vec, x Op, c float32) {
	VFMADD231PS(k(c), x, acc) // acc += x·c
}
func fnma(acc vec, x Op, c float32) {
	VFNMADD231PS(k(c), x, acc) // acc −= x·c
}

// input1D applies Bᵀ of F(m×m,3×3) to the α vectors d, calling emit(i, v)
// for output i (in any order).
func input1D(m int, d []vec, emit func(int, vec)) {
	switch m {
	case 2:
		emit(0, sub(d[0], d[2]))
		emit(1, add(d[1], d[2]))
		emit(2, sub(d[2], d[1]))
		emit(3, sub(d[1], d[3]))
	case 4:
		t := mov(d[4])
		fnma(t, d[2], 5)
		fma(t, d[0], 4)
		emit(0, t)
		t = mov(d[5])
		fnma(t, d[3], 5)
		fma(t, d[1], 4)
		emit(5, t)
		a, b := mov(d[4]), mov(d[3])
		fnma(a, d[2], 4)
		fnma(b, d[1], 4)
		emit(1, add(a, b))
		emit(2, sub(a, b))
		a, b = sub(d[4], d[2]), sub(d[3], d[1])
		x := mov(a)
		fma(x, b, 2)
		emit(3, x)
		fnma(a, b, 2)
		emit(4, a)
	case 6:
		x, y := sub(d[4], d[2]), sub(d[0], d[6])
		fma(y, x, 5.25)
		emit(0, y)
		x, y = sub(d[3], d[5]), sub(d[7], d[1])
		fma(y, x, 5.25)
		emit(7, y)
		a, b := add(d[2], d[6]), add(d[1], d[5])
		fnma(a, d[4], 4.25)
		fnma(b, d[3], 4.25)
		emit(1, add(a, b))
		emit(2, sub(a, b))
		a = mov(d[6])
		fma(a, d[2], 0.25)
		fnma(a, d[4], 1.25)
		b = YMM()
		VMULPS(k(0.5), d[1], b)
		fnma(b, d[3], 2.5)
		fma(b, d[5], 2)
		emit(3, add(a, b))
		emit(4, sub(a, b))
		a = mov(d[2])
		fnma(a, d[4], 1.25)
		VFMADD132PS(k(4), d[6], a) // a = a·4 + d6
		b = add(d[1], d[1])
		fnma(b, d[3], 2.5)
		fma(b, d[5], 0.5)
		emit(5, add(a, b))
		emit(6, sub(a, b))
	default:
		panic("bad m")
	}
}

// output1D applies Aᵀ of F(m×m,3×3) to the α vectors v, calling emit(r, y)
// for output r (in any order).
func output1D(m int, v []vec, emit func(int, vec)) {
	switch m {
	case 2:
		emit(0, add(add(v[0], v[1]), v[2]))
		emit(1, sub(sub(v[1], v[2]), v[3]))
	case 4:
		a, b, e, f := add(v[1], v[2]), sub(v[1], v[2]), add(v[3], v[4]), sub(v[3], v[4])
		emit(0, add(add(v[0], a), e))
		y := add(b, v[5])
		fma(y, f, 8)
		emit(3, y)
		y = mov(a)
		fma(y, e, 4)
		emit(2, y)
		fma(b, f, 2)
		emit(1, b)
	case 6:
		a1, b1 := add(v[1], v[2]), sub(v[1], v[2])
		a2, b2 := add(v[3], v[4]), sub(v[3], v[4])
		a3, b3 := add(v[5], v[6]), sub(v[5], v[6])
		emit(0, add(add(add(v[0], a1), a2), a3))
		y := add(b1, v[7])
		fma(y, b2, 32)
		fma(y, b3, 0.03125)
		emit(5, y)
		y = mov(a1)
		fma(y, a2, 4)
		fma(y, a3, 0.25)
		emit(2, y)
		fma(a1, a2, 16)
		fma(a1, a3, 0.0625)
		emit(4, a1)
		y = mov(b1)
		fma(y, b2, 2)
		fma(y, b3, 0.5)
		emit(1, y)
		fma(b1, b2, 8)
		fma(b1, b3, 0.125)
		emit(3, b1)
	default:
		panic("bad m")
	}
}

// transpose4 transposes, within each 128-bit lane, the 4×4 blocks of
// a[0..3]: out[s] lane-half h holds element s of a[0..3]'s half h. With
// a[t] = [x_t | x_{t+4}] it turns rows into columns for 8 tiles; with
// a[s] = column s of 8 tiles it turns them back into [row of tile t |
// row of tile t+4] (the transpose is its own inverse). Only the first n
// outputs are produced.
func transpose4(a [4]vec, n int) []vec {
	u0, u2 := YMM(), YMM()
	VUNPCKLPS(a[1], a[0], u0) // a0[0] a1[0] a0[1] a1[1]
	VUNPCKLPS(a[3], a[2], u2)
	var u1, u3 vec
	if n > 2 {
		u1, u3 = YMM(), YMM()
		VUNPCKHPS(a[1], a[0], u1) // a0[2] a1[2] a0[3] a1[3]
		VUNPCKHPS(a[3], a[2], u3)
	}
	out := make([]vec, n)
	for s := 0; s < n; s++ {
		out[s] = YMM()
		lo, hi := u0, u2
		if s >= 2 {
			lo, hi = u1, u3
		}
		if s%2 == 0 {
			VUNPCKLPD(hi, lo, out[s])
		} else {
			VUNPCKHPD(hi, lo, out[s])
		}
	}
	return out
}

// colAddr addresses position i·α (+ the column the base register points
// at) of a transform: base + i·step where AX = base (column pointer), BX =
// step, DX = 3·step and CX = base + 3·step.
func colAddr(i int) Mem {
	switch i {
	case 0:
		return Mem{Base: RAX}
	case 1:
		return Mem{Base: RAX, Index: RBX, Scale: 1}
	case 2:
		return Mem{Base: RAX, Index: RBX, Scale: 2}
	case 3:
		return Mem{Base: RCX}
	case 4:
		return Mem{Base: RAX, Index: RBX, Scale: 4}
	case 5:
		return Mem{Base: RCX, Index: RBX, Scale: 2}
	case 6:
		return Mem{Base: RCX, Index: RDX, Scale: 1}
	case 7:
		return Mem{Base: RCX, Index: RBX, Scale: 4}
	}
	panic("bad row")
}

// setupCol sets AX = base, BX = α·stride, DX = 3·BX, CX = AX + DX for
// colAddr; stride is a memory operand (a parameter) in bytes.
func setupCol(base GPPhysical, stride Mem, alpha int) {
	MOVQ(base, RAX)
	MOVQ(stride, RBX)
	IMUL3Q(Imm(uint64(alpha)), RBX, RBX)
	LEAQ(Mem{Base: RBX, Index: RBX, Scale: 2}, RDX)
	LEAQ(Mem{Base: RAX, Index: RDX, Scale: 1}, RCX)
}

func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// tileRegs hold the 8 tiles' row pointers during the row phase.
var tileRegs = [8]GPPhysical{RAX, RBX, RCX, RDX, RSI, RDI, R8, R9}

// inputTransform emits winoInputF{m}AVX2.
//
// GP registers: R10 offsets table, R11 destination group pointer, R13 row
// offset within the patches, tileRegs the tiles' patch pointers (row
// phase) or the colAddr registers (column phase). The group count is a
// local.
func inputTransform(m int) {
	alpha := m + 2
	name := inputName(m)
	TEXT(name, 0, "func(src *float32, offs *int, ngroups, rs int, dst *float32, ds int)")
	Pragma("noescape")
	Doc(inputDoc(m)...)
	h := AllocLocal(alpha * alpha * 32)
	cnt := AllocLocal(8)
	Load(Param("ngroups"), R12)
	TESTQ(R12, R12)
	JLE(LabelRef(name + "_ret"))
	MOVQ(R12, cnt)
	Load(Param("offs"), R10)
	Load(Param("dst"), R11)
	Label(name + "_group")
	for t, r := range tileRegs {
		MOVQ(Mem{Base: R10, Disp: 8 * t}, r)
		ADDQ(paramAddr("src"), r)
	}
	XORQ(R13, R13)
	for r := 0; r < alpha; r++ {
		Comment(fmt.Sprintf("patch row %d", r))
		var cols []vec
		for half := 0; half*4 < alpha; half++ {
			var a [4]vec
			for t := 0; t < 4; t++ {
				a[t] = YMM()
				// A full-width load (not a 128-bit VMOVUPS into the low
				// half): avo's liveness treats a partial write as a
				// read-modify-write, which keeps the register live
				// across the loop and exhausts the register file.
				VBROADCASTF128(Mem{Base: tileRegs[t], Index: R13, Scale: 1, Disp: 16 * half}, a[t])
				VINSERTF128(U8(1), Mem{Base: tileRegs[t+4], Index: R13, Scale: 1, Disp: 16 * half}, a[t], a[t])
			}
			cols = append(cols, transpose4(a, min(4, alpha-4*half))...)
		}
		input1D(m, cols, func(j int, v vec) { VMOVUPS(v, h.Offset((r*alpha+j)*32)) })
		if r < alpha-1 {
			ADDQ(paramAddr("rs"), R13)
		}
	}
	setupCol(R11, paramAddr("ds"), alpha)
	for j := 0; j < alpha; j++ {
		Comment(fmt.Sprintf("column %d", j))
		d := make([]vec, alpha)
		for r := range d {
			d[r] = mov(h.Offset((r*alpha + j) * 32))
		}
		input1D(m, d, func(i int, v vec) { VMOVUPS(v, colAddr(i)) })
		if j < alpha-1 {
			MOVQ(paramAddr("ds"), RSI)
			ADDQ(RSI, RAX)
			ADDQ(RSI, RCX)
		}
	}
	ADDQ(U8(64), R10)
	ADDQ(U8(32), R11)
	DECQ(cnt)
	JNZ(LabelRef(name + "_group"))
	Label(name + "_ret")
	VZEROUPPER()
	RET()
}

// outputColumns is the first half of the output transform of one group:
// T[r][j] = Σ_i Aᵀ[r][i]·M[i·α+j] for r < m, spilled to t; the group's M
// starts at R10, positions ss bytes apart. Clobbers AX, BX, CX, DX, SI.
func outputColumns(m int, t Mem) {
	alpha := m + 2
	setupCol(R10, paramAddr("ss"), alpha)
	for j := 0; j < alpha; j++ {
		Comment(fmt.Sprintf("column %d", j))
		v := make([]vec, alpha)
		for i := range v {
			v[i] = mov(colAddr(i))
		}
		output1D(m, v, func(r int, y vec) { VMOVUPS(y, t.Offset((r*alpha+j)*32)) })
		if j < alpha-1 {
			MOVQ(paramAddr("ss"), RSI)
			ADDQ(RSI, RAX)
			ADDQ(RSI, RCX)
		}
	}
}

// outputRow computes row r of Y = T A for the 8 tiles and transposes it
// back: quad[k] = [Y_r[0..3] of tile k | of tile k+4] (k < 4; m ≥ 4) and
// pair[h] = [Y_r[c..c+1] of tiles 2h, 2h+1 | of tiles 2h+4, 2h+5] (h < 2)
// with c = 4 for m = 6 and c = 0 for m = 2.
func outputRow(m int, t Mem, r int) (quad []vec, pair []vec) {
	alpha := m + 2
	v := make([]vec, alpha)
	for j := range v {
		v[j] = mov(t.Offset((r*alpha + j) * 32))
	}
	y := make([]vec, m)
	output1D(m, v, func(s int, x vec) { y[s] = x })
	if m >= 4 {
		quad = transpose4([4]vec{y[0], y[1], y[2], y[3]}, 4)
	}
	if m != 4 {
		c := m - 2
		lo, hi := YMM(), YMM()
		VUNPCKLPS(y[c+1], y[c], lo) // t0 t1 | t4 t5
		VUNPCKHPS(y[c+1], y[c], hi) // t2 t3 | t6 t7
		pair = []vec{lo, hi}
	}
	return quad, pair
}

// outputTransform emits winoOutputF{m}{Res}{Relu}AVX2 (raw = false) or
// winoOutputRawF{m}AVX2 (raw = true).
//
// GP registers: R10 the group's M pointer, R11 the offsets table (or the
// raw destination), R13 the row offset within the output tiles, R12 a
// temporary; tileRegs hold the 8 tiles' output pointers in the row phase.
func outputTransform(m int, raw, res, relu bool) {
	alpha := m + 2
	var name string
	if raw {
		name = rawName(m)
		TEXT(name, 0, "func(src *float32, ss, ngroups int, dst *float32)")
		Pragma("noescape")
		Doc(rawDoc(m)...)
	} else {
		name = outputName(m, res, relu)
		TEXT(name, 0, "func(src *float32, ss, ngroups int, out *float32, offs *int, rs int, res *float32, bias float32)")
		Pragma("noescape")
		Doc(outputDoc(m, res, relu)...)
	}
	t := AllocLocal(m * alpha * 32)
	cnt := AllocLocal(8)
	delta := AllocLocal(8)
	Load(Param("ngroups"), R12)
	TESTQ(R12, R12)
	JLE(LabelRef(name + "_ret"))
	MOVQ(R12, cnt)
	Load(Param("src"), R10)
	var bias, zero vec
	if raw {
		Load(Param("dst"), R11)
	} else {
		Load(Param("offs"), R11)
		bias = YMM()
		VBROADCASTSS(paramAddr("bias"), bias)
		if relu {
			zero = YMM()
			VXORPS(zero, zero, zero)
		}
		if res {
			Load(Param("res"), R12)
			SUBQ(paramAddr("out"), R12)
			MOVQ(R12, delta)
		}
	}
	Label(name + "_group")
	outputColumns(m, t)
	if !raw {
		for tt, r := range tileRegs {
			MOVQ(Mem{Base: R11, Disp: 8 * tt}, r)
			ADDQ(paramAddr("out"), r)
		}
	}
	XORQ(R13, R13)
	for r := 0; r < m; r++ {
		Comment(fmt.Sprintf("output row %d", r))
		quad, pair := outputRow(m, t, r)
		if raw {
			// Tile t row r at R11 + ((t·m + r)·m)·4.
			at := func(tile, col int) Mem { return Mem{Base: R11, Disp: ((tile*m+r)*m + col) * 4} }
			for kk, q := range quad {
				VMOVUPS(q.AsX(), at(kk, 0))
				VEXTRACTF128(U8(1), q, at(kk+4, 0))
			}
			for hh, p := range pair {
				c := m - 2
				VMOVLPS(p.AsX(), at(2*hh, c))
				VMOVHPS(p.AsX(), at(2*hh+1, c))
				x := YMM()
				VEXTRACTF128(U8(1), p, x.AsX())
				VMOVLPS(x.AsX(), at(2*hh+4, c))
				VMOVHPS(x.AsX(), at(2*hh+5, c))
			}
			continue
		}
		row := func(tile, col int) Mem {
			return Mem{Base: tileRegs[tile], Index: R13, Scale: 1, Disp: 4 * col}
		}
		resRow := func(tile, col int) Mem {
			MOVQ(tileRegs[tile], R12)
			ADDQ(delta, R12)
			return Mem{Base: R12, Index: R13, Scale: 1, Disp: 4 * col}
		}
		epilogue := func(x vec, loadRes func(vec)) {
			VADDPS(bias, x, x)
			if res {
				rv := YMM()
				loadRes(rv)
				VADDPS(rv, x, x)
			}
			if relu {
				VMAXPS(x, zero, x) // second source x: a NaN x stays NaN
			}
		}
		for kk, q := range quad {
			epilogue(q, func(rv vec) {
				VBROADCASTF128(resRow(kk, 0), rv)
				VINSERTF128(U8(1), resRow(kk+4, 0), rv, rv)
			})
			VMOVUPS(q.AsX(), row(kk, 0))
			VEXTRACTF128(U8(1), q, row(kk+4, 0))
		}
		for hh, p := range pair {
			c := m - 2
			epilogue(p, func(rv vec) {
				// [r(2h) r(2h+1) | r(2h+4) r(2h+5)], 8 bytes each, from
				// broadcasts (full-width writes) and blends.
				x := YMM()
				VBROADCASTSD(resRow(2*hh, c), rv)
				VBROADCASTSD(resRow(2*hh+1, c), x)
				VBLENDPD(U8(0b1010), x, rv, rv)
				y := YMM()
				VBROADCASTSD(resRow(2*hh+4, c), x)
				VBROADCASTSD(resRow(2*hh+5, c), y)
				VBLENDPD(U8(0b1010), y, x, x)
				VBLENDPD(U8(0b1100), x, rv, rv)
			})
			VMOVLPS(p.AsX(), row(2*hh, c))
			VMOVHPS(p.AsX(), row(2*hh+1, c))
			x := YMM()
			VEXTRACTF128(U8(1), p, x.AsX())
			VMOVLPS(x.AsX(), row(2*hh+4, c))
			VMOVHPS(x.AsX(), row(2*hh+5, c))
		}
		if r < m-1 {
			ADDQ(paramAddr("rs"), R13)
		}
	}
	ADDQ(U8(32), R10)
	if raw {
		ADDQ(U32(8*m*m*4), R11)
	} else {
		ADDQ(U8(64), R11)
	}
	DECQ(cnt)
	JNZ(LabelRef(name + "_group"))
	Label(name + "_ret")
	VZEROUPPER()
	RET()
}

// tiles are the tile sizes m of F(m×m,3×3).
var tiles = []int{2, 4, 6}

func main() {
	goOut := flag.String("goout", "", "path of the generated pure-Go twins (transform_generic.go); empty: none")
	flag.Parse()
	ConstraintExpr("!noasm")
	constTab = GLOBL("winoconst", RODATA|NOPTR)
	for i, v := range constVals {
		for l := 0; l < 8; l++ {
			// The bit pattern: avo prints F32(2) as $(2), which the Go
			// assembler reads as the integer 2.
			DATA(32*i+4*l, U32(math.Float32bits(v)))
		}
	}
	for _, m := range tiles {
		inputTransform(m)
		outputTransform(m, true, false, false)
		for _, res := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				outputTransform(m, false, res, relu)
			}
		}
	}
	if *goOut != "" {
		pkg := "winograd"
		if f := flag.Lookup("pkg"); f != nil && f.Value.String() != "" {
			pkg = f.Value.String() // avo's -pkg
		}
		writeGeneric(*goOut, pkg)
	}
	Generate()
}
