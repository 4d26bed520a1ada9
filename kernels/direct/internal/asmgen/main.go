// Command asmgen generates the amd64 assembly of the direct convolution
// microkernels of kernels/direct with avo. It lives in its own module so that
// avo is not a dependency of the main module (the same pattern as
// kernels/gemm/internal/asmgen).
//
// Every microkernel is emitted by ONE generator function, sconvKernel,
// parameterized by the vector ISA (register width and register file) and the
// tile (pixels × vectors, input channels per block step). The AVX2 and
// AVX-512 versions therefore share their structure instruction for
// instruction: only the register names, the vector length and the zeroing
// idiom differ, so testing the AVX2 output on an AVX2 machine tests the
// logic of the AVX-512 output, which cannot be executed there.
//
// Usage (see the go:generate line in kernels/direct/generate.go):
//
//	go run . -out ../../kernel_amd64.s -stubs ../../kernel_amd64.go -pkg direct -goout ../../kernel
package main

import (
	"flag"
	"fmt"
	"log"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// vecISA describes one vector instruction set as the generator needs it.
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

// Epilogue flag bits; keep in sync with kernels/direct/kernel.go.
const (
	flagAccumulate = 1 << 0 // add the current dst values
	flagBias       = 1 << 1 // add bias[j]
	flagResidual   = 1 << 2 // add res (laid out like dst)
	flagReLU       = 1 << 3 // max(x, 0), NaN-propagating
	// Sliding kernels only: the first pixel's kernel column 0 (clipLeft)
	// or the last pixel's column 2 (clipRight) lies outside the input row
	// and is skipped; with clipLeft, src points at the first pixel's
	// column 1. This lets the border pixels of a 3-column kernel with
	// padding 1 slide with their neighbours.
	flagClipLeft  = 1 << 4
	flagClipRight = 1 << 5
	// Strips prefetch, into L2, the weights one chunk (nicb input
	// blocks) ahead: the next chunk's, which the next call reads. Each
	// strip takes every fourth line, starting at line (phase + strip) mod
	// 4 with phase in bits 7–8, so that four consecutive strips of a row
	// fetch the chunk once, spread over their time.
	flagPrefetchNext   = 1 << 6
	prefetchPhaseShift = 7
)

// family is a set of microkernels for one ISA sharing a packed weight
// layout: tiles of 1..pmax pixels × nvec vectors, icn input channels per
// block step.
type family struct {
	v          vecISA
	pmax, nvec int
	icn        int
	// bcastOuter selects the loop order of one input channel step:
	// broadcast the p input values into p registers, then stream the nvec
	// weight vectors through one register (p+1 registers besides the
	// accumulators); otherwise load the weight vectors into registers and
	// stream the broadcasts through one (nvec+1 registers).
	bcastOuter bool
	// group > 0 is a family of grouped convolutions with group input
	// and output channels per group (icn = group, one vector per tile):
	// step i gives every lane the group-local input channel i of its own
	// group with one permute of the pixel's input vector from memory,
	// instead of broadcasting one channel to all lanes. Every lane of
	// every FMA is then useful, where the broadcast form multiplies
	// zeros in all lanes but those of one group. Groups of 4 use the
	// in-128-bit-lane VPERMILPS (imm i·0x55); groups of 8 on 16 lanes
	// the full VPERMPS with an index vector (i ×8, 8+i ×8) loaded from
	// the g8idx table, one more register.
	group int
	// slide > 0 is a sliding-window family for 3-column kernels at
	// stride slide (interior strips only: nkw = 3, kwStride = vl,
	// pixStride = slide·vl, checked by the caller): per input channel and
	// kernel row it keeps the three kernel columns' weight vectors in
	// registers and loads each input column of the strip once, for every
	// output pixel whose window covers it. A strip of p pixels then costs
	// slide·(p−1)+3 broadcasts for 3p FMAs instead of one per FMA; in
	// grouped families the broadcast is the permute, whose shuffle
	// port bounded the plain form.
	slide int
}

func (f family) t() int { return f.nvec * f.v.vl }

// families lists every kernel family, in the order of the generated tables;
// the first family of each ISA is its main (widest) tile.
//
// AVX2 (16 ymm): 3 pixels × 4 ymm (32 output channels) with the broadcasts
// outside: 12 accumulators, 3 broadcast registers, one weight register; 7
// loads per 12 FMAs, and every strip of a split row keeps at least 8
// accumulators (rows of 7 = 3+2+2). The weight-outer 6×16 tile (8 loads
// per 12 FMAs) serves 2-block tiles (grouped convolutions with 16
// channels per group) and 14×8 the 1-block tiles. The c3 family is the 7×7
// stem with its 3 input channels: only 3 of the 8 lanes of the input block
// are multiplied. README.md has the measurements behind these shapes.
//
// AVX-512 (32 zmm): 14 pixels × 2 zmm (28 accumulators, both weights in
// registers, 16 loads per 28 FMAs: Intel cores load 2 vectors per cycle)
// and 14 × 1 for 1-block tiles.
var families = []family{
	{v: avx2, pmax: 3, nvec: 4, icn: 8, bcastOuter: true},
	{v: avx2, pmax: 6, nvec: 2, icn: 8},
	{v: avx2, pmax: 14, nvec: 1, icn: 8},
	{v: avx2, pmax: 3, nvec: 4, icn: 3, bcastOuter: true},
	{v: avx2, pmax: 14, nvec: 1, icn: 4, group: 4},
	{v: avx2, pmax: 12, nvec: 1, icn: 8, slide: 1},
	{v: avx2, pmax: 12, nvec: 1, icn: 8, slide: 2},
	{v: avx2, pmax: 12, nvec: 1, icn: 4, group: 4, slide: 1},
	{v: avx2, pmax: 12, nvec: 1, icn: 4, group: 4, slide: 2},
	{v: avx512, pmax: 14, nvec: 2, icn: 16},
	{v: avx512, pmax: 14, nvec: 1, icn: 16},
	{v: avx512, pmax: 14, nvec: 2, icn: 3},
	{v: avx512, pmax: 14, nvec: 1, icn: 4, group: 4},
	{v: avx512, pmax: 14, nvec: 1, icn: 16, slide: 1},
	{v: avx512, pmax: 14, nvec: 1, icn: 16, slide: 2},
	{v: avx512, pmax: 14, nvec: 1, icn: 4, group: 4, slide: 1},
	{v: avx512, pmax: 14, nvec: 1, icn: 4, group: 4, slide: 2},
	{v: avx512, pmax: 14, nvec: 1, icn: 8, group: 8},
	{v: avx512, pmax: 14, nvec: 1, icn: 8, group: 8, slide: 1},
	{v: avx512, pmax: 14, nvec: 1, icn: 8, group: 8, slide: 2},
}

func main() {
	goOut = flag.String("goout", "", "path prefix of the generated Go files (<prefix>_generic.go, <prefix>_table.go)")
	flag.Parse()
	ConstraintExpr("!noasm")
	g8Table()
	for _, f := range families {
		for p := 1; p <= f.pmax; p++ {
			sconvKernel(f, p)
		}
	}
	if *goOut != "" {
		writeGoFiles(*goOut, families)
	}
	Generate()
}

func kernelName(f family, p int) string {
	s := fmt.Sprintf("sconvDirect%dx%d", p, f.t())
	if f.group > 0 {
		s += fmt.Sprintf("g%d", f.group)
	} else if f.icn != f.v.vl {
		s += fmt.Sprintf("c%d", f.icn)
	}
	if f.slide > 0 {
		s += fmt.Sprintf("w3s%d", f.slide)
	}
	return s + f.v.name
}

const signature = "func(src, wts, dst *float32, nstrips, nicb, nkh, nkw, pixStride, kwStride, khStride, icbStride, wkhStride, wicbStride, dstBlk int, bias, res *float32, flags int)"

// arg is the stack address of a parameter.
func arg(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		log.Fatal(err)
	}
	return b.Addr
}

// sconvKernel emits one microkernel: nstrips strips of p output pixels ×
// nvec·vl output channels (see kernelDoc for the exact loop).
//
// Register plan. Vector: p·nvec accumulators, then as many weight vectors
// as fit (the others are memory operands of the FMAs), then one broadcast
// register. General purpose:
//
//	SI, R9..R13  input bases: base k points at pixel 3k of the strip, so
//	             pixel 3k+m is base_k + m·pixStride (m = 0, 1, 2: no
//	             index, index×1, index×2)
//	R8           pixStride in bytes (the index register)
//	DI           weight pointer
//	DX           kwStride in bytes
//	AX, BX, CX   kw, kh and input-block counters; in the epilogue: dst,
//	             dstBlk in bytes, flags (SI: bias, then residual)
//
// The loop-invariant pointer adjustments (what is added after a kw and a kh
// loop), the strip state and the prefetch distance live in a 72-byte local
// frame.
func sconvKernel(f family, p int) {
	v, nvec, icn := f.v, f.nvec, f.icn
	T := f.t()
	nacc := p * nvec
	nregs := len(v.regs)
	if nacc+1 > nregs {
		log.Fatalf("%s: %d accumulators do not fit %d registers", kernelName(f, p), nacc, nregs)
	}
	if nvec > 4 {
		log.Fatalf("%s: at most 4 vectors (dst addressing uses scale 1 and 2 from two bases)", kernelName(f, p))
	}
	wRegs := min(nvec, nregs-nacc-1)
	if f.slide > 0 {
		if f.bcastOuter || nvec != 1 || nacc+3+1 > nregs {
			log.Fatalf("%s: sliding families are weight-outer, one vector, %d accumulators + 3 weights + 1 broadcast", kernelName(f, p), nacc)
		}
		wRegs = 3
	}
	if f.bcastOuter && f.group > 0 {
		log.Fatalf("%s: grouped families use the weight-outer order", kernelName(f, p))
	}
	if f.group != 0 && f.group != 4 && (f.group != 8 || f.v.vl != 16) {
		log.Fatalf("%s: groups of %d on %d lanes have no permute", kernelName(f, p), f.group, f.v.vl)
	}
	if f.group == 8 && nacc+wRegs+2 > nregs {
		log.Fatalf("%s: no register left for the group-8 index vector", kernelName(f, p))
	}
	if f.bcastOuter {
		if nacc+p+1 > nregs {
			log.Fatalf("%s: %d accumulators and %d broadcasts do not fit %d registers", kernelName(f, p), nacc, p, nregs)
		}
		wRegs = 1
	}
	acc := func(i, j int) VecPhysical { return v.regs[i*nvec+j] }
	wr := func(j int) VecPhysical { return v.regs[nacc+j] }
	bc := v.regs[nacc+wRegs]
	var idx VecPhysical // group 8: the permute's index vector
	if f.group == 8 {
		idx = v.regs[nacc+wRegs+1]
	}
	bcq := func(q int) VecPhysical { return v.regs[nacc+1+q] } // bcastOuter only
	allBases := []GPPhysical{RSI, R9, R10, R11, R12, R13}
	nb := (p + 2) / 3
	if f.slide > 0 {
		nb = 1 // columns are displacements from SI
	}
	if nb > len(allBases) {
		log.Fatalf("%s: %d pixels need too many base registers", kernelName(f, p), p)
	}
	bases := allBases[:nb]
	X, W, KW := R8, RDI, RDX
	cKW, cKH, cICB := RAX, RBX, RCX
	vbytes := 4 * v.vl

	name := kernelName(f, p)
	TEXT(name, NOSPLIT, signature)
	Pragma("noescape")
	Doc(kernelDoc(f, p)...)
	lbl := func(s string) string { return name + "_" + s }
	pix := func(i, disp int) Mem {
		m := Mem{Base: bases[i/3], Disp: disp}
		if s := i % 3; s > 0 {
			m = m.Idx(X, uint8(s))
		}
		return m
	}

	local := AllocLocal(96)
	khAdv, icbAdv, wkhAdv, wicbAdv := local.Offset(0), local.Offset(8), local.Offset(16), local.Offset(24)
	srcL, dstL, resL, stripsL := local.Offset(32), local.Offset(40), local.Offset(48), local.Offset(56)
	pfDist, pfW, pfBase, pfPhase := local.Offset(64), local.Offset(72), local.Offset(80), local.Offset(88)

	// Prologue: byte strides and the per-loop pointer adjustments.
	MOVQ(arg("pixStride"), X)
	SHLQ(U8(2), X)
	MOVQ(arg("kwStride"), KW)
	SHLQ(U8(2), KW)
	// khAdv = 4·khStride − nkw·kwStride(bytes)
	MOVQ(arg("khStride"), RAX)
	SHLQ(U8(2), RAX)
	MOVQ(arg("nkw"), RCX)
	IMULQ(KW, RCX)
	MOVQ(RAX, RBX)
	SUBQ(RCX, RBX)
	MOVQ(RBX, khAdv)
	// icbAdv = 4·icbStride − nkh·4·khStride
	MOVQ(arg("nkh"), RCX)
	IMULQ(RAX, RCX)
	MOVQ(arg("icbStride"), RBX)
	SHLQ(U8(2), RBX)
	SUBQ(RCX, RBX)
	MOVQ(RBX, icbAdv)
	// wkhAdv = 4·wkhStride − nkw·icn·T·4
	MOVQ(arg("wkhStride"), RAX)
	SHLQ(U8(2), RAX)
	MOVQ(arg("nkw"), RCX)
	IMUL3Q(U32(icn*T*4), RCX, RCX)
	MOVQ(RAX, RBX)
	SUBQ(RCX, RBX)
	MOVQ(RBX, wkhAdv)
	// wicbAdv = 4·wicbStride − nkh·4·wkhStride
	MOVQ(arg("nkh"), RCX)
	IMULQ(RAX, RCX)
	MOVQ(arg("wicbStride"), RBX)
	SHLQ(U8(2), RBX)
	SUBQ(RCX, RBX)
	MOVQ(RBX, wicbAdv)
	// pfDist = 2·p·pixStride (bytes) if nkh·nkw = 1, else 0.
	XORQ(RAX, RAX)
	MOVQ(arg("nkh"), RCX)
	IMULQ(arg("nkw"), RCX)
	CMPQ(RCX, U8(1))
	JNE(LabelRef(lbl("pfset")))
	MOVQ(X, RAX)
	IMUL3Q(U32(2*p), RAX, RAX)
	Label(lbl("pfset"))
	MOVQ(RAX, pfDist)
	// pfBase = nicb·4·wicbStride (bytes) with flagPrefetchNext, else 0
	// (no prefetch); pfW = pfBase + 64·phase.
	XORQ(RAX, RAX)
	TESTQ(U32(flagPrefetchNext), arg("flags"))
	JZ(LabelRef(lbl("pfwset")))
	MOVQ(arg("wicbStride"), RAX)
	SHLQ(U8(2), RAX)
	IMULQ(arg("nicb"), RAX)
	Label(lbl("pfwset"))
	MOVQ(RAX, pfBase)
	MOVQ(arg("flags"), RBX)
	SHRQ(U8(prefetchPhaseShift), RBX)
	ANDQ(U8(3), RBX)
	MOVQ(RBX, pfPhase)
	SHLQ(U8(6), RBX)
	ADDQ(RBX, RAX)
	MOVQ(RAX, pfW)
	// Strip state.
	MOVQ(arg("src"), RAX)
	MOVQ(RAX, srcL)
	MOVQ(arg("dst"), RAX)
	MOVQ(RAX, dstL)
	MOVQ(arg("res"), RAX)
	MOVQ(RAX, resL)
	MOVQ(arg("nstrips"), RAX)
	MOVQ(RAX, stripsL)
	TESTQ(RAX, RAX)
	JLE(LabelRef(lbl("ret")))

	Label(lbl("strip"))
	for i := 0; i < p; i++ {
		for j := 0; j < nvec; j++ {
			v.zero(acc(i, j))
		}
	}
	// No taps at all (a fully clipped window): only the epilogue.
	for _, n := range []string{"nicb", "nkh", "nkw"} {
		CMPQ(arg(n), U8(0))
		JLE(LabelRef(lbl("epilogue")))
	}
	MOVQ(srcL, RSI)
	if f.slide > 0 {
		// R10 (a base only of wider non-sliding tiles) keeps the clip
		// flags; with clipLeft, SI moves to the first pixel's column 0,
		// which is never read.
		MOVQ(arg("flags"), R10)
		TESTQ(U32(flagClipLeft), R10)
		JZ(LabelRef(lbl("noclip")))
		SUBQ(U32(vbytes), RSI)
		Label(lbl("noclip"))
	}
	for k := 1; k < nb; k++ {
		LEAQ(Mem{Base: bases[k-1], Index: X, Scale: 2}, bases[k])
		ADDQ(X, bases[k])
	}
	MOVQ(arg("wts"), W)
	MOVQ(arg("nicb"), cICB)
	Label(lbl("icb"))
	MOVQ(arg("nkh"), cKH)
	Label(lbl("kh"))
	// 1×1 convolutions: prefetch the input two strips ahead (pfDist, 0
	// otherwise). Their strip reads one short run from each of nicb
	// input blocks, a whole plane apart: more streams than the hardware
	// prefetchers follow, and no kernel tap reuses the lines, so without
	// this a plane larger than L2 (56×56) waits on L3 for every block of
	// every strip. Larger kernels reread each input row KH times and
	// find it in cache.
	MOVQ(pfDist, cKW)
	for off := 0; off < p*vbytes; off += 64 {
		PREFETCHT0(Mem{Base: RSI, Index: cKW, Scale: 1, Disp: off})
	}
	// This strip's quarter of the next chunk's weights (see
	// flagPrefetchNext); nothing without the flag.
	if f.slide == 0 {
		CMPQ(pfBase, U8(0))
		JE(LabelRef(lbl("nopfw")))
		MOVQ(pfW, cKW)
		for off := 0; off < icn*T*4; off += 256 {
			PREFETCHT1(Mem{Base: W, Index: cKW, Scale: 1, Disp: off})
		}
		Label(lbl("nopfw"))
	}
	if f.slide > 0 {
		slideStep(f, p, W, wr, bc, idx, lbl)
		// As if the kw loop had run: the kh and icb adjustments assume
		// it advanced the inputs by nkw·kwStride and the weights by
		// nkw·icn·T.
		for _, b := range bases {
			LEAQ(Mem{Base: b, Index: KW, Scale: 2}, b)
			ADDQ(KW, b)
		}
		ADDQ(U32(3*icn*T*4), W)
	} else {
		MOVQ(arg("nkw"), cKW)
		Label(lbl("kw"))
		for i := 0; i < icn; i++ {
			// One input channel: weight row i (T lanes) times the broadcast
			// input value of every pixel.
			if f.bcastOuter {
				for q := 0; q < p; q++ {
					VBROADCASTSS(pix(q, i*4), bcq(q))
				}
				for j := 0; j < nvec; j++ {
					VMOVUPS(Mem{Base: W, Disp: (i*T + j*v.vl) * 4}, wr(0))
					for q := 0; q < p; q++ {
						VFMADD231PS(wr(0), bcq(q), acc(q, j))
					}
				}
				continue
			}
			for j := 0; j < wRegs; j++ {
				VMOVUPS(Mem{Base: W, Disp: (i*T + j*v.vl) * 4}, wr(j))
			}
			loadGroupIndex(f, i, idx)
			for q := 0; q < p; q++ {
				if f.group > 0 {
					groupBroadcast(f, i, pix(q, 0), bc, idx)
				} else {
					VBROADCASTSS(pix(q, i*4), bc)
				}
				for j := 0; j < nvec; j++ {
					if j < wRegs {
						VFMADD231PS(wr(j), bc, acc(q, j))
					} else {
						VFMADD231PS(Mem{Base: W, Disp: (i*T + j*v.vl) * 4}, bc, acc(q, j))
					}
				}
			}
		}
		for _, b := range bases {
			ADDQ(KW, b)
		}
		ADDQ(U32(icn*T*4), W)
		DECQ(cKW)
		JNZ(LabelRef(lbl("kw")))
	}
	for _, b := range bases {
		ADDQ(khAdv, b)
	}
	ADDQ(wkhAdv, W)
	DECQ(cKH)
	JNZ(LabelRef(lbl("kh")))
	for _, b := range bases {
		ADDQ(icbAdv, b)
	}
	ADDQ(wicbAdv, W)
	DECQ(cICB)
	JNZ(LabelRef(lbl("icb")))

	Label(lbl("epilogue"))
	MOVQ(dstL, RAX)
	MOVQ(arg("dstBlk"), RBX)
	SHLQ(U8(2), RBX)
	MOVQ(arg("flags"), RCX)
	// Vector j of pixel q lives at base + j·dstBlk + q·vl (floats); vector
	// 3 is addressed from base2 = base + 2·dstBlk.
	base2 := map[GPPhysical]GPPhysical{RAX: RDI, RSI: R9}
	vecAt := func(base GPPhysical, q, j int) Mem {
		if j == 3 {
			return Mem{Base: base2[base], Disp: q * vbytes, Index: RBX, Scale: 1}
		}
		m := Mem{Base: base, Disp: q * vbytes}
		if j > 0 {
			m = m.Idx(RBX, uint8(j))
		}
		return m
	}
	setBase2 := func(base GPPhysical) {
		if nvec > 3 {
			LEAQ(Mem{Base: base, Index: RBX, Scale: 2}, base2[base])
		}
	}
	setBase2(RAX)
	t := bc // free after the loop
	// acc += dst (earlier partial sums)
	TESTQ(U32(flagAccumulate), RCX)
	JZ(LabelRef(lbl("noacc")))
	for q := 0; q < p; q++ {
		for j := 0; j < nvec; j++ {
			VADDPS(vecAt(RAX, q, j), acc(q, j), acc(q, j))
		}
	}
	Label(lbl("noacc"))
	// acc += bias[j]
	TESTQ(U32(flagBias), RCX)
	JZ(LabelRef(lbl("nobias")))
	MOVQ(arg("bias"), RSI)
	for j := 0; j < nvec; j++ {
		VMOVUPS(Mem{Base: RSI, Disp: j * vbytes}, t)
		for q := 0; q < p; q++ {
			VADDPS(t, acc(q, j), acc(q, j))
		}
	}
	Label(lbl("nobias"))
	// acc += res
	TESTQ(U32(flagResidual), RCX)
	JZ(LabelRef(lbl("nores")))
	MOVQ(resL, RSI)
	setBase2(RSI)
	for q := 0; q < p; q++ {
		for j := 0; j < nvec; j++ {
			VADDPS(vecAt(RSI, q, j), acc(q, j), acc(q, j))
		}
	}
	Label(lbl("nores"))
	// acc = max(0, acc); with acc as the second source a NaN is kept.
	TESTQ(U32(flagReLU), RCX)
	JZ(LabelRef(lbl("norelu")))
	v.zero(t)
	for q := 0; q < p; q++ {
		for j := 0; j < nvec; j++ {
			VMAXPS(acc(q, j), t, acc(q, j))
		}
	}
	Label(lbl("norelu"))
	for q := 0; q < p; q++ {
		for j := 0; j < nvec; j++ {
			VMOVUPS(acc(q, j), vecAt(RAX, q, j))
		}
	}
	// Next strip: p pixels further in src, dst and res.
	MOVQ(X, RAX)
	IMUL3Q(U32(p), RAX, RAX)
	ADDQ(RAX, srcL)
	ADDQ(U32(p*vbytes), dstL)
	ADDQ(U32(p*vbytes), resL)
	// Next prefetch phase: pfW = pfBase + 64·((phase+1) mod 4).
	MOVQ(pfPhase, RAX)
	INCQ(RAX)
	ANDQ(U8(3), RAX)
	MOVQ(RAX, pfPhase)
	SHLQ(U8(6), RAX)
	ADDQ(pfBase, RAX)
	MOVQ(RAX, pfW)
	DECQ(stripsL)
	JNZ(LabelRef(lbl("strip")))

	Label(lbl("ret"))
	VZEROUPPER()
	RET()
}

// slideStep emits the body of one kernel row of a sliding-window kernel
// (family.slide): for each of the icn input channels, the weight vectors of
// kernel columns 0..2 go to wr(0..2); then every input column j of the
// strip (pixel j·vl floats from SI, the strip's first window column) is
// broadcast (grouped families: permuted, see groupBroadcast) once into bc
// and multiplied into each output pixel q with j = slide·q + kw. Only SI
// (the base of pixel 0) is used: the columns are static displacements.
func slideStep(f family, p int, w GPPhysical, wr func(int) VecPhysical, bc, idx VecPhysical, lbl func(string) string) {
	v, icn, s := f.v, f.icn, f.slide
	T := f.t()
	vbytes := 4 * v.vl
	ncols := s*(p-1) + 3
	for i := 0; i < icn; i++ {
		for kw := 0; kw < 3; kw++ {
			VMOVUPS(Mem{Base: w, Disp: (kw*icn + i) * T * 4}, wr(kw))
		}
		loadGroupIndex(f, i, idx)
		for j := 0; j < ncols; j++ {
			// The outermost columns may be clipped (flags in R10).
			skip := ""
			if j == 0 {
				skip = lbl(fmt.Sprintf("clipl%d", i))
				TESTQ(U32(flagClipLeft), R10)
				JNZ(LabelRef(skip))
			} else if j == ncols-1 {
				skip = lbl(fmt.Sprintf("clipr%d", i))
				TESTQ(U32(flagClipRight), R10)
				JNZ(LabelRef(skip))
			}
			if f.group > 0 {
				groupBroadcast(f, i, Mem{Base: RSI, Disp: j * vbytes}, bc, idx)
			} else {
				VBROADCASTSS(Mem{Base: RSI, Disp: j*vbytes + i*4}, bc)
			}
			for kw := 0; kw < 3; kw++ {
				if q := (j - kw) / s; j >= kw && (j-kw)%s == 0 && q < p {
					VFMADD231PS(wr(kw), bc, v.regs[q])
				}
			}
			if skip != "" {
				Label(skip)
			}
		}
	}
}

// g8idx is the index table of the group-8 permutes: row i (16 int32) is
// i ×8 then 8+i ×8, so that VPERMPS gives each 8-lane half channel i of
// its own half's group.
var g8idx Mem

func g8Table() {
	g8idx = GLOBL("g8idx", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		for l := 0; l < 16; l++ {
			DATA(i*64+l*4, U32(l/8*8+i))
		}
	}
}

// loadGroupIndex loads the permute index vector of group-local channel i
// (group-8 families only).
func loadGroupIndex(f family, i int, idx VecPhysical) {
	if f.group == 8 {
		VMOVUPS(g8idx.Offset(i*64), idx)
	}
}

// groupBroadcast gives every lane of bc channel i of its own group from the
// pixel's input vector at m: an in-128-bit-lane permute for groups of 4,
// a full permute by the index vector for groups of 8.
func groupBroadcast(f family, i int, m Mem, bc, idx VecPhysical) {
	if f.group == 4 {
		VPERMILPS(U8(i*0x55), m, bc)
		return
	}
	VPERMPS(m, idx, bc)
}
