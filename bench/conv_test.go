package bench

import (
	"fmt"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/im2col"
	"github.com/resbench/resbench/kernels/parallel"
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
}

// BenchmarkConv times one convolution layer (with bias and ReLU in the
// store, as after bn-fold and conv-relu) per kernel, on every distinct
// layer of ResNet-50 and ResNeXt-50's grouped layers, at batch 1.
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
					b.ReportAllocs()
					for b.Loop() {
						conv.Run(in, out, nil, ws)
					}
					report(b, 2*float64(s.MACs()), tier, threads)
				})
			}
		}
		pool.Close()
	}
}
