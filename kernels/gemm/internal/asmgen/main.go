// Command asmgen generates the amd64 assembly of resbench's compute kernels
// with avo. It lives in its own module so that avo is not a dependency of the
// main module.
//
// Every kernel is emitted by ONE generator function parameterized by the
// vector ISA (register width and register file) and the tile shape, so the
// AVX2 and AVX-512 versions share their structure instruction for
// instruction: only the register names, the vector length and the zeroing
// idiom differ. Testing the AVX2 output on an AVX2 machine therefore tests the
// logic of the AVX-512 output, which cannot be executed there.
//
// Usage (see the go:generate lines in kernels/gemm and kernels/peak):
//
//	go run . -what gemm -out ../../kernel_amd64.s
//	go run . -what peak -out ../../../peak/peak_amd64.s
package main

import (
	"flag"
	"fmt"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// vecISA describes one vector instruction set as the generators need it.
type vecISA struct {
	name string              // suffix of the routine names: "AVX2", "AVX512"
	vl   int                 // float32 lanes per vector register
	regs []VecPhysical       // usable vector registers
	zero func(r VecPhysical) // r = 0 using only instructions of this ISA
}

var avx2 = vecISA{
	name: "AVX2",
	vl:   8,
	regs: []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15},
	zero: func(r VecPhysical) { VXORPS(r, r, r) },
}

var avx512 = vecISA{
	name: "AVX512",
	vl:   16,
	regs: []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31},
	// VXORPS on zmm needs AVX512DQ; VPXORD is AVX512F.
	zero: func(r VecPhysical) { VPXORD(r, r, r) },
}

// packRowsAhead is how many rows ahead the B packers prefetch.
const packRowsAhead = 4

// minChains is the number of independent FMA chains that hides FMA latency
// (4 cycles) on both FMA ports of current x86 cores.
const minChains = 8

// maxColCols is the widest N edge the driver gives the column kernel
// (kernels/gemm/kernel.go).
const maxColCols = 3

// Epilogue flag bits; keep in sync with kernels/gemm/kernel.go.
const (
	flagAccumulate = 1 << 0 // add the tile's current C values
	flagBias       = 1 << 1 // add bias[row]
	flagResidual   = 1 << 2 // add res[row*ldr+col]
	flagReLU       = 1 << 3 // max(x, 0), NaN-propagating
)

// aPrefetch is the distance in bytes of the software prefetch of packed A.
const aPrefetch = 2048

func main() {
	what := flag.String("what", "", "which file to generate: gemm or peak")
	goOut = flag.String("goout", "", "gemm: path prefix of the generated Go files (<prefix>_generic.go, <prefix>_table.go)")
	flag.Parse()
	switch *what {
	case "gemm":
		ConstraintExpr("!noasm")
		var table []family
		for _, f := range []family{
			{v: avx2, mr: 6, nv: 2},   // sgemmKernel6x16AVX2: 12 ymm accumulators
			{v: avx512, mr: 8, nv: 2}, // sgemmKernel8x32AVX512: 16 zmm accumulators
		} {
			// The full tile plus every smaller one (fewer rows for the
			// last M tile, fewer vectors for the last N panel), all
			// reading the same packed panels.
			for rows := 1; rows <= f.mr; rows++ {
				for nvec := 1; nvec <= f.nv; nvec++ {
					sgemmKernel(f.v, rows, nvec, f.mr, f.nr(), false, false, 0)
				}
				// Full-width tiles reading B unpacked (small M: see
				// Context.compute).
				sgemmKernel(f.v, rows, f.nv, f.mr, f.nr(), true, false, 0)
			}
			table = append(table, f)
		}
		// The last strip of an N edge as one wide tile (see wideShapes).
		for _, w := range wideShapes {
			sgemmKernel(avx512, 8, w.nvec, 8, wideStride(w.nvec, w.tail), false, true, w.tail)
		}
		sgemmCol(6)          // sgemmCol6AVX2: last columns of the 6×16 AVX2 tiles
		sgemmCol(8)          // sgemmCol8AVX2: of the 8×32 AVX-512 tiles (ymm suffices)
		sgemmPackB(avx2, 16) // sgemmPackB16AVX2
		sgemmPackB(avx2, 32) // sgemmPackB32AVX2 (ymm moves suffice for packing)
		sgemmCopyRows()      // sgemmCopyRowsAVX512: the wide strip's panel
		if *goOut != "" {
			writeGoFiles(*goOut, table)
		}
	case "peak":
		ConstraintExpr("!noasm")
		fmaPeak(avx2, 12)
		fmaPeak(avx512, 24)
		triad(avx2)
	default:
		log.Fatalf("asmgen: -what must be gemm or peak, got %q", *what)
	}
	Generate()
}

// family is a microkernel tile of mr rows × nv vectors for one ISA.
type family struct {
	v      vecISA
	mr, nv int
}

func (f family) nr() int { return f.nv * f.v.vl }

func kernelName(v vecISA, rows, nvec int) string {
	return fmt.Sprintf("sgemmKernel%dx%d%s", rows, nvec*v.vl, v.name)
}

// stridedName names the variant that reads B from its rows (stride ldb)
// instead of from a packed panel.
func stridedName(v vecISA, rows, nvec int) string {
	return fmt.Sprintf("sgemmKernel%dx%d%sStrided", rows, nvec*v.vl, v.name)
}

// sgemmKernel emits sgemmKernel{rows}x{nvec*vl}{ISA}: a strip of ntiles
// micro-tiles of rows×(nvec·vl) elements.
//
// Tile t multiplies the packed A micro-panel a[t*astride*kc:] (layout
// [kc][astride], rows 0..rows-1 used) by the packed B micro-panel b (layout
// [kc][bstride], columns 0..nvec*vl-1 used, shared by all tiles) into
// registers, then applies the epilogue selected by flags and stores rows
// c+(t*rows+i)*ldc.
//
// The first tile of the main kernel (rows = astride, nvec·vl = bstride) also
// prefetches bnext, the next B micro-panel, one line per k step, so that the
// next strip finds it in cache.
//
// With wide, it emits sgemmWide8x{nvec*16+tail}AVX512 instead: the last
// strip of an N edge, whose B panel also holds tail single columns after
// the vectors; their sums are accumulated along the tile's rows (A's 8
// values of a k step in a ymm, times each column's broadcast B value) and
// stored raw to tail, DX walking it (no bnext). Register plan (GP):
//
//	SI  A pointer (walks through all panels: panels are contiguous)
//	DI  B panel base        BX  B pointer in the k loop / residual row
//	CX  C tile pointer      AX  k counter / C row pointer
//	DX  first tile: bnext-b (prefetch distance); later tiles: 0 (the
//	    prefetch then hits b itself, in L1)
//	R8  ldc in bytes        R9  tiles left
//	R10 bias pointer (advances rows floats per tile)
//	R11 residual tile ptr   R12 ldr in bytes     R13 flags
//
// Vector registers: rows*nvec accumulators, nvec B vectors, one or two
// broadcast registers. Tiles with fewer than minChains accumulators (the
// edge kernels) would be bound by FMA latency, so they keep two sets of
// partial sums, for even and odd k steps, added together before the
// epilogue.
func sgemmKernel(v vecISA, rows, nvec, astride, bstride int, strided, wide bool, tail int) {
	mr, nv := rows, nvec
	nr := v.vl * nv
	nacc := mr * nv
	sets := 1
	if nacc < minChains {
		sets = 2
	}
	// Only the main kernel prefetches the next B panel; the edge kernels
	// run once per block.
	main := rows == astride && nvec*v.vl == bstride && !strided
	// A wide kernel's tail: tail column accumulators (one ymm each: the
	// tile's 8 rows of one column), one ymm of A and one of B. The tail
	// sums each column as the driver's other path for it does, so that
	// its bits do not depend on which path (wide strip, or per-panel
	// strips on another thread count's part of the columns) computed it:
	// up to maxColCols columns like the column kernel, even and odd k
	// apart and then added; more like the 16-column kernel, in one chain.
	tailSets := 1
	if tail > 0 && tail <= maxColCols {
		tailSets = 2
	}
	tailRegs := 0
	if tail > 0 {
		tailRegs = tailSets*tail + 2
	}
	// Two broadcast registers, used for alternate rows (as in BLIS), when
	// they fit.
	nt := 2
	if sets*nacc+nv+nt+tailRegs > len(v.regs) {
		nt = 1
	}
	if sets*nacc+nv+nt+tailRegs > len(v.regs) {
		log.Fatalf("tile %dx%d+%d needs %d vector registers, %s has %d", mr, nr, tail, sets*nacc+nv+1+tailRegs, v.name, len(v.regs))
	}
	name := kernelName(v, rows, nvec)
	if wide {
		name = wideName(nvec, tail)
		TEXT(name, NOSPLIT, "func(a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int, tail *float32)")
		Pragma("noescape")
		Doc(wideDoc(nvec, tail)...)
	} else if strided {
		name = stridedName(v, rows, nvec)
		TEXT(name, NOSPLIT, "func(a, b *float32, ldb int, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int)")
		Pragma("noescape")
		Doc(stridedDoc(v, rows, nvec, astride)...)
	} else {
		TEXT(name, NOSPLIT, "func(a, b, bnext, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int)")
		Pragma("noescape")
		Doc(kernelDoc(v, rows, nvec, astride, bstride)...)
	}
	// The tail's registers come first: the tier is AVX512F only, so the
	// tail's ymm instructions are VEX-encoded and reach Y0–Y15 only.
	regs := v.regs[tailRegs:]
	tailAcc := func(set, x int) VecPhysical { return avx2.regs[set*tail+x] }
	tailA, tailB := avx2.regs[tailSets*tail], avx2.regs[tailSets*tail+1]
	accSet := func(set, i, j int) VecPhysical { return regs[set*nacc+i*nv+j] }
	acc := func(i, j int) VecPhysical { return accSet(0, i, j) }
	bv := func(j int) VecPhysical { return regs[sets*nacc+j] }
	t := regs[sets*nacc+nv]
	ts := func(i int) VecPhysical { return regs[sets*nacc+nv+i%nt] }
	lbl := func(s string) string { return name + "_" + s }
	vbytes := 4 * v.vl

	Load(Param("a"), RSI)
	Load(Param("b"), RDI)
	Load(Param("c"), RCX)
	Load(Param("ldc"), R8)
	SHLQ(U8(2), R8)
	Load(Param("ntiles"), R9)
	Load(Param("bias"), R10)
	Load(Param("res"), R11)
	Load(Param("ldr"), R12)
	SHLQ(U8(2), R12)
	Load(Param("flags"), R13)
	if wide {
		Load(Param("tail"), RDX) // DX = where the tail columns go
	} else if strided {
		Load(Param("ldb"), RDX)
		SHLQ(U8(2), RDX) // DX = B's row stride in bytes
	} else {
		Load(Param("bnext"), RDX)
		SUBQ(RDI, RDX) // DX = bnext - b: prefetch distance for the first tile
	}
	TESTQ(R9, R9)
	JLE(LabelRef(lbl("ret")))

	Label(lbl("tile"))
	for set := 0; set < sets; set++ {
		for i := 0; i < mr; i++ {
			for j := 0; j < nv; j++ {
				v.zero(accSet(set, i, j))
			}
		}
	}
	for set := 0; set < tailSets; set++ {
		for x := 0; x < tail; x++ {
			VXORPS(tailAcc(set, x), tailAcc(set, x), tailAcc(set, x))
		}
	}
	// Prefetch the C tile (each row spans nr*4 bytes, maybe one line more
	// when unaligned) while the k loop runs.
	prefetchTile(RCX, R8, mr, nr)
	// Likewise the residual tile: in a network it is a tensor written
	// layers ago and read once here, so without a prefetch the epilogue
	// waits on rows*nvec cache misses per tile.
	TESTQ(U32(flagResidual), R13)
	JZ(LabelRef(lbl("nores_pf")))
	prefetchTile(R11, R12, mr, nr)
	Label(lbl("nores_pf"))
	MOVQ(RDI, RBX)

	fma := func(u int) {
		for i := 0; i < mr; i++ {
			VBROADCASTSS(Mem{Base: RSI, Disp: (u*astride + i) * 4}, ts(i))
			for j := 0; j < nv; j++ {
				VFMADD231PS(bv(j), ts(i), accSet(u%sets, i, j))
			}
		}
	}
	// One k step at displacement u (in k units) from SI/BX, B from b; a
	// wide kernel's tail sums into set tset.
	step := func(u, tset int) {
		if strided {
			// B straight from its rows: one row per k step.
			for j := 0; j < nv; j++ {
				VMOVUPS(Mem{Base: RBX, Disp: j * v.vl * 4}, bv(j))
			}
			// The same row's next nr columns are the next strip's
			// panel: fetch them into L2 while this strip computes (with
			// 16+ rows kc apart, too many streams for the hardware
			// prefetchers to follow).
			for off := 0; off < nr*4; off += 64 {
				PREFETCHT1(Mem{Base: RBX, Disp: nr*4 + off})
			}
			fma(u)
			ADDQ(RDX, RBX)
			return
		}
		for j := 0; j < nv; j++ {
			VMOVUPS(Mem{Base: RBX, Disp: (u*bstride + j*v.vl) * 4}, bv(j))
		}
		for off := 0; main && off < bstride*4; off += 64 {
			PREFETCHT0(Mem{Base: RBX, Index: RDX, Scale: 1, Disp: u*bstride*4 + off})
		}
		fma(u)
		// The tail columns, vectorized along the tile's rows: A's 8
		// values of this k step times each column's B value.
		if tail > 0 {
			VMOVUPS(Mem{Base: RSI, Disp: u * astride * 4}, tailA)
			for x := 0; x < tail; x++ {
				VBROADCASTSS(Mem{Base: RBX, Disp: (u*bstride + nr + x) * 4}, tailB)
				VFMADD231PS(tailA, tailB, tailAcc(tset, x))
			}
		}
	}
	const unroll = 4
	kloop := func(prefix string, step func(u, tset int)) {
		Load(Param("kc"), RAX)
		SHRQ(U8(2), RAX)
		JZ(LabelRef(lbl(prefix + "k1")))
		Label(lbl(prefix + "k4"))
		for u := 0; u < unroll; u++ {
			step(u, u%tailSets)
		}
		// Software prefetch of the A stream (the next panels follow
		// this one), aPrefetch bytes ahead, one line per 64 bytes read.
		for off := 0; off < unroll*astride*4; off += 64 {
			PREFETCHT0(Mem{Base: RSI, Disp: aPrefetch + off})
		}
		ADDQ(U32(unroll*astride*4), RSI)
		if !strided {
			ADDQ(U32(unroll*bstride*4), RBX)
		}
		DECQ(RAX)
		JNZ(LabelRef(lbl(prefix + "k4")))
		Label(lbl(prefix + "k1"))
		Load(Param("kc"), RAX)
		ANDQ(U8(unroll-1), RAX)
		JZ(LabelRef(lbl("epilogue")))
		Label(lbl(prefix + "k1loop"))
		// The last kc%4 steps; with two tail sets, alternately into
		// each (k = 4q, 4q+1, 4q+2: even, odd, even).
		for tset := 0; tset < tailSets; tset++ {
			step(0, tset)
			ADDQ(U32(astride*4), RSI)
			if !strided {
				ADDQ(U32(bstride*4), RBX)
			}
			DECQ(RAX)
			if tset < tailSets-1 {
				JZ(LabelRef(lbl("epilogue")))
			}
		}
		JNZ(LabelRef(lbl(prefix + "k1loop")))
	}
	kloop("", step)

	Label(lbl("epilogue"))
	if sets == 2 {
		for i := 0; i < mr; i++ {
			for j := 0; j < nv; j++ {
				VADDPS(accSet(1, i, j), acc(i, j), acc(i, j))
			}
		}
	}
	// acc += C (earlier k blocks)
	TESTQ(U32(flagAccumulate), R13)
	JZ(LabelRef(lbl("noacc")))
	MOVQ(RCX, RAX)
	for i := 0; i < mr; i++ {
		for j := 0; j < nv; j++ {
			VADDPS(Mem{Base: RAX, Disp: j * vbytes}, acc(i, j), acc(i, j))
		}
		if i < mr-1 {
			ADDQ(R8, RAX)
		}
	}
	Label(lbl("noacc"))
	// acc += bias[i]
	TESTQ(U32(flagBias), R13)
	JZ(LabelRef(lbl("nobias")))
	for i := 0; i < mr; i++ {
		VBROADCASTSS(Mem{Base: R10, Disp: i * 4}, t)
		for j := 0; j < nv; j++ {
			VADDPS(t, acc(i, j), acc(i, j))
		}
	}
	Label(lbl("nobias"))
	// acc += res[i*ldr + j]
	TESTQ(U32(flagResidual), R13)
	JZ(LabelRef(lbl("nores")))
	MOVQ(R11, RBX)
	for i := 0; i < mr; i++ {
		for j := 0; j < nv; j++ {
			VADDPS(Mem{Base: RBX, Disp: j * vbytes}, acc(i, j), acc(i, j))
		}
		if i < mr-1 {
			ADDQ(R12, RBX)
		}
	}
	Label(lbl("nores"))
	// acc = max(0, acc); with acc as the second source a NaN is kept.
	TESTQ(U32(flagReLU), R13)
	JZ(LabelRef(lbl("norelu")))
	v.zero(t)
	for i := 0; i < mr; i++ {
		for j := 0; j < nv; j++ {
			VMAXPS(acc(i, j), t, acc(i, j))
		}
	}
	Label(lbl("norelu"))
	MOVQ(RCX, RAX)
	for i := 0; i < mr; i++ {
		for j := 0; j < nv; j++ {
			VMOVUPS(acc(i, j), Mem{Base: RAX, Disp: j * vbytes})
		}
		ADDQ(R8, RAX)
	}
	// The tail columns' raw sums, 8 rows each; the driver applies their
	// epilogue.
	for x := 0; x < tail; x++ {
		if tailSets == 2 {
			VADDPS(tailAcc(1, x), tailAcc(0, x), tailAcc(0, x))
		}
		VMOVUPS(tailAcc(0, x), Mem{Base: RDX, Disp: 32 * x})
	}
	// Next tile: C and residual move down mr rows, bias mr entries; SI
	// already points at the next A panel.
	MOVQ(RAX, RCX)
	ADDQ(U32(mr*4), R10)
	MOVQ(R12, RAX)
	IMUL3Q(U32(mr), RAX, RAX)
	ADDQ(RAX, R11)
	if wide {
		ADDQ(U32(32*tail), RDX)
	} else if !strided {
		XORQ(RDX, RDX)
	}
	DECQ(R9)
	JNZ(LabelRef(lbl("tile")))

	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

// wideStride is the row stride, in floats, of the panel a wide kernel
// reads: its columns (the vectors', then the tail's) rounded up to whole
// cache lines, so that rows stay line aligned.
func wideStride(nvec, tail int) int { return (nvec*16 + tail + 15) / 16 * 16 }

// wideShapes are the wide kernels: the last strip of a GEMM's N edge as one
// 8-row tile of nvec vectors plus tail single columns, so that its A
// panels are read once, not once per vector width and once per column.
// ResNet's N edges: 49 = 48+1, 196 = 6·32+4, 784 = 24·32+16.
var wideShapes = []struct{ nvec, tail int }{
	{2, 1}, {2, 2}, {2, 3}, {2, 4}, {3, 0}, {3, 1},
}

// wideName names the wide kernel of nvec vectors plus tail columns.
func wideName(nvec, tail int) string {
	return fmt.Sprintf("sgemmWide8x%dAVX512", nvec*16+tail)
}

// colName is the name of the column kernel for A panels of astride rows.
func colName(astride int) string { return fmt.Sprintf("sgemmCol%dAVX2", astride) }

// colGroup is how many A panels the column kernel runs through at once:
// with two partial sums each (even and odd k), 4 panels make the 8
// independent FMA chains that hide FMA latency.
const colGroup = 4

// sgemmCol emits sgemmCol{astride}AVX2(a, b, out *float32, kc, npanels,
// bstride int): ONE column of C for npanels stacked tiles, vectorized
// along the rows of the packed A panels (astride ≤ 8 rows per k step, a
// masked ymm load) instead of along the columns of B. It serves the last 1–3
// columns of an N edge (n = 49 = 3×16 + 1 on ResNet's 7×7 stage), where
// the column-vectorized microkernels would spend a whole vector of FMAs,
// and all of their broadcasts, on one useful lane. Register plan (GP):
//
//	SI  A pointer (panel group base, walks k)   DI  b (column in a B panel)
//	DX  out                                     AX  k counter
//	R8  kc                                      R9  panels left
//	R10 bstride in bytes                        R11 panel bytes (kc·astride·4)
//	R12 2·R11                                   R13 3·R11
//	BX  B pointer in the k loop
func sgemmCol(astride int) {
	name := colName(astride)
	var maskData Mem
	if astride < 8 {
		// Lanes 0..astride-1 of the masked load: the panel's rows.
		maskData = GLOBL(fmt.Sprintf("colMask%d", astride), RODATA|NOPTR)
		for l := 0; l < 8; l++ {
			v := uint32(0)
			if l < astride {
				v = 0xffffffff
			}
			DATA(4*l, U32(v))
		}
	}
	TEXT(name, NOSPLIT, "func(a, b, out *float32, kc, npanels, bstride int)")
	Pragma("noescape")
	Doc(colDoc(astride)...)
	lbl := func(s string) string { return name + "_" + s }
	regs := avx2.regs
	acc := func(set, p int) VecPhysical { return regs[set*colGroup+p] } // Y0–Y7
	at := func(p int) VecPhysical { return regs[2*colGroup+p] }         // Y8–Y11
	bc := func(set int) VecPhysical { return regs[3*colGroup+set] }     // Y12, Y13
	mask := regs[3*colGroup+2]                                          // Y14
	panelIndex := []Register{nil, R11, R12, R13}
	Load(Param("a"), RSI)
	Load(Param("b"), RDI)
	Load(Param("out"), RDX)
	Load(Param("kc"), R8)
	Load(Param("npanels"), R9)
	Load(Param("bstride"), R10)
	SHLQ(U8(2), R10)
	MOVQ(R8, R11)
	IMUL3Q(U32(astride*4), R11, R11)
	LEAQ(Mem{Base: R11, Index: R11, Scale: 1}, R12)
	LEAQ(Mem{Base: R12, Index: R11, Scale: 1}, R13)
	TESTQ(R8, R8)
	JLE(LabelRef(lbl("ret")))
	if astride < 8 {
		VMOVUPS(maskData, mask)
	}
	// group emits the loop over groups of g panels: on exit of one pass SI
	// has walked one panel (kc·astride floats), so the next group starts
	// g-1 panels further.
	group := func(g int, prefix string, next string) {
		Label(lbl(prefix))
		CMPQ(R9, U32(g))
		JL(LabelRef(lbl(next)))
		for set := 0; set < 2; set++ {
			for p := 0; p < g; p++ {
				VXORPS(acc(set, p), acc(set, p), acc(set, p))
			}
		}
		MOVQ(RDI, RBX)
		step := func(u int) {
			bm := Mem{Base: RBX}
			if u == 1 {
				bm = Mem{Base: RBX, Index: R10, Scale: 1}
			}
			VBROADCASTSS(bm, bc(u))
			for p := 0; p < g; p++ {
				am := Mem{Base: RSI, Disp: u * astride * 4}
				if p > 0 {
					am.Index, am.Scale = panelIndex[p], 1
				}
				if astride < 8 {
					VMASKMOVPS(am, mask, at(p))
				} else {
					VMOVUPS(am, at(p))
				}
				VFMADD231PS(at(p), bc(u), acc(u, p))
			}
		}
		MOVQ(R8, RAX)
		SHRQ(U8(1), RAX)
		JZ(LabelRef(lbl(prefix + "_k1")))
		Label(lbl(prefix + "_k2"))
		step(0)
		step(1)
		ADDQ(U32(2*astride*4), RSI)
		LEAQ(Mem{Base: RBX, Index: R10, Scale: 2}, RBX)
		DECQ(RAX)
		JNZ(LabelRef(lbl(prefix + "_k2")))
		Label(lbl(prefix + "_k1"))
		TESTQ(U32(1), R8)
		JZ(LabelRef(lbl(prefix + "_store")))
		step(0)
		ADDQ(U32(astride*4), RSI)
		Label(lbl(prefix + "_store"))
		for p := 0; p < g; p++ {
			VADDPS(acc(1, p), acc(0, p), acc(0, p))
			VMOVUPS(acc(0, p), Mem{Base: RDX, Disp: 32 * p})
		}
		if g > 1 {
			ADDQ(panelIndex[g-1], RSI)
		}
		ADDQ(U32(32*g), RDX)
		SUBQ(U32(g), R9)
		JMP(LabelRef(lbl(prefix)))
	}
	group(colGroup, "group", "single")
	group(1, "single", "ret")
	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

// prefetchTile prefetches rows rows of nr floats starting at base, stride
// bytes apart (each row's lines, plus its last byte in case the row is
// unaligned), walking RAX down the rows.
func prefetchTile(base, stride GPPhysical, rows, nr int) {
	MOVQ(base, RAX)
	for i := 0; i < rows; i++ {
		for off := 0; off < nr*4; off += 64 {
			PREFETCHT0(Mem{Base: RAX, Disp: off})
		}
		PREFETCHT0(Mem{Base: RAX, Disp: nr*4 - 1})
		if i < rows-1 {
			ADDQ(stride, RAX)
		}
	}
}

// sgemmPackB emits sgemmPackB{nr}{ISA}(dst, src, kc, ldb, npanels, pstride):
// copies npanels column panels of width nr from row-major src (row stride
// ldb floats) into dst, panel p at dst[p*pstride:], row k of the panel at
// dst[p*pstride+k*nr:]. The driver pads pstride past kc*nr by one cache
// line: with pstride = kc*nr (a multiple of 4 KiB for kc=256, nr=16) the
// stores of one source row to all panels would hit a single L1 set. The loop walks src row by row (sequential reads that
// the hardware prefetchers stream from L3/DRAM) and scatters each row's
// nr-float pieces to the panels (whole cache lines when dst is aligned).
func sgemmPackB(v vecISA, nr int) {
	nv := nr / v.vl
	name := fmt.Sprintf("sgemmPackB%d%s", nr, v.name)
	TEXT(name, NOSPLIT, "func(dst, src *float32, kc, ldb, npanels, pstride int)")
	Pragma("noescape")
	Doc(packBDoc(name, nr)...)
	lbl := func(s string) string { return name + "_" + s }
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("kc"), RDX)
	Load(Param("ldb"), R8)
	SHLQ(U8(2), R8)
	Load(Param("npanels"), R9)
	TESTQ(RDX, RDX)
	JLE(LabelRef(lbl("ret")))
	TESTQ(R9, R9)
	JLE(LabelRef(lbl("ret")))
	// R12 = prefetch distance in bytes = packRowsAhead*ldb*4
	MOVQ(R8, R12)
	SHLQ(U8(bitsOf(packRowsAhead)), R12)
	// R10 = panel stride in bytes
	Load(Param("pstride"), R10)
	SHLQ(U8(2), R10)
	MOVQ(RDX, RAX) // rows left
	Label(lbl("row"))
	MOVQ(RSI, RBX) // source position in this row
	MOVQ(RDI, RCX) // destination: row k of panel 0
	MOVQ(R9, R11)  // panels left
	Label(lbl("panel"))
	// The rows are far apart (ldb), too short for the hardware stream
	// prefetchers: fetch the same columns packRowsAhead rows down.
	for off := 0; off < nr*4; off += 64 {
		PREFETCHT0(Mem{Base: RBX, Index: R12, Scale: 1, Disp: off})
	}
	for j := 0; j < nv; j++ {
		VMOVUPS(Mem{Base: RBX, Disp: j * v.vl * 4}, v.regs[j])
	}
	for j := 0; j < nv; j++ {
		VMOVUPS(v.regs[j], Mem{Base: RCX, Disp: j * v.vl * 4})
	}
	ADDQ(U32(nr*4), RBX)
	ADDQ(R10, RCX)
	DECQ(R11)
	JNZ(LabelRef(lbl("panel")))
	ADDQ(R8, RSI)
	ADDQ(U32(nr*4), RDI)
	DECQ(RAX)
	JNZ(LabelRef(lbl("row")))
	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

// sgemmCopyRows emits sgemmCopyRowsAVX512(dst, src, rows, ldb, ncols,
// stride): rows rows of ncols floats, ldb apart in src, to rows stride
// apart in dst, the rest of each dst row left as it is. Whole zmm vectors,
// then the last ncols mod 16 floats with one masked load and store (masked
// lanes neither fault nor write), so that no byte past a row is touched.
func sgemmCopyRows() {
	name := "sgemmCopyRowsAVX512"
	TEXT(name, NOSPLIT, "func(dst, src *float32, rows, ldb, ncols, stride int)")
	Pragma("noescape")
	Doc(copyRowsDoc(name)...)
	lbl := func(s string) string { return name + "_" + s }
	Load(Param("dst"), RDI)
	Load(Param("src"), RSI)
	Load(Param("rows"), RDX)
	Load(Param("ldb"), R8)
	SHLQ(U8(2), R8)
	Load(Param("ncols"), R9)
	Load(Param("stride"), R10)
	SHLQ(U8(2), R10)
	TESTQ(RDX, RDX)
	JLE(LabelRef(lbl("ret")))
	MOVQ(R9, R11) // whole vectors per row
	SHRQ(U8(4), R11)
	MOVQ(R9, RCX) // K1: the first ncols mod 16 lanes
	ANDQ(U8(15), RCX)
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	Label(lbl("row"))
	MOVQ(RSI, RBX)
	MOVQ(RDI, R12)
	MOVQ(R11, R13)
	TESTQ(R13, R13)
	JZ(LabelRef(lbl("tail")))
	Label(lbl("vec"))
	VMOVUPS(Mem{Base: RBX}, Z0)
	VMOVUPS(Z0, Mem{Base: R12})
	ADDQ(U8(64), RBX)
	ADDQ(U8(64), R12)
	DECQ(R13)
	JNZ(LabelRef(lbl("vec")))
	Label(lbl("tail"))
	TESTQ(RCX, RCX)
	JZ(LabelRef(lbl("next")))
	VMOVUPS(Mem{Base: RBX}, K1, Z1)
	VMOVUPS(Z1, K1, Mem{Base: R12})
	Label(lbl("next"))
	ADDQ(R8, RSI)
	ADDQ(R10, RDI)
	DECQ(RDX)
	JNZ(LabelRef(lbl("row")))
	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

// fmaPeak emits fmaPeak{ISA}(n int, x float32): n iterations of nacc
// independent vector FMAs acc_i = x*x + acc_i (no memory traffic), i.e.
// n*nacc*vl*2 flops. nacc must cover FMA latency × FMA ports (4×2 on current
// x86 cores), so the loop is throughput-bound.
func fmaPeak(v vecISA, nacc int) {
	name := fmt.Sprintf("fmaPeak%s", v.name)
	TEXT(name, NOSPLIT, "func(n int, x float32)")
	Pragma("noescape")
	lbl := func(s string) string { return name + "_" + s }
	if nacc+1 > len(v.regs) {
		log.Fatalf("%s: too many accumulators", name)
	}
	x := v.regs[nacc]
	Load(Param("n"), RAX)
	VBROADCASTSS(NewParamAddr("x", 8), x)
	for i := 0; i < nacc; i++ {
		v.zero(v.regs[i])
	}
	TESTQ(RAX, RAX)
	JLE(LabelRef(lbl("ret")))
	Label(lbl("loop"))
	for i := 0; i < nacc; i++ {
		VFMADD231PS(x, x, v.regs[i])
	}
	DECQ(RAX)
	JNZ(LabelRef(lbl("loop")))
	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

// triad emits triad{ISA}(a, b, c *float32, n int, s float32):
// a[i] = b[i] + s*c[i] for i < n, n a multiple of 4 vectors. Plain
// (write-allocating) stores, like STREAM built without streaming stores.
func triad(v vecISA) {
	const unroll = 4
	name := fmt.Sprintf("triad%s", v.name)
	TEXT(name, NOSPLIT, "func(a, b, c *float32, n int, s float32)")
	Pragma("noescape")
	lbl := func(s string) string { return name + "_" + s }
	sv := v.regs[unroll]
	Load(Param("a"), RDI)
	Load(Param("b"), RSI)
	Load(Param("c"), RDX)
	Load(Param("n"), RCX)
	VBROADCASTSS(NewParamAddr("s", 32), sv)
	SHRQ(U8(2+bitsOf(v.vl)), RCX) // iterations of unroll vectors
	JZ(LabelRef(lbl("ret")))
	Label(lbl("loop"))
	for u := 0; u < unroll; u++ {
		VMOVUPS(Mem{Base: RSI, Disp: u * v.vl * 4}, v.regs[u])
		VFMADD231PS(Mem{Base: RDX, Disp: u * v.vl * 4}, sv, v.regs[u])
	}
	for u := 0; u < unroll; u++ {
		VMOVUPS(v.regs[u], Mem{Base: RDI, Disp: u * v.vl * 4})
	}
	step := U32(unroll * v.vl * 4)
	ADDQ(step, RSI)
	ADDQ(step, RDX)
	ADDQ(step, RDI)
	DECQ(RCX)
	JNZ(LabelRef(lbl("loop")))
	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

func bitsOf(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	if 1<<b != n {
		log.Fatalf("%d is not a power of two", n)
	}
	return b
}
