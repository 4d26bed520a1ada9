package kerneltest_test

import (
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/kernels/naive"
)

// Every convolution implementation is registered here, so that the float64
// references (the slow part) are computed once per test process and shared.
//
// Tolerances are relative to each output's condition Σ|w·x| + |bias| +
// |residual| (see kerneltest.Impl.Tol).

// The naive float32 conv accumulates in the same order as the float64
// reference, so its error is pure float32 rounding: at most about K·2⁻²⁴ of
// the condition in the worst case (K ≤ 4608 terms), far less in practice.
// The worst measured over every case and tier is 4.6e-7 (-v lists each);
// the float32 kernels' bound, 2e-6, leaves 4× that.
func TestNaive(t *testing.T) {
	kerneltest.Run(t, kerneltest.Impl{
		Name:            "naive",
		New:             func(s kernels.ConvSpec) (kernels.Conv, error) { return naive.NewConv(s) },
		Tol:             2e-6,
		MinCoverage:     len(kerneltest.EdgeShapes),
		TierIndependent: true,
	})
}
