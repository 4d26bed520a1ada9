package kernels

import (
	"strings"
	"testing"
)

// TestValidate: the derived output size, channels per group and defaults
// (dilation and groups 0 mean 1) on asymmetric shapes, where a swapped H/W
// field shows, and each kind of bad shape refused with its field named.
func TestValidate(t *testing.T) {
	for _, c := range []struct {
		s                       ConvShape
		outH, outW, incg, outcg int
	}{
		{ConvShape{N: 1, InC: 3, H: 224, W: 224, OutC: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadH: 3, PadW: 3}, 112, 112, 3, 64},
		{ConvShape{N: 1, InC: 4, H: 10, W: 7, OutC: 6, KH: 3, KW: 1, StrideH: 2, StrideW: 1, PadH: 1, PadW: 0, Groups: 2}, 5, 7, 2, 3},
		{ConvShape{N: 2, InC: 2, H: 9, W: 12, OutC: 2, KH: 1, KW: 5, StrideH: 1, StrideW: 3, PadH: 0, PadW: 2}, 9, 4, 2, 2},
		{ConvShape{N: 1, InC: 8, H: 9, W: 9, OutC: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 2, PadH: 2, PadW: 1, DilH: 2, DilW: 1, Groups: 8}, 9, 5, 1, 1},
		{ConvShape{N: 1, InC: 256, H: 56, W: 56, OutC: 512, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, 28, 28, 256, 512},
	} {
		s := c.s
		if err := s.Validate(); err != nil {
			t.Fatalf("%+v: %v", c.s, err)
		}
		if s.OutH != c.outH || s.OutW != c.outW || s.InCG != c.incg || s.OutCG != c.outcg {
			t.Errorf("%+v: out %dx%d, %d/%d channels per group; want %dx%d, %d/%d",
				c.s, s.OutH, s.OutW, s.InCG, s.OutCG, c.outH, c.outW, c.incg, c.outcg)
		}
		if s.DilH < 1 || s.DilW < 1 || s.Groups < 1 {
			t.Errorf("%+v: defaults not filled: dilation %dx%d, groups %d", c.s, s.DilH, s.DilW, s.Groups)
		}
	}
	ok := ConvShape{N: 1, InC: 4, H: 8, W: 8, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}
	for _, c := range []struct {
		edit func(*ConvShape)
		want string
	}{
		{func(s *ConvShape) { s.W = 0 }, "input"},
		{func(s *ConvShape) { s.KW = 0 }, "filter"},
		{func(s *ConvShape) { s.StrideW = 0 }, "stride"},
		{func(s *ConvShape) { s.PadW = -1 }, "padding"},
		{func(s *ConvShape) { s.DilW = -1 }, "dilation"},
		{func(s *ConvShape) { s.Groups = 3 }, "groups"},
		{func(s *ConvShape) { s.KW, s.PadW = 11, 1 }, "does not fit"},
	} {
		s := ok
		c.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one about %q", s, err, c.want)
		}
	}
}
