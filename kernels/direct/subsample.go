package direct

import "github.com/resbench/resbench/kernels"

// subsampled reports whether New computes s, a strided 1×1 convolution
// without padding, as a subsample of the input into the workspace followed
// by the stride-1 convolution of the subsampled plane, and returns that
// stride-1 shape. pmax is the widest strip (pixels) of the main tile.
//
// Read in place, every output row is split into strips of at most pmax
// pixels; the subsampled plane is one row of OutH·OutW pixels (see
// flattenMaxPlane), so the strips are full. That pays for the extra pass
// only where rows waste many strip slots: ResNet-50's res5a projection
// (7-pixel rows, strips 3+2+2 on AVX2) went from 49.6 to 55.3 %peak with
// it, while res4a's (14-pixel rows, waste 7 %) tied at 62 and res3a's (28)
// lost 62.3 → 59.0 (BenchmarkConv, 1 thread, 8 alternated runs): the pass
// reads half of every even input row from L3 and cost 16 % of res3a's
// time in a profile.
func subsampled(s kernels.ConvShape, pmax int) (kernels.ConvShape, bool) {
	if s.KH != 1 || s.KW != 1 || s.PadH != 0 || s.PadW != 0 || (s.StrideH == 1 && s.StrideW == 1) ||
		s.OutH*s.OutW > flattenMaxPlane || stripWaste(s.OutW, pmax) <= 0.15 {
		return s, false
	}
	inner := s
	inner.H, inner.W = s.OutH, s.OutW
	inner.StrideH, inner.StrideW = 1, 1
	if err := inner.Validate(); err != nil {
		panic("direct: subsampled shape of a valid 1x1 conv: " + err.Error())
	}
	return inner, true
}

// stripWaste is the share of strip slots left empty when rows of w pixels
// are cut into strips of at most pmax: 7 pixels in strips of 3 take 3
// strips, 9 slots, 2/7 ≈ 29 % more than the pixels.
func stripWaste(w, pmax int) float64 {
	strips := (w + pmax - 1) / pmax
	return float64(strips*pmax-w) / float64(w)
}

// runSubsample writes one input block (task = image n's block b at
// n·ICB + b) of the strided input c.in, pixels (oh·StrideH, ow·StrideW), into
// the subsampled plane of the workspace c.src.
func (c *Conv) runSubsample(task, _ int) {
	s, vl := &c.strided, c.vl
	in := c.in[task*s.H*s.W*vl:][:s.H*s.W*vl]
	dst := c.src[task*c.inBlk:][:c.inBlk]
	for oh := range s.OutH {
		row := in[oh*s.StrideH*s.W*vl:]
		out := dst[oh*s.OutW*vl:][:s.OutW*vl]
		step := s.StrideW * vl
		for ow := range s.OutW {
			copyPixel(out[ow*vl:(ow+1)*vl], row[ow*step:])
		}
	}
}

// copyPixel copies len(dst) (8 or 16) floats from src. Element by element:
// copy (memmove) per 32-byte pixel was 16 % of ResNet-50's res3a projection.
func copyPixel(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i]
	}
}
