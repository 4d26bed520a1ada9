package kerneltest_test

import (
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/direct"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/kernels/parallel"
)

// The direct convolution sums in a different order from the reference
// (input blocks, then kernel rows and columns, then the lanes of a block;
// border strips in several passes) and with fused multiply-adds, so its
// error is float32 rounding of a K-term sum like the naive kernel's: the
// worst measured is 3.5e-7 of the condition (-v), within the naive
// kernel's 2e-6. It accepts every shape, so the
// coverage floor is every case: a shape it started refusing would
// otherwise fall back to another kernel in the engine unnoticed.
func TestDirect(t *testing.T) {
	kerneltest.Run(t, kerneltest.Impl{
		Name:        "direct",
		New:         func(s kernels.ConvSpec) (kernels.Conv, error) { return direct.New(s, nil) },
		Tol:         2e-6,
		MinCoverage: len(kerneltest.Cases(testing.Short())),
	})
}

// Two threads: the same cases through the pool (tasks split output rows).
func TestDirectThreads(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	kerneltest.Run(t, kerneltest.Impl{
		Name:        "direct-2threads",
		New:         func(s kernels.ConvSpec) (kernels.Conv, error) { return direct.New(s, pool) },
		Tol:         2e-6,
		MinCoverage: len(kerneltest.Cases(testing.Short())),
	})
}
