package winograd

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
)

// ErrUnsupported is returned (wrapped) by New for a convolution Winograd
// F(m×m,3×3) does not compute: anything but a 3x3 kernel with stride 1,
// dilation 1 and one group. Any padding is supported.
var ErrUnsupported = errors.New("winograd: only 3x3 stride-1 undilated ungrouped convolutions are supported")

// Tiles lists the supported output tile sizes m of F(m×m, 3×3).
var Tiles = []int{2, 4, 6}

// group is the number of tiles the transforms process at once (one per
// lane of an AVX2 register); blocks are multiples of it.
const group = 8

// Conv is a Winograd convolution planned for one ConvSpec and tile size.
// Run is not safe for concurrent use (the Conv holds the current job).
type Conv struct {
	s        kernels.ConvShape
	m, alpha int
	a2       int // α², the number of transform positions (and GEMMs)
	name     string
	bias     []float32
	relu     bool
	ctx      *gemm.Context
	pool     *parallel.Pool
	tier     isa.Tier
	asm      bool            // AVX2 transforms (tier ≥ AVX2 and an assembly build)
	u        []*gemm.PackedA // per position ξ = i·α+j: U_ξ, OutC × InC

	// Live output window: the outputs whose 3x3 input window touches the
	// image. With padding > 2 the outputs outside it see only padding;
	// fillDead stores them (exactly the epilogue of 0) instead of tiling
	// them, because a tile's rounding error scales with its whole patch
	// and would leak into outputs whose condition is 0.
	oy0, oy1, ox0, ox1 int
	dead               bool // the live window is smaller than the output

	// Padded input: the tiles' patches tile a zero-padded copy of the
	// input, hp × wp per channel, so that every patch is in bounds and
	// all tiles share one row stride. Patch (ty, tx) starts at row ty·m,
	// column tx·m; input pixel (y, x) is at (y+pt, x+pl).
	hp, wp, pt, pl int
	padLen         int // N·InC·hp·wp plus slack for 16-byte row reads

	th, tw int // tile grid of one image (over the live window)
	total  int // tiles of the whole batch
	nFull  int // tiles that are not clipped; they come first
	nb     int // tiles per block (a multiple of group)
	// Row stride (floats) of the V and M blocks is nb. Position strides
	// (floats) of V (InC rows) and M (OutC rows) are one cache line more
	// than the rows need, so that the α² streams of a transform do not
	// map to the same L1 sets when InC·nb is a multiple of 1024 (4 KiB
	// aliasing made the transforms 3x slower).
	vStride, mStride int

	// Per tile (full tiles first, in raster order, then the clipped ones),
	// padded to a multiple of group with copies of the last tile:
	pin    []int // byte offset of the patch in the padded input (channel 0)
	pout   []int // byte offset of the output tile origin (channel 0)
	mh, mw []int // valid output rows and columns

	inTasks, outTasks, padTasks int
	blockParallel               bool // Run hands each worker a run of whole blocks (see New)
	rowSplit                    bool // Run splits the GEMMs by rows per worker (see New)
	// runs[w]..runs[w+1] are the blocks of worker part w, and
	// padRows[2w], padRows[2w+1] the rows of the padded input they read
	// (block-parallel only).
	runs, padRows []int

	// The current call; inFn/outFn/padFn are bound once so that handing
	// them to the pool allocates nothing.
	job            job
	inFn, outFn    func(task, worker int)
	padFn, blockFn func(task, worker int)
	rowFn          func(task, worker int)
	scratchLen     int // floats of raw output tiles per worker
}

type job struct {
	in, out, res []float32
	pad, v, mb   []float32
	scratch      []float32
	t0, nt       int
}

// Option adjusts a plan.
type Option func(*options)

type options struct {
	blockTiles  int
	goOnly      bool
	splitBlocks bool
}

// WithBlockTiles fixes the number of tiles per block (rounded up to a
// multiple of 8) instead of the default from blockBudget.
func WithBlockTiles(n int) Option { return func(o *options) { o.blockTiles = n } }

// WithSplitBlocks makes Run split every block's transforms and GEMMs over
// all the workers (α²+2 synchronizations per block), the path of layers
// with fewer blocks than workers, instead of handing whole blocks to the
// workers. For tests and benchmarks: it is slower (ResNet-50's res2 3x3,
// F(4×4), two threads: 1306 µs against 508 µs) and gives the same bits.
func WithSplitBlocks() Option { return func(o *options) { o.splitBlocks = true } }

// withGoTransforms forces the pure-Go transforms (for tests and
// benchmarks of the assembly).
func withGoTransforms() Option { return func(o *options) { o.goOnly = true } }

// New plans spec as Winograd F(tile×tile, 3×3), tile = 2, 4 or 6. The
// weights are transformed (U = G g Gᵀ in float64, rounded once) and packed
// for ctx's ISA tier, which must be the active tier (as for gemm.PackA).
// ctx runs the α² GEMMs of each block of tiles; pool (nil: one thread) runs
// the transforms. Shapes Winograd does not handle give an error wrapping
// ErrUnsupported.
func New(spec kernels.ConvSpec, tileSize int, ctx *gemm.Context, pool *parallel.Pool, opts ...Option) (*Conv, error) {
	s := spec.Shape
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if tileSize != 2 && tileSize != 4 && tileSize != 6 {
		return nil, fmt.Errorf("winograd: tile size %d, want 2, 4 or 6", tileSize)
	}
	if s.KH != 3 || s.KW != 3 || s.StrideH != 1 || s.StrideW != 1 || s.DilH != 1 || s.DilW != 1 || s.Groups != 1 {
		return nil, fmt.Errorf("%w (got %v, dilation %dx%d)", ErrUnsupported, &s, s.DilH, s.DilW)
	}
	if len(spec.Weight) != s.WeightLen() {
		return nil, fmt.Errorf("winograd: %d weights for %v, want %d", len(spec.Weight), &s, s.WeightLen())
	}
	if spec.Bias != nil && len(spec.Bias) != s.OutC {
		return nil, fmt.Errorf("winograd: %d biases for %d output channels", len(spec.Bias), s.OutC)
	}
	if ctx.Tier() != isa.Active() {
		return nil, fmt.Errorf("winograd: gemm context is for tier %v, active tier is %v", ctx.Tier(), isa.Active())
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	mats := matsFor(tileSize)
	c := &Conv{s: s, m: tileSize, alpha: mats.alpha, a2: mats.alpha * mats.alpha,
		name: fmt.Sprintf("winograd-f%d", tileSize), bias: spec.Bias, relu: spec.ReLU,
		ctx: ctx, pool: pool, tier: ctx.Tier()}
	c.asm = haveAsm && c.tier >= isa.AVX2 && !o.goOnly
	c.planTiles()
	c.nb = o.blockTiles
	if c.nb <= 0 {
		c.nb = defaultBlock(c.alpha, s.InC, s.OutC, c.tier)
	}
	c.nb = min((c.nb+group-1)/group*group, (c.total+group-1)/group*group)
	c.vStride = s.InC*c.nb + 16
	c.mStride = s.OutC*c.nb + 16
	c.scratchLen = c.nb * c.m * c.m
	c.transformWeights(mats, spec.Weight)
	threads := pool.Threads()
	c.inTasks, c.outTasks, c.padTasks = 1, 1, 1
	if threads > 1 {
		c.inTasks = min(s.InC, 4*threads)
		c.outTasks = min(s.OutC, 4*threads)
		c.padTasks = min(s.N*s.InC, 4*threads)
	}
	// With at least one block per worker, each worker transforms,
	// multiplies (on its own single-threaded context, ctx.Worker) and
	// transforms back whole blocks: one pool.Run per call instead of α²+2
	// per block, each a synchronization of all workers.
	blocks := (c.total + c.nb - 1) / c.nb
	c.blockParallel = threads > 1 && ctx.Threads() == threads && blocks >= threads && !o.splitBlocks
	if c.blockParallel {
		c.planRuns(threads, blocks)
	}
	// Fewer blocks than workers (res4 and res5 3x3: 16 tiles): each worker
	// pads and transforms the whole input itself, then multiplies its own
	// rows of all α² products and transforms them back: one
	// synchronization per call where α²+2 per block were.
	c.rowSplit = threads > 1 && ctx.Threads() == threads && !c.blockParallel && !o.splitBlocks
	c.inFn, c.outFn, c.padFn, c.blockFn, c.rowFn = c.inputTask, c.outputTask, c.padTask, c.blockTask, c.rowTask
	return c, nil
}

// planRuns cuts the blocks into one contiguous run per worker with about
// equal numbers of tiles, and records the padded-input rows each run
// reads. Whole blocks keep the GEMMs those of one thread (the same bits);
// contiguous runs let each worker pad only its band of the input's rows
// and write one band of the output.
func (c *Conv) planRuns(parts, blocks int) {
	c.runs = make([]int, parts+1)
	for w := 1; w < parts; w++ {
		// The block boundary nearest to w/parts of the tiles, leaving
		// every part at least one block.
		b := (w*c.total/parts + c.nb/2) / c.nb
		c.runs[w] = min(max(b, c.runs[w-1]+1), blocks-(parts-w))
	}
	c.runs[parts] = blocks
	plane := c.hp * c.wp
	c.padRows = make([]int, 2*parts)
	for w := range parts {
		y0, y1 := c.hp, 0
		for t := c.runs[w] * c.nb; t < min(c.runs[w+1]*c.nb, c.total); t++ {
			y := c.pin[t] / 4 % plane / c.wp
			y0, y1 = min(y0, y), max(y1, y+c.alpha)
		}
		c.padRows[2*w], c.padRows[2*w+1] = y0, y1
	}
}

// blockBudget is the target size in bytes of one block's transformed input
// and GEMM output (V and M); see defaultBlock and the measurements in
// doc.go.
var blockBudget = 1 << 20

// defaultBlock is the number of tiles per block: as many as fit
// α²·(InC+OutC)·4 bytes each in blockBudget, rounded down to a multiple of
// the GEMM's column panel (16 floats; 32 on AVX-512), and at least one
// panel.
func defaultBlock(alpha, inC, outC int, tier isa.Tier) int {
	nr := 16
	if tier == isa.AVX512 {
		nr = 32
	}
	per := alpha * alpha * (inC + outC) * 4
	return max(blockBudget/per/nr*nr, nr)
}

// planTiles lays out the live window, the padded input and the tiles.
func (c *Conv) planTiles() {
	s := &c.s
	c.oy0, c.oy1 = max(0, s.PadH-2), min(s.OutH, s.H+s.PadH)
	c.ox0, c.ox1 = max(0, s.PadW-2), min(s.OutW, s.W+s.PadW)
	c.dead = c.oy0 > 0 || c.ox0 > 0 || c.oy1 < s.OutH || c.ox1 < s.OutW
	c.th = (c.oy1 - c.oy0 + c.m - 1) / c.m
	c.tw = (c.ox1 - c.ox0 + c.m - 1) / c.m
	c.total = s.N * c.th * c.tw
	c.pt, c.pl = s.PadH-c.oy0, s.PadW-c.ox0
	c.hp, c.wp = c.th*c.m+2, c.tw*c.m+2
	c.padLen = s.N*s.InC*c.hp*c.wp + 8

	n := (c.total + group - 1) / group * group
	c.pin, c.pout = make([]int, 0, n), make([]int, 0, n)
	c.mh, c.mw = make([]int, 0, n), make([]int, 0, n)
	add := func(b, ty, tx int) {
		oy, ox := c.oy0+ty*c.m, c.ox0+tx*c.m
		c.pin = append(c.pin, ((b*s.InC)*c.hp*c.wp+ty*c.m*c.wp+tx*c.m)*4)
		c.pout = append(c.pout, ((b*s.OutC)*s.OutH*s.OutW+oy*s.OutW+ox)*4)
		c.mh = append(c.mh, min(c.m, c.oy1-oy))
		c.mw = append(c.mw, min(c.m, c.ox1-ox))
	}
	full := func(ty, tx int) bool {
		return c.oy0+(ty+1)*c.m <= c.oy1 && c.ox0+(tx+1)*c.m <= c.ox1
	}
	for _, wantFull := range []bool{true, false} {
		for b := range s.N {
			for ty := range c.th {
				for tx := range c.tw {
					if full(ty, tx) == wantFull {
						add(b, ty, tx)
					}
				}
			}
		}
		if wantFull {
			c.nFull = len(c.pin)
		}
	}
	for len(c.pin) < n {
		last := len(c.pin) - 1
		c.pin, c.pout = append(c.pin, c.pin[last]), append(c.pout, c.pout[last])
		c.mh, c.mw = append(c.mh, 0), append(c.mw, 0)
	}
}

// transformWeights computes U_ξ[k][c] = (G g_kc Gᵀ)[ξ] and packs each U_ξ.
func (c *Conv) transformWeights(mats *tileMats, w []float32) {
	s := &c.s
	u := make([]float32, c.a2*s.OutC*s.InC)
	gm := mats.filterMat()
	// Transform a run of filters into tmp, then scatter each of the α²
	// elements as a contiguous run of u[xi]: writing the 64 elements of
	// one filter straight to their α² matrices touched α² cache lines
	// per filter.
	const run = 64
	var tmp [run * 64]float64
	filters := s.OutC * s.InC // filter f = k·InC + ci is row k, column ci of every U_ξ
	for f0 := 0; f0 < filters; f0 += run {
		n := min(run, filters-f0)
		for f := range n {
			mats.transformFilter(gm, w[(f0+f)*9:(f0+f+1)*9], tmp[f*c.a2:(f+1)*c.a2])
		}
		for xi := range c.a2 {
			dst := u[xi*filters+f0 : xi*filters+f0+n]
			for f := range dst {
				dst[f] = float32(tmp[f*c.a2+xi])
			}
		}
	}
	c.u = make([]*gemm.PackedA, c.a2)
	for xi := range c.a2 {
		c.u[xi] = gemm.PackA(u[xi*s.OutC*s.InC:(xi+1)*s.OutC*s.InC], s.OutC, s.InC, s.InC)
	}
}

// Name is "winograd-f2", "winograd-f4" or "winograd-f6".
func (c *Conv) Name() string { return c.name }

// Layout is NCHW.
func (c *Conv) Layout() kernels.Layout { return kernels.NCHW }

// Tile is the output tile size m.
func (c *Conv) Tile() int { return c.m }

// WorkspaceLen is the padded input, one block's transformed input V
// (α²·InC·nb) and GEMM output M (α²·OutC·nb), and per worker a buffer of
// nb raw output tiles (for the clipped tiles at the right and bottom);
// block-parallel, the padded input, V and M per worker too; split by rows,
// the padded input and V per worker.
func (c *Conv) WorkspaceLen() int {
	vm := c.a2 * (c.vStride + c.mStride)
	if c.blockParallel {
		return c.pool.Threads() * (c.padLen + vm + c.scratchLen)
	}
	if c.rowSplit {
		return c.pool.Threads()*(c.padLen+c.a2*c.vStride+c.scratchLen) + c.a2*c.mStride
	}
	return c.padLen + vm + c.pool.Threads()*c.scratchLen
}

// Run convolves the batch: pad the input, then block by block transform nb
// tiles of input, run the α² GEMMs M_ξ = U_ξ·V_ξ and transform back with
// the epilogue fused in the store.
func (c *Conv) Run(in, out, residual, ws []float32) {
	s := &c.s
	if len(in) < s.In().Elems() || len(out) < s.Out().Elems() || len(ws) < c.WorkspaceLen() {
		panic(fmt.Sprintf("winograd: Run: short buffers (in %d, out %d, ws %d)", len(in), len(out), len(ws)))
	}
	if residual != nil && len(residual) < s.Out().Elems() {
		panic(fmt.Sprintf("winograd: Run: residual has %d elements, want %d", len(residual), s.Out().Elems()))
	}
	j := &c.job
	j.in, j.out, j.res = in, out, residual
	off := 0
	next := func(n int) []float32 { off += n; return ws[off-n : off : off] }
	threads := c.pool.Threads()
	vm := c.a2 * (c.vStride + c.mStride)
	switch {
	case c.blockParallel:
		j.pad = next(threads * c.padLen) // per worker: padded input, V, M
		j.v = next(threads * vm)
	case c.rowSplit:
		j.pad = next(threads * c.padLen) // per worker: padded input, V
		j.v = next(threads * c.a2 * c.vStride)
		j.mb = next(c.a2 * c.mStride)
	default:
		j.pad = next(c.padLen)
		j.v = next(c.a2 * c.vStride)
		j.mb = next(c.a2 * c.mStride)
	}
	j.scratch = next(threads * c.scratchLen)
	if c.dead {
		c.fillDead(out, residual)
	}
	if c.blockParallel || c.rowSplit {
		fn := c.blockFn
		if c.rowSplit {
			fn = c.rowFn
		}
		c.pool.Run(threads, fn)
		*j = job{}
		return
	}
	c.pool.Run(c.padTasks, c.padFn)
	for t0 := 0; t0 < c.total; t0 += c.nb {
		j.t0, j.nt = t0, min(c.nb, c.total-t0)
		c.pool.Run(c.inTasks, c.inFn)
		c.gemms(c.ctx, j.v, j.mb, j.nt, 0, c.s.OutC)
		c.pool.Run(c.outTasks, c.outFn)
	}
	*j = job{}
}

// rowTask is part task of a rowSplit call: the worker pads and transforms
// the whole input into its own buffers, then for each block multiplies
// the α² products' rows (output channels) of that part on its own GEMM
// context and transforms the same channels back, which read only those
// rows of M. Transforming the input on every worker repeats 4–9 % of the
// work but reads nothing another core wrote: split over channels, each
// worker's GEMMs read half of V from the other core's cache (ResNet-50's
// res4 3x3 F(4×4), 25 alternated rounds in one process: 463 → 394 µs on
// two threads, 649 on one; res5 F(2×2) 630 → 557, 1035 on one).
func (c *Conv) rowTask(task, worker int) {
	j := &c.job
	m0, m1 := c.u[0].RowPart(task, c.pool.Threads())
	if m0 == m1 {
		return
	}
	pad := j.pad[worker*c.padLen : (worker+1)*c.padLen]
	c.padPlanes(pad, 0, c.s.N*c.s.InC, 0, c.hp, true)
	v := j.v[worker*c.a2*c.vStride : (worker+1)*c.a2*c.vStride]
	for t0 := 0; t0 < c.total; t0 += c.nb {
		nt := min(c.nb, c.total-t0)
		c.transformIn(pad, v, t0, nt, 0, c.s.InC)
		c.gemms(c.ctx.Worker(worker), v, j.mb, nt, m0, m1)
		c.transformOut(j.mb, c.scratchOf(worker), t0, nt, m0, m1)
	}
}

// gemms runs rows [m0, m1) of the α² products M_ξ = U_ξ·V_ξ of a block of
// nt tiles (all rows through ctx.Gemm, which may split them over ctx's
// threads; a part through ctx.GemmRows).
func (c *Conv) gemms(ctx *gemm.Context, v, mb []float32, nt, m0, m1 int) {
	if c.asm {
		// The assembly transforms write whole groups of 8 columns (the
		// missing tiles of the last group repeat a real one), so
		// multiply whole vectors: a partial one would take the GEMM's
		// slower edge path.
		nt = (nt + group - 1) / group * group
	}
	for xi := range c.a2 {
		if m0 == 0 && m1 == c.s.OutC {
			ctx.Gemm(c.u[xi], v[xi*c.vStride:], c.nb, nt, mb[xi*c.mStride:], c.nb, gemm.Epilogue{})
		} else {
			ctx.GemmRows(c.u[xi], m0, m1, v[xi*c.vStride:], c.nb, nt, mb[xi*c.mStride:], c.nb, gemm.Epilogue{})
		}
	}
}

// blockTask does the blocks of run part on one worker, with its own GEMM
// context and padded input, V, M and scratch buffers. It first pads the
// rows of the input its blocks read into its own buffer: read from one
// shared padded buffer that both had written half of, every block's
// transform read half of its input from the other core's cache (res2 3x3
// F(4×4), medians of 5 in one process: 444 µs per call on two threads and
// 565 on one, against 505 and 548 with one shared buffer); padding only
// its band of rows rather than the whole input, and taking a fixed run of
// blocks rather than the next free one, made ResNet-50's res2 3x3 layers
// 0.47–0.49 → 0.40 ms on two threads in the network (resbench profile,
// medians of 3 alternated runs).
func (c *Conv) blockTask(part, worker int) {
	j := &c.job
	pad := j.pad[worker*c.padLen : (worker+1)*c.padLen]
	c.padPlanes(pad, 0, c.s.N*c.s.InC, c.padRows[2*part], c.padRows[2*part+1], true)
	vm := c.a2 * (c.vStride + c.mStride)
	buf := j.v[worker*vm : (worker+1)*vm]
	v, mb := buf[:c.a2*c.vStride], buf[c.a2*c.vStride:]
	for b := c.runs[part]; b < c.runs[part+1]; b++ {
		t0 := b * c.nb
		nt := min(c.nb, c.total-t0)
		c.transformIn(pad, v, t0, nt, 0, c.s.InC)
		c.gemms(c.ctx.Worker(worker), v, mb, nt, 0, c.s.OutC)
		c.transformOut(mb, c.scratchOf(worker), t0, nt, 0, c.s.OutC)
	}
}

func (c *Conv) scratchOf(worker int) []float32 {
	return c.job.scratch[worker*c.scratchLen : (worker+1)*c.scratchLen]
}

// padTask copies planes [task·P/tasks, (task+1)·P/tasks) of the N·InC
// input planes into the zero-padded buffer.
func (c *Conv) padTask(task, _ int) {
	planes := c.s.N * c.s.InC
	c.padPlanes(c.job.pad, task*planes/c.padTasks, (task+1)*planes/c.padTasks, 0, c.hp, task == c.padTasks-1)
}

// padPlanes fills rows [y0, y1) of planes [p0, p1) of the zero-padded
// buffer pad from the input, and with last clears the slack after the
// last plane.
func (c *Conv) padPlanes(pad []float32, p0, p1, y0, y1 int, last bool) {
	s := &c.s
	planes := s.N * s.InC
	cols := min(s.W, c.wp-c.pl)
	for p := p0; p < p1; p++ {
		src := c.job.in[p*s.H*s.W : (p+1)*s.H*s.W]
		dst := pad[p*c.hp*c.wp : (p+1)*c.hp*c.wp]
		for py := y0; py < y1; py++ {
			row := dst[py*c.wp : (py+1)*c.wp]
			y := py - c.pt
			if y < 0 || y >= s.H {
				clear(row)
				continue
			}
			// The borders are a few floats: index loops, not memclr
			// calls (which cost more than the copy of a 56-float row).
			for x := 0; x < c.pl; x++ {
				row[x] = 0
			}
			copy(row[c.pl:c.pl+cols], src[y*s.W:y*s.W+cols])
			for x := c.pl + cols; x < len(row); x++ {
				row[x] = 0
			}
		}
	}
	if last {
		clear(pad[planes*c.hp*c.wp:]) // the slack read by 16-byte loads
	}
}

// fillDead stores the outputs outside the live window: their convolution
// is exactly 0, so they are the epilogue alone.
func (c *Conv) fillDead(out, residual []float32) {
	s := &c.s
	plane := s.OutH * s.OutW
	for n := range s.N {
		for k := range s.OutC {
			var bias float32
			if c.bias != nil {
				bias = c.bias[k]
			}
			off := (n*s.OutC + k) * plane
			for oy := range s.OutH {
				for ox := range s.OutW {
					if oy >= c.oy0 && oy < c.oy1 && ox >= c.ox0 && ox < c.ox1 {
						continue
					}
					v := bias
					if residual != nil {
						v += residual[off+oy*s.OutW+ox]
					}
					if c.relu && v < 0 {
						v = 0
					}
					out[off+oy*s.OutW+ox] = v
				}
			}
		}
	}
}

// inputTask transforms the current block for input channels
// [task·InC/tasks, (task+1)·InC/tasks).
func (c *Conv) inputTask(task, _ int) {
	j := &c.job
	c.transformIn(j.pad, j.v, j.t0, j.nt, task*c.s.InC/c.inTasks, (task+1)*c.s.InC/c.inTasks)
}

// transformIn computes V[ξ][c][j] (row stride nb) for tiles t0+j, j < nt,
// and input channels [c0, c1), from the padded input pad.
func (c *Conv) transformIn(pad, v []float32, t0, nt, c0, c1 int) {
	chanPad := c.hp * c.wp
	ds := uintptr(c.vStride) * 4
	rs := c.wp * 4
	if c.asm {
		f := inputAVX2[c.m]
		groups := (nt + group - 1) / group
		for ci := c0; ci < c1; ci++ {
			f(&pad[ci*chanPad], &c.pin[t0], groups, rs, &v[ci*c.nb], int(ds))
		}
		return
	}
	pin := c.pin[t0 : t0+nt]
	for ci := c0; ci < c1; ci++ {
		src := unsafe.Pointer(&pad[ci*chanPad])
		dst := unsafe.Pointer(&v[ci*c.nb])
		for jt, off := range pin {
			inputTile(c.m, unsafe.Add(src, off), uintptr(rs), unsafe.Add(dst, jt*4), ds)
		}
	}
}

// outputTask transforms the current block back for output channels
// [task·OutC/tasks, (task+1)·OutC/tasks).
func (c *Conv) outputTask(task, worker int) {
	j := &c.job
	c.transformOut(j.mb, c.scratchOf(worker), j.t0, j.nt, task*c.s.OutC/c.outTasks, (task+1)*c.s.OutC/c.outTasks)
}

// transformOut computes Y = Aᵀ M A for tiles t0+j, j < nt, and output
// channels [k0, k1) and stores them with the epilogue.
func (c *Conv) transformOut(mb, scratch []float32, t0, nt, k0, k1 int) {
	s := &c.s
	j := &c.job
	plane := s.OutH * s.OutW
	ss := c.mStride * 4
	var y [36]float32
	for k := k0; k < k1; k++ {
		var bias float32
		if c.bias != nil {
			bias = c.bias[k]
		}
		var res []float32
		if j.res != nil {
			res = j.res[k*plane:]
		}
		out := j.out[k*plane:]
		src := unsafe.Pointer(&mb[k*c.nb])
		if !c.asm {
			for jt := 0; jt < nt; jt++ {
				outputTile(c.m, unsafe.Add(src, jt*4), uintptr(ss), &y)
				c.store(&y, t0+jt, out, res, bias)
			}
			continue
		}
		// Groups of full tiles go straight to the output; the rest (the
		// clipped tiles, the last group if partial) as raw tiles to
		// scratch, clipped and stored by store.
		fast := max(0, min(nt, c.nFull-t0)) / group
		if fast > 0 {
			v := 0
			var rp *float32
			if res != nil {
				v, rp = 2, &res[0]
			}
			if c.relu {
				v++
			}
			outputAVX2[c.m][v]((*float32)(src), ss, fast, &out[0], &c.pout[t0], s.OutW*4, rp, bias)
		}
		first := fast * group
		if first == nt {
			continue
		}
		groups := (nt - first + group - 1) / group
		outputRawAVX2[c.m]((*float32)(unsafe.Add(src, first*4)), ss, groups, &scratch[0])
		for jt := first; jt < nt; jt++ {
			copy(y[:c.m*c.m], scratch[(jt-first)*c.m*c.m:])
			c.store(&y, t0+jt, out, res, bias)
		}
	}
}

// store writes tile t (of the batch) of one output channel; out and res
// start at that channel of image 0.
func (c *Conv) store(y *[36]float32, t int, out, res []float32, bias float32) {
	off := c.pout[t] / 4
	if res != nil {
		res = res[off:]
	}
	storeTile(y, c.m, c.mh[t], c.mw[t], out[off:], res, c.s.OutW, bias, c.relu)
}
