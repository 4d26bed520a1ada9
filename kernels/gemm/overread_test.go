package gemm

import (
	"math/rand/v2"
	"runtime/debug"
	"testing"

	"github.com/resbench/resbench/kernels/internal/fence"
	"github.com/resbench/resbench/kernels/internal/isa"
)

// TestNoAccessOutsideOperands runs whole GEMMs, every tier, with each
// operand (packed A, B, C, bias, residual) against an inaccessible page
// (package fence) on one side and then the other, so that a read past an
// operand faults, on shapes that take every edge path (partial
// row tiles, the column kernel, the wide strip, B read in place), and
// checks the result against the same product on ordinary memory.
func TestNoAccessOutsideOperands(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		rng := rand.New(rand.NewPCG(11, 11))
		for _, s := range []shape{
			{13, 49, 37}, {256, 784, cfg.kc + cfg.kc/2}, {20, 35, 11}, {64, 196, 300},
			{9, 17, 5}, {cfg.mr, cfg.nr, 1}, {cfg.mc + 3, 2*cfg.nr + 1, 2 * cfg.kc},
		} {
			a := randSlice(rng, s.m*s.k)
			b := randSlice(rng, s.k*s.n)
			bias := randSlice(rng, s.m)
			res := randSlice(rng, s.m*s.n)
			pa := PackA(a, s.m, s.k, s.k)
			want := make([]float32, s.m*s.n)
			ep := Epilogue{Bias: bias, Residual: res, LDR: s.n, ReLU: true}
			NewContext(nil).Gemm(pa, b, s.n, s.n, want, s.n, ep)
			for _, side := range []fence.Side{fence.AtEnd, fence.AtStart} {
				place := func(v []float32) []float32 {
					f, free, ok := fence.Alloc(len(v), side)
					if !ok {
						t.Skip("no fenced buffers on this system")
					}
					t.Cleanup(free)
					copy(f, v)
					return f
				}
				fa := *pa
				fa.data = place(pa.data)
				got := place(make([]float32, s.m*s.n))
				fep := Epilogue{Bias: place(bias), Residual: place(res), LDR: s.n, ReLU: true}
				func() {
					// Single-threaded, so a fault is on this goroutine:
					// fail naming the case instead of killing the binary.
					defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
					defer func() {
						if e := recover(); e != nil {
							t.Fatalf("%v, operands fenced at the %v: %v", s, side, e)
						}
					}()
					NewContext(nil).Gemm(&fa, place(b), s.n, s.n, got, s.n, fep)
				}()
				if !sameBits(got, want) {
					t.Fatalf("%v, fenced at the %v: differs from the same product on ordinary memory", s, side)
				}
			}
		}
	})
}
