package gemm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/kernels/peak"
)

// peakFor measures peak.FMAPeakThreads once per (tier, threads) per process,
// for BenchmarkBlocking's table (the other benchmarks pair calls with peak
// rounds instead).
var (
	peakMu    sync.Mutex
	peakCache = map[[2]int]float64{}
)

func peakFor(tier isa.Tier, threads int) float64 {
	peakMu.Lock()
	defer peakMu.Unlock()
	key := [2]int{int(tier), threads}
	if p, ok := peakCache[key]; ok {
		return p
	}
	p := peak.FMAPeakThreads(tier, threads, 300*time.Millisecond)
	peakCache[key] = p
	return p
}

// conv1x1Shapes are the ResNet-50 batch-1 1×1 convolutions as GEMMs:
// M = output channels, K = input channels, N = H·W.
var conv1x1Shapes = []struct {
	layer   string
	m, n, k int
}{
	{"res2", 64, 3136, 256}, {"res2", 256, 3136, 64},
	{"res3", 128, 784, 512}, {"res3", 512, 784, 128},
	{"res4", 256, 196, 1024}, {"res4", 1024, 196, 256},
	{"res5", 512, 49, 2048}, {"res5", 2048, 49, 512},
}

// benchGemm times ctx.Gemm on random operands and reports GFLOP/s and the
// percentage of the measured FMA peak of the same tier and thread count.
func benchGemm(b *testing.B, tier isa.Tier, m, n, k, threads int, ep Epilogue) {
	if !isa.Supported(tier) {
		b.Skipf("CPU/build lacks %v", tier)
	}
	orig := isa.Active()
	if err := isa.Set(tier); err != nil {
		b.Fatal(err)
	}
	defer isa.Set(orig)
	rng := rand.New(rand.NewPCG(1, 2))
	a := randSlice(rng, m*k)
	bm := randSlice(rng, k*n)
	c := make([]float32, m*n)
	pa := PackA(a, m, k, k)
	pool := parallel.New(threads)
	defer pool.Close()
	ctx := NewContext(pool)
	ctx.Gemm(pa, bm, n, n, c, n, ep) // warm up
	flops := 2 * float64(m) * float64(n) * float64(k)
	reportPaired(b, tier, pool, flops, func() { ctx.Gemm(pa, bm, n, n, c, n, ep) })
}

// reportPaired times op with b.Loop (ns/op), then reports GFLOP/s (median
// call) and %peak from peak.Paired: calls alternated with FMA peak rounds on
// the same threads, each call compared with the peak of the same moment (the
// machine is shared and its speed drifts).
func reportPaired(b *testing.B, tier isa.Tier, pool *parallel.Pool, flops float64, op func()) {
	for b.Loop() {
		op()
	}
	r := peak.Paired(tier, pool, flops, 15, 300*time.Millisecond, op)
	b.ReportMetric(r.GFLOPS, "GFLOP/s")
	b.ReportMetric(r.PctPeak, "%peak")
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func tierName(t isa.Tier) string { return "isa=" + t.String() }

// BenchmarkSgemm: square SGEMM per tier and thread count.
func BenchmarkSgemm(b *testing.B) {
	for _, tier := range isa.All() {
		for _, size := range []int{256, 512, 1024} {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%s/m=%d/n=%d/k=%d/threads=%d", tierName(tier), size, size, size, threads)
				b.Run(name, func(b *testing.B) {
					benchGemm(b, tier, size, size, size, threads, Epilogue{})
				})
			}
		}
	}
}

// BenchmarkConv1x1: the ResNet-50 1×1 convolution GEMMs, with the bias+ReLU
// epilogue of a fused conv+BN+ReLU layer.
func BenchmarkConv1x1(b *testing.B) {
	for _, tier := range isa.All() {
		for _, s := range conv1x1Shapes {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("%s/layer=%s/m=%d/n=%d/k=%d/threads=%d", tierName(tier), s.layer, s.m, s.n, s.k, threads)
				b.Run(name, func(b *testing.B) {
					bias := make([]float32, s.m)
					benchGemm(b, tier, s.m, s.n, s.k, threads, Epilogue{Bias: bias, ReLU: true})
				})
			}
		}
	}
}

// blockingShapes: square 1024³ plus ResNet-50 1×1 shapes of each stage.
var blockingShapes = []struct {
	name    string
	m, n, k int
}{
	{"sq1024", 1024, 1024, 1024},
	{"res2a", 64, 3136, 256}, {"res2b", 256, 3136, 64},
	{"res3a", 128, 784, 512}, {"res4a", 256, 196, 1024}, {"res4b", 1024, 196, 256},
	{"res5a", 512, 49, 2048}, {"res5b", 2048, 49, 512},
}

// BenchmarkBlocking is the tool that chose the cache blocking of the best
// tier on this machine. The machine is shared and noisy, so instead of one
// sub-benchmark per setting it interleaves: in each of many rounds every
// (kc, mc, nc, ncSmall) candidate runs every shape a few times, single-threaded, and
// the median GFLOP/s per candidate and shape over all rounds is logged
// (go test -run x -bench Blocking -v). Candidates vary one parameter around
// the current setting. The reported metric is the current setting's mean
// over shapes.
func BenchmarkBlocking(b *testing.B) {
	tier := isa.Detected()
	base := *configFor(tier)
	type cand struct{ kc, mc, nc, ncs int }
	cands := []cand{{base.kc, base.mc, base.nc, base.ncSmall}}
	for _, kc := range []int{128, 192, 320, 384, 512} {
		cands = append(cands, cand{kc, base.mc, base.nc, base.ncSmall})
	}
	for _, t := range []int{8, 16, 32, 48, 64, 96} {
		cands = append(cands, cand{base.kc, t * base.mr, base.nc, base.ncSmall})
	}
	for _, t := range []int{16, 64, 128, 512} {
		cands = append(cands, cand{base.kc, base.mc, t * base.nr, base.ncSmall})
	}
	for _, t := range []int{4, 8, 32, 64} {
		cands = append(cands, cand{base.kc, base.mc, base.nc, t * base.nr})
	}
	type run struct {
		ctx   *Context
		pa    *PackedA
		b, c  []float32
		n     int
		flops float64
		times []float64
	}
	rng := rand.New(rand.NewPCG(1, 2))
	runs := make([][]*run, len(cands))
	for ci, cd := range cands {
		cfg := base
		cfg.kc, cfg.mc, cfg.nc, cfg.ncSmall = cd.kc, cd.mc, cd.nc, cd.ncs
		ctx := newContext(&cfg, nil)
		for _, s := range blockingShapes {
			a := randSlice(rng, s.m*s.k)
			r := &run{ctx: ctx, b: randSlice(rng, s.k*s.n), c: make([]float32, s.m*s.n), n: s.n,
				flops: 2 * float64(s.m*s.n*s.k)}
			r.pa = packA(&cfg, s.m, s.k, func(dst []float32, i0, rows, k0, kcb int) {
				for rr := 0; rr < rows; rr++ {
					for kk := 0; kk < kcb; kk++ {
						dst[kk*cfg.mr+rr] = a[(i0+rr)*s.k+k0+kk]
					}
				}
			})
			runs[ci] = append(runs[ci], r)
		}
	}
	rounds := max(b.N, 10)
	for rd := 0; rd < rounds; rd++ {
		for ci := range cands {
			for _, r := range runs[ci] {
				for rep := 0; rep < 2; rep++ {
					t0 := time.Now()
					r.ctx.Gemm(r.pa, r.b, r.n, r.n, r.c, r.n, Epilogue{})
					r.times = append(r.times, r.flops/time.Since(t0).Seconds()/1e9)
				}
			}
		}
	}
	b.StopTimer()
	pk := peakFor(tier, 1)
	hdr := fmt.Sprintf("%-22s", "kc/mc/nc/ncSmall")
	for _, s := range blockingShapes {
		hdr += fmt.Sprintf(" %7s", s.name)
	}
	b.Logf("%v, single thread, median GFLOP/s over %d rounds (peak %.1f):\n%s    mean", tier, rounds, pk, hdr)
	for ci, cd := range cands {
		line := fmt.Sprintf("%-22s", fmt.Sprintf("%d/%d/%d/%d", cd.kc, cd.mc, cd.nc, cd.ncs))
		sum := 0.0
		for _, r := range runs[ci] {
			slices.Sort(r.times)
			med := r.times[len(r.times)/2]
			sum += med
			line += fmt.Sprintf(" %7.1f", med)
		}
		mean := sum / float64(len(runs[ci]))
		b.Logf("%s %7.1f (%.1f%%)", line, mean, 100*mean/pk)
		if ci == 0 {
			b.ReportMetric(mean, "GFLOP/s")
			b.ReportMetric(100*mean/pk, "%peak")
		}
	}
}

// BenchmarkMicroKernel times the main microkernel of each tier on packed
// panels that stay in cache (kc=256, mc/mr tiles per call, C in L1/L2), the
// ceiling for the whole GEMM.
func BenchmarkMicroKernel(b *testing.B) {
	for _, tier := range isa.All() {
		for _, sh := range []struct{ kc, ldc int }{{64, 0}, {256, 0}, {256, 1024}, {256, 1000}} {
			kc := sh.kc
			b.Run(fmt.Sprintf("%s/kc=%d/ldc=%d", tierName(tier), kc, sh.ldc), func(b *testing.B) {
				if !isa.Supported(tier) {
					b.Skipf("CPU/build lacks %v", tier)
				}
				cfg := configFor(tier)
				tiles := cfg.mc / cfg.mr
				rng := rand.New(rand.NewPCG(1, 2))
				a := alignedFloats(tiles * cfg.mr * kc)
				copy(a, randSlice(rng, len(a)))
				bp := alignedFloats(kc * cfg.nr)
				copy(bp, randSlice(rng, len(bp)))
				ldc := sh.ldc
				if ldc == 0 {
					ldc = cfg.nr
				}
				c := alignedFloats(tiles * cfg.mr * ldc)
				kern := cfg.kern[cfg.mr][cfg.nv()]
				flops := 2 * float64(tiles*cfg.mr*cfg.nr*kc)
				reportPaired(b, tier, nil, flops, func() {
					kern(&a[0], &bp[0], &bp[0], &c[0], kc, ldc, tiles, nil, nil, 0, flagAccumulate)
				})
			})
		}
	}
}

// BenchmarkColumnKernel times the column kernel of each tier on one column
// of a block of packed A panels that stays in cache (kc=256, mc/mr panels),
// counting only the panels' real rows: the cost of the last column of an N
// edge such as n = 49 = 3·16 + 1.
func BenchmarkColumnKernel(b *testing.B) {
	for _, tier := range isa.All() {
		b.Run(tierName(tier)+"/kc=256", func(b *testing.B) {
			if !isa.Supported(tier) {
				b.Skipf("CPU/build lacks %v", tier)
			}
			cfg := configFor(tier)
			if cfg.col == nil {
				b.Skipf("%v has no column kernel", tier)
			}
			const kc = 256
			panels := cfg.mc / cfg.mr
			rng := rand.New(rand.NewPCG(1, 2))
			a := alignedFloats(panels*cfg.mr*kc + 8)
			copy(a, randSlice(rng, len(a)))
			bp := alignedFloats(kc * cfg.nr)
			copy(bp, randSlice(rng, len(bp)))
			out := alignedFloats(panels * 8)
			flops := 2 * float64(panels*cfg.mr*kc)
			reportPaired(b, tier, nil, flops, func() {
				cfg.col(&a[0], &bp[0], &out[0], kc, panels, cfg.nr)
			})
		})
	}
}
