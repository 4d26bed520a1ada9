package kerneltest_test

import (
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/im2col"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/kernels/parallel"
)

// im2col+GEMM reorders the accumulation (K is blocked) but stays a plain
// float32 dot product: worst measured error relative to the condition is
// 3.5e-7 (see -v); 2e-6 is the same bound as the naive kernel's.
func TestIm2col(t *testing.T) {
	for _, threads := range []int{1, 2} {
		t.Run(map[int]string{1: "threads=1", 2: "threads=2"}[threads], func(t *testing.T) {
			pool := parallel.New(threads)
			defer pool.Close()
			kerneltest.Run(t, kerneltest.Impl{
				Name: "im2col",
				New: func(s kernels.ConvSpec) (kernels.Conv, error) {
					// A context per conv: the tier is fixed at creation and
					// the suite forces each tier in turn.
					return im2col.New(s, gemm.NewContext(pool), pool)
				},
				Tol:         2e-6,
				MinCoverage: len(kerneltest.Cases(testing.Short())),
			})
		})
	}
}
