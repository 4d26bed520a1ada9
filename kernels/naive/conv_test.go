package naive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resbench/resbench/kernels"
)

// plainConv is the convolution written as the seven loops of its
// definition, each tap bounds-checked where it is read: the independent
// check of Conv2D, whose hoisted column ranges every kernel's float64
// reference relies on. It sums in Conv2D's order (bias, then input channel,
// kernel row, kernel column), so in float64 the two agree to rounding of
// the same operations.
func plainConv(s *kernels.ConvShape, in, w, bias, residual []float64, relu bool) []float64 {
	out := make([]float64, s.N*s.OutC*s.OutH*s.OutW)
	for n := range s.N {
		for oc := range s.OutC {
			g := oc / s.OutCG
			for oh := range s.OutH {
				for ow := range s.OutW {
					acc := 0.0
					if bias != nil {
						acc = bias[oc]
					}
					for icg := range s.InCG {
						ic := g*s.InCG + icg
						for kh := range s.KH {
							for kw := range s.KW {
								ih := oh*s.StrideH - s.PadH + kh*s.DilH
								iw := ow*s.StrideW - s.PadW + kw*s.DilW
								if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
									continue
								}
								acc += w[((oc*s.InCG+icg)*s.KH+kh)*s.KW+kw] * in[((n*s.InC+ic)*s.H+ih)*s.W+iw]
							}
						}
					}
					i := ((n*s.OutC+oc)*s.OutH+oh)*s.OutW + ow
					if residual != nil {
						acc += residual[i]
					}
					if relu {
						acc = max(acc, 0)
					}
					out[i] = acc
				}
			}
		}
	}
	return out
}

// TestConv2DMatchesDefinition: Conv2D in float64 against plainConv, on
// shapes that make every index matter: asymmetric kernels, strides,
// paddings and dilations (a swapped H/W field shows), groups, batches,
// padding wider than a tap reaches, and a kernel wider than 16 columns
// (Conv2D's heap-allocated column ranges).
func TestConv2DMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	shapes := []kernels.ConvShape{
		{N: 1, InC: 3, H: 7, W: 9, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1},
		{N: 2, InC: 4, H: 8, W: 11, OutC: 6, KH: 3, KW: 1, StrideH: 2, StrideW: 1, PadH: 1, PadW: 0},
		{N: 1, InC: 2, H: 10, W: 7, OutC: 3, KH: 1, KW: 5, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2},
		{N: 1, InC: 6, H: 9, W: 9, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 2, PadW: 1, DilH: 2, DilW: 1, Groups: 2},
		{N: 1, InC: 8, H: 6, W: 5, OutC: 8, KH: 2, KW: 3, StrideH: 3, StrideW: 2, PadH: 1, PadW: 1, Groups: 8},
		{N: 1, InC: 3, H: 12, W: 12, OutC: 2, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3},
		{N: 1, InC: 1, H: 3, W: 20, OutC: 2, KH: 1, KW: 17, StrideH: 1, StrideW: 1, PadH: 0, PadW: 4},
		{N: 1, InC: 2, H: 4, W: 4, OutC: 2, KH: 1, KW: 1, StrideH: 1, StrideW: 1, PadH: 3, PadW: 2},
	}
	for _, s := range shapes {
		if err := s.Validate(); err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		rnd := func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = r.NormFloat64()
			}
			return v
		}
		in, w, bias, res := rnd(s.N*s.InC*s.H*s.W), rnd(s.WeightLen()), rnd(s.OutC), rnd(s.N*s.OutC*s.OutH*s.OutW)
		for _, ep := range []struct {
			bias, res bool
			relu      bool
		}{{false, false, false}, {true, false, true}, {true, true, false}, {false, true, true}} {
			var b, rr []float64
			if ep.bias {
				b = bias
			}
			if ep.res {
				rr = res
			}
			want := plainConv(&s, in, w, b, rr, ep.relu)
			got := make([]float64, len(want))
			for i := range got {
				got[i] = math.NaN() // every output must be written
			}
			Conv2D(&s, in, w, b, rr, ep.relu, got)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) || math.IsNaN(got[i]) {
					t.Fatalf("%dx%d stride %dx%d pad %dx%d dil %dx%d groups %d, epilogue %+v: out[%d] = %v, want %v",
						s.KH, s.KW, s.StrideH, s.StrideW, s.PadH, s.PadW, s.DilH, s.DilW, s.Groups, ep, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConv2DByHand: two outputs small enough to compute on paper, so that
// the definition itself is pinned down (plainConv and Conv2D could share a
// misreading of it).
func TestConv2DByHand(t *testing.T) {
	// 1 channel 3×3 input 1..9, 2×2 kernel [[1, 0], [0, -1]], stride 1,
	// padding 0: out[i][j] = in[i][j] − in[i+1][j+1] = −4 everywhere.
	s := kernels.ConvShape{N: 1, InC: 1, H: 3, W: 3, OutC: 1, KH: 2, KW: 2, StrideH: 1, StrideW: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 4)
	Conv2D(&s, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, []float64{1, 0, 0, -1}, nil, nil, false, out)
	if fmt.Sprint(out) != "[-4 -4 -4 -4]" {
		t.Fatalf("2x2 diagonal difference = %v, want [-4 -4 -4 -4]", out)
	}
	// The same input, a 3×3 kernel of ones, stride 2, padding 1: the sums
	// of the 2×2 corners, 1+2+4+5=12, 2+3+5+6=16, 4+5+7+8=24, 5+6+8+9=28,
	// plus bias 1 and a residual of −20: 0 and 0 after the ReLU, 5, 9.
	s = kernels.ConvShape{N: 1, InC: 1, H: 3, W: 3, OutC: 1, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	Conv2D(&s, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}, []float64{1}, []float64{-20, -20, -20, -20}, true, out)
	if fmt.Sprint(out) != "[0 0 5 9]" {
		t.Fatalf("3x3 ones stride 2 pad 1 = %v, want [0 0 5 9]", out)
	}
}
