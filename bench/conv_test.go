package bench

import (
	"fmt"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/direct"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/im2col"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/kernels/peak"
	"github.com/resbench/resbench/kernels/winograd"
)

// convKernels are the convolution implementations the conv benchmarks
// compare; each returns nil for a shape it does not handle.
var convKernels = []struct {
	name string
	new  func(spec kernels.ConvSpec, pool *parallel.Pool) kernels.Conv
}{
	{"im2col", func(spec kernels.ConvSpec, pool *parallel.Pool) kernels.Conv {
		c, err := im2col.New(spec, gemm.NewContext(pool), pool)
		if err != nil {
			return nil
		}
		return c
	}},
	{"winograd-f2", winogradKernel(2)},
	{"winograd-f4", winogradKernel(4)},
	{"winograd-f6", winogradKernel(6)},
	{"direct", func(spec kernels.ConvSpec, pool *parallel.Pool) kernels.Conv {
		c, err := direct.New(spec, pool)
		if err != nil {
			return nil
		}
		return c
	}},
}

func winogradKernel(tile int) func(kernels.ConvSpec, *parallel.Pool) kernels.Conv {
	return func(spec kernels.ConvSpec, pool *parallel.Pool) kernels.Conv {
		c, err := winograd.New(spec, tile, gemm.NewContext(pool), pool)
		if err != nil {
			return nil // not 3x3 stride 1
		}
		return c
	}
}

// BenchmarkConv times one convolution layer (with bias and ReLU in the
// store, as after bn-fold and conv-relu) per kernel, on every distinct
// layer of ResNet-50 and ResNeXt-50's grouped layers, at batch 1. GFLOP/s
// counts the direct convolution's MACs, so Winograd's effective rate can
// exceed the peak: that is its point.
func BenchmarkConv(b *testing.B) {
	tier := kernels.ActiveTier()
	for _, threads := range []int{1, 2} {
		pool := parallel.New(threads)
		for _, k := range convKernels {
			for _, l := range append(append([]Layer(nil), ResNet50Layers...), ResNeXt50GroupedLayers...) {
				s := l.ConvShape
				spec := kernels.ConvSpec{Shape: s, Weight: randomFloats(s.WeightLen(), 3), Bias: randomFloats(s.OutC, 4), ReLU: true}
				conv := k.new(spec, pool)
				if conv == nil {
					continue
				}
				in := randomFloats(conv.Layout().Elems(s.In()), 5)
				out := kernels.Alloc(conv.Layout().Elems(s.Out()))
				ws := kernels.Alloc(conv.WorkspaceLen())
				b.Run(fmt.Sprintf("kernel=%s/layer=%s/batch=%d/threads=%d", k.name, l.Name, s.N, threads), func(b *testing.B) {
					measure(b, 2*float64(s.MACs()), tier, pool, func() { conv.Run(in, out, nil, ws) })
				})
			}
		}
		pool.Close()
	}
}

// BenchmarkConvSpeedup reports the speedup of two threads over one for
// every kernel and layer of BenchmarkConv, as BenchmarkSgemmSpeedup does
// for the GEMMs: the layer on a one-thread and on a two-thread pool
// alternate call by call, so a drift of the shared host's speed hits both
// (BenchmarkConv's threads=1 and threads=2 results of a layer are a minute
// apart). ns/op is the two-thread time.
func BenchmarkConvSpeedup(b *testing.B) {
	tier := kernels.ActiveTier()
	pool1, pool2 := parallel.New(1), parallel.New(2)
	defer pool1.Close()
	defer pool2.Close()
	rounds1, rounds2 := peak.NewRounds(tier, pool1), peak.NewRounds(tier, pool2)
	for _, k := range convKernels {
		for _, l := range append(append([]Layer(nil), ResNet50Layers...), ResNeXt50GroupedLayers...) {
			s := l.ConvShape
			spec := kernels.ConvSpec{Shape: s, Weight: randomFloats(s.WeightLen(), 3), Bias: randomFloats(s.OutC, 4), ReLU: true}
			conv1, conv2 := k.new(spec, pool1), k.new(spec, pool2)
			if conv1 == nil || conv2 == nil {
				continue
			}
			in := randomFloats(conv1.Layout().Elems(s.In()), 5)
			out := kernels.Alloc(conv1.Layout().Elems(s.Out()))
			ws1, ws2 := kernels.Alloc(conv1.WorkspaceLen()), kernels.Alloc(conv2.WorkspaceLen())
			b.Run(fmt.Sprintf("kernel=%s/layer=%s/batch=%d/threads=2", k.name, l.Name, s.N), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					conv2.Run(in, out, nil, ws2)
				}
				reportSpeedup(b, rounds1, rounds2,
					func() { conv1.Run(in, out, nil, ws1) },
					func() { conv2.Run(in, out, nil, ws2) })
			})
		}
	}
}
