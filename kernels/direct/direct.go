// Package direct is the direct convolution in a channel-blocked layout:
// nChw8c on the AVX2 and Generic tiers, nChw16c on AVX-512. Weights are
// packed once, at construction, into panels that match the microkernels;
// each microkernel call computes strips of output pixels × 32 output
// channels (3 pixels × 4 ymm on AVX2, 14 pixels × 2 zmm on AVX-512) in
// registers, reading every input value with a broadcast from memory and
// the weights as vectors, and fuses the epilogue (bias, residual, ReLU)
// into the store.
//
// # Layout and packing
//
// Activations are N × C/b × H × W × b with b = 8 or 16 lanes (kernels.NCHW8c,
// kernels.NCHW16c); the padding channels of the last block must be zero in
// the input, and are written as zero (plus the residual's padding lanes)
// in the output. Output channels are split into tiles of T = 4·8 (AVX2,
// Generic) or 2·16 (AVX-512) channels, with narrower tiles for the last
// blocks and where grouping makes them waste less. Each tile's weights are
// one panel
//
//	[icb < nicb][kh < KH][kw < KW][i < icn][j < T]
//
// over the input blocks the tile's groups read (all blocks for a dense
// convolution), zero for channels outside a tile's groups, past InC or
// past OutC. Grouped convolutions are thus computed as dense convolutions
// over block-diagonal weights, several groups per vector when groups are
// narrower than a vector, except groups of 4 channels: there each lane
// reads its own group's input (an in-lane permute of the pixel's input
// vector) so that no FMA lane multiplies a zero (see README.md for the
// measurements behind these choices). icn is b, 4 for groups of 4, or 3
// for the 3-channel stem, whose input block is then read 3 lanes at a
// time.
//
// # Borders
//
// The input is never read outside its bounds. Each output row clips the
// kernel rows to the valid ones. Columns: convolutions with narrow outputs
// (at most padMaxOutW/stride columns) first copy the input into the workspace
// with the zero columns materialized, so every strip is interior; wider
// rows compute each strip touching the left or right border in pieces:
// first the kernel columns valid for every pixel of the strip, then, for
// each remaining group of kernel columns, the sub-strip of pixels for which
// those columns are valid (accumulating), and finally an epilogue-only
// pass. Interior strips take one call per row with the fused epilogue.
// 1×1 stride-1 convolutions of small planes are computed as one row of
// H·W pixels; strided 1×1 convolutions whose output plane is that small
// first subsample their input into the workspace and are computed so too
// (see subsampled). Tiles of one vector on 3×3 kernels use the sliding-window
// kernels, which also compute a padding-1 row's border pixels (clip flags),
// so their rows need neither border passes nor the padded copy; grouped
// convolutions that do copy make it per tile, of the tile's own input
// blocks, just before computing it.
//
// # Work split
//
// Tasks are (image, tile, range of output rows) on the parallel pool; a
// task sweeps all its rows with one chunk of input blocks (weightChunkBytes
// of weights) before the next, accumulating partial sums in the output.
// Every output value is computed by the same sequence of calls whatever
// the number of threads, so results are identical for any pool.
package direct

import (
	"errors"
	"fmt"
	"slices"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
)

// ErrUnsupported is returned (wrapped) by New for convolutions this
// package does not compute: those where a single strip of output pixels
// would be too long for one non-preemptible assembly call.
var ErrUnsupported = errors.New("direct: convolution not supported")

// maxCallMACs bounds the multiply-adds of one microkernel call (about
// 0.1 ms at the AVX2 peak of the development machine): Go does not preempt
// assembly, so calls must stay short. Multi-strip calls are split, and the
// input channels of longer strips are processed in chunks that accumulate
// into the output.
const maxCallMACs = 4 << 20

// weightChunkBytes is the size of the weight chunk (input blocks × taps ×
// one tile's output channels) that the strips of a task sweep before
// moving on to the next input blocks, so that every strip after the first
// finds the chunk in L1 or L2 rather than further out. Each chunk costs a
// pass of partial sums through the output and, for 3×3 kernels, shorter
// microkernel calls; 64 KiB was the best of 8, 16, 32, 64 and 256 KiB on
// the res4/res5 layers (BenchmarkWeightChunk; see README.md).
var weightChunkBytes = 64 << 10

// flattenMaxPlane: 1×1 stride-1 convolutions whose output plane has at
// most this many pixels are computed as one row of the whole plane, so
// that narrow rows (7, 14) do not leave short strips.
var flattenMaxPlane = 1024

// padMaxOutW: convolutions with zero padding and at most this many output
// columns copy their input into the workspace with the zero columns
// materialized, so that no strip needs the border passes (see the package
// comment); wider rows use the border passes (their share of the row is
// small, and the copy is not free).
var padMaxOutW = 28

// padMaxOutWFor is the widest output row that takes the padded copy at
// this stride: padMaxOutW/stride, because a strided convolution copies
// stride² input pixels per output pixel. ResNet-50's res3a 3×3 stride 2
// (28 output columns, 56×56 input) ran faster with the border passes than
// with the copy, 68.7 → 71.8 %peak (10 alternated runs, p = 0.001); res5a
// (7 columns, where border strips are one in three) ran faster with the
// copy, 55.7 vs 53.0 (p = 0.011); res4a (14) tied.
func padMaxOutWFor(stride int) int {
	return padMaxOutW / max(stride, 1)
}

// noGroupPermute disables the grouped families (group4, group8; benchmarks
// compare them with the block-diagonal packing).
var noGroupPermute bool

// noPrefetchNext disables flagPrefetchNext (benchmarks compare).
var noPrefetchNext bool

// prefetchMaxPlane is the largest flattened output plane whose calls
// prefetch the next weight chunk (ResNet-50's 7×7 stage).
const prefetchMaxPlane = 64

// noTileCopy disables the per-tile padded copy (tests compare it with the
// whole-input copy).
var noTileCopy bool

// noRowTiles disables rowTiles (tests and benchmarks compare the orders).
var noRowTiles bool

// noSlide disables the sliding-window kernels (benchmarks and tests compare
// them with the per-tap kernels).
var noSlide bool

// maxWidth, when positive, limits the tile width in vectors (benchmarks
// compare tile shapes with it).
var maxWidth int

// LayoutFor is the activation layout New chooses on ISA tier t: nChw16c on
// AVX-512, nChw8c otherwise.
func LayoutFor(t isa.Tier) kernels.Layout {
	if t == isa.AVX512 {
		return kernels.NCHW16c
	}
	return kernels.NCHW8c
}

// ActiveLayout is the layout New chooses now (from isa.Active()), for
// code outside kernels that plans a blocked pipeline.
func ActiveLayout() kernels.Layout { return LayoutFor(isa.Active()) }

// Conv is a direct convolution planned for one ConvSpec on the ISA tier
// active when New ran. Run must not be called concurrently on one Conv.
type Conv struct {
	s      kernels.ConvShape
	tier   isa.Tier
	layout kernels.Layout
	vl     int
	icn    int       // input channels per block step of the microkernels
	group  int       // channels per group of the grouped family in use (4, 8), or 0
	epi    int       // epilogue flags of the spec (bias, ReLU)
	bias   []float32 // OCB·vl values, zero-padded
	packed []float32 // weight panels of all tiles
	tiles  []tile
	name   string

	pool    *parallel.Pool
	chunks  int // row chunks per (image, tile), or per image with rowTiles
	perTask int // rows per chunk
	// units are the (image, tile, row chunk) pieces of work; ntasks
	// contiguous ranges of them, one per worker (see New).
	units, ntasks int
	// rowTiles: a task computes every tile of its rows, row by row,
	// instead of one tile over all its rows. For 1×1 convolutions on
	// unflattened planes (56×56), whose input image can exceed L2 (256
	// channels: 3.2 MB): tile-major, each tile streams it from L3 again;
	// row-major, the other tiles find the row's input in L1/L2.
	rowTiles bool
	// prefetchNext: calls prefetch the next weight chunk
	// (flagPrefetchNext).
	prefetchNext bool

	// Geometry the row plans and row calls index with: the shape's, or a
	// 1×1 convolution's plane flattened to one row, or the input with
	// its zero columns materialized (padded copy in the workspace).
	g       geom
	padCols bool // Run copies the input into ws with g.W columns
	// tileCopy: the padded copy is made per task, of the task tile's own
	// input blocks, into the worker's part of ws (tileWS floats), where the
	// tile then finds it in L2. For grouped convolutions whose tiles read
	// disjoint input blocks: a copy of the whole input first went out to
	// L3 and came back.
	tileCopy bool
	tileWS   int
	padL     int // zero columns left of the copied input

	// strided is the shape of a strided 1×1 convolution computed as a
	// subsample into the workspace then the stride-1 convolution s of
	// the subsampled plane (zero N when there is none; see subsampled).
	strided kernels.ConvShape

	inImg, inBlk, outImg, outBlk int // strides in floats

	// Run state, read by the tasks.
	in, out, res, src []float32
	task, copyTask    func(task, worker int)
}

// geom is the row geometry of the input (H×W, PadW zero columns each side
// virtually) and output (OutH×OutW) the microkernel calls are planned on.
type geom struct{ H, W, OutH, OutW, PadW int }

// tile is a set of nvec consecutive output-channel blocks computed together.
type tile struct {
	ob0, nvec  int // first output block, number of blocks
	icb0, nicb int // input blocks read
	icChunk    int // input blocks per kernel call
	wOff       int // offset of the tile's panel in packed
	wkh, wicb  int // panel strides (floats) of one kernel row and one input block
	fam        *family
	slide      *family // fam's sliding-window twin for interior calls, or nil
	plan       []hcall // the calls of one output row
}

// hcall is one microkernel call of an output row: nstrips strips of p
// pixels starting at column ow0, kernel columns [kw0, kw0+nkw).
type hcall struct {
	ow0, p, nstrips int
	kw0, nkw        int
	accumulate      bool // add to the partial sums already in out
	final           bool // apply the epilogue
	// Sliding kernels: the first pixel's kernel column 0 / the last
	// pixel's column 2 is padding (flagClipLeft / flagClipRight).
	clipL, clipR bool
}

// New validates spec and packs its weights for the active ISA tier. pool
// may be nil (single-threaded).
func New(spec kernels.ConvSpec, pool *parallel.Pool) (*Conv, error) {
	s := spec.Shape
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(spec.Weight) != s.WeightLen() {
		return nil, fmt.Errorf("direct: %d weights for %v, want %d", len(spec.Weight), &s, s.WeightLen())
	}
	if spec.Bias != nil && len(spec.Bias) != s.OutC {
		return nil, fmt.Errorf("direct: %d bias values for %d output channels", len(spec.Bias), s.OutC)
	}
	spec.Shape = s // as Validate completed it
	tier := isa.Active()
	return newFor(spec, pool, tier, tierFamilies(tier))
}

// newFor is New for ISA tier tier with its microkernel families fams (tests
// give the AVX-512 plan reference kernels on CPUs without AVX-512).
func newFor(spec kernels.ConvSpec, pool *parallel.Pool, tier isa.Tier, fams []family) (*Conv, error) {
	s := spec.Shape
	c := &Conv{s: s, tier: tier, layout: LayoutFor(tier), pool: pool}
	if inner, ok := subsampled(s); ok {
		c.strided, c.s, s = s, inner, inner
	}
	c.vl = c.layout.Block()
	vl := c.vl
	icb := (s.InC + vl - 1) / vl
	ocb := (s.OutC + vl - 1) / vl

	// Tile widths (vectors of output channels) of the tier's families,
	// widest (the main tile) first.
	var widths []int
	for _, f := range fams {
		if f.icn == vl && f.group == 0 && f.slide == 0 && !slices.Contains(widths, f.nvec) {
			widths = append(widths, f.nvec)
		}
	}
	slices.SortFunc(widths, func(a, b int) int { return b - a })
	if maxWidth > 0 {
		widths = slices.DeleteFunc(widths, func(w int) bool { return w > maxWidth })
	}
	// The 3-channel stem reads 3 lanes per input block when a family
	// for it covers every tile.
	c.icn = vl
	if s.InC == 3 && s.Groups == 1 && ocb%widths[0] == 0 {
		for _, f := range fams {
			if f.icn == 3 && f.nvec == widths[0] {
				c.icn = 3
			}
		}
	}
	// Groups of 4 (or, on 16 lanes, 8) channels: one-vector tiles whose
	// lanes read their own group's inputs (the group4 / group8 families).
	if s.Groups > 1 && s.InCG == s.OutCG && !noGroupPermute {
		for _, f := range fams {
			if f.group == s.InCG && f.slide == 0 {
				c.group, c.icn, widths = f.group, f.icn, []int{f.nvec}
			}
		}
	}
	// Tiles: the widest, unless grouping makes narrower tiles waste fewer
	// multiply-adds on the block-diagonal zeros.
	tiling := c.tiling(widths, ocb)
	if s.Groups > 1 {
		best := c.tilesCost(tiling)
		for _, w := range widths[1:] {
			if t := c.tiling(widths[slices.Index(widths, w):], ocb); c.tilesCost(t) < best {
				tiling, best = t, c.tilesCost(t)
			}
		}
	}
	famFor := func(nvec int) *family {
		for i := range fams {
			if f := &fams[i]; f.nvec == nvec && f.icn == c.icn && f.group == c.group && f.slide == 0 {
				return f
			}
		}
		panic(fmt.Sprintf("direct: no %d-vector family with %d channels per step", nvec, c.icn))
	}
	// The sliding-window twin of a family, for 3-column kernels without
	// dilation at its stride (nil if there is none).
	slideFor := func(f *family) *family {
		if noSlide || s.KW != 3 || s.DilW != 1 {
			return nil
		}
		for i := range fams {
			if g := &fams[i]; g.slide == s.StrideW && g.nvec == f.nvec && g.icn == f.icn && g.group == f.group {
				return g
			}
		}
		return nil
	}

	c.bias = kernels.Alloc(ocb * vl)
	if spec.Bias != nil {
		copy(c.bias, spec.Bias)
		c.epi |= flagBias
	}
	if spec.ReLU {
		c.epi |= flagReLU
	}

	allSlide := true
	for _, nvec := range tiling {
		allSlide = allSlide && slideFor(famFor(nvec)) != nil
	}
	c.g = geom{H: s.H, W: s.W, OutH: s.OutH, OutW: s.OutW, PadW: s.PadW}
	switch {
	case s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadH == 0 && s.PadW == 0 &&
		s.OutH*s.OutW <= flattenMaxPlane:
		// The output plane and the input plane are the same contiguous
		// pixels: one row, split into strips without regard to rows.
		c.g = geom{H: 1, W: s.H * s.W, OutH: 1, OutW: s.OutH * s.OutW}
	case s.OutW <= padMaxOutWFor(s.StrideW) && !allSlide:
		// Materialize the zero columns so that every strip is interior
		// (sliding tiles clip their border pixels instead: the copy cost
		// a quarter of a ResNeXt 3×3 layer).
		right := max(0, (s.OutW-1)*s.StrideW+(s.KW-1)*s.DilW-s.PadW-(s.W-1))
		if s.PadW > 0 || right > 0 {
			c.padCols, c.padL = true, s.PadW
			c.g.W, c.g.PadW = s.PadW+s.W+right, 0
		}
	}
	plans := map[*family][]hcall{}
	off := 0
	for ob, k := 0, 0; ob < ocb; k++ {
		nvec := tiling[k]
		t := tile{ob0: ob, nvec: nvec}
		t.icb0, t.nicb = c.inputBlocks(ob, nvec, icb)
		t.fam = famFor(nvec)
		t.slide = slideFor(t.fam)
		if _, ok := plans[t.fam]; !ok {
			if t.slide != nil {
				plans[t.fam] = c.rowPlanSlide(t.fam.pmax, t.slide.pmax)
			} else {
				plans[t.fam] = c.rowPlan(t.fam.pmax)
			}
		}
		t.plan = plans[t.fam]
		T := nvec * vl
		t.wkh = s.KW * c.icn * T
		t.wicb = s.KH * t.wkh
		// Input blocks per call: one weight chunk (weightChunkBytes)
		// serves every strip of the task's rows before the next, and a
		// strip of pmax pixels stays within maxCallMACs.
		stripMACs := t.fam.pmax * T * c.icn * s.KH * s.KW
		blockBytes := 4 * s.KH * s.KW * c.icn * T
		t.icChunk = min(t.nicb, max(1, maxCallMACs/stripMACs), max(1, weightChunkBytes/blockBytes))
		if stripMACs > maxCallMACs {
			return nil, fmt.Errorf("%w: %v: one strip of %d pixels × one input block is %d multiply-adds (limit %d)",
				ErrUnsupported, &s, t.fam.pmax, stripMACs, maxCallMACs)
		}
		t.wOff = off
		off += t.nicb * t.wicb
		c.tiles = append(c.tiles, t)
		ob += nvec
	}
	c.packed = kernels.Alloc(off)
	for i := range c.tiles {
		c.pack(&c.tiles[i], spec.Weight)
	}
	c.name = "direct-" + c.tiles[0].fam.name

	c.inBlk = c.g.H * c.g.W * vl
	c.inImg = icb * c.inBlk
	c.outBlk = s.OutH * s.OutW * vl
	c.outImg = ocb * c.outBlk
	if c.padCols && s.Groups > 1 && !noTileCopy {
		c.tileCopy = true
		next, widest := 0, 0
		for _, t := range c.tiles {
			c.tileCopy = c.tileCopy && t.icb0 >= next
			next, widest = t.icb0+t.nicb, max(widest, t.nicb)
		}
		c.tileWS = widest * c.inBlk
	}

	c.rowTiles = s.KH == 1 && s.KW == 1 && s.Groups == 1 && c.g.OutH > 1 && len(c.tiles) > 1 && !noRowTiles
	for _, t := range c.tiles {
		c.rowTiles = c.rowTiles && t.icb0 == 0 && t.nicb == c.tiles[0].nicb && t.icChunk == c.tiles[0].icChunk
	}
	// A small flattened plane (7×7): each weight chunk serves a few
	// strips, then the next chunk comes from memory; the strips prefetch
	// it, a quarter each. On 28×28 planes (56 strips per chunk) the
	// prefetch measured 4–6 % slower (p ≤ 0.01, 8 alternated runs): the
	// chunk's input is what needs L2 there.
	c.prefetchNext = c.g.OutH == 1 && c.g.OutW <= prefetchMaxPlane && !noPrefetchNext
	// Units of work: (image, tile, row chunk), or (image, row chunk) with
	// rowTiles. Enough chunks that the units cut evenly into one range per
	// worker; the split does not change any result.
	per := s.N * len(c.tiles)
	if c.rowTiles {
		per = s.N
	}
	c.chunks = 1
	if th := pool.Threads(); th > 1 {
		c.chunks = min(c.g.OutH, max(1, (8*th+per-1)/per))
	}
	c.perTask = (c.g.OutH + c.chunks - 1) / c.chunks
	c.chunks = (c.g.OutH + c.perTask - 1) / c.perTask
	// One contiguous range of units per worker, not units handed out in
	// turn: a unit's calls prefetch the weights that follow its own (the
	// next tile's, on 7×7 planes), which in turn went to the other core,
	// and the next step reads this one's output in contiguous parts.
	// SE-ResNeXt-50 on two threads, medians of 6 alternated runs: 26.1
	// ms per inference against 28.1, and 29.8 against 30.6 in a busier
	// hour; one or two ranges per worker measured alike.
	c.units = per * c.chunks
	c.ntasks = min(pool.Threads(), c.units)
	c.task = c.runRange
	c.copyTask = c.runCopy
	if c.strided.N > 0 {
		c.copyTask = c.runSubsample
	}
	return c, nil
}

// inputBlocks returns the input blocks read by the output blocks
// [ob, ob+nvec): those holding the input channels of their groups.
func (c *Conv) inputBlocks(ob, nvec, icb int) (icb0, nicb int) {
	s := &c.s
	if c.icn == 3 {
		return 0, 1
	}
	oc0 := ob * c.vl
	oc1 := min((ob+nvec)*c.vl, s.OutC)
	g0, g1 := oc0/s.OutCG, (oc1-1)/s.OutCG
	ic0, ic1 := g0*s.InCG, (g1+1)*s.InCG
	icb0 = ic0 / c.vl
	return icb0, min(icb, (ic1+c.vl-1)/c.vl) - icb0
}

// tiling splits ocb output blocks into tiles: as many of widths[0] blocks
// as fit, then the widest of the others that fit the rest (widths is sorted
// in decreasing order and ends with 1).
func (c *Conv) tiling(widths []int, ocb int) []int {
	var t []int
	for ob := 0; ob < ocb; {
		for _, w := range widths {
			if w <= ocb-ob {
				t = append(t, w)
				ob += w
				break
			}
		}
	}
	return t
}

// tilesCost is the number of (output block, input block) pairs the
// microkernels multiply with a tiling: proportional to the multiply-adds
// done, zeros included.
func (c *Conv) tilesCost(tiling []int) int {
	icb := (c.s.InC + c.vl - 1) / c.vl
	cost, ob := 0, 0
	for _, nvec := range tiling {
		_, n := c.inputBlocks(ob, nvec, icb)
		cost += nvec * n
		ob += nvec
	}
	return cost
}

// pack writes the tile's weight panel [icb][kh][kw][i < icn][j < T] from
// the [OutC][InC/G][KH][KW] weights, into fresh (zeroed) memory.
func (c *Conv) pack(t *tile, w []float32) {
	s := &c.s
	T := t.nvec * c.vl
	panel := c.packed[t.wOff : t.wOff+t.nicb*t.wicb]
	if s.Groups == 1 && c.group == 0 && s.KH*s.KW > 1 {
		// (For 1x1 the generic order below measured faster: 20.8 vs
		// 25.3 ms for 1024→2048; for 3x3 512→512 packDense 16.7 vs
		// 21.6 ms.)
		c.packDense(t, w, panel, T)
		return
	}
	for b := 0; b < t.nicb; b++ {
		for kh := 0; kh < s.KH; kh++ {
			for kw := 0; kw < s.KW; kw++ {
				for i := 0; i < c.icn; i++ {
					ic := (t.icb0+b)*c.vl + i
					row := panel[b*t.wicb+kh*t.wkh+(kw*c.icn+i)*T:][:T]
					for j := range row {
						oc := t.ob0*c.vl + j
						row[j] = 0
						if c.group > 0 {
							// Lane j multiplies channel i of its own group.
							ic = oc/c.group*c.group + i
						}
						if oc >= s.OutC || ic >= s.InC {
							continue
						}
						g := oc / s.OutCG
						if ic/s.InCG != g {
							continue
						}
						row[j] = w[((oc*s.InCG+ic-g*s.InCG)*s.KH+kh)*s.KW+kw]
					}
				}
			}
		}
	}
}

// packDense is pack for a dense convolution: no group arithmetic (two
// divisions per weight), and for each chunk of input blocks whose part of
// the panel fits in 16 KiB (L1), the tile's output channels in turn, so
// that every read is a contiguous run of one filter ([ic][kh][kw] of the
// chunk's channels) and the writes stay within the chunk's part of the
// panel. The panel is fresh (zeroed) memory: lanes past OutC and channels
// past InC stay zero.
func (c *Conv) packDense(t *tile, w, panel []float32, T int) {
	s := &c.s
	khkw := s.KH * s.KW
	chunk := max(1, 4096/t.wicb)
	for b0 := 0; b0 < t.nicb; b0 += chunk {
		ic0 := (t.icb0 + b0) * c.vl
		nic := min(min(chunk, t.nicb-b0)*c.vl, s.InC-ic0) // channels of the chunk
		if nic <= 0 {
			break
		}
		dst := panel[b0*t.wicb:]
		for j := 0; j < T; j++ {
			oc := t.ob0*c.vl + j
			if oc >= s.OutC {
				break
			}
			src := w[(oc*s.InC+ic0)*khkw : (oc*s.InC+ic0+nic)*khkw]
			for ii := 0; ii < nic; ii++ {
				b, i := ii/c.vl, ii%c.vl
				if i >= c.icn {
					continue // the stem reads 3 lanes of each 8-channel block
				}
				for kh := 0; kh < s.KH; kh++ {
					for kw := 0; kw < s.KW; kw++ {
						dst[b*t.wicb+kh*t.wkh+(kw*c.icn+i)*T+j] = src[(ii*s.KH+kh)*s.KW+kw]
					}
				}
			}
		}
	}
}

// rowPlan splits an output row into microkernel calls with strips of at
// most pmax pixels (see the package comment, Borders).
func (c *Conv) rowPlan(pmax int) []hcall {
	return c.planColumns(nil, 0, c.g.OutW, pmax, false)
}

// rowPlanSlide plans a row for a tile with sliding-window kernels, whose
// strips have at most slidePmax pixels and must be interior but for one
// padding column at either end (flagClipLeft, flagClipRight: padding 1).
// Columns whose windows are clipped further are planned alone, in strips
// of at most pmax pixels of the per-tap kernels.
func (c *Conv) rowPlanSlide(pmax, slidePmax int) []hcall {
	s, g := &c.s, &c.g
	a := 0 // first column whose window starts at most one column out
	for a < g.OutW && a*s.StrideW-g.PadW < -1 {
		a++
	}
	b := g.OutW // one past the last column whose window ends at most one out
	for b > a && (b-1)*s.StrideW-g.PadW+(s.KW-1)*s.DilW > g.W {
		b--
	}
	plan := c.planColumns(nil, 0, a, pmax, false)
	plan = c.planColumns(plan, a, b, slidePmax, true)
	return c.planColumns(plan, b, g.OutW, pmax, false)
}

// planColumns appends to plan the calls of output columns [a0, b0) in
// strips of at most pmax pixels. With clip, a strip whose only missing
// taps are its first pixel's kernel column 0 and/or its last pixel's
// column KW−1 is one clipped call (sliding kernels).
func (c *Conv) planColumns(plan []hcall, a0, b0, pmax int, clip bool) []hcall {
	s, g := &c.s, &c.g
	if b0 <= a0 {
		return plan
	}
	// Valid kernel columns of output column ow: [lo, hi).
	lo := func(ow int) int {
		n := g.PadW - ow*s.StrideW
		if n <= 0 {
			return 0
		}
		return min(s.KW, (n+s.DilW-1)/s.DilW)
	}
	hi := func(ow int) int {
		n := g.W - 1 + g.PadW - ow*s.StrideW
		if n < 0 {
			return 0
		}
		return min(s.KW, n/s.DilW+1)
	}
	valid := func(ow, kw int) bool { return lo(ow) <= kw && kw < hi(ow) }

	nstr := (b0 - a0 + pmax - 1) / pmax
	base, extra := (b0-a0)/nstr, (b0-a0)%nstr
	for k, a := 0, a0; k < nstr; k++ {
		p := base
		if k < extra {
			p++
		}
		b := a + p
		if clip {
			cl := lo(a) == 1 && (p == 1 || lo(a+1) == 0)
			cr := hi(b-1) == s.KW-1 && (p == 1 || hi(b-2) == s.KW)
			if (cl || cr) && (cl || lo(a) == 0) && (cr || hi(b-1) == s.KW) {
				plan = append(plan, hcall{ow0: a, p: p, nstrips: 1, kw0: 0, nkw: s.KW, final: true, clipL: cl, clipR: cr})
				a = b
				continue
			}
		}
		if lo(a) == 0 && hi(b-1) == s.KW {
			// Interior: extend the previous call if it is a run of
			// interior strips of the same width ending here.
			if n := len(plan); n > 0 {
				l := &plan[n-1]
				if l.final && !l.accumulate && !l.clipL && !l.clipR && l.nkw == s.KW && l.p == p && l.ow0+l.nstrips*p == a {
					l.nstrips++
					a = b
					continue
				}
			}
			plan = append(plan, hcall{ow0: a, p: p, nstrips: 1, kw0: 0, nkw: s.KW, final: true})
			a = b
			continue
		}
		// Border strip: the columns valid for all its pixels first.
		i0, i1 := lo(a), hi(b-1)
		first := hcall{ow0: a, p: p, nstrips: 1, kw0: i0, nkw: max(0, i1-i0)}
		if first.nkw == 0 {
			first.kw0 = 0
		}
		var groups []hcall
		for kw := 0; kw < s.KW; kw++ {
			u := a
			for u < b && !valid(u, kw) {
				u++
			}
			v := u
			for v < b && valid(v, kw) {
				v++
			}
			if u == v || (u == a && v == b) {
				continue
			}
			if n := len(groups); n > 0 {
				g := &groups[n-1]
				if g.ow0 == u && g.p == v-u && g.kw0+g.nkw == kw {
					g.nkw++
					continue
				}
			}
			groups = append(groups, hcall{ow0: u, p: v - u, nstrips: 1, kw0: kw, nkw: 1, accumulate: true})
		}
		if len(groups) == 0 {
			first.final = true
			plan = append(plan, first)
		} else {
			plan = append(plan, first)
			plan = append(plan, groups...)
			plan = append(plan, hcall{ow0: a, p: p, nstrips: 1, accumulate: true, final: true})
		}
		a = b
	}
	return plan
}

func (c *Conv) Name() string           { return c.name }
func (c *Conv) Layout() kernels.Layout { return c.layout }

// WorkspaceLen is the size of the zero-column padded copy of the input
// that convolutions with narrow outputs make (see padMaxOutW), or of the
// subsampled input of a strided 1×1 convolution, else 0.
func (c *Conv) WorkspaceLen() int {
	if c.strided.N > 0 {
		return c.s.N * c.inImg
	}
	if !c.padCols {
		return 0
	}
	if c.tileCopy {
		return max(1, c.pool.Threads()) * c.tileWS
	}
	return c.s.N * c.inImg
}

// Tier is the ISA tier the convolution was planned for.
func (c *Conv) Tier() isa.Tier { return c.tier }

// Run computes out = relu?(conv(in) + bias + residual) for the whole batch,
// all in Layout(). residual is nil or shaped like out and must not overlap
// it (border strips store partial sums in out before the residual is
// added). ws has at least WorkspaceLen values.
func (c *Conv) Run(in, out, residual, ws []float32) {
	inShape := c.s.In()
	if c.strided.N > 0 {
		inShape = c.strided.In()
	}
	inLen, outLen := c.layout.Elems(inShape), c.layout.Elems(c.s.Out())
	if len(in) < inLen || len(out) < outLen || (residual != nil && len(residual) < outLen) {
		panic(fmt.Sprintf("direct: Run with %d input, %d output, %d residual values; want %d, %d, %d",
			len(in), len(out), len(residual), inLen, outLen, outLen))
	}
	c.in, c.out, c.res, c.src = in, out, residual, in
	if c.padCols || c.strided.N > 0 {
		if len(ws) < c.WorkspaceLen() {
			panic(fmt.Sprintf("direct: workspace of %d values, want %d", len(ws), c.WorkspaceLen()))
		}
		c.src = ws
		if !c.tileCopy {
			c.pool.Run(c.s.N*(c.inImg/c.inBlk), c.copyTask)
		}
	}
	c.pool.Run(c.ntasks, c.task)
	c.in, c.out, c.res, c.src = nil, nil, nil, nil
}

// runRange runs units [task·units/ntasks, (task+1)·units/ntasks).
func (c *Conv) runRange(task, worker int) {
	for u := task * c.units / c.ntasks; u < (task+1)*c.units/c.ntasks; u++ {
		c.runTask(u, worker)
	}
}

// runCopy copies one input block (image n, block b) into the padded
// workspace, zeroing its padding columns.
func (c *Conv) runCopy(task, _ int) {
	c.copyBlock(c.src[task*c.inBlk:][:c.inBlk], task, 0, c.s.H)
}

// copyBlock copies rows [h0, h1) of input block blk (image n's block b is
// n·ICB + b) into the padded block dst, zeroing their padding columns.
func (c *Conv) copyBlock(dst []float32, blk, h0, h1 int) {
	s, vl := &c.s, c.vl
	rowIn, rowOut := s.W*vl, c.g.W*vl
	in := c.in[blk*s.H*rowIn:]
	left := c.padL * vl
	for h := h0; h < h1; h++ {
		o := dst[h*rowOut : (h+1)*rowOut]
		clear(o[:left])
		copy(o[left:], in[h*rowIn:(h+1)*rowIn])
		clear(o[left+rowIn:])
	}
}

// runTask computes rows of one (image, tile, row chunk).
func (c *Conv) runTask(task, worker int) {
	ck := task % c.chunks
	task /= c.chunks
	if c.rowTiles {
		c.runRowTiles(task, ck)
		return
	}
	t := &c.tiles[task%len(c.tiles)]
	n := task / len(c.tiles)
	oh0 := ck * c.perTask
	oh1 := min(c.g.OutH, oh0+c.perTask)
	src, srcBase := c.src, n*c.inImg+t.icb0*c.inBlk
	if c.tileCopy {
		// Only the input rows this task's output rows read: with more
		// than one row chunk per tile, each chunk copies its own.
		s := &c.s
		h0 := max(0, oh0*s.StrideH-s.PadH)
		h1 := min(s.H, (oh1-1)*s.StrideH-s.PadH+(s.KH-1)*s.DilH+1)
		src, srcBase = c.src[worker*c.tileWS:][:c.tileWS], 0
		for b := 0; b < t.nicb; b++ {
			c.copyBlock(src[b*c.inBlk:][:c.inBlk], n*c.inImg/c.inBlk+t.icb0+b, h0, h1)
		}
	}
	for ic := 0; ic < t.nicb; ic += t.icChunk {
		nicb := min(t.icChunk, t.nicb-ic)
		for oh := oh0; oh < oh1; oh++ {
			c.row(t, src, srcBase, n, oh, ic, nicb)
		}
	}
}

// runRowTiles is runTask for rowTiles: image n, row chunk ck, every tile
// of a row before the next row. Each output value gets the same calls in
// the same order as tile by tile.
func (c *Conv) runRowTiles(n, ck int) {
	oh0 := ck * c.perTask
	oh1 := min(c.g.OutH, oh0+c.perTask)
	t0 := &c.tiles[0]
	for ic := 0; ic < t0.nicb; ic += t0.icChunk {
		nicb := min(t0.icChunk, t0.nicb-ic)
		for oh := oh0; oh < oh1; oh++ {
			for i := range c.tiles {
				c.row(&c.tiles[i], c.src, n*c.inImg, n, oh, ic, nicb)
			}
		}
	}
}

// row runs the calls of output row oh for input blocks [ic, ic+nicb) of
// tile t, whose first input block of image n starts at src[srcBase:].
func (c *Conv) row(t *tile, src []float32, srcBase, n, oh, ic, nicb int) {
	s, g := &c.s, &c.g
	vl := c.vl
	firstChunk, lastChunk := ic == 0, ic+nicb == t.nicb
	// Valid kernel rows.
	ih0 := oh*s.StrideH - s.PadH
	kh0 := 0
	if ih0 < 0 {
		kh0 = min(s.KH, (-ih0+s.DilH-1)/s.DilH)
	}
	kh1 := 0
	if m := g.H - 1 - ih0; m >= 0 {
		kh1 = min(s.KH, m/s.DilH+1)
	}
	nkh := max(0, kh1-kh0)
	T := t.nvec * vl
	srcRow := srcBase + ic*c.inBlk + (ih0+kh0*s.DilH)*g.W*vl
	wRow := t.wOff + ic*t.wicb + kh0*t.wkh
	dstRow := n*c.outImg + t.ob0*c.outBlk + oh*g.OutW*vl
	bias := &c.bias[t.ob0*vl]
	pix, kwS, khS := s.StrideW*vl, s.DilW*vl, s.DilH*g.W*vl
	stripsBefore := 0 // in this row: the prefetch phase of the next call
	for i := range t.plan {
		h := &t.plan[i]
		flags := 0
		if h.nkw == 0 {
			// No kernel columns: the zeroing pass of a border strip
			// (once, before the first chunk's sums) or its epilogue pass
			// (once, after the last chunk's).
			if (h.final && !lastChunk) || (!h.final && !firstChunk) {
				continue
			}
			if h.accumulate {
				flags |= flagAccumulate
			}
		} else if h.accumulate || !firstChunk {
			flags |= flagAccumulate
		}
		if h.final && lastChunk {
			flags |= c.epi
			if c.res != nil {
				flags |= flagResidual
			}
		}
		if h.clipL {
			flags |= flagClipLeft
		}
		if c.prefetchNext {
			flags |= flagPrefetchNext
		}
		if h.clipR {
			flags |= flagClipRight
		}
		sp, wts := &src[0], &c.packed[t.wOff]
		if nkh > 0 && h.nkw > 0 {
			col := h.ow0*s.StrideW - g.PadW + h.kw0*s.DilW
			if h.clipL {
				col += s.DilW // the kernel skips column 0 (padding)
			}
			sp = &src[srcRow+col*vl]
			wts = &c.packed[wRow+h.kw0*c.icn*T]
		}
		d := dstRow + h.ow0*vl
		var res *float32
		if c.res != nil {
			res = &c.res[d]
		}
		kern := t.fam.kern[h.p]
		if t.slide != nil && h.nkw == 3 && h.p <= t.slide.pmax {
			// An interior strip (all 3 kernel columns): the tile's
			// stride, no dilation, so the sliding kernel applies.
			kern = t.slide.kern[h.p]
		}
		// Split long runs of strips to keep each call short.
		maxStrips := max(1, maxCallMACs/(h.p*T*nicb*c.icn*max(1, nkh*h.nkw)))
		for st := 0; st < h.nstrips; st += maxStrips {
			ns := min(maxStrips, h.nstrips-st)
			phase := stripsBefore % 4 << prefetchPhaseShift
			kern(sp, wts, &c.out[d], ns, nicb, nkh, h.nkw, pix, kwS, khS, c.inBlk, t.wkh, t.wicb, c.outBlk, bias, res, flags|phase)
			stripsBefore += ns
			if st+ns < h.nstrips {
				sp = at(sp, ns*h.p*pix)
				d += ns * h.p * vl
				if res != nil {
					res = &c.res[d]
				}
			}
		}
	}
}
