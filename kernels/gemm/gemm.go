package gemm

import (
	"fmt"
	"unsafe"

	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
)

// Epilogue is applied to every element of C after the product:
//
//	c = A·B
//	if Bias != nil     { c += Bias[m] }
//	if Residual != nil { c += Residual[m*LDR+n] }
//	if ReLU            { c = max(c, 0) }   // a NaN stays NaN
type Epilogue struct {
	Bias     []float32 // len ≥ M, per output row (channel)
	Residual []float32 // M×N with row stride LDR
	LDR      int       // ≥ N when Residual != nil
	ReLU     bool
}

// PackedA is the left operand packed once for a tier's microkernel: K is cut
// into kc blocks; within block p (rows pc..pc+kcb of A's columns), the M rows
// are cut into mr-row micro-panels stored k-major ([kcb][mr]), the last one
// zero-padded. Block p starts at pc*mp floats, where mp is M rounded up to mr.
type PackedA struct {
	tier isa.Tier
	cfg  *tierConfig
	m, k int
	mp   int // m rounded up to cfg.mr
	data []float32
}

// M returns the number of rows of A (and of C).
func (p *PackedA) M() int { return p.m }

// K returns the number of columns of A (rows of B).
func (p *PackedA) K() int { return p.k }

// Tier returns the ISA tier whose microkernel the packing is laid out for.
func (p *PackedA) Tier() isa.Tier { return p.tier }

// PackA packs the row-major M×K matrix a (row stride lda ≥ k) for the
// currently active ISA tier (isa.Active()).
func PackA(a []float32, m, k, lda int) *PackedA {
	if m < 0 || k < 0 || lda < max(k, 1) {
		panic(fmt.Sprintf("gemm: PackA: bad shape m=%d k=%d lda=%d", m, k, lda))
	}
	if m > 0 && k > 0 && len(a) < (m-1)*lda+k {
		panic(fmt.Sprintf("gemm: PackA: len(a)=%d < (m-1)*lda+k=%d", len(a), (m-1)*lda+k))
	}
	return packA(configFor(isa.Active()), m, k, func(dst []float32, i0, rows, k0, kcb int) {
		// dst[kk*mr+r] = a[(i0+r)*lda + k0+kk]
		mr := len(dst) / kcb
		for r := 0; r < rows; r++ {
			src := a[(i0+r)*lda+k0 : (i0+r)*lda+k0+kcb]
			for kk, v := range src {
				dst[kk*mr+r] = v
			}
		}
	})
}

// PackAT packs A given transposed: at is the row-major K×M matrix Aᵀ (row
// stride ldat ≥ m), as stored by fully-connected layers' weights in [in][out]
// order. The result is the same as PackA of A.
func PackAT(at []float32, m, k, ldat int) *PackedA {
	if m < 0 || k < 0 || ldat < max(m, 1) {
		panic(fmt.Sprintf("gemm: PackAT: bad shape m=%d k=%d ldat=%d", m, k, ldat))
	}
	if m > 0 && k > 0 && len(at) < (k-1)*ldat+m {
		panic(fmt.Sprintf("gemm: PackAT: len(at)=%d < (k-1)*ldat+m=%d", len(at), (k-1)*ldat+m))
	}
	return packA(configFor(isa.Active()), m, k, func(dst []float32, i0, rows, k0, kcb int) {
		mr := len(dst) / kcb
		for kk := 0; kk < kcb; kk++ {
			copy(dst[kk*mr:kk*mr+rows], at[(k0+kk)*ldat+i0:(k0+kk)*ldat+i0+rows])
		}
	})
}

// packA lays out the panels; panel copies one micro-panel (rows ≤ mr valid
// rows starting at row i0, columns k0..k0+kcb) into dst (len mr*kcb, zeroed).
// The packing follows cfg's mr and kc, or kcDeep for a deep A of few rows
// (a copy of cfg, so changed, is kept). A last K block shorter than half a
// block would make a pass over C for little work (K = 256 was 192 + 64):
// then the blocks are cut about equal instead (128 + 128), which ran
// ResNet-50's 1x1 layers with K = 256 5 % faster (see doc.go).
func packA(cfg *tierConfig, m, k int, panel func(dst []float32, i0, rows, k0, kcb int)) *PackedA {
	own := *cfg
	cfg = &own
	if cfg.kcDeep > 0 && m <= deepRows && k >= 2*cfg.kcDeep {
		cfg.kc = cfg.kcDeep
	}
	if blocks := ceilDiv(k, cfg.kc); blocks > 1 && k-(blocks-1)*cfg.kc < cfg.kc/2 {
		cfg.kc = (ceilDiv(k, blocks) + 3) &^ 3
	}
	mr := cfg.mr
	mp := (m + mr - 1) / mr * mr
	p := &PackedA{tier: cfg.tier, cfg: cfg, m: m, k: k, mp: mp, data: alignedFloats(mp * k)}
	for k0 := 0; k0 < k; k0 += cfg.kc {
		kcb := min(cfg.kc, k-k0)
		base := k0 * mp
		for i0 := 0; i0 < m; i0 += mr {
			off := base + i0*kcb
			panel(p.data[off:off+mr*kcb], i0, min(mr, m-i0), k0, kcb)
		}
	}
	return p
}

// Context holds per-worker scratch for Gemm calls: packed B blocks and edge
// tiles. It is created once (per thread of inference) and reused; Gemm
// allocates nothing. A Context must not be used by two goroutines at once.
type Context struct {
	tier isa.Tier
	cfg  *tierConfig
	pool *parallel.Pool
	bbuf [][]float32 // per worker: kc × nc(rounded to nr) packed B block
	tile [][]float32 // per worker: mc × nr edge strip
	cols [][]float32 // per worker: 8 floats per A panel of an mc block and column, the column and wide kernels' raw sums
	// wideB, per worker: the wide strip's B panel (see wideStrip).
	wideB [][]float32
	job   job
	run   func(task, worker int) // ctx.runTask, bound once so Run gets a static func value
	// workers[w] is a single-threaded Context on worker w's scratch
	// (multi-threaded contexts only; see Worker).
	workers []*Context
}

// job is the state of the current Gemm call, shared by its tasks.
type job struct {
	pa     *PackedA
	b      []float32
	ldb, n int
	c      []float32
	ldc    int
	ep     Epilogue
	// k0, k1: the K blocks computed, [k0, k1) of K (all of it but for
	// GemmRowsK).
	k0, k1 int
	// tasks cover a tm×tn grid of (M range, N range) parts; part
	// boundaries are multiples of mr / nr.
	tm, tn int
	mt, nt int // number of mr-row and nr-column tiles
}

// NewContext makes a Context for the active ISA tier (isa.Active()) whose
// calls run on pool (nil: single-threaded). PackedA operands passed to Gemm
// must have been packed for the same tier.
func NewContext(pool *parallel.Pool) *Context {
	return newContext(configFor(isa.Active()), pool)
}

// newContext makes a Context with the kernels and blocking of cfg (a copy
// of cfg is kept, so benchmarks can try other block sizes).
func newContext(cfg *tierConfig, pool *parallel.Pool) *Context {
	own := *cfg
	cfg = &own
	ctx := &Context{tier: cfg.tier, cfg: cfg, pool: pool}
	workers := pool.Threads()
	panels := ceilDiv(max(cfg.nc, cfg.ncSmall), cfg.nr)
	for w := 0; w < workers; w++ {
		ctx.bbuf = append(ctx.bbuf, alignedFloats(panels*(max(cfg.kc, cfg.kcDeep)*cfg.nr+16)))
		ctx.tile = append(ctx.tile, alignedFloats(cfg.mc*cfg.nr))
		ctx.cols = append(ctx.cols, alignedFloats(ceilDiv(cfg.mc, cfg.mr)*8*maxWideTail))
		var wideB []float32
		if cfg.hasWide() {
			wideB = alignedFloats(max(cfg.kc, cfg.kcDeep) * wideStride(len(cfg.wide)-1, len(cfg.wide[0])-1))
		}
		ctx.wideB = append(ctx.wideB, wideB)
	}
	ctx.run = ctx.runTask
	if workers > 1 {
		for w := 0; w < workers; w++ {
			ctx.workers = append(ctx.workers, &Context{tier: cfg.tier, cfg: cfg,
				bbuf: ctx.bbuf[w : w+1], tile: ctx.tile[w : w+1], cols: ctx.cols[w : w+1], wideB: ctx.wideB[w : w+1]})
			ctx.workers[w].run = ctx.workers[w].runTask
		}
	}
	return ctx
}

// Worker returns a single-threaded Context that uses worker w's scratch of
// ctx: inside a task that ctx's pool runs as worker w, a caller can run a
// whole GEMM of its own (im2col's blocks, one per worker). It must not be
// used while ctx's own Gemm runs. For a single-threaded ctx it is ctx.
func (ctx *Context) Worker(w int) *Context {
	if ctx.workers == nil {
		return ctx
	}
	return ctx.workers[w]
}

// Tier returns the ISA tier of the context's microkernel.
func (ctx *Context) Tier() isa.Tier { return ctx.tier }

// Threads returns the number of workers Gemm calls use.
func (ctx *Context) Threads() int { return ctx.pool.Threads() }

// Gemm computes C = A·B followed by the epilogue ep, where A is the packed
// M×K matrix pa, B is row-major K×N (row stride ldb ≥ n) and C is row-major
// M×N (row stride ldc ≥ n). Elements of c outside the M×N window (row
// padding) are not touched. The work is split over the pool's workers by
// blocks of rows and columns of C, never over K, so the result is bitwise
// identical for every thread count.
//
// Gemm panics if a slice is too short or pa was packed for another tier.
func (ctx *Context) Gemm(pa *PackedA, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue) {
	if !ctx.start(pa, 0, pa.m, b, ldb, n, c, ldc, ep) {
		return
	}
	j := &ctx.job
	j.tm, j.tn = split(ctx.pool.Threads(), j.mt, j.nt)
	ctx.pool.Run(j.tm*j.tn, ctx.run)
	*j = job{} // drop references to the caller's slices
}

// GemmRows computes only rows [m0, m1) of Gemm's result, on the calling
// goroutine with worker 0's scratch (a Worker context's own): c, ep.Bias
// and ep.Residual are indexed as in Gemm and other rows are left alone.
// m0 must be a multiple of the micro-panel height; take the bounds from
// pa.RowPart. Each row's value is bitwise the one Gemm computes.
//
// It lets a caller that gives every worker its own copy of B (im2col's
// strided gather) split M over the workers itself, so that no core reads
// the B another core wrote.
func (ctx *Context) GemmRows(pa *PackedA, m0, m1 int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue) {
	if m0 < 0 || m0 > m1 || m1 > pa.m || m0%ctx.cfg.mr != 0 {
		panic(fmt.Sprintf("gemm: GemmRows: bad rows [%d, %d) of %d (mr=%d)", m0, m1, pa.m, ctx.cfg.mr))
	}
	if !ctx.start(pa, m0, m1, b, ldb, n, c, ldc, ep) {
		return
	}
	ctx.compute(0, m0, m1, 0, n)
	ctx.job = job{}
}

// KBlock returns the depth of pa's K blocks: GemmRowsK computes whole
// blocks, [k0, k1) with k0 a multiple of it and k1 one too or K.
func (p *PackedA) KBlock() int { return p.cfg.kc }

// GemmRowsK is GemmRows for the K blocks in [k0, k1) only: the first block
// of K stores its product, later ones add theirs to C, and the last applies
// ep. Calling it for consecutive ranges that cover K, in order, computes
// bitwise what GemmRows does (for K > 0: an empty range panics); B's rows
// outside [k0, k1) are not used, so a caller can fill them between the
// calls (im2col's staggered gather).
func (ctx *Context) GemmRowsK(pa *PackedA, m0, m1, k0, k1 int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue) {
	kb := pa.cfg.kc
	if m0 < 0 || m0 > m1 || m1 > pa.m || m0%ctx.cfg.mr != 0 {
		panic(fmt.Sprintf("gemm: GemmRowsK: bad rows [%d, %d) of %d (mr=%d)", m0, m1, pa.m, ctx.cfg.mr))
	}
	if k0 < 0 || k0 >= k1 || k1 > pa.k || k0%kb != 0 || (k1%kb != 0 && k1 != pa.k) {
		panic(fmt.Sprintf("gemm: GemmRowsK: bad K range [%d, %d) of %d (blocks of %d)", k0, k1, pa.k, kb))
	}
	if !ctx.start(pa, m0, m1, b, ldb, n, c, ldc, ep) {
		return
	}
	ctx.job.k0, ctx.job.k1 = k0, k1
	ctx.compute(0, m0, m1, 0, n)
	ctx.job = job{}
}

// start checks a call's operands, handles the empty products (for rows
// [m0, m1)), and records the call in ctx.job. It reports whether there is
// a product to compute.
func (ctx *Context) start(pa *PackedA, m0, m1 int, b []float32, ldb, n int, c []float32, ldc int, ep Epilogue) bool {
	if pa.tier != ctx.tier || pa.cfg.mr != ctx.cfg.mr || pa.cfg.kc > max(ctx.cfg.kc, ctx.cfg.kcDeep) {
		panic(fmt.Sprintf("gemm: A packed for tier %v (mr=%d, kc=%d) used with a %v context (mr=%d, kc ≤ %d)",
			pa.tier, pa.cfg.mr, pa.cfg.kc, ctx.tier, ctx.cfg.mr, max(ctx.cfg.kc, ctx.cfg.kcDeep)))
	}
	m, k := pa.m, pa.k
	checkShape(m, n, k, b, ldb, c, ldc, ep)
	if m0 == m1 || n == 0 {
		return false
	}
	if k == 0 {
		if ep.Bias != nil {
			ep.Bias = ep.Bias[m0:]
		}
		if ep.Residual != nil {
			ep.Residual = ep.Residual[m0*ep.LDR:]
		}
		zeroProduct(m1-m0, n, c[m0*ldc:], ldc, ep)
		return false
	}
	cfg := ctx.cfg
	ctx.job = job{pa: pa, b: b, ldb: ldb, n: n, c: c, ldc: ldc, ep: ep,
		k1: k, mt: (m + cfg.mr - 1) / cfg.mr, nt: (n + cfg.nr - 1) / cfg.nr}
	return true
}

// RowPart returns the rows [m0, m1) of part i of parts, cut on micro-panel
// boundaries as Gemm cuts M over threads; parts may be empty.
func (p *PackedA) RowPart(i, parts int) (m0, m1 int) { return tilePart(i, parts, p.m, p.cfg.mr) }

// ColPart returns the columns [n0, n1) of part i of parts of an n-column
// product, cut on micro-panel boundaries as Gemm cuts N over threads;
// parts may be empty. Gemm over B's and C's columns [n0, n1) alone
// computes bitwise those columns of the whole product.
func (p *PackedA) ColPart(i, parts, n int) (n0, n1 int) { return tilePart(i, parts, n, p.cfg.nr) }

// tilePart cuts n into parts on multiples of tile, as Gemm's split does,
// and returns part i.
func tilePart(i, parts, n, tile int) (lo, hi int) {
	tiles := ceilDiv(n, tile)
	return min(i*tiles/parts*tile, n), min((i+1)*tiles/parts*tile, n)
}

// split chooses a tm×tn grid of parts over mt×nt tiles. The cost of a part
// is its tiles, plus one per B panel it packs (packing a kc×nr panel costs
// about as much as computing one mr×nr tile for kc steps, and every M part
// packs its own copy of its B columns), plus half a tile per A micro-panel
// it streams from L3 (every N part reads all of its rows of A). Each worker
// takes a share of the parts and then helps with the others' (see
// parallel.Pool), so the time is about ceil(parts/threads) part costs.
// Among the grids with the least time and at most 4 parts per thread, split
// prefers more parts: on a shared machine a helper thread that is
// descheduled while holding a part delays the whole call by that part.
func split(threads, mt, nt int) (tm, tn int) {
	if threads <= 1 {
		return 1, 1
	}
	tm, tn = 1, 1
	best := 2*mt*nt + 2*nt + mt
	for a := 1; a <= min(mt, 4*threads); a++ {
		for bb := 1; bb <= nt && a*bb <= 4*threads; bb++ {
			mp, np := ceilDiv(mt, a), ceilDiv(nt, bb)
			cost := ceilDiv(a*bb, threads) * (2*mp*np + 2*np + mp) // in half tiles
			if cost < best || (cost == best && a*bb > tm*tn) || (cost == best && a*bb == tm*tn && a < tm) {
				best, tm, tn = cost, a, bb
			}
		}
	}
	return tm, tn
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// runTask computes one part of C: M tiles [i·mt/tm, (i+1)·mt/tm) × N tiles
// [j·nt/tn, (j+1)·nt/tn) for task = i·tn + j.
func (ctx *Context) runTask(task, worker int) {
	j := &ctx.job
	cfg := ctx.cfg
	pi, pj := task/j.tn, task%j.tn
	m := j.pa.m
	m0 := pi * j.mt / j.tm * cfg.mr
	m1 := min((pi+1)*j.mt/j.tm*cfg.mr, m)
	n0 := pj * j.nt / j.tn * cfg.nr
	n1 := min((pj+1)*j.nt/j.tn*cfg.nr, j.n)
	if m0 >= m1 || n0 >= n1 {
		return
	}
	ctx.compute(worker, m0, m1, n0, n1)
}

// compute is the GotoBLAS/BLIS loop nest over one part of C:
//
//	for jc (nc columns): for pc (kc of K): pack B[pc:pc+kc, jc:jc+nc]
//	  for ic (mc rows): for jr (nr columns): microkernel strip over ir (mr rows)
func (ctx *Context) compute(worker, m0, m1, n0, n1 int) {
	j := &ctx.job
	cfg := ctx.cfg
	pa := j.pa
	mr, nr, k := cfg.mr, cfg.nr, pa.k
	bbuf := ctx.bbuf[worker]
	ep := &j.ep
	epFlags := 0
	var biasBase *float32
	if ep.Bias != nil {
		epFlags |= flagBias
		biasBase = unsafe.SliceData(ep.Bias)
	}
	var resBase *float32
	if ep.Residual != nil {
		epFlags |= flagResidual
		resBase = unsafe.SliceData(ep.Residual)
	}
	if ep.ReLU {
		epFlags |= flagReLU
	}
	cBase := unsafe.SliceData(j.c)
	ldc, ldr := j.ldc, ep.LDR
	// Cut the part's rows into equal blocks of at most mc rows (whole
	// tiles), rather than full blocks plus a small remainder block that
	// would reuse each packed B panel for only a few tiles.
	mtiles := ceilDiv(m1-m0, mr)
	mcTiles := cfg.mc / mr
	mcStep := ceilDiv(mtiles, ceilDiv(mtiles, mcTiles)) * mr
	ncStep := cfg.nc
	if m1-m0 <= cfg.mc {
		ncStep = cfg.ncSmall
	}
	for jc := n0; jc < n1; jc += ncStep {
		nc := min(ncStep, n1-jc)
		for pc := j.k0; pc < j.k1; pc += pa.cfg.kc {
			kc := min(pa.cfg.kc, k-pc)
			flags := 0
			if pc > 0 {
				flags |= flagAccumulate
			}
			if pc+kc == k {
				flags |= epFlags
			}
			// Pack B[pc:pc+kc, jc:jc+nc]: full panels row by row, then
			// the zero-padded partial one. Panels are pstride floats
			// apart: kc*nr plus one cache line, so that the packer's
			// stores of one row to all panels do not share an L1 set.
			pstride := kc*nr + 16
			src := j.b[pc*j.ldb+jc:]
			// With all rows of the part in one mc block, each packed
			// panel would serve a single strip: read B's rows in place
			// instead, when they are line aligned and do not crowd a
			// few L1 sets (see stridedFits).
			strided := cfg.kernS[mr] != nil && m1-m0 <= cfg.mc && stridedFits(j.ldb, kc)
			// The last full panel and the partial one as one wide strip
			// (see wideStrip), for the full row tiles; a partial last
			// row tile still takes the panels below.
			var wk wideKernel
			np, wnv, wtail := nc/nr, 0, 0
			if rem := nc % nr; rem > 0 && np > 0 {
				wnv, wtail = cfg.nv()+rem/cfg.vl, rem%cfg.vl
				if wnv < len(cfg.wide) && wtail < len(cfg.wide[wnv]) {
					wk = cfg.wide[wnv][wtail]
				}
			}
			partialRows := (m1-m0)%mr != 0
			var wideB []float32
			if wk != nil {
				ws := wideStride(wnv, wtail)
				wideB = ctx.wideB[worker][:kc*ws]
				copyRows(cfg, wideB, src[(np-1)*nr:], kc, j.ldb, nc-(np-1)*nr, ws)
			}
			// Panels the per-panel strips below read: all of them,
			// or all but the last full one when the wide strip takes
			// it for every row tile.
			npack := np
			if wk != nil && !partialRows {
				npack--
			}
			if npack > 0 && !strided {
				cfg.packB(unsafe.SliceData(bbuf), unsafe.SliceData(src), kc, j.ldb, npack, pstride)
			}
			// The last few columns (n = 49 = 3·16 + 1) go to the column
			// kernel, which reads them where they are; other partial
			// panels are packed zero-padded.
			colTail := nc%nr <= maxColCols && cfg.col != nil
			if rem := nc % nr; rem > 0 && !colTail && (wk == nil || partialRows) {
				packBPartial(bbuf[np*pstride:np*pstride+kc*nr], src[np*nr:], kc, j.ldb, rem, nr)
			}
			aBlock := pa.data[pc*pa.mp:]
			// strips computes rows [ic, ic+mc) of the block's panels
			// [jr0, jr1), the last one partial.
			strips := func(ic, mc, jr0, jr1 int) {
				mfull, mrem := mc/mr, mc%mr
				for jr := jr0; jr < jr1; jr++ {
					col := jc + jr*nr
					ncols := min(nr, n1-col)
					nvec := (ncols + cfg.vl - 1) / cfg.vl
					bp := &bbuf[jr*pstride]
					bnext := bp
					if (jr+1)*nr < nc {
						bnext = &bbuf[(jr+1)*pstride]
					}
					if ncols < nr && colTail {
						// One column at a time, vectorized along
						// A's rows, B read from its rows.
						ctx.columns(worker, ic, mc, col, ncols, &aBlock[ic*kc], &j.b[pc*j.ldb+col], j.ldb, kc, flags)
						continue
					}
					// A last panel of whole vectors plus 1–3 columns
					// (n = 49 = 32 + 17 on AVX-512): the vectors are
					// written directly below, the columns by the column
					// kernel, instead of the whole panel's width going
					// through the tile buffer.
					if tail := ncols % cfg.vl; tail > 0 && tail <= maxColCols && cfg.col != nil && ncols > cfg.vl {
						ncols -= tail
						nvec = ncols / cfg.vl
						ctx.columns(worker, ic, mc, col+ncols, tail, &aBlock[ic*kc], &j.b[pc*j.ldb+col+ncols], j.ldb, kc, flags)
					}
					if ncols != nvec*cfg.vl {
						// Partial vector: go through the tile buffer.
						ctx.edge(worker, ic, mc, col, ncols, nvec, &aBlock[ic*kc], bp, kc, flags)
						continue
					}
					// Whole vectors: write C directly, full tiles with
					// the mr-row kernel, the last partial one with the
					// mrem-row kernel reading the same padded panel.
					for _, part := range [2]struct{ rows, i0, tiles int }{{mr, ic, mfull}, {mrem, ic + mfull*mr, 1}} {
						if part.rows == 0 || part.tiles == 0 {
							continue
						}
						var bias, res *float32
						if biasBase != nil {
							bias = (*float32)(unsafe.Add(unsafe.Pointer(biasBase), part.i0*4))
						}
						if resBase != nil {
							res = (*float32)(unsafe.Add(unsafe.Pointer(resBase), (part.i0*ldr+col)*4))
						}
						cp := (*float32)(unsafe.Add(unsafe.Pointer(cBase), (part.i0*ldc+col)*4))
						if strided && ncols == nr {
							cfg.kernS[part.rows](&aBlock[part.i0*kc], &j.b[pc*j.ldb+col], j.ldb, cp, kc, ldc, part.tiles, bias, res, ldr, flags)
							continue
						}
						cfg.kern[part.rows][nvec](&aBlock[part.i0*kc], bp, bnext, cp, kc, ldc, part.tiles, bias, res, ldr, flags)
					}
				}
			}
			panels := ceilDiv(nc, nr)
			for ic := m0; ic < m1; ic += mcStep {
				mc := min(mcStep, m1-ic)
				if wk == nil {
					strips(ic, mc, 0, panels)
					continue
				}
				// The panels before the wide strip, the wide strip for
				// the full row tiles, the last panels for a partial one.
				strips(ic, mc, 0, np-1)
				full := mc / mr * mr
				if full > 0 {
					ctx.wideStrip(wk, worker, ic, full, jc+(np-1)*nr, wnv*cfg.vl, wtail, &aBlock[ic*kc], &wideB[0], kc, flags)
				}
				if full < mc {
					strips(ic+full, mc-full, np-1, panels)
				}
			}
		}
	}
}

// stridedFits reports whether kc rows of B, ldb floats apart, can be read in
// place by the strided kernels: rows must start on cache lines (ldb a
// multiple of 16 floats) and spread over enough L1 sets (64 sets of 8
// ways) that a kc×16 panel stays mostly in L1 across the strip's tiles:
// with line stride s = ldb/16 the rows visit 64/gcd(s, 64) sets, and up to
// twice their capacity measured faster than packing (ResNet-50's 3136-wide
// res2 at kc 256: 16 sets).
func stridedFits(ldb, kc int) bool {
	if ldb%16 != 0 {
		return false
	}
	s := (ldb / 16) % 64
	g := 64
	if s != 0 {
		g = gcdInt(s, 64)
	}
	return kc <= 2*8*(64/g)
}

func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// packBPartial packs the last, partial panel of ncols < nr columns, zero
// padded to nr.
func packBPartial(dst, src []float32, kc, ldb, ncols, nr int) {
	for kk := 0; kk < kc; kk++ {
		d := dst[kk*nr : kk*nr+nr]
		copy(d, src[kk*ldb:kk*ldb+ncols])
		clear(d[ncols:])
	}
}

// copyRows copies kc rows of ncols floats, ldb apart in src, to rows
// stride apart in dst with cfg.copyRows, after checking the bounds the
// assembly does not. One loop for the whole strip instead of a copy per
// row (Zen 5 guest, caches evicted by an 8 MiB sweep before each call,
// two runs): 1024 rows of 36 floats 6.6–9.0 → 5.6–6.3 µs, 2048 rows of
// 49 (res5's whole B) 11.3–15.5 → 9.0–9.6.
func copyRows(cfg *tierConfig, dst, src []float32, kc, ldb, ncols, stride int) {
	if kc <= 0 || ncols <= 0 {
		return
	}
	_ = dst[(kc-1)*stride+ncols-1]
	_ = src[(kc-1)*ldb+ncols-1]
	cfg.copyRows(unsafe.SliceData(dst), unsafe.SliceData(src), kc, ldb, ncols, stride)
}

// edge computes C[i0:i0+rows, col:col+ncols] (rows ≤ mc, ncols < nvec·vl ≤
// nr) through the worker's tile buffer: the kernel runs on whole tiles
// there, and only the valid window is copied to C, with the epilogue
// applied in Go.
func (ctx *Context) edge(worker, i0, rows, col, ncols, nvec int, ap, bp *float32, kc, flags int) {
	j := &ctx.job
	cfg := ctx.cfg
	mr, nr := cfg.mr, cfg.nr
	tiles := (rows + mr - 1) / mr
	buf := ctx.tile[worker][:tiles*mr*nr]
	if flags&flagAccumulate != 0 {
		for r := 0; r < rows; r++ {
			src := j.c[(i0+r)*j.ldc+col : (i0+r)*j.ldc+col+ncols]
			dst := buf[r*nr : r*nr+ncols]
			for x, v := range src { // ncols < nr: a loop beats memmove
				dst[x] = v
			}
		}
	}
	cfg.kern[mr][nvec](ap, bp, bp, unsafe.SliceData(buf), kc, nr, tiles, nil, nil, 0, flags&flagAccumulate)
	ep := &j.ep
	epFlags := flags &^ flagAccumulate
	for r := 0; r < rows; r++ {
		crow := j.c[(i0+r)*j.ldc+col : (i0+r)*j.ldc+col+ncols]
		trow := buf[r*nr : r*nr+ncols]
		if epFlags == 0 {
			for x, v := range trow {
				crow[x] = v
			}
			continue
		}
		var bias float32
		if epFlags&flagBias != 0 {
			bias = ep.Bias[i0+r]
		}
		var rrow []float32
		if epFlags&flagResidual != 0 {
			rrow = ep.Residual[(i0+r)*ep.LDR+col : (i0+r)*ep.LDR+col+ncols]
		}
		for x, v := range trow {
			if epFlags&flagBias != 0 {
				v += bias
			}
			if rrow != nil {
				v += rrow[x]
			}
			if epFlags&flagReLU != 0 && v < 0 {
				v = 0
			}
			crow[x] = v
		}
	}
}

// maxWideTail is the most single columns a wide kernel takes.
const maxWideTail = 4

// wideStrip computes C[i0:i0+rows, col:col+vcols+tail] (rows a multiple of
// mr) with the wide kernel wk from the strip's panel bp (stride
// wideStride): the vector columns with their epilogue in the kernel, the
// tail columns' raw sums into the worker's cols buffer and from there to C
// with the accumulation and epilogue applied in Go (rows·tail elements). A
// 49-wide edge as a 32- and a 16-column strip plus the column kernel read
// the A block from L2 three times, and the 16-column kernel, 8 FMAs per 9
// loads, ran at 78 % of peak; the 8×49 kernel reads it once.
func (ctx *Context) wideStrip(wk wideKernel, worker, i0, rows, col, vcols, tail int, ap, bp *float32, kc, flags int) {
	j := &ctx.job
	ep := &j.ep
	var bias, res *float32
	if flags&flagBias != 0 {
		bias = &ep.Bias[i0]
	}
	if flags&flagResidual != 0 {
		res = &ep.Residual[i0*ep.LDR+col]
	}
	tiles := rows / ctx.cfg.mr
	out := ctx.cols[worker][:tiles*tail*8]
	var outp *float32
	if tail > 0 {
		outp = &out[0]
	}
	wk(ap, bp, &j.c[i0*j.ldc+col], kc, j.ldc, tiles, bias, res, ep.LDR, flags, outp)
	for t := 0; t < tiles; t++ {
		for x := 0; x < tail; x++ {
			c := col + vcols + x
			for i := 0; i < 8; i++ {
				r := i0 + t*8 + i
				j.store(out[(t*tail+x)*8+i], r, c, flags)
			}
		}
	}
}

// columns computes C[i0:i0+rows, col:col+ncols] (ncols ≤ maxColCols) with
// the column kernel, one column per call, and applies the accumulation and
// the epilogue in Go (rows·ncols elements: a few hundred per block). B's
// values for column col+x, step k, are bp[k*bstride+x].
func (ctx *Context) columns(worker, i0, rows, col, ncols int, ap, bp *float32, bstride, kc, flags int) {
	j := &ctx.job
	cfg := ctx.cfg
	mr := cfg.mr
	panels := ceilDiv(rows, mr)
	out := ctx.cols[worker][:panels*8]
	for x := 0; x < ncols; x++ {
		cfg.col(ap, (*float32)(unsafe.Add(unsafe.Pointer(bp), x*4)), unsafe.SliceData(out), kc, panels, bstride)
		for r := 0; r < rows; r++ {
			j.store(out[r/mr*8+r%mr], i0+r, col+x, flags)
		}
	}
}

// store writes a raw sum v of C[r, c] computed outside the microkernels
// (column and wide kernels' single columns): adds C's earlier k blocks,
// then applies the epilogue terms flags asks for, as the kernels do.
func (j *job) store(v float32, r, c, flags int) {
	ci := r*j.ldc + c
	if flags&flagAccumulate != 0 {
		v += j.c[ci]
	}
	if flags&flagBias != 0 {
		v += j.ep.Bias[r]
	}
	if flags&flagResidual != 0 {
		v += j.ep.Residual[r*j.ep.LDR+c]
	}
	if flags&flagReLU != 0 && v < 0 {
		v = 0
	}
	j.c[ci] = v
}

// zeroProduct handles K = 0: C = 0 followed by the epilogue.
func zeroProduct(m, n int, c []float32, ldc int, ep Epilogue) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for x := range row {
			var v float32
			if ep.Bias != nil {
				v += ep.Bias[i]
			}
			if ep.Residual != nil {
				v += ep.Residual[i*ep.LDR+x]
			}
			if ep.ReLU && v < 0 {
				v = 0
			}
			row[x] = v
		}
	}
}

func checkShape(m, n, k int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	if n < 0 {
		panic(fmt.Sprintf("gemm: negative n=%d", n))
	}
	if m == 0 || n == 0 {
		return
	}
	if ldb < n || ldc < n {
		panic(fmt.Sprintf("gemm: ldb=%d or ldc=%d < n=%d", ldb, ldc, n))
	}
	if k > 0 && len(b) < (k-1)*ldb+n {
		panic(fmt.Sprintf("gemm: len(b)=%d < (k-1)*ldb+n=%d", len(b), (k-1)*ldb+n))
	}
	if len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("gemm: len(c)=%d < (m-1)*ldc+n=%d", len(c), (m-1)*ldc+n))
	}
	if ep.Bias != nil && len(ep.Bias) < m {
		panic(fmt.Sprintf("gemm: len(bias)=%d < m=%d", len(ep.Bias), m))
	}
	if ep.Residual != nil {
		if ep.LDR < n {
			panic(fmt.Sprintf("gemm: residual LDR=%d < n=%d", ep.LDR, n))
		}
		if len(ep.Residual) < (m-1)*ep.LDR+n {
			panic(fmt.Sprintf("gemm: len(residual)=%d < (m-1)*LDR+n=%d", len(ep.Residual), (m-1)*ep.LDR+n))
		}
	}
}

// Sgemm computes C = A·B for row-major A (M×K, stride lda), B (K×N, stride
// ldb) and C (M×N, stride ldc) on the calling goroutine with the active tier.
// It packs A on every call; use PackA + Context.Gemm for repeated products.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	pa := PackA(a, m, k, max(lda, 1))
	NewContext(nil).Gemm(pa, b, ldb, n, c, ldc, Epilogue{})
}

// alignedFloats returns a zeroed slice of n float32 whose first element is
// 64-byte aligned (one cache line, one zmm register).
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s)))&63) / 4
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}
