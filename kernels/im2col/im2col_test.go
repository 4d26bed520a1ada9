package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/kernels/parallel"
)

// TestParallelPathsBitwise checks that the multi-threaded paths give
// bitwise the results of one thread: block-parallel (each worker unfolding
// and multiplying whole blocks), row-split (each worker gathering whole
// blocks and multiplying its rows), column-split (each worker gathering
// and multiplying its own pixels) and the default split of each block's
// unfold and GEMM; with a partial last block, several blocks per worker,
// and every epilogue term. The float64 agreement of all paths is the
// shared conformance suite's (kerneltest).
func TestParallelPathsBitwise(t *testing.T) {
	// 3x3 with 608 input channels on 15×15: blocks of 48 pixels, the
	// fifth partial (33).
	conv3x3 := kernels.ConvShape{N: 2, InC: 608, H: 15, W: 15, OutC: 20, KH: 3, KW: 3,
		StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	// 1x1 stride 2 with 4100 input channels: four blocks of 48 pixels,
	// the last taking the 4 left over, so that three threads split rows
	// over several blocks.
	proj := kernels.ConvShape{N: 2, InC: 4100, H: 28, W: 28, OutC: 20, KH: 1, KW: 1,
		StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}
	// 3x3 with 256 input channels on 14×14 (res4's): two even blocks of
	// 98 pixels, one per worker on two threads.
	even := kernels.ConvShape{N: 1, InC: 256, H: 14, W: 14, OutC: 20, KH: 3, KW: 3,
		StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, DilH: 1, DilW: 1, Groups: 1}
	// 1x1 stride 2 with weights smaller than the gathered input: one
	// block of 15×15 pixels (parts of 128 + 97 or 64 + 96 + 65 on
	// AVX-512, a partial panel in the last), 36 rows (a partial tile).
	wide := kernels.ConvShape{N: 2, InC: 40, H: 30, W: 30, OutC: 36, KH: 1, KW: 1,
		StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 1}
	wantBlocks := map[int][2]int{608: {5, 48}, 4100: {4, 48}, 256: {2, 98}, 40: {1, 225}} // blocks, width of the first
	type mode struct{ blockParallel, rowSplit, colSplit bool }
	for _, tc := range []struct {
		s       kernels.ConvShape
		threads int
		off     mode // knobs: noBlockParallel, noRowSplit, noColSplit
		want    mode // the path New chooses
	}{
		{conv3x3, 2, mode{}, mode{blockParallel: true}},
		{conv3x3, 3, mode{blockParallel: true}, mode{}},
		{conv3x3, 2, mode{blockParallel: true}, mode{}},
		{even, 2, mode{}, mode{blockParallel: true}},
		{even, 3, mode{}, mode{}},
		{proj, 2, mode{}, mode{blockParallel: true}},
		{proj, 2, mode{blockParallel: true}, mode{rowSplit: true}},
		{proj, 3, mode{}, mode{rowSplit: true}},
		{proj, 3, mode{rowSplit: true}, mode{}},
		{wide, 2, mode{}, mode{colSplit: true}},
		{wide, 3, mode{}, mode{colSplit: true}},
		{wide, 2, mode{colSplit: true}, mode{rowSplit: true}},
	} {
		s := tc.s
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
		run := func(threads int, off mode) ([]float32, mode) {
			defer func(b, r, c bool) { noBlockParallel, noRowSplit, noColSplit = b, r, c }(noBlockParallel, noRowSplit, noColSplit)
			noBlockParallel, noRowSplit, noColSplit = off.blockParallel, off.rowSplit, off.colSplit
			pool := parallel.New(threads)
			defer pool.Close()
			c, err := New(spec, gemm.NewContext(pool), pool)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, s.Out().Elems())
			c.Run(in, out, res, make([]float32, c.WorkspaceLen()))
			return out, mode{c.blockParallel, c.rowSplit, c.colSplit}
		}
		want, _ := run(1, mode{})
		got, m := run(tc.threads, tc.off)
		name := fmt.Sprintf("%v threads=%d off=%+v", &s, tc.threads, tc.off)
		if c, _ := New(spec, gemm.NewContext(nil), nil); [2]int{c.blocks, c.block} != wantBlocks[s.InC] {
			t.Fatalf("%s: %d blocks of %d, want %v", name, c.blocks, c.block, wantBlocks[s.InC])
		}
		if m != tc.want {
			t.Fatalf("%s: path %+v, want %+v", name, m, tc.want)
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: out[%d] = %v, one thread gave %v", name, i, got[i], want[i])
			}
		}
	}
}

// TestDilatedMatchesNaive checks the unfold's dilation (no model of the zoo
// dilates, so the shared conformance suite has no such case) against the
// float64 naive conv: with stride 1 and 2, padding narrower and wider than
// the dilated kernel's reach, and blocks that end mid-row, on one and two
// threads.
func TestDilatedMatchesNaive(t *testing.T) {
	for _, s := range []kernels.ConvShape{
		{N: 1, InC: 6, H: 12, W: 10, OutC: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 2, DilW: 2, Groups: 1},
		{N: 2, InC: 4, H: 13, W: 11, OutC: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 3, DilH: 3, DilW: 2, Groups: 1},
		// 1800 unfolded rows: three blocks of 134 pixels over 20×20.
		{N: 1, InC: 200, H: 20, W: 20, OutC: 9, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 2, DilW: 2, Groups: 1},
	} {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		fill := func(n int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = rng.Float32()*2 - 1
			}
			return v
		}
		w, in := fill(s.WeightLen()), fill(s.In().Elems())
		want, cond := kerneltest.Float64Conv(&s, in, w)
		for _, threads := range []int{1, 2} {
			pool := parallel.New(threads)
			c, err := New(kernels.ConvSpec{Shape: s, Weight: w}, gemm.NewContext(pool), pool)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(want))
			c.Run(in, out, nil, make([]float32, c.WorkspaceLen()))
			pool.Close()
			for i := range want {
				if e := math.Abs(float64(out[i]) - want[i]); !(e <= 1e-5*cond[i]+1e-30) {
					t.Fatalf("%v threads=%d (%d blocks): out[%d] = %v, want %v", &s, threads, c.blocks, i, out[i], want[i])
				}
			}
		}
	}
}
