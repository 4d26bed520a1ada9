package winograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/kernels/peak"
)

// benchLayers are ResNet-50's 3x3 stride-1 convolutions (the second conv
// of every bottleneck but the first of a stage), batch 1.
var benchLayers = []struct {
	name    string
	c, h, w int
}{
	{"res2-3x3", 64, 56, 56},
	{"res3-3x3", 128, 28, 28},
	{"res4-3x3", 256, 14, 14},
	{"res5-3x3", 512, 7, 7},
}

var (
	peakOnce sync.Once
	peakVal  float64
)

// fmaPeak is the single-thread FMA peak of the active tier, measured once
// per process (kernels/peak), so %peak is relative to the machine state of
// the same run.
func fmaPeak() float64 {
	peakOnce.Do(func() { peakVal = peak.FMAPeak(isa.Active(), 300*time.Millisecond) })
	return peakVal
}

// benchSpec is a layer with random weights, bias and ReLU (conv+BN+ReLU).
func benchSpec(n, c, h, w int) kernels.ConvSpec {
	s := kernels.ConvShape{N: n, InC: c, H: h, W: w, OutC: c, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(uint64(c), uint64(h)))
	spec := kernels.ConvSpec{Shape: s, Weight: make([]float32, s.WeightLen()), Bias: make([]float32, c), ReLU: true}
	for i := range spec.Weight {
		spec.Weight[i] = (rng.Float32()*2 - 1) * 0.05
	}
	for i := range spec.Bias {
		spec.Bias[i] = rng.Float32() - 0.5
	}
	return spec
}

// BenchmarkConv times the Winograd convolutions and, as the baseline,
// im2col + the same GEMM (im2colConv below) on ResNet-50's 3x3 stride-1
// layers, single-threaded. GFLOP/s is the effective rate 2·(direct-conv
// MACs)/time from the MEDIAN call (the machine is shared; the mean is
// ns/op); %peak is relative to the FMA peak measured in the same process.
func BenchmarkConv(b *testing.B) { benchLayersAll(b, 1) }

// BenchmarkConvThreads is BenchmarkConv with a pool of two threads (%peak
// is still relative to one core's peak). Winograd runs in both modes:
// mode=ctx parallelizes each transform and GEMM over the pool
// (WithSplitBlocks); mode=workers hands whole blocks to the workers.
func BenchmarkConvThreads(b *testing.B) { benchLayersAll(b, 2) }

func benchLayersAll(b *testing.B, threads int) {
	for _, l := range benchLayers {
		for _, kernel := range []string{"im2col", "winograd-f2", "winograd-f4", "winograd-f6"} {
			modes := []string{""}
			if threads > 1 && kernel != "im2col" {
				modes = []string{"/mode=ctx", "/mode=workers"}
			}
			for _, mode := range modes {
				name := fmt.Sprintf("kernel=%s%s/layer=%s/batch=1", kernel, mode, l.name)
				if threads != 1 {
					name += fmt.Sprintf("/threads=%d", threads)
				}
				b.Run(name, func(b *testing.B) {
					benchConv(b, kernel, benchSpec(1, l.c, l.h, l.w), threads, mode == "/mode=workers")
				})
			}
		}
	}
}

func newBenchConv(kernel string, spec kernels.ConvSpec, ctx *gemm.Context, pool *parallel.Pool, opts ...Option) kernels.Conv {
	if kernel == "im2col" {
		return newIm2colConv(spec, ctx, pool)
	}
	var tile int
	fmt.Sscanf(kernel, "winograd-f%d", &tile)
	c, err := New(spec, tile, ctx, pool, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

func benchConv(b *testing.B, kernel string, spec kernels.ConvSpec, threads int, workers bool, opts ...Option) {
	pk := fmaPeak()
	pool := parallel.New(threads)
	defer pool.Close()
	if !workers {
		opts = append(opts, WithSplitBlocks())
	}
	conv := newBenchConv(kernel, spec, gemm.NewContext(pool), pool, opts...)
	s := spec.Shape
	rng := rand.New(rand.NewPCG(1, 2))
	in := kernels.Alloc(s.In().Elems())
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	out := kernels.Alloc(s.Out().Elems())
	ws := kernels.Alloc(conv.WorkspaceLen())
	conv.Run(in, out, nil, ws) // warm up
	flops := 2 * float64(s.MACs())
	times := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range times {
		t0 := time.Now()
		conv.Run(in, out, nil, ws)
		times[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(times)
	gf := flops / times[len(times)/2].Seconds() / 1e9
	b.ReportMetric(gf, "GFLOP/s")
	b.ReportMetric(100*gf/pk, "%peak")
}

// im2colConv is the baseline: unfold the input into the (InC·9) × (OutH·OutW)
// matrix, then one GEMM with the weights packed at plan time and the
// epilogue in the GEMM's store. Single image per GEMM; stride 1 and one
// group only (the benchmark layers).
type im2colConv struct {
	s    kernels.ConvShape
	pa   *gemm.PackedA
	ctx  *gemm.Context
	pool *parallel.Pool // runs the unfolding, split by rows
	bias []float32
	relu bool
}

func newIm2colConv(spec kernels.ConvSpec, ctx *gemm.Context, pool *parallel.Pool) *im2colConv {
	s := spec.Shape
	k := s.InC * s.KH * s.KW
	return &im2colConv{s: s, pa: gemm.PackA(spec.Weight, s.OutC, k, k), ctx: ctx, pool: pool, bias: spec.Bias, relu: spec.ReLU}
}

func (c *im2colConv) Name() string           { return "im2col" }
func (c *im2colConv) Layout() kernels.Layout { return kernels.NCHW }
func (c *im2colConv) WorkspaceLen() int {
	return c.s.InC * c.s.KH * c.s.KW * c.s.OutH * c.s.OutW
}

func (c *im2colConv) Run(in, out, residual, ws []float32) {
	s := &c.s
	cols := s.OutH * s.OutW
	kdim := s.InC * s.KH * s.KW
	for n := range s.N {
		src := in[n*s.InC*s.H*s.W:]
		tasks := c.pool.Threads()
		c.pool.Run(tasks, func(task, _ int) { c.unfold(src, ws, task*kdim/tasks, (task+1)*kdim/tasks) })
		off := n * s.OutC * cols
		ep := gemm.Epilogue{Bias: c.bias, ReLU: c.relu}
		if residual != nil {
			ep.Residual, ep.LDR = residual[off:off+s.OutC*cols], cols
		}
		c.ctx.Gemm(c.pa, ws, cols, cols, out[off:off+s.OutC*cols], cols, ep)
	}
}

// unfold writes rows [r0, r1) of the unfolded matrix of one image.
func (c *im2colConv) unfold(src, ws []float32, r0, r1 int) {
	s := &c.s
	cols := s.OutH * s.OutW
	for r := r0; r < r1; r++ {
		ci, tap := r/(s.KH*s.KW), r%(s.KH*s.KW)
		kh, kw := tap/s.KW, tap%s.KW
		row := ws[r*cols : (r+1)*cols]
		plane := src[ci*s.H*s.W : (ci+1)*s.H*s.W]
		for oy := range s.OutH {
			iy := oy - s.PadH + kh
			dst := row[oy*s.OutW : (oy+1)*s.OutW]
			if iy < 0 || iy >= s.H {
				clear(dst)
				continue
			}
			// Stride 1: output column ox reads input column ox+off;
			// [lo, hi) are the ones inside the image.
			off := kw - s.PadW
			lo, hi := min(max(-off, 0), s.OutW), min(max(s.W-off, 0), s.OutW)
			hi = max(hi, lo)
			clear(dst[:lo])
			copy(dst[lo:hi], plane[iy*s.W+lo+off:iy*s.W+hi+off])
			clear(dst[hi:])
		}
	}
}

// BenchmarkBlockTiles is the tool that chose blockBudget: the machine is
// shared and noisy, so instead of one sub-benchmark per setting it
// interleaves. In each of many rounds every block size runs every layer a
// few times (single thread), and the median and the best time per (tile,
// layer, block) over all rounds are logged with the default's (go test
// -run x -bench BlockTiles -v); under interference from other processes
// the best time is the steadier estimate of a setting's own speed. The
// metric reported is the default block's geometric mean GFLOP/s (median)
// over the layers and tile sizes.
func BenchmarkBlockTiles(b *testing.B) {
	cands := []int{16, 32, 48, 64, 96, 128, 192, 256}
	type key struct{ tile, layer, nb int }
	times := map[key][]float64{}
	type plan struct {
		k     key
		conv  *Conv
		in    []float32
		out   []float32
		ws    []float32
		flops float64
	}
	var plans []plan
	ctx := gemm.NewContext(nil)
	for _, tile := range Tiles {
		for li, l := range benchLayers {
			spec := benchSpec(1, l.c, l.h, l.w)
			s := spec.Shape
			in := kernels.Alloc(s.In().Elems())
			for i := range in {
				in[i] = float32(i%7) - 3
			}
			for _, nb := range append([]int{0}, cands...) {
				c, err := New(spec, tile, ctx, nil, WithBlockTiles(nb))
				if err != nil {
					b.Fatal(err)
				}
				if nb != 0 && nb > c.total+15 {
					continue
				}
				plans = append(plans, plan{key{tile, li, nb}, c, in, kernels.Alloc(s.Out().Elems()),
					kernels.Alloc(c.WorkspaceLen()), 2 * float64(s.MACs())})
			}
		}
	}
	rounds := max(b.N, 5)
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for _, p := range plans {
			p.conv.Run(p.in, p.out, nil, p.ws)
			for rep := 0; rep < 3; rep++ {
				t0 := time.Now()
				p.conv.Run(p.in, p.out, nil, p.ws)
				times[p.k] = append(times[p.k], time.Since(t0).Seconds())
			}
		}
	}
	b.StopTimer()
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	logSum, n := 0.0, 0
	for _, p := range plans {
		gf := p.flops / med(times[p.k]) / 1e9
		best := p.flops / slices.Min(times[p.k]) / 1e9
		label := fmt.Sprint(p.k.nb)
		if p.k.nb == 0 {
			label = fmt.Sprintf("default(%d)", p.conv.nb)
			logSum += math.Log(gf)
			n++
		}
		b.Logf("F%d %s nb=%s: median %.1f best %.1f GFLOP/s", p.k.tile, benchLayers[p.k.layer].name, label, gf, best)
	}
	b.ReportMetric(math.Exp(logSum/float64(n)), "GFLOP/s")
}

// BenchmarkConvGo is BenchmarkConv with the pure-Go transforms (the
// Generic tier's, here with the AVX2 GEMM), to measure what the assembly
// transforms buy.
func BenchmarkConvGo(b *testing.B) {
	for _, l := range benchLayers {
		for _, tile := range Tiles {
			b.Run(fmt.Sprintf("kernel=winograd-f%d-go/layer=%s/batch=1", tile, l.name), func(b *testing.B) {
				benchConv(b, fmt.Sprintf("winograd-f%d", tile), benchSpec(1, l.c, l.h, l.w), 1, false, withGoTransforms())
			})
		}
	}
}
