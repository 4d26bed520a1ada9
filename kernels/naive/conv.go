package naive

import "github.com/resbench/resbench/kernels"

// Conv2D computes out = epilogue(conv(in, w)) for one (possibly grouped,
// strided, padded, dilated) convolution. in is N×InC×H×W, w is
// [OutC][InC/Groups][KH][KW], out is N×OutC×OutH×OutW. The epilogue adds
// bias[oc] (if non-nil), then residual (if non-nil, same shape as out), then
// applies ReLU (if relu). s must have been validated.
func Conv2D[T Float](s *kernels.ConvShape, in, w, bias, residual []T, relu bool, out []T) {
	Conv2DRange(s, in, w, bias, residual, relu, out, 0, s.OutC)
}

// Conv2DRange is Conv2D for output channels [ocLo, ocHi) only, so that
// callers can split a convolution over goroutines (the oracle does).
func Conv2DRange[T Float](s *kernels.ConvShape, in, w, bias, residual []T, relu bool, out []T, ocLo, ocHi int) {
	inPlane, outPlane := s.H*s.W, s.OutH*s.OutW
	// For each kernel column, the range of output columns whose input
	// column falls inside the image; hoisting it keeps padding tests out of
	// the inner loop.
	var loBuf, hiBuf [16]int // on the stack for every kernel the zoo uses
	lo, hi := loBuf[:0], hiBuf[:0]
	if s.KW > len(loBuf) {
		lo, hi = make([]int, 0, s.KW), make([]int, 0, s.KW)
	}
	lo, hi = lo[:s.KW], hi[:s.KW]
	for kw := range s.KW {
		off := kw*s.DilW - s.PadW // input column of output column 0
		l := 0
		if off < 0 {
			l = (-off + s.StrideW - 1) / s.StrideW
		}
		h := 0
		if last := s.W - 1 - off; last >= 0 {
			h = last/s.StrideW + 1
		}
		lo[kw], hi[kw] = l, min(h, s.OutW)
	}
	for n := range s.N {
		for oc := ocLo; oc < ocHi; oc++ {
			g := oc / s.OutCG
			dst := out[(n*s.OutC+oc)*outPlane : (n*s.OutC+oc+1)*outPlane]
			var b T
			if bias != nil {
				b = bias[oc]
			}
			for i := range dst {
				dst[i] = b
			}
			for icg := range s.InCG {
				ic := g*s.InCG + icg
				src := in[(n*s.InC+ic)*inPlane : (n*s.InC+ic+1)*inPlane]
				wk := w[(oc*s.InCG+icg)*s.KH*s.KW:]
				for kh := range s.KH {
					for kw := range s.KW {
						wv := wk[kh*s.KW+kw]
						for oh := range s.OutH {
							ih := oh*s.StrideH - s.PadH + kh*s.DilH
							if ih < 0 || ih >= s.H {
								continue
							}
							row := src[ih*s.W:]
							drow := dst[oh*s.OutW:]
							iw := lo[kw]*s.StrideW - s.PadW + kw*s.DilW
							for ow := lo[kw]; ow < hi[kw]; ow++ {
								drow[ow] += wv * row[iw]
								iw += s.StrideW
							}
						}
					}
				}
			}
			if residual != nil {
				res := residual[(n*s.OutC+oc)*outPlane:]
				for i := range dst {
					dst[i] += res[i]
				}
			}
			if relu {
				for i, v := range dst {
					dst[i] = max(v, 0)
				}
			}
		}
	}
}
