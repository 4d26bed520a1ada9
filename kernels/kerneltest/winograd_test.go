package kerneltest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/kernels/winograd"
)

// Winograd F(m×m,3×3) trades multiplications for additions with growing
// coefficients: its rounding error relative to an output's condition
// Σ|w·x|+|bias|+|res| grows with the tile. Worst relative error measured
// over every case of the suite (edge and zoo shapes, all epilogues, the
// generic and AVX2 tiers, 1 and 2 threads; go test -run Winograd -v):
//
//	F(2x2): 1.9e-7  (as im2col's, ~1e-7)
//	F(4x4): 3.1e-6  (16x F2)
//	F(6x6): 1.4e-5  (75x F2; 3.9e-6 without the padding-3 cases, whose
//	        border outputs see only part of their tile's patch, so their
//	        condition is small next to the tile's rounding)
//
// Each Tol is about 5x the worst measured. The float32 weight transform
// (U = G g Gᵀ, rounded once from float64) is included; AVX2 uses fused
// multiply-adds in the transforms, the generic tier does not, and both land
// in the same range.
var winogradTol = map[int]float64{2: 1e-6, 4: 1.5e-5, 6: 6e-5}

// winogradCases counts the suite's cases Winograd must accept: every 3x3
// stride-1 ungrouped convolution (any padding).
func winogradCases() int {
	n := 0
	for _, s := range kerneltest.Cases(testing.Short()) {
		if cs := s.ConvShape(); cs.KH == 3 && cs.KW == 3 && cs.StrideH == 1 && cs.StrideW == 1 && cs.Groups == 1 {
			n++
		}
	}
	return n
}

func TestWinograd(t *testing.T) {
	for _, tile := range winograd.Tiles {
		for _, mode := range []struct {
			threads int
			workers bool
		}{{1, false}, {2, false}, {2, true}} {
			name := fmt.Sprintf("tile=%d/threads=%d", tile, mode.threads)
			if mode.workers {
				name += "/workers"
			}
			t.Run(name, func(t *testing.T) {
				pool := parallel.New(mode.threads)
				defer pool.Close()
				kerneltest.Run(t, kerneltest.Impl{
					Name: fmt.Sprintf("winograd-f%d", tile),
					New: func(s kernels.ConvSpec) (kernels.Conv, error) {
						// Contexts per conv: the tier is fixed at creation
						// and the suite forces each tier in turn.
						var opts []winograd.Option
						if mode.workers {
							// Small blocks, so that the workers share the
							// small cases' tiles too.
							opts = append(opts, winograd.WithBlockTiles(16))
						} else {
							opts = append(opts, winograd.WithSplitBlocks())
						}
						c, err := winograd.New(s, tile, gemm.NewContext(pool), pool, opts...)
						if errors.Is(err, winograd.ErrUnsupported) {
							return nil, fmt.Errorf("%w: %w", kerneltest.ErrUnsupported, err)
						}
						return c, err
					},
					Tol:         winogradTol[tile],
					MinCoverage: winogradCases(),
				})
			})
		}
	}
}
