// Package im2col implements convolution as a matrix product: the input is
// unfolded into a (InC/G·KH·KW) × (OutH·OutW) matrix and multiplied by the
// weights, (OutC/G) × (InC/G·KH·KW), packed once at plan time, on the
// packed SGEMM of package gemm. The GEMM's store applies the epilogue (bias,
// residual, ReLU).
//
// Two shapes skip most of the unfolding. A 1x1 stride-1 unpadded conv needs
// none: the NCHW activation already is the GEMM's right operand. A 1x1
// strided conv only subsamples, a strided gather of InC/G rows.
//
// On several threads the pixels are cut into blocks of a thread-independent
// size (so the bits do not depend on the thread count) and, when there are
// at least two per worker or as many even blocks per worker, each worker
// unfolds and multiplies whole blocks; a strided gather with fewer blocks
// is done whole by every worker, each multiplying its own rows; other
// convs unfold each block split by input channels and multiply it on the
// GEMM's own split. The first two keep a block in the cache of the core
// that wrote it.
//
// Grouped convolutions run one GEMM per group. For ResNeXt's narrow groups
// (4 or 8 channels) that is a poor GEMM; package direct's grouped kernels
// are the fast path.
package im2col

import (
	"fmt"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/eltwise"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/parallel"
)

// Conv is an im2col+GEMM convolution planned for one shape.
type Conv struct {
	s      kernels.ConvShape
	bias   []float32
	relu   bool
	ctx    *gemm.Context
	pool   *parallel.Pool
	packed []*gemm.PackedA // one per group
	kdim   int             // rows of the unfolded matrix: InC/G·KH·KW
	cols   int             // columns: OutH·OutW
	// noUnfold marks 1x1 stride-1 unpadded convs, whose input is the
	// GEMM operand as it stands.
	noUnfold bool
	// subsample marks 1x1 stride-2 unpadded convs (ResNet's projection
	// shortcuts), whose unfolding is a vector subsample of each plane.
	subsample bool

	// block is the number of output pixels unfolded and multiplied at a
	// time: the unfolded block (kdim × block floats) stays in L2 between
	// the unfold that writes it and the GEMM's packing that reads it,
	// instead of a whole-image matrix streaming through memory twice
	// (ResNet-50 would write 54 MiB per inference). The last of the
	// blocks also takes a remainder of under a quarter block, and two or
	// three blocks are cut evenly (New, blockRange).
	block, blocks int
	width         int // of the widest (last) block
	// padLen is the size of a worker's padded-input scratch in the
	// workspace, after the unfolded blocks: the input rows of one channel
	// that a block reads, padding included (see unfoldRows).
	padLen int
	// The current unfold job; gather is bound once so that handing it to
	// the pool allocates nothing.
	job struct {
		src    []float32 // one image, one group's input channels
		dst    []float32
		ws     []float32 // the whole workspace, for the padding scratch
		p0, p1 int       // output pixels [p0, p1)
	}
	gather func(task, worker int)

	// blockParallel: with several workers and enough blocks, each worker
	// unfolds whole blocks into its own part of the workspace and
	// multiplies them on its own scratch (gemm.Context.Worker), so that a
	// block never leaves the L2 of the core that wrote it. Splitting each
	// block's unfold by rows and its GEMM by parts, every core read half
	// of every block from the other's cache: ResNet-50 with im2col on two
	// threads spent 30 % of its CPU time unfolding (17 % on one).
	blockParallel bool
	// rowSplit: with several workers, too few blocks for blockParallel,
	// and a strided gather (1x1 stride 2): every worker gathers the whole
	// block into its own part of the workspace and multiplies its own
	// rows of the output (gemm.Context.GemmRows). Gathering by rows and
	// multiplying by the GEMM's own row split, each core read half of the
	// gathered block from the other's cache and the gather, bound by
	// memory, took as long on two threads as on one. res3a-proj on the
	// Zen 5 guest: the gather is 48–75 µs of a worker's ~570 (35 µs when
	// its input was just read); gathering half the channels each and
	// copying the other half, or both workers gathering and multiplying
	// per column chunk, measured no faster. Two 384 + 400 column blocks
	// (one per worker, nothing gathered twice) and two column parts per
	// worker (cut at 504 or 512) measured no faster or slower too, but
	// then the subsample prefetched 16 rows ahead, into the rows of the
	// other part: the gather of 64 % of the columns took as long as the
	// whole (52 vs 55 µs). Prefetching the next channel's rows instead,
	// one column block per worker is colSplit below. The guest's
	// two vCPUs do not share a last-level cache (one reading 4 MiB the
	// other just wrote ran 2.3–2.9× slower than rereading its own), which
	// is why no split that reads another core's gather pays off. Odd
	// parts gather and multiply a K block at a time (see staggered).
	// Also measured on res3a-proj and dropped (in-process, 3 runs of 300
	// calls each, alternated): rows handed out dynamically in shrinking
	// chunks (2T 626–642 µs against 611–633 static: the late small
	// chunks reuse B little), a static split of 7/8 of the rows with the
	// last 1/8 handed out in 64×64 chunks (557–563 against 553–560), and
	// a single K block of 256 (595 against 606 µs median in 10 rounds of
	// BenchmarkConvSpeedup, within noise, and without it no stagger).
	// Also dropped: the odd part taking K block 1 before block 0 (the
	// same bits, as fl(a+b) = fl(b+a)), so that the first gathers read
	// different channels, at once or the odd one after the even one's
	// (10 alternated rounds: 2T median −9 and +16 µs, within noise).
	rowSplit bool
	// colSplit: rowSplit's case with one block and weights smaller than
	// the input lines the gather reads: every worker gathers and
	// multiplies its own output pixels (gemm's ColPart), all rows, so
	// the input is read once in all and each core streams the whole of
	// A instead. res3a-proj (A 512 KiB, gather reading 1.5 MiB) on the
	// Zen 5 guest, two threads, 10 alternated rounds: ratio to one
	// thread 1.784 → 1.837, better in 9 of 10 (1.845 pooled over 48
	// later rounds, each shape's median). res4a-proj and res5a-proj (A 2
	// and 8 MiB against 0.8 and 0.4 MiB read) were slower so (one round:
	// 1.77 → 1.63 and 1.92 → 1.17) and keep rowSplit.
	colSplit  bool
	partCols  int // colSplit: the widest worker's pixels
	bjob      blockJob
	blockTask func(task, worker int)
	rowTask   func(task, worker int)
	colTask   func(task, worker int)
}

// blockJob is the state of one blockParallel, rowSplit or colSplit pass
// (image, group), read by its tasks.
type blockJob struct {
	src, out, residual []float32
	off, g             int
	ep                 gemm.Epilogue
	ws                 []float32
}

// noBlockParallel, noRowSplit and noColSplit disable blockParallel,
// rowSplit and colSplit, so that tests can compare every path's bits with
// one thread's.
var noBlockParallel, noRowSplit, noColSplit bool

// evenBlocksMax: up to this many blocks are cut evenly (see New).
const evenBlocksMax = 3

// l2Budget is the size the unfolded block aims at. Measured on ResNet-50's
// stem and 3x3 layers (Zen 3, 512 KiB L2, 1 thread, % of peak for conv1 /
// res2 / res3 / res4): 256 KiB 44/62/62/66, 1 MiB 50/60/65/64, 4 MiB
// 27/44/48/52, whole image 38/57/69/59. Below 1 MiB the GEMM's blocks get
// too narrow; above, the block falls out of cache.
const l2Budget = 1 << 20

// New packs spec's weights for ctx's ISA tier. pool (which may be nil) runs
// the unfolding; ctx runs the GEMMs.
func New(spec kernels.ConvSpec, ctx *gemm.Context, pool *parallel.Pool) (*Conv, error) {
	s := spec.Shape
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(spec.Weight) != s.WeightLen() {
		return nil, fmt.Errorf("im2col: %d weights for %v, want %d", len(spec.Weight), &s, s.WeightLen())
	}
	c := &Conv{s: s, bias: spec.Bias, relu: spec.ReLU, ctx: ctx, pool: pool,
		kdim: s.InCG * s.KH * s.KW, cols: s.OutH * s.OutW}
	c.noUnfold = s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadH == 0 && s.PadW == 0
	c.subsample = s.KH == 1 && s.KW == 1 && s.StrideH == 2 && s.StrideW == 2 && s.PadH == 0 && s.PadW == 0
	for g := range s.Groups {
		w := spec.Weight[g*s.OutCG*c.kdim : (g+1)*s.OutCG*c.kdim]
		c.packed = append(c.packed, gemm.PackA(w, s.OutCG, c.kdim, c.kdim))
	}
	c.gather, c.blockTask, c.rowTask, c.colTask = c.gatherRows, c.runBlock, c.runRows, c.runCols
	c.block, c.blocks, c.width = c.cols, 1, c.cols
	if !c.noUnfold {
		// A multiple of 16 columns (the GEMM's register tile), at least
		// 48, unless cut evenly below. The blocks do not depend on the
		// thread count: the GEMM's edge tiles, and so the results' bits,
		// depend on their boundaries.
		c.block = min(c.cols, max(48, l2Budget/4/c.kdim/16*16))
		// A block of its own for a few columns would stream all of the
		// weights once more for them (res5's 3x3: 48 + 1 columns, 9 MiB
		// of weights), so a small remainder joins the last block.
		c.blocks = c.cols / c.block
		if rem := c.cols % c.block; rem > 0 && rem >= c.block/4 {
			c.blocks++
		}
		// Two or three blocks are cut evenly, so that as many workers
		// can take one each: res4's 3x3 (196 pixels) was 112 + 84 and
		// ran on two threads with each block's unfold and GEMM split,
		// 35 % slower than one block per worker (one thread: the same).
		// Splitting res5's single 49-pixel block in two for this cost
		// 21–25 % on one thread, so single blocks stay whole.
		if c.blocks <= evenBlocksMax {
			c.block = (c.cols + c.blocks - 1) / c.blocks
		}
		p0, p1 := c.blockRange(c.blocks - 1)
		c.width = max(c.block, p1-p0)
		if !c.subsample {
			// Output rows a block touches (partial ones at both ends),
			// and the padded input rows they read.
			outRows := min(s.OutH, (c.width+s.OutW-1)/s.OutW+1)
			c.padLen = ((outRows-1)*s.StrideH + (s.KH-1)*s.DilH + 1) * (s.W + 2*s.PadW)
		}
		// At least two blocks per worker, or the last round leaves
		// workers idle for a whole block; or even blocks, as many per
		// worker.
		threads := pool.Threads()
		c.blockParallel = threads > 1 && ctx.Threads() == threads &&
			(c.blocks >= 2*threads || c.blocks <= evenBlocksMax && c.blocks%threads == 0) && !noBlockParallel
		c.rowSplit = threads > 1 && ctx.Threads() == threads && c.subsample && !c.blockParallel && !noRowSplit
		// The gather reads every line of the even input rows: half the
		// input.
		if c.rowSplit && c.blocks == 1 && s.OutCG*c.kdim < s.InCG*s.H*s.W/2 && !noColSplit {
			c.rowSplit, c.colSplit = false, true
			for i := range threads {
				n0, n1 := c.packed[0].ColPart(i, threads, c.cols)
				c.partCols = max(c.partCols, n1-n0)
			}
		}
	}
	return c, nil
}

func (c *Conv) Name() string           { return "im2col" }
func (c *Conv) Layout() kernels.Layout { return kernels.NCHW }

// WorkspaceLen is one block of one group's unfolded matrix (one per worker
// when workers unfold whole blocks), then each worker's padded-input rows.
func (c *Conv) WorkspaceLen() int {
	if c.noUnfold {
		return 0
	}
	return c.unfoldLen() + c.padLen*c.pool.Threads()
}

// unfoldLen is the part of the workspace that holds unfolded blocks.
func (c *Conv) unfoldLen() int {
	switch {
	case c.colSplit:
		return c.kdim * c.partCols * c.pool.Threads()
	case c.blockParallel || c.rowSplit:
		return c.kdim * c.width * c.pool.Threads()
	}
	return c.kdim * c.width
}

// padScratch returns worker's padded-input scratch in ws.
func (c *Conv) padScratch(ws []float32, worker int) []float32 {
	return ws[c.unfoldLen()+worker*c.padLen:][:c.padLen]
}

// blockRange returns the output pixels [p0, p1) of block i.
func (c *Conv) blockRange(i int) (p0, p1 int) {
	p0 = i * c.block
	if i == c.blocks-1 {
		return p0, c.cols
	}
	return p0, p0 + c.block
}

// Run convolves the batch: per image and group, unfold (unless 1x1/1) and
// multiply, a block of output pixels at a time, with the epilogue in the
// GEMM's store.
func (c *Conv) Run(in, out, residual, ws []float32) {
	s := &c.s
	inPlane := s.H * s.W
	for n := range s.N {
		for g := range s.Groups {
			src := in[(n*s.InC+g*s.InCG)*inPlane : (n*s.InC+(g+1)*s.InCG)*inPlane]
			off := (n*s.OutC + g*s.OutCG) * c.cols
			ep := gemm.Epilogue{ReLU: c.relu}
			if c.bias != nil {
				ep.Bias = c.bias[g*s.OutCG : (g+1)*s.OutCG]
			}
			if c.noUnfold {
				if residual != nil {
					ep.Residual, ep.LDR = residual[off:off+s.OutCG*c.cols], c.cols
				}
				c.ctx.Gemm(c.packed[g], src, c.cols, c.cols, out[off:off+s.OutCG*c.cols], c.cols, ep)
				continue
			}
			if c.blockParallel || c.rowSplit || c.colSplit {
				c.bjob = blockJob{src: src, out: out, residual: residual, off: off, g: g, ep: ep, ws: ws}
				switch {
				case c.blockParallel:
					c.pool.Run(c.blocks, c.blockTask)
				case c.rowSplit:
					c.pool.Run(c.pool.Threads(), c.rowTask)
				default:
					c.pool.Run(c.pool.Threads(), c.colTask)
				}
				c.bjob = blockJob{} // drop references to the caller's slices
				continue
			}
			for i := range c.blocks {
				p0, p1 := c.blockRange(i)
				nb := p1 - p0
				b := ws[:c.kdim*nb]
				c.job.src, c.job.dst, c.job.ws, c.job.p0, c.job.p1 = src, b, ws, p0, p1
				c.pool.Run(c.gatherTasks(), c.gather)
				c.job.src, c.job.dst, c.job.ws = nil, nil, nil
				c.multiplyBlock(c.ctx, g, 0, s.OutCG, b, out, residual, off, p0, p1, ep)
			}
		}
	}
}

// rowsPerTask keeps unfolding tasks big enough to amortize the hand-off
// but numerous enough to balance two or more workers. A task takes whole
// input channels (all KH·KW rows of each), so that each channel is padded
// once per block.
const rowsPerTask = 16

// channelsPerTask is the number of input channels an unfolding task takes.
func (c *Conv) channelsPerTask() int { return max(1, rowsPerTask/(c.s.KH*c.s.KW)) }

func (c *Conv) gatherTasks() int {
	per := c.channelsPerTask()
	return (c.s.InCG + per - 1) / per
}

// runBlock is a blockParallel task: unfold block task into worker's part
// of the workspace and multiply it on worker's GEMM scratch.
func (c *Conv) runBlock(task, worker int) {
	j := &c.bjob
	p0, p1 := c.blockRange(task)
	b := j.ws[worker*c.kdim*c.width:][:c.kdim*(p1-p0)]
	c.unfoldRows(j.src, b, c.padScratch(j.ws, worker), p0, p1, 0, c.s.InCG)
	c.multiplyBlock(c.ctx.Worker(worker), j.g, 0, c.s.OutCG, b, j.out, j.residual, j.off, p0, p1, j.ep)
}

// runRows is a rowSplit task: part task of the output rows, every block
// gathered whole into worker's part of the workspace (by odd parts a K
// block at a time, see staggered).
func (c *Conv) runRows(task, worker int) {
	j := &c.bjob
	m0, m1 := c.packed[j.g].RowPart(task, c.pool.Threads())
	if m0 == m1 {
		return
	}
	for i := range c.blocks {
		p0, p1 := c.blockRange(i)
		b := j.ws[worker*c.kdim*c.width:][:c.kdim*(p1-p0)]
		// subsample: a K row of the gathered block is an input channel,
		// so a K block is gathered by itself.
		if task%2 == 1 && c.subsample {
			c.staggered(worker, m0, m1, b, p0, p1)
			continue
		}
		c.unfoldRows(j.src, b, c.padScratch(j.ws, worker), p0, p1, 0, c.s.InCG)
		c.multiplyBlock(c.ctx.Worker(worker), j.g, m0, m1, b, j.out, j.residual, j.off, p0, p1, j.ep)
	}
}

// runCols is a colSplit task: part task of the output pixels (the only
// block), gathered into worker's part of the workspace and multiplied by
// all of the group's weights.
func (c *Conv) runCols(task, worker int) {
	j := &c.bjob
	p0, p1 := c.packed[j.g].ColPart(task, c.pool.Threads(), c.cols)
	if p0 == p1 {
		return
	}
	b := j.ws[worker*c.kdim*c.partCols:][:c.kdim*(p1-p0)]
	c.unfoldRows(j.src, b, nil, p0, p1, 0, c.s.InCG)
	c.multiplyBlock(c.ctx.Worker(worker), j.g, 0, c.s.OutCG, b, j.out, j.residual, j.off, p0, p1, j.ep)
}

// staggered is runRows' gather and multiply of block b (pixels [p0, p1))
// for odd parts: one K block of channels at a time, each gathered right
// before the GEMM's pass over it (GemmRowsK, the same bits). Even parts
// gather all channels first. So the two workers gather only the first K
// block side by side; the even one gathers the rest while the odd one
// multiplies, and the odd one each later block while the even one
// multiplies. res3a-proj on two threads, in-process A/B of 300–400 calls
// per variant and run (Zen 5 guest): faster in 13 of 14 runs, by −2 to 12
// µs of ~600, median 4.5; the odd worker's first gather took 42–46 µs
// instead of 71–77 for all channels, but its later one about 30 µs more.
// Measured on two threads only; on more, every odd part staggers.
func (c *Conv) staggered(worker, m0, m1 int, b []float32, p0, p1 int) {
	j := &c.bjob
	pa := c.packed[j.g]
	ctx := c.ctx.Worker(worker)
	cw, ep := c.window(j.out, j.residual, j.off, p0, p1, j.ep)
	for k0 := 0; k0 < c.kdim; k0 += pa.KBlock() {
		k1 := min(k0+pa.KBlock(), c.kdim)
		c.unfoldRows(j.src, b, c.padScratch(j.ws, worker), p0, p1, k0, k1)
		ctx.GemmRowsK(pa, m0, m1, k0, k1, b, p1-p0, p1-p0, cw, c.cols, ep)
	}
}

// window returns the output columns of pixels [p0, p1) of the group's
// channels (from out[off:]) and ep with the same window of residual.
func (c *Conv) window(out, residual []float32, off, p0, p1 int, ep gemm.Epilogue) ([]float32, gemm.Epilogue) {
	end := off + (c.s.OutCG-1)*c.cols + p1
	if residual != nil {
		ep.Residual, ep.LDR = residual[off+p0:end], c.cols
	}
	return out[off+p0 : end], ep
}

// multiplyBlock multiplies rows [m0, m1) of group g's weights by the
// unfolded block b of output pixels [p0, p1) on ctx, into those columns of
// those output channels of the group (from out[off:]), adding the same
// window of residual if given. All rows go through ctx.Gemm (which may
// split them over ctx's threads), a part through ctx.GemmRows.
func (c *Conv) multiplyBlock(ctx *gemm.Context, g, m0, m1 int, b, out, residual []float32, off, p0, p1 int, ep gemm.Epilogue) {
	cw, ep := c.window(out, residual, off, p0, p1, ep)
	nb := p1 - p0
	if m0 == 0 && m1 == c.s.OutCG {
		ctx.Gemm(c.packed[g], b, nb, nb, cw, c.cols, ep)
		return
	}
	ctx.GemmRows(c.packed[g], m0, m1, b, nb, nb, cw, c.cols, ep)
}

// gatherRows unfolds the rows of input channels [task·per, task·per+per)
// of the current block (per = channelsPerTask).
func (c *Conv) gatherRows(task, worker int) {
	per := c.channelsPerTask()
	j := &c.job
	c.unfoldRows(j.src, j.dst, c.padScratch(j.ws, worker), j.p0, j.p1, task*per, min(c.s.InCG, (task+1)*per))
}

// unfoldRows writes the rows of input channels [ic0, ic1) (rows
// [ic0·KH·KW, ic1·KH·KW)) of the unfolded block of output pixels [p0, p1)
// into dst (p1−p0 floats per row): row ic·KH·KW + kh·KW + kw holds, for
// each output pixel (oh, ow), the input at (oh·SH − PH + kh·DH,
// ow·SW − PW + kw·DW) of channel ic, 0 in the padding.
//
// Each channel's rows that the block reads are first copied into pad with
// the padding as zeros, so that every tap is a plain (strided) copy of
// whole output rows. Clipping each tap's output rows at the padding
// instead made the unfold 25–45 % of the time of ResNet-50's 3x3 layers
// on one thread (res5, 7×7 pixels: 7 calls with bounds logic per row of
// 49 values).
func (c *Conv) unfoldRows(src, dst, pad []float32, p0, p1, ic0, ic1 int) {
	s := &c.s
	nb := p1 - p0
	plane := s.H * s.W
	if c.subsample {
		// Whole planes of even height: channel ic's output row r is
		// input row (ic·OutH + r)·2 of the channels stacked, so all the
		// channels are one subsample call instead of one per plane. The
		// prefetch (16 rows ahead) reached into the next plane either
		// way. res3a-proj, 10 alternated rounds: two-thread median 583 →
		// 569 µs; a stand-alone gather of its input, 42–48 µs either
		// way, so the gain may be noise.
		if p0 == 0 && p1 == s.OutH*s.OutW && s.H == 2*s.OutH {
			eltwise.Subsample2(src[ic0*plane:ic1*plane], dst[ic0*nb:ic1*nb], (ic1-ic0)*s.OutH, s.OutW, 2*s.W)
			return
		}
		for ic := ic0; ic < ic1; ic++ {
			c.subsampleRow(src[ic*plane:(ic+1)*plane], dst[ic*nb:(ic+1)*nb], p0, p1)
		}
		return
	}
	if nb == 0 {
		return
	}
	taps := s.KH * s.KW
	wp := s.W + 2*s.PadW
	oh0, oh1 := p0/s.OutW, (p1+s.OutW-1)/s.OutW
	ph0 := oh0 * s.StrideH // first padded input row read
	ph1 := (oh1-1)*s.StrideH + (s.KH-1)*s.DilH + 1
	pad = pad[:(ph1-ph0)*wp]
	first := p0 - oh0*s.OutW // of the block, in the pixels of rows oh0…
	for ic := ic0; ic < ic1; ic++ {
		padRows(src[ic*plane:(ic+1)*plane], pad, s, ph0, ph1)
		for tap := range taps {
			kh, kw := tap/s.KW, tap%s.KW
			row := dst[(ic*taps+tap)*nb:][:nb]
			copyPixels(row, pad[kh*s.DilH*wp+kw*s.DilW:], first, s.OutW, s.StrideH*wp, s.StrideW)
		}
	}
}

// padRows writes rows [ph0, ph1) of the zero-padded channel plane src
// ((H+2·PH) × (W+2·PW)) into pad.
func padRows(src, pad []float32, s *kernels.ConvShape, ph0, ph1 int) {
	wp := s.W + 2*s.PadW
	for ph := ph0; ph < ph1; ph++ {
		row := pad[(ph-ph0)*wp:][:wp]
		ih := ph - s.PadH
		if ih < 0 || ih >= s.H {
			clear(row)
			continue
		}
		clear(row[:s.PadW])
		copy(row[s.PadW:], src[ih*s.W:(ih+1)*s.W])
		clear(row[s.PadW+s.W:])
	}
}

// copyPixels fills dst with output pixels [first, first+len(dst)) of a
// grid outW wide, pixel (r, w) read from src[r·ld + w·step]: a partial
// first row, whole rows, a partial last row.
func copyPixels(dst, src []float32, first, outW, ld, step int) {
	r, w := first/outW, first%outW
	for len(dst) > 0 {
		if w == 0 && len(dst) >= outW {
			rows := len(dst) / outW
			copyRows(dst[:rows*outW], src[r*ld:], rows, outW, ld, step)
			dst, r = dst[rows*outW:], r+rows
			continue
		}
		n := min(outW-w, len(dst))
		copyRows(dst[:n], src[r*ld+w*step:], 1, n, ld, step)
		dst, r, w = dst[n:], r+1, 0
	}
}

// copyRows sets dst[i·cols + j] = src[i·ld + j·step] for i < rows, j < cols.
func copyRows(dst, src []float32, rows, cols, ld, step int) {
	switch {
	case step == 2:
		eltwise.Subsample2(src, dst, rows, cols, ld)
	case step == 1 && cols >= 16:
		for i := range rows {
			copy(dst[i*cols:(i+1)*cols], src[i*ld:])
		}
	default:
		// Short rows (res5's 7 pixels): a loop, not a call per row.
		span := (cols-1)*step + 1
		for i := range rows {
			d, s := dst[i*cols:(i+1)*cols], src[i*ld:][:span]
			if step == 1 {
				s = s[:len(d)]
				for j := range d {
					d[j] = s[j]
				}
				continue
			}
			for j := range d {
				d[j] = s[j*step]
			}
		}
	}
}

// subsampleRow unfolds one input plane of a 1x1 stride-2 unpadded conv for
// output pixels [p0, p1): whole output rows with the vector subsample,
// partial ones at either end of the block with UnfoldRange.
func (c *Conv) subsampleRow(src, dst []float32, p0, p1 int) {
	s := &c.s
	p := p0
	if p%s.OutW != 0 {
		end := min(p1, (p/s.OutW+1)*s.OutW)
		UnfoldRange(src, dst[:end-p0], s, 0, 0, p, end)
		p = end
	}
	if rows := (p1 - p) / s.OutW; rows > 0 {
		oh := p / s.OutW
		// Prefetch the same rows of the next channel: a colSplit part
		// reads only some rows of each plane, and 16 rows ahead would
		// fetch the other part's.
		eltwise.Subsample2Ahead(src[oh*2*s.W:], dst[p-p0:], rows, s.OutW, 2*s.W, s.H*s.W)
		p += rows * s.OutW
	}
	if p < p1 {
		UnfoldRange(src, dst[p-p0:p1-p0], s, 0, 0, p, p1)
	}
}

// UnfoldRange writes tap (kh, kw) of one input plane src for output pixels
// [p0, p1) (row-major pixel index oh·OutW + ow): dst[p−p0] is the input the
// tap reads for pixel p, 0 in the padding.
func UnfoldRange(src, dst []float32, s *kernels.ConvShape, kh, kw, p0, p1 int) {
	for p := p0; p < p1; {
		oh, ow := p/s.OutW, p%s.OutW
		end := min(p1, (oh+1)*s.OutW) // to the end of this output row
		unfoldRow(src, dst[p-p0:end-p0], s, kh, kw, oh, ow, end-oh*s.OutW)
		p = end
	}
}

// unfoldRow fills output row oh, columns [ow0, ow1), of one unfolded row:
// zeros where the tap falls in the padding, a copy (stride 1) or a strided
// gather in between.
func unfoldRow(src, row []float32, s *kernels.ConvShape, kh, kw, oh, ow0, ow1 int) {
	ih := oh*s.StrideH - s.PadH + kh*s.DilH
	if ih < 0 || ih >= s.H {
		clear(row)
		return
	}
	// Output columns whose input column is inside the image.
	off := kw*s.DilW - s.PadW
	lo := 0
	if off < 0 {
		lo = (-off + s.StrideW - 1) / s.StrideW
	}
	hi := 0
	if last := s.W - 1 - off; last >= 0 {
		hi = last/s.StrideW + 1
	}
	lo, hi = max(lo, ow0), min(hi, ow1)
	if hi <= lo {
		clear(row)
		return
	}
	clear(row[:lo-ow0])
	clear(row[hi-ow0:])
	in := src[ih*s.W:]
	if s.StrideW == 1 {
		copy(row[lo-ow0:hi-ow0], in[lo+off:hi+off])
		return
	}
	iw := lo*s.StrideW + off
	if s.StrideW == 2 {
		// The stem and the stride-2 3x3 layers: a vector subsample
		// (the scalar gather took as long as the stem's GEMM).
		eltwise.Subsample2(in[iw:], row[lo-ow0:hi-ow0], 1, hi-lo, 0)
		return
	}
	for ow := lo; ow < hi; ow++ {
		row[ow-ow0] = in[iw]
		iw += s.StrideW
	}
}
