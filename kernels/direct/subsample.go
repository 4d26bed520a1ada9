package direct

import (
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/eltwise"
)

// subsampled reports whether New computes s, a strided 1×1 convolution
// without padding, as a subsample of the input into the workspace followed
// by the stride-1 convolution of the subsampled plane, and returns that
// stride-1 shape: when that plane is small enough to be one row of
// OutH·OutW pixels (flattenMaxPlane).
//
// Read in place, a strided row touches a cache line per output pixel for
// half a line's values, and rows of 7, 14 or 28 pixels leave short strips
// (7 = 3+2+2 on AVX2). ResNet-50's projections, BenchmarkConv, 1 thread,
// 8 alternated runs: res3a-proj 63.8 → 69.2 %peak (p = 0.13), res4a-proj
// 62.7 → 67.5 (p = 0.007), res5a-proj 50.1 → 56.4 (6 runs, p = 0.002; also
// with the pass in Go, which cost 16 % of res3a-proj's profile, against
// 8 % for eltwise.SubsamplePixels).
func subsampled(s kernels.ConvShape) (kernels.ConvShape, bool) {
	if s.KH != 1 || s.KW != 1 || s.PadH != 0 || s.PadW != 0 || (s.StrideH == 1 && s.StrideW == 1) ||
		s.OutH*s.OutW > flattenMaxPlane {
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

// runSubsample writes one input block (task = image n's block b at
// n·ICB + b) of the strided input c.in, pixels (oh·StrideH, ow·StrideW), into
// the subsampled plane of the workspace c.src.
func (c *Conv) runSubsample(task, _ int) {
	s, vl := &c.strided, c.vl
	in := c.in[task*s.H*s.W*vl:][:s.H*s.W*vl]
	eltwise.SubsamplePixels(in, c.src[task*c.inBlk:][:c.inBlk], s.OutH, s.OutW, vl, s.StrideW, s.StrideH*s.W*vl)
}
