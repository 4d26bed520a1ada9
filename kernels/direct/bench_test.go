package direct

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/kernels/peak"
)

// benchLayer is one convolution of the benchmark set.
type benchLayer struct {
	name string
	s    kernels.ConvShape
}

func conv(inC, hw, outC, k, stride, groups int) kernels.ConvShape {
	return kernels.ConvShape{N: 1, InC: inC, H: hw, W: hw, OutC: outC, KH: k, KW: k,
		StrideH: stride, StrideW: stride, PadH: k / 2, PadW: k / 2, Groups: groups}
}

// benchLayers: ResNet-50 and ResNeXt-50 (32x4d) at 224×224, batch 1.
var benchLayers = []benchLayer{
	{"res2_3x3", conv(64, 56, 64, 3, 1, 1)},
	{"res3_3x3", conv(128, 28, 128, 3, 1, 1)},
	{"res4_3x3", conv(256, 14, 256, 3, 1, 1)},
	{"res5_3x3", conv(512, 7, 512, 3, 1, 1)},
	{"res3_3x3s2", conv(128, 56, 128, 3, 2, 1)},
	{"res4_3x3s2", conv(256, 28, 256, 3, 2, 1)},
	{"res5_3x3s2", conv(512, 14, 512, 3, 2, 1)},
	{"res2_1x1_64to256", conv(64, 56, 256, 1, 1, 1)},
	{"res2_1x1_256to64", conv(256, 56, 64, 1, 1, 1)},
	{"res3_1x1_512to128", conv(512, 28, 128, 1, 1, 1)},
	{"res4_1x1_1024to256", conv(1024, 14, 256, 1, 1, 1)},
	{"res5_1x1_2048to512", conv(2048, 7, 512, 1, 1, 1)},
	{"res5_1x1_512to2048", conv(512, 7, 2048, 1, 1, 1)},
	{"res3_1x1s2_256to512", conv(256, 56, 512, 1, 2, 1)},
	{"res5_1x1s2_1024to2048", conv(1024, 14, 2048, 1, 2, 1)},
	{"stem_7x7s2", conv(3, 224, 64, 7, 2, 1)},
	{"rx2_3x3g32_128", conv(128, 56, 128, 3, 1, 32)},
	{"rx3_3x3g32_256", conv(256, 28, 256, 3, 1, 32)},
	{"rx4_3x3g32_512", conv(512, 14, 512, 3, 1, 32)},
	{"rx5_3x3g32_1024", conv(1024, 7, 1024, 3, 1, 32)},
	{"rx3_3x3g32s2_256", conv(256, 56, 256, 3, 2, 32)},
	{"rx4_3x3g32s2_512", conv(512, 28, 512, 3, 2, 32)},
	{"rx5_3x3g32s2_1024", conv(1024, 14, 1024, 3, 2, 32)},
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := kernels.Alloc(n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// benchConv times Run on random data with the bias+ReLU epilogue (ns/op),
// then reports GFLOP/s (median call) and %peak from peak.Paired: calls
// alternated with FMA peak rounds on the same threads, so each call is
// compared with the peak of the same moment on a drifting shared machine.
func benchConv(b *testing.B, s kernels.ConvShape, threads int) {
	if err := s.Validate(); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	spec := kernels.ConvSpec{Shape: s, Weight: randSlice(rng, s.WeightLen()), Bias: randSlice(rng, s.OutC), ReLU: true}
	pool := parallel.New(threads)
	defer pool.Close()
	c, err := New(spec, pool)
	if err != nil {
		b.Fatal(err)
	}
	l := c.Layout()
	in := kernels.Alloc(l.Elems(s.In()))
	kernels.ToBlocked(l, s.In(), randSlice(rng, s.In().Elems()), in)
	out := kernels.Alloc(l.Elems(s.Out()))
	ws := kernels.Alloc(c.WorkspaceLen())
	c.Run(in, out, nil, ws) // warm up
	for b.Loop() {
		c.Run(in, out, nil, ws)
	}
	r := peak.Paired(c.Tier(), pool, 2*float64(s.MACs()), 15, 300*time.Millisecond, func() { c.Run(in, out, nil, ws) })
	b.ReportMetric(r.GFLOPS, "GFLOP/s")
	b.ReportMetric(r.PctPeak, "%peak")
}

// BenchmarkConv: the ResNet-50 / ResNeXt-50 layers, one thread, active
// ISA tier (force another with RESBENCH_ISA).
func BenchmarkConv(b *testing.B) {
	for _, l := range benchLayers {
		b.Run(fmt.Sprintf("kernel=direct/layer=%s/batch=1", l.name), func(b *testing.B) {
			benchConv(b, l.s, 1)
		})
	}
}

// BenchmarkConvThreads: the same layers on two threads (%peak against the
// two-thread FMA peak).
func BenchmarkConvThreads(b *testing.B) {
	for _, l := range benchLayers {
		b.Run(fmt.Sprintf("kernel=direct/layer=%s/batch=1/threads=2", l.name), func(b *testing.B) {
			benchConv(b, l.s, 2)
		})
	}
}

// BenchmarkMicroKernel times the full-strip microkernel of each family of
// the active tier on operands that stay in L1/L2 (a 1×1 convolution with
// nicb input blocks over nstrips strips): the ceiling for the layers.
func BenchmarkMicroKernel(b *testing.B) {
	tier := isa.Active()
	for _, f := range tierFamilies(tier) {
		for p := f.pmax; p >= max(1, f.pmax-3); p-- {
			for _, nicb := range []int{8, 32} {
				nstrips := 8
				b.Run(fmt.Sprintf("microkernel=%s/p=%d/nicb=%d/nstrips=%d", f.name, p, nicb, nstrips), func(b *testing.B) {
					T, vl := f.t(), f.vl
					pixels := p * nstrips
					rng := rand.New(rand.NewPCG(1, 2))
					src := randSlice(rng, nicb*pixels*vl)
					wts := randSlice(rng, nicb*f.icn*T)
					dst := kernels.Alloc(f.nvec * pixels * vl)
					bias := randSlice(rng, T)
					k := f.kern[p]
					flops := 2 * float64(pixels*T*nicb*f.icn)
					op := func() {
						for r := 0; r < 100; r++ {
							k(&src[0], &wts[0], &dst[0], nstrips, nicb, 1, 1, vl, vl, 0, pixels*vl, 0, f.icn*T, pixels*vl, &bias[0], nil, flagBias|flagReLU)
						}
					}
					for b.Loop() {
						op()
					}
					r := peak.Paired(tier, nil, 100*flops, 15, 300*time.Millisecond, op)
					b.ReportMetric(r.GFLOPS, "GFLOP/s")
					b.ReportMetric(r.PctPeak, "%peak")
				})
			}
		}
	}
}

// BenchmarkTiles compares the tile families on the layers: width=4 is the
// 3×32 broadcast-outer tile, width=2 the 6×16 weight-outer one, width=1
// the 14×8 one (AVX2).
func BenchmarkTiles(b *testing.B) {
	for _, w := range []int{4, 2, 1} {
		for _, l := range benchLayers {
			b.Run(fmt.Sprintf("layer=%s/width=%d", l.name, w), func(b *testing.B) {
				defer func(old int) { maxWidth = old }(maxWidth)
				maxWidth = w
				benchConv(b, l.s, 1)
			})
		}
	}
}

// BenchmarkWeightChunk sweeps the weight chunk size (weightChunkBytes) on
// the layers.
func BenchmarkWeightChunk(b *testing.B) {
	for _, kb := range []int{8, 16, 32, 64, 256} {
		for _, l := range benchLayers {
			b.Run(fmt.Sprintf("layer=%s/chunk=%dKiB", l.name, kb), func(b *testing.B) {
				defer func(old int) { weightChunkBytes = old }(weightChunkBytes)
				weightChunkBytes = kb << 10
				benchConv(b, l.s, 1)
			})
		}
	}
}

// BenchmarkPrefetchNext compares the 1×1 layers on flattened planes with
// and without flagPrefetchNext, adjacent in time per layer.
func BenchmarkPrefetchNext(b *testing.B) {
	for _, l := range benchLayers {
		s := l.s
		if err := s.Validate(); err != nil || s.KH != 1 || s.OutH*s.OutW > flattenMaxPlane {
			continue
		}
		for _, off := range []bool{false, true} {
			b.Run(fmt.Sprintf("layer=%s/prefetch=%v", l.name, !off), func(b *testing.B) {
				defer func(old bool) { noPrefetchNext = old }(noPrefetchNext)
				noPrefetchNext = off
				benchConv(b, s, 1)
			})
		}
	}
}

// BenchmarkGroupPermute compares the grouped families (permuted inputs) with
// block-diagonal packing on the layers with 4 or 8 channels per group.
func BenchmarkGroupPermute(b *testing.B) {
	for _, off := range []bool{false, true} {
		for _, l := range benchLayers {
			if g := l.s.InC / l.s.Groups; g != 4 && g != 8 {
				continue
			}
			b.Run(fmt.Sprintf("layer=%s/permute=%v", l.name, !off), func(b *testing.B) {
				defer func(old bool) { noGroupPermute = old }(noGroupPermute)
				noGroupPermute = off
				benchConv(b, l.s, 1)
			})
		}
	}
}

// BenchmarkSlide compares the sliding-window kernels with the per-tap
// kernels on the layers that have them (3x3 convolutions whose tiles are one
// vector wide: ResNeXt's groups of 4 and 8 channels).
func BenchmarkSlide(b *testing.B) {
	for _, l := range benchLayers {
		if l.s.KW != 3 || l.s.Groups == 1 || l.s.InC/l.s.Groups > 8 {
			continue
		}
		for _, off := range []bool{false, true} {
			b.Run(fmt.Sprintf("layer=%s/slide=%v", l.name, !off), func(b *testing.B) {
				defer func(old bool) { noSlide = old }(noSlide)
				noSlide = off
				benchConv(b, l.s, 1)
			})
		}
	}
}

// BenchmarkMicroKernel3x3 times the one-vector families (per-tap and
// sliding) on a 3×3 window over one input block with operands in L1, as in
// ResNeXt's grouped layers: the ceiling for those layers.
func BenchmarkMicroKernel3x3(b *testing.B) {
	tier := isa.Active()
	for _, f := range tierFamilies(tier) {
		if f.nvec != 1 || f.icn == 3 {
			continue
		}
		for _, stride := range []int{1, 2} {
			if f.slide > 0 && f.slide != stride {
				continue
			}
			p, nstrips := f.pmax, 4
			b.Run(fmt.Sprintf("microkernel=%s/p=%d/stride=%d", f.name, p, stride), func(b *testing.B) {
				vl := f.vl
				width := stride*(p*nstrips-1) + 3 // input pixels per row
				rng := rand.New(rand.NewPCG(1, 2))
				src := randSlice(rng, 3*width*vl+vl)
				wts := randSlice(rng, 9*f.icn*vl)
				dst := kernels.Alloc(p * nstrips * vl)
				bias := randSlice(rng, vl)
				k := f.kern[p]
				flops := 2 * float64(p*nstrips*vl*9*f.icn)
				op := func() {
					for r := 0; r < 100; r++ {
						k(&src[0], &wts[0], &dst[0], nstrips, 1, 3, 3, stride*vl, vl, width*vl, 3*width*vl, 3*f.icn*vl, 9*f.icn*vl, p*nstrips*vl, &bias[0], nil, flagBias|flagReLU)
					}
				}
				for b.Loop() {
					op()
				}
				r := peak.Paired(tier, nil, 100*flops, 15, 300*time.Millisecond, op)
				b.ReportMetric(r.GFLOPS, "GFLOP/s")
				b.ReportMetric(r.PctPeak, "%peak")
			})
		}
	}
}
