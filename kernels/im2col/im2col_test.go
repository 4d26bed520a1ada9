package im2col

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/parallel"
)

// TestBlockParallelBitwise checks that the block-parallel path (each
// worker unfolding and multiplying whole blocks) gives bitwise the results
// of one thread and of the row-split path, with a partial last block and
// every epilogue term. The float64 agreement of all paths is the shared
// conformance suite's (kerneltest).
func TestBlockParallelBitwise(t *testing.T) {
	s := kernels.ConvShape{N: 2, InC: 608, H: 14, W: 14, OutC: 20, KH: 3, KW: 3,
		StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	spec := kernels.ConvSpec{Shape: s, Weight: fill(s.WeightLen()), Bias: fill(s.OutC), ReLU: true}
	in, res := fill(s.In().Elems()), fill(s.Out().Elems())
	run := func(threads int, serial bool) ([]float32, bool) {
		defer func(old bool) { noBlockParallel = old }(noBlockParallel)
		noBlockParallel = serial
		pool := parallel.New(threads)
		defer pool.Close()
		c, err := New(spec, gemm.NewContext(pool), pool)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, s.Out().Elems())
		c.Run(in, out, res, make([]float32, c.WorkspaceLen()))
		return out, c.blockParallel
	}
	want, _ := run(1, false)
	for _, tc := range []struct {
		threads  int
		serial   bool
		parallel bool // blockParallel expected
	}{{2, false, true}, {3, true, false}, {2, true, false}} {
		got, par := run(tc.threads, tc.serial)
		if par != tc.parallel {
			t.Fatalf("threads=%d noBlockParallel=%v: blockParallel=%v, want %v", tc.threads, tc.serial, par, tc.parallel)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("threads=%d noBlockParallel=%v: out[%d] = %v, one thread gave %v", tc.threads, tc.serial, i, got[i], want[i])
			}
		}
	}
}
