package gemm

import (
	"fmt"
	"unsafe"

	"github.com/resbench/resbench/kernels/internal/isa"
)

// Epilogue flag bits understood by every microkernel (the generator in
// internal/asmgen uses the same values).
const (
	flagAccumulate = 1 << 0 // add the tile's current C values (not the first k block)
	flagBias       = 1 << 1 // add bias[row]
	flagResidual   = 1 << 2 // add res[row*ldr+col]
	flagReLU       = 1 << 3 // max(x, 0), keeping NaN
)

// microKernel computes ntiles vertically stacked tiles of C; see the
// reference loop on sgemmKernel6x16AVX2.
type microKernel func(a, b, bnext, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int)

// stridedKernel is a microKernel whose B is read from its rows (stride
// ldb floats) instead of a packed panel; see sgemmKernel6x16AVX2Strided.
type stridedKernel func(a, b *float32, ldb int, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int)

// colKernel computes one column of C for npanels stacked tiles, vectorized
// along A's rows; see sgemmCol6AVX2.
type colKernel func(a, b, out *float32, kc, npanels, bstride int)

// wideKernel computes the last strip of an N edge, whole vectors plus a few
// single columns, as 8-row tiles; see sgemmWide8x49AVX512.
type wideKernel func(a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int, tail *float32)

// wideStride is the row stride, in floats, of the B panel the wide kernel
// of nvec 16-float vectors and tail columns reads: its columns rounded up
// to whole cache lines (the generator's wideStride).
func wideStride(nvec, tail int) int { return (nvec*16 + tail + 15) / 16 * 16 }

// maxColCols is the widest N edge the column kernel serves, one column per
// call: each call streams the A block from L2 once more (about 1/8 of a
// full panel's time), against most of a panel's time for the
// column-vectorized edge kernel whatever its width.
const maxColCols = 3

// packBKernel copies npanels full nr-wide column panels of B, pstride
// floats apart; see sgemmPackB16AVX2.
type packBKernel func(dst, src *float32, kc, ldb, npanels, pstride int)

// copyRowsKernel copies rows of ncols floats, ldb apart, to rows stride
// apart; see sgemmCopyRowsAVX512.
type copyRowsKernel func(dst, src *float32, rows, ldb, ncols, stride int)

const maxMR, maxNV = 8, 2

// tierConfig is everything the driver needs to know about one ISA tier: the
// microkernels, their tile shape and the cache blocking measured for it.
type tierConfig struct {
	tier   isa.Tier
	name   string // main microkernel, for benchmarks and errors
	mr, nr int    // main tile; packed A panels have mr rows, B panels nr columns
	vl     int    // columns per vector; nr = nv·vl
	kc     int    // k block: B micro-panel kc×nr (L1), A micro-panel mr×kc
	// kcDeep, if set, replaces kc for an A of at most deepRows rows and
	// at least 2·kcDeep columns (see deepRows).
	kcDeep int
	mc     int // rows of A per block (mc×kc of packed A stays in L2); multiple of mr
	nc     int // columns of B per packed block (kc×nc in L3); multiple of nr
	// ncSmall replaces nc when all rows fit one mc block: the packed B
	// block is then used by a single strip per panel, so it is kept small
	// enough (kc×ncSmall) to stay in L2 between packing and use.
	ncSmall int
	// kern[rows][nvec] computes rows × nvec·vl tiles from the same packed
	// panels: kern[mr][nr/vl] is the main kernel, the others serve the
	// last (partial) M tile and N panel.
	kern  [maxMR + 1][maxNV + 1]microKernel
	packB packBKernel
	// kernS[rows], if set, computes full-width tiles reading B unpacked.
	kernS [maxMR + 1]stridedKernel
	// col, if set, computes N edges of at most maxColCols columns (A
	// panels of mr ≤ 8 rows); without it they go through kern.
	col colKernel
	// wide[nvec][tail], where set, computes the last strip of an N edge,
	// nvec·vl columns plus tail single ones, as mr-row tiles (see
	// Context.wideStrip).
	wide [4][5]wideKernel
	// copyRows packs the wide strip's panel (tiers with wide kernels).
	copyRows copyRowsKernel
}

// deepRows bounds the A that kcDeep applies to. ResNet-50's late 1×1
// convolutions (M = 256…512, K = 1024…2048) ran 4–6 % faster on two
// threads with K blocks of 512 than of 192 on the Zen 5 guest (the same on
// one thread; median of 7 alternated rounds), the 1024³ SGEMM 1.4 % slower
// on one thread, so only few-row, deep A takes the deeper block. kc is a
// property of the packed A, not of the thread count: results stay bitwise
// the same for every thread count.
const deepRows = 512

func (c *tierConfig) nv() int { return c.nr / c.vl }

// hasWide reports whether the tier has any wide kernel.
func (c *tierConfig) hasWide() bool {
	for _, row := range c.wide {
		for _, k := range row {
			if k != nil {
				return true
			}
		}
	}
	return false
}

// Cache blocking, measured on the development machine (AMD EPYC Zen 3, 2
// vCPU KVM guest, 32 KiB L1d, 512 KiB L2, 32 MiB L3) with
// BenchmarkBlocking; see doc.go for the numbers.
var configs = [...]tierConfig{
	isa.Generic: {
		tier: isa.Generic, name: "sgemmKernel4x16Generic",
		mr: 4, nr: 16, vl: 16, kc: 256, mc: 128, nc: 2048, ncSmall: 256,
		packB: sgemmPackB16Generic,
	},
	isa.AVX2: {
		tier: isa.AVX2, name: "sgemmKernel6x16AVX2",
		mr: 6, nr: 16, vl: 8, kc: 256, mc: 144, nc: 4080, ncSmall: 256,
		packB: sgemmPackB16AVX2, col: sgemmCol6AVX2,
	},
	// The blocking follows the design note for 48 KiB-L1 / 2 MiB-L2
	// Xeons (best kc 128–192; alternatives measured within noise on one,
	// see doc.go): kc=192 keeps
	// the 192×32 B micro-panel (24 KiB) in half of L1; mc=512 keeps the
	// 512×192 A block (384 KiB) in a fifth of L2; nc=3072 (B block 2.3 MiB).
	isa.AVX512: {
		tier: isa.AVX512, name: "sgemmKernel8x32AVX512",
		mr: 8, nr: 32, vl: 16, kc: 192, kcDeep: 512, mc: 512, nc: 3072, ncSmall: 512,
		packB: sgemmPackB32AVX2, col: sgemmCol8AVX2, copyRows: sgemmCopyRowsAVX512,
	},
}

func init() {
	for r := range kernelsAVX2 {
		copy(configs[isa.AVX2].kern[r][:], kernelsAVX2[r][:])
	}
	for r := range kernelsAVX512 {
		copy(configs[isa.AVX512].kern[r][:], kernelsAVX512[r][:])
	}
	configs[isa.AVX512].wide = wideAVX512
	copy(configs[isa.AVX2].kernS[:], stridedAVX2[:])
	copy(configs[isa.AVX512].kernS[:], stridedAVX512[:])
	g := &configs[isa.Generic]
	for r := 1; r <= g.mr; r++ {
		g.kern[r][1] = func(a, b, _, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {
			sgemmKernelGeneric(r, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags)
		}
	}
	g.kern[4][1] = sgemmKernel4x16Generic
}

// configFor is the one dispatch point from ISA tier to microkernels.
func configFor(t isa.Tier) *tierConfig {
	if t < 0 || int(t) >= len(configs) || configs[t].packB == nil {
		panic(fmt.Sprintf("gemm: no kernel for tier %v", t))
	}
	if !isa.Supported(t) {
		panic(fmt.Sprintf("gemm: tier %v is not supported by this CPU/build", t))
	}
	return &configs[t]
}

// sgemmKernel4x16Generic is the portable microkernel of the Generic tier:
// sgemmKernelGeneric with 4 rows.
func sgemmKernel4x16Generic(a, b, _, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {
	sgemmKernelGeneric(4, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags)
}

// sgemmKernelGeneric computes ntiles stacked rows×16 tiles (rows ≤ 4) from
// A panels of stride 4 and B panels of stride 16, in pure Go; same reference
// loop as sgemmKernel6x16AVX2 with astride=4, bstride=16 (multiply and add
// fused only where the compiler does so, at GOAMD64=v3 and above).
func sgemmKernelGeneric(rows int, a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {
	const mr, nr = 4, 16
	bs := unsafe.Slice(b, kc*nr)
	for t := 0; t < ntiles; t++ {
		as := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(a), t*mr*kc*4)), mr*kc)
		var acc [mr][nr]float32
		c0, c1, c2, c3 := &acc[0], &acc[1], &acc[2], &acc[3]
		for k := 0; k < kc; k++ {
			bk := (*[nr]float32)(bs[k*nr : k*nr+nr])
			ak := (*[mr]float32)(as[k*mr : k*mr+mr])
			a0, a1, a2, a3 := ak[0], ak[1], ak[2], ak[3]
			for j := range nr {
				bj := bk[j]
				c0[j] += a0 * bj
				c1[j] += a1 * bj
				c2[j] += a2 * bj
				c3[j] += a3 * bj
			}
		}
		for i := 0; i < rows; i++ {
			row := t*rows + i
			crow := (*[nr]float32)(unsafe.Add(unsafe.Pointer(c), row*ldc*4))
			var brow float32
			if flags&flagBias != 0 {
				brow = *(*float32)(unsafe.Add(unsafe.Pointer(bias), row*4))
			}
			var rrow *[nr]float32
			if flags&flagResidual != 0 {
				rrow = (*[nr]float32)(unsafe.Add(unsafe.Pointer(res), row*ldr*4))
			}
			for j := range nr {
				v := acc[i][j]
				if flags&flagAccumulate != 0 {
					v += crow[j]
				}
				if flags&flagBias != 0 {
					v += brow
				}
				if rrow != nil {
					v += rrow[j]
				}
				if flags&flagReLU != 0 && v < 0 {
					v = 0
				}
				crow[j] = v
			}
		}
	}
}

// sgemmPackB16Generic is the portable B packer of the Generic tier; same
// contract as sgemmPackB16AVX2.
func sgemmPackB16Generic(dst, src *float32, kc, ldb, npanels, pstride int) {
	refPackB(16, dst, src, kc, ldb, npanels, pstride)
}

// refKernel is the reference loop every microkernel implements, for
// rows×cols tiles read from panels of stride astride (A) and bstride (B);
// see sgemmKernel6x16AVX2. It is the pure-Go body of the assembly routines'
// twins under the noasm tag and the oracle of the kernel tests.
func refKernel(rows, cols, astride, bstride int, a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {
	as := unsafe.Slice(a, ntiles*astride*kc)
	bs := unsafe.Slice(b, kc*bstride)
	var accBuf [maxMR * 64]float32 // up to 8 rows × 64 columns (wide kernels)
	acc := accBuf[:rows*cols]
	for t := 0; t < ntiles; t++ {
		clear(acc)
		for k := 0; k < kc; k++ {
			for i := 0; i < rows; i++ {
				for j := 0; j < cols; j++ {
					acc[i*cols+j] += as[(t*kc+k)*astride+i] * bs[k*bstride+j]
				}
			}
		}
		for i := 0; i < rows; i++ {
			row := t*rows + i
			for j := 0; j < cols; j++ {
				v := acc[i*cols+j]
				cp := (*float32)(unsafe.Add(unsafe.Pointer(c), (row*ldc+j)*4))
				if flags&flagAccumulate != 0 {
					v += *cp
				}
				if flags&flagBias != 0 {
					v += *(*float32)(unsafe.Add(unsafe.Pointer(bias), row*4))
				}
				if flags&flagResidual != 0 {
					v += *(*float32)(unsafe.Add(unsafe.Pointer(res), (row*ldr+j)*4))
				}
				if flags&flagReLU != 0 && v < 0 {
					v = 0
				}
				*cp = v
			}
		}
	}
}

// refWide is the reference loop of the wide kernels (sgemmWide8x49AVX512):
// cols columns as refKernel computes them, then tail columns' raw sums.
func refWide(cols, tail int, a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int, tailOut *float32) {
	stride := wideStride(cols/16, tail)
	refKernel(8, cols, 8, stride, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags)
	as := unsafe.Slice(a, ntiles*8*kc)
	bs := unsafe.Slice(b, kc*stride)
	out := unsafe.Slice(tailOut, ntiles*tail*8)
	for t := 0; t < ntiles; t++ {
		for x := 0; x < tail; x++ {
			for i := 0; i < 8; i++ {
				var acc float32
				for k := 0; k < kc; k++ {
					acc += as[(t*kc+k)*8+i] * bs[k*stride+cols+x]
				}
				out[(t*tail+x)*8+i] = acc
			}
		}
	}
}

// refCol is the reference loop of the column kernels (sgemmCol6AVX2).
func refCol(astride int, a, b, out *float32, kc, npanels, bstride int) {
	as := unsafe.Slice(a, npanels*astride*kc)
	os := unsafe.Slice(out, npanels*8)
	for p := 0; p < npanels; p++ {
		for i := 0; i < 8; i++ {
			var acc float32
			for k := 0; i < astride && k < kc; k++ {
				acc += as[(p*kc+k)*astride+i] * *(*float32)(unsafe.Add(unsafe.Pointer(b), k*bstride*4))
			}
			os[p*8+i] = acc
		}
	}
}

// refPackB is the reference loop of the B packers.
func refPackB(nr int, dst, src *float32, kc, ldb, npanels, pstride int) {
	if kc <= 0 || npanels <= 0 {
		return
	}
	d := unsafe.Slice(dst, (npanels-1)*pstride+kc*nr)
	s := unsafe.Slice(src, (kc-1)*ldb+npanels*nr)
	for p := 0; p < npanels; p++ {
		for k := 0; k < kc; k++ {
			copy(d[p*pstride+k*nr:p*pstride+(k+1)*nr], s[k*ldb+p*nr:k*ldb+p*nr+nr])
		}
	}
}

// refCopyRows is the reference loop of sgemmCopyRowsAVX512. The wide
// kernels read exactly the strip's columns, so the panel rows need no zero
// padding (without the clearing, 512×49×2048 on two threads, where each
// worker packs the whole strip: 293 → 282 µs, 5 alternated rounds).
func refCopyRows(dst, src *float32, rows, ldb, ncols, stride int) {
	if rows <= 0 || ncols <= 0 {
		return
	}
	d := unsafe.Slice(dst, (rows-1)*stride+ncols)
	s := unsafe.Slice(src, (rows-1)*ldb+ncols)
	for k := 0; k < rows; k++ {
		copy(d[k*stride:k*stride+ncols], s[k*ldb:k*ldb+ncols])
	}
}
