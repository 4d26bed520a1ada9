package direct

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/kernels/naive"
	"github.com/resbench/resbench/kernels/parallel"
)

// asmFamilies returns the microkernel families to test, by tier: the
// assembly ones this CPU can run, and under noasm the pure-Go twins of
// every tier (which the planner never calls, so only these tests check
// them; they call refKernel with their family's constants, so those
// constants are what is checked). It fails the test if a tier's table is
// empty.
func asmFamilies(t *testing.T) map[isa.Tier][]family {
	t.Helper()
	m := map[isa.Tier][]family{}
	for _, tier := range []isa.Tier{isa.AVX2, isa.AVX512} {
		if isa.Supported(tier) || goTwins {
			m[tier] = tierFamilies(tier)
			if len(m[tier]) == 0 {
				t.Fatalf("no %v microkernel families", tier)
			}
		} else {
			t.Logf("CPU lacks %v: its microkernels are not run", tier)
		}
	}
	if len(m) == 0 {
		t.Skip("this CPU has no vector tier; no microkernels to run")
	}
	return m
}

// TestMicroKernels runs every microkernel the CPU supports (AVX-512 ones
// only on AVX-512 CPUs) against refKernel on random operands: every tile
// height, two strips, several input blocks, kernel rows and columns,
// strided pixels, gaps between output blocks, and every epilogue flag. The
// output buffer starts random and is compared everywhere, so a store
// outside the tile is caught too.
func TestMicroKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for tier, fams := range asmFamilies(t) {
		for _, f := range fams {
			for p := 1; p <= f.pmax; p++ {
				t.Run(fmt.Sprintf("%v/%s/p=%d", tier, f.name, p), func(t *testing.T) {
					testMicroKernel(t, rng, f, p)
				})
			}
		}
	}
}

func testMicroKernel(t *testing.T, rng *rand.Rand, f family, p int) {
	const nstrips, nicb, nkh, nkw = 2, 2, 2, 3
	vl, T, icn := f.vl, f.t(), f.icn
	pix := 2 * vl // stride 2
	if f.slide > 0 {
		pix = f.slide * vl // the only stride a sliding kernel computes
	}
	kwS := vl                              // dilation 1
	width := nstrips*p*2 + nkw + 1         // input row length in pixels
	khS := width * vl                      // one input row
	icbS := (nkh + 1) * khS                // one input block (a spare row)
	wkh := (nkw + 1) * icn * T             // a spare kernel column
	wicb := (nkh + 1) * wkh                // a spare kernel row
	dstBlk := (nstrips*p + 3) * vl         // gap between output blocks
	src := randSlice(rng, nicb*icbS+vl)    // +vl: grouped families read whole vectors
	wts := randSlice(rng, nicb*wicb)       //
	bias := randSlice(rng, T)              //
	res := randSlice(rng, f.nvec*dstBlk)   //
	init := randSlice(rng, f.nvec*dstBlk)  //
	got := make([]float32, f.nvec*dstBlk)  //
	want := make([]float32, f.nvec*dstBlk) //
	nflags := 16
	if f.slide > 0 {
		nflags = 64 // and the border clips
	}
	for flags := 0; flags < nflags; flags++ {
		copy(got, init)
		copy(want, init)
		f.kern[p](&src[0], &wts[0], &got[0], nstrips, nicb, nkh, nkw, pix, kwS, khS, icbS, wkh, wicb, dstBlk, &bias[0], &res[0], flags)
		refKernel(p, T, vl, icn, f.group, &src[0], &wts[0], &want[0], nstrips, nicb, nkh, nkw, pix, kwS, khS, icbS, wkh, wicb, dstBlk, &bias[0], &res[0], flags)
		for i := range got {
			// Sums of ≤ 2·2·3·16 products of values in (-1, 1):
			// float32 rounding stays far below 1e-4.
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4) {
				t.Fatalf("flags %04b: dst[%d] = %v, want %v", flags, i, got[i], want[i])
			}
		}
	}
	// No taps (a fully clipped window): only the epilogue.
	copy(got, init)
	copy(want, init)
	f.kern[p](&src[0], &wts[0], &got[0], 1, nicb, 0, nkw, pix, kwS, khS, icbS, wkh, wicb, dstBlk, &bias[0], &res[0], flagAccumulate|flagBias|flagReLU)
	refKernel(p, T, vl, icn, f.group, &src[0], &wts[0], &want[0], 1, nicb, 0, nkw, pix, kwS, khS, icbS, wkh, wicb, dstBlk, &bias[0], &res[0], flagAccumulate|flagBias|flagReLU)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("no taps: dst[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// knobs are the planning alternatives; every combination must compute the
// same convolution.
type knobs struct {
	name                       string
	padMaxOutW, flattenMaxPlne int
	chunk, maxWidth            int
	noGroupPermute, noSlide    bool
	noTileCopy, noRowTiles     bool
}

var defaultKnobs = knobs{"default", padMaxOutW, flattenMaxPlane, weightChunkBytes, maxWidth, noGroupPermute, noSlide, noTileCopy, noRowTiles}

func (k knobs) set() (restore func()) {
	old := knobs{"", padMaxOutW, flattenMaxPlane, weightChunkBytes, maxWidth, noGroupPermute, noSlide, noTileCopy, noRowTiles}
	padMaxOutW, flattenMaxPlane, weightChunkBytes, maxWidth, noGroupPermute, noSlide, noTileCopy, noRowTiles = k.padMaxOutW, k.flattenMaxPlne, k.chunk, k.maxWidth, k.noGroupPermute, k.noSlide, k.noTileCopy, k.noRowTiles
	return func() { old.set() }
}

func knobVariants() []knobs {
	d := defaultKnobs
	v := []knobs{d}
	add := func(name string, f func(k *knobs)) {
		k := d
		k.name = name
		f(&k)
		v = append(v, k)
	}
	add("border-passes", func(k *knobs) { k.padMaxOutW = 0 })
	add("padded-copy", func(k *knobs) { k.padMaxOutW = 1 << 30 })
	add("no-flatten", func(k *knobs) { k.flattenMaxPlne = 0 })
	add("one-block-chunks", func(k *knobs) { k.chunk = 1 })
	add("one-block-chunks+border-passes", func(k *knobs) { k.chunk, k.padMaxOutW = 1, 0 })
	add("width1", func(k *knobs) { k.maxWidth = 1 })
	add("width2", func(k *knobs) { k.maxWidth = 2 })
	add("no-group-permute", func(k *knobs) { k.noGroupPermute = true })
	add("no-slide", func(k *knobs) { k.noSlide = true })
	add("no-slide+padded-copy", func(k *knobs) { k.noSlide, k.padMaxOutW = true, 1<<30 })
	add("no-slide+padded-copy+no-tile-copy", func(k *knobs) { k.noSlide, k.padMaxOutW, k.noTileCopy = true, 1<<30, true })
	add("width1+border-passes", func(k *knobs) { k.maxWidth, k.padMaxOutW = 1, 0 })
	add("no-row-tiles+no-flatten", func(k *knobs) { k.noRowTiles, k.flattenMaxPlne = true, 0 })
	add("one-block-chunks+no-flatten", func(k *knobs) { k.chunk, k.flattenMaxPlne = 1, 0 })
	return v
}

// TestPlans runs the conformance edge cases through every planning
// alternative (border passes or padded copy, flattened 1×1 planes, input
// channel chunks, tile widths, group4/group8) on every ISA tier, with the full
// epilogue, against the float64 reference; it also checks that the
// padding channels of the output are written as zero.
func TestPlans(t *testing.T) {
	for _, k := range knobVariants() {
		t.Run("plan="+k.name, func(t *testing.T) {
			defer k.set()()
			kerneltest.ForEachTier(t, func(t *testing.T, _ isa.Tier) {
				for _, sh := range kerneltest.EdgeShapes {
					checkConv(t, sh.ConvShape(), nil)
				}
			})
		})
	}
}

// checkConv runs one convolution (bias, residual, ReLU) with the direct
// kernel on pool and compares it with the float64 reference.
func checkConv(t *testing.T, s kernels.ConvShape, pool *parallel.Pool) []float32 {
	t.Helper()
	return checkConvWith(t, s, func(spec kernels.ConvSpec) (*Conv, error) { return New(spec, pool) })
}

// checkConvWith is checkConv with the Conv made by mk.
func checkConvWith(t *testing.T, s kernels.ConvShape, mk func(kernels.ConvSpec) (*Conv, error)) []float32 {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(s.InC), uint64(s.OutC*s.KH)))
	in := randSlice(rng, s.In().Elems())
	w := randSlice(rng, s.WeightLen())
	bias := randSlice(rng, s.OutC)
	res := randSlice(rng, s.Out().Elems())
	c, err := mk(kernels.ConvSpec{Shape: s, Weight: w, Bias: bias, ReLU: true})
	if err != nil {
		t.Fatalf("%v: %v", &s, err)
	}
	l := c.Layout()
	bin, bres, bout := kernels.Alloc(l.Elems(s.In())), kernels.Alloc(l.Elems(s.Out())), kernels.Alloc(l.Elems(s.Out()))
	kernels.ToBlocked(l, s.In(), in, bin)
	kernels.ToBlocked(l, s.Out(), res, bres)
	for i := range bout {
		bout[i] = float32(math.NaN())
	}
	c.Run(bin, bout, bres, kernels.Alloc(c.WorkspaceLen()))
	got := make([]float32, s.Out().Elems())
	kernels.FromBlocked(l, s.Out(), bout, got)

	wide := kerneltest.Float64s
	want := make([]float64, len(got))
	cond := make([]float64, len(got))
	naive.Conv2D(&s, wide(in, false), wide(w, false), wide(bias, false), wide(res, false), true, want)
	naive.Conv2D(&s, wide(in, true), wide(w, true), wide(bias, true), wide(res, true), false, cond)
	for i, g := range got {
		if e := math.Abs(float64(g) - want[i]); !(e <= 1e-5*cond[i]+1e-30) {
			t.Fatalf("%s %v: output %d = %v, want %v", c.Name(), &s, i, g, want[i])
		}
	}
	// Padding lanes of the last block: zero (the residual's are zero).
	b := l.Block()
	ocb := (s.OutC + b - 1) / b
	plane := s.OutH * s.OutW
	for n := 0; n < s.N; n++ {
		for p := 0; p < plane; p++ {
			for j := s.OutC - (ocb-1)*b; j < b; j++ {
				if v := bout[((n*ocb+ocb-1)*plane+p)*b+j]; v != 0 {
					t.Fatalf("%s %v: padding lane %d of pixel %d = %v, want 0", c.Name(), &s, j, p, v)
				}
			}
		}
	}
	return bout
}

// threadShapes are convolutions that exercise every kind of task split.
var threadShapes = []kernels.ConvShape{
	{N: 2, InC: 24, H: 30, W: 30, OutC: 40, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
	{N: 1, InC: 64, H: 14, W: 14, OutC: 96, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	{N: 1, InC: 3, H: 45, W: 45, OutC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3},
	{N: 1, InC: 128, H: 12, W: 12, OutC: 128, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 32},
	// A flattened 7×7 plane (prefetchNext) with an odd number of tiles,
	// so that worker ranges end mid-way through the tiles.
	{N: 1, InC: 96, H: 7, W: 7, OutC: 80, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
}

// TestThreadsIdentical: the result does not depend on the number of
// threads, bit for bit.
func TestThreadsIdentical(t *testing.T) {
	for _, s := range threadShapes {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		one := checkConv(t, s, nil)
		for _, th := range []int{2, 3} {
			pool := parallel.New(th)
			got := checkConv(t, s, pool)
			pool.Close()
			for i := range one {
				if math.Float32bits(got[i]) != math.Float32bits(one[i]) {
					t.Fatalf("%v: %d threads: out[%d] = %v, one thread %v", &s, th, i, got[i], one[i])
				}
			}
		}
	}
}

// TestRunAllocs: Run allocates nothing, inline or on a pool, with or
// without the padded copy.
func TestRunAllocs(t *testing.T) {
	for _, s := range threadShapes {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, th := range []int{1, 2} {
			pool := parallel.New(th)
			rng := rand.New(rand.NewPCG(1, 2))
			c, err := New(kernels.ConvSpec{Shape: s, Weight: randSlice(rng, s.WeightLen()), Bias: randSlice(rng, s.OutC), ReLU: true}, pool)
			if err != nil {
				t.Fatal(err)
			}
			l := c.Layout()
			in, out, res := kernels.Alloc(l.Elems(s.In())), kernels.Alloc(l.Elems(s.Out())), kernels.Alloc(l.Elems(s.Out()))
			ws := kernels.Alloc(c.WorkspaceLen())
			if a := testing.AllocsPerRun(10, func() { c.Run(in, out, res, ws) }); a != 0 {
				t.Errorf("%v, %d threads: %v allocations per Run", &s, th, a)
			}
			pool.Close()
		}
	}
}

// TestUnsupported: a kernel so large that one strip of one input block
// would be a long non-preemptible assembly call is refused with
// ErrUnsupported; a bad weight count is an error but not ErrUnsupported.
func TestUnsupported(t *testing.T) {
	s := kernels.ConvShape{N: 1, InC: 16, H: 80, W: 80, OutC: 32, KH: 80, KW: 80, StrideH: 1, StrideW: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := New(kernels.ConvSpec{Shape: s, Weight: make([]float32, s.WeightLen())}, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("80×80 kernel: got %v, want ErrUnsupported", err)
	}
	s.KH, s.KW = 3, 3
	_, err = New(kernels.ConvSpec{Shape: s, Weight: make([]float32, 5)}, nil)
	if err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("5 weights: got %v, want a plain error", err)
	}
}

// TestLayout: nChw16c exactly on the AVX-512 tier.
func TestLayout(t *testing.T) {
	kerneltest.ForEachTier(t, func(t *testing.T, tier isa.Tier) {
		s := kernels.ConvShape{N: 1, InC: 8, H: 4, W: 4, OutC: 8, KH: 1, KW: 1, StrideH: 1, StrideW: 1}
		c, err := New(kernels.ConvSpec{Shape: s, Weight: make([]float32, 64)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := kernels.NCHW8c
		if tier == isa.AVX512 {
			want = kernels.NCHW16c
		}
		if c.Layout() != want || ActiveLayout() != want || c.Tier() != tier {
			t.Errorf("tier %v: layout %v (active %v), tier %v; want %v", tier, c.Layout(), ActiveLayout(), c.Tier(), want)
		}
	})
}

// TestSlidePlans checks that 3×3 convolutions with one-vector tiles (groups
// of 4 and 8 channels) plan whole rows of sliding calls, border pixels
// included (clipped), and compute the float64 reference on every ISA tier:
// row widths from 1 (both clips on one pixel) to past two strips, strides
// 1 and 2, even and odd widths, padding 1 and 0.
func TestSlidePlans(t *testing.T) {
	for _, sh := range []kerneltest.Shape{
		{InC: 32, H: 3, W: 1, OutC: 32, K: 3, Stride: 1, Pad: 1, Groups: 8},
		{InC: 32, H: 2, W: 2, OutC: 32, K: 3, Stride: 1, Pad: 1, Groups: 4},
		{InC: 16, H: 4, W: 30, OutC: 16, K: 3, Stride: 1, Pad: 1, Groups: 4},
		{InC: 16, H: 3, W: 27, OutC: 16, K: 3, Stride: 2, Pad: 1, Groups: 2},
		{InC: 16, H: 5, W: 28, OutC: 16, K: 3, Stride: 2, Pad: 1, Groups: 2},
		{InC: 16, H: 5, W: 17, OutC: 16, K: 3, Stride: 1, Pad: 0, Groups: 4},
		{InC: 16, H: 4, W: 9, OutC: 16, K: 3, Stride: 2, Pad: 0, Groups: 2},
	} {
		s := sh.ConvShape()
		t.Run(s.String(), func(t *testing.T) {
			kerneltest.ForEachTier(t, func(t *testing.T, tier isa.Tier) {
				c, err := New(kernels.ConvSpec{Shape: s, Weight: make([]float32, s.WeightLen())}, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, tl := range c.tiles {
					if tl.slide == nil {
						t.Fatalf("tile %d of %s has no sliding kernels", tl.ob0, c.name)
					}
					for _, h := range tl.plan {
						if h.nkw != 3 || h.p > tl.slide.pmax {
							t.Fatalf("row plan has a per-tap call %+v", h)
						}
					}
				}
				checkConv(t, s, nil)
			})
		})
	}
}

// TestAVX512PlansWithReferenceKernels plans every edge shape and the
// sliding-window shapes for the AVX-512 tier (nChw16c, its tile families,
// sliding and grouped families included) with refKernel standing in for each
// assembly kernel, so the planning and row code of that tier runs on CPUs
// without AVX-512; the kernels themselves come from the generator path the
// AVX2 tests execute.
func TestAVX512PlansWithReferenceKernels(t *testing.T) {
	fams := refFamilies(familiesAVX512, "ref")
	pool := parallel.New(2)
	defer pool.Close()
	shapes := append([]kerneltest.Shape(nil), kerneltest.EdgeShapes...)
	shapes = append(shapes,
		kerneltest.Shape{InC: 64, H: 9, W: 30, OutC: 64, K: 3, Stride: 1, Pad: 1, Groups: 16},
		kerneltest.Shape{InC: 64, H: 9, W: 31, OutC: 64, K: 3, Stride: 2, Pad: 1, Groups: 4},
		kerneltest.Shape{InC: 32, H: 5, W: 17, OutC: 32, K: 3, Stride: 1, Pad: 1, Groups: 2},
	)
	for i, sh := range shapes {
		mustSlide := i >= len(kerneltest.EdgeShapes) // the three added above
		for _, p := range []*parallel.Pool{nil, pool} {
			checkConvWith(t, sh.ConvShape(), func(spec kernels.ConvSpec) (*Conv, error) {
				c, err := newFor(spec, p, isa.AVX512, fams)
				if err != nil {
					return nil, err
				}
				if c.Layout() != kernels.NCHW16c {
					t.Fatalf("AVX-512 plan in layout %v", c.Layout())
				}
				for _, tl := range c.tiles {
					if mustSlide && tl.slide == nil {
						t.Fatalf("%v: AVX-512 tile %d does not slide", &spec.Shape, tl.ob0)
					}
				}
				return c, err
			})
		}
	}
}

// TestSubsampledPlan checks which strided 1×1 convolutions direct computes
// as a subsample then a stride-1 conv: unpadded ones whose output plane
// is flattened, not padded ones, stride-1 ones or large planes.
func TestSubsampledPlan(t *testing.T) {
	for _, tc := range []struct {
		s    kernels.ConvShape
		want bool
	}{
		{kernels.ConvShape{N: 1, InC: 1024, H: 14, W: 14, OutC: 2048, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, true},
		{kernels.ConvShape{N: 1, InC: 256, H: 56, W: 56, OutC: 512, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, true},
		{kernels.ConvShape{N: 1, InC: 64, H: 9, W: 10, OutC: 64, KH: 1, KW: 1, StrideH: 3, StrideW: 2}, true},
		{kernels.ConvShape{N: 1, InC: 256, H: 112, W: 112, OutC: 512, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, false},
		{kernels.ConvShape{N: 1, InC: 1024, H: 14, W: 14, OutC: 2048, KH: 1, KW: 1, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, false},
		{kernels.ConvShape{N: 1, InC: 64, H: 7, W: 7, OutC: 64, KH: 1, KW: 1, StrideH: 1, StrideW: 1}, false},
		{kernels.ConvShape{N: 1, InC: 64, H: 14, W: 14, OutC: 64, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, false},
	} {
		if err := tc.s.Validate(); err != nil {
			t.Fatal(err)
		}
		inner, got := subsampled(tc.s)
		if got != tc.want {
			t.Errorf("subsampled(%v) = %v, want %v", &tc.s, got, tc.want)
		}
		if got && (inner.H != tc.s.OutH || inner.W != tc.s.OutW || inner.OutH != tc.s.OutH || inner.OutW != tc.s.OutW || inner.StrideH != 1 || inner.StrideW != 1) {
			t.Errorf("subsampled(%v) inner shape %v", &tc.s, &inner)
		}
	}
}
