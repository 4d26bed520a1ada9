package kernels

import "fmt"

// ConvShape is everything a convolution implementation needs to know about
// one 2-D convolution: the input geometry, the filter, stride, padding,
// dilation and groups. Weights are laid out [OutC][InC/Groups][KH][KW], as
// in PyTorch.
type ConvShape struct {
	N, InC, H, W int // input
	OutC         int
	KH, KW       int
	StrideH      int
	StrideW      int
	PadH, PadW   int // symmetric zero padding
	DilH, DilW   int
	Groups       int
	OutH, OutW   int // derived by Validate
	InCG, OutCG  int // channels per group, derived by Validate
}

// Validate checks the shape and fills the derived fields. It returns an
// error that names the bad field instead of letting a kernel index out of
// range later.
func (s *ConvShape) Validate() error {
	if s.DilH == 0 {
		s.DilH = 1
	}
	if s.DilW == 0 {
		s.DilW = 1
	}
	if s.Groups == 0 {
		s.Groups = 1
	}
	switch {
	case s.N <= 0 || s.InC <= 0 || s.H <= 0 || s.W <= 0:
		return fmt.Errorf("conv: input %dx%dx%dx%d must be positive", s.N, s.InC, s.H, s.W)
	case s.OutC <= 0 || s.KH <= 0 || s.KW <= 0:
		return fmt.Errorf("conv: filter %dx%dx%d must be positive", s.OutC, s.KH, s.KW)
	case s.StrideH <= 0 || s.StrideW <= 0:
		return fmt.Errorf("conv: stride %dx%d must be positive", s.StrideH, s.StrideW)
	case s.PadH < 0 || s.PadW < 0:
		return fmt.Errorf("conv: padding %dx%d must not be negative", s.PadH, s.PadW)
	case s.DilH < 0 || s.DilW < 0:
		return fmt.Errorf("conv: dilation %dx%d must be positive", s.DilH, s.DilW)
	case s.InC%s.Groups != 0 || s.OutC%s.Groups != 0:
		return fmt.Errorf("conv: groups %d must divide input channels %d and output channels %d", s.Groups, s.InC, s.OutC)
	}
	s.InCG, s.OutCG = s.InC/s.Groups, s.OutC/s.Groups
	effH := (s.KH-1)*s.DilH + 1
	effW := (s.KW-1)*s.DilW + 1
	s.OutH = (s.H+2*s.PadH-effH)/s.StrideH + 1
	s.OutW = (s.W+2*s.PadW-effW)/s.StrideW + 1
	if s.H+2*s.PadH < effH || s.W+2*s.PadW < effW {
		return fmt.Errorf("conv: %dx%d kernel (dilation %dx%d) does not fit the %dx%d input with padding %dx%d", s.KH, s.KW, s.DilH, s.DilW, s.H, s.W, s.PadH, s.PadW)
	}
	return nil
}

// MACs is the multiply-accumulate count of the convolution.
func (s *ConvShape) MACs() int64 {
	return int64(s.N) * int64(s.OutC) * int64(s.OutH) * int64(s.OutW) * int64(s.InCG) * int64(s.KH) * int64(s.KW)
}

// WeightLen is the number of filter values.
func (s *ConvShape) WeightLen() int { return s.OutC * s.InCG * s.KH * s.KW }

// In and Out are the activation shapes.
func (s *ConvShape) In() Shape  { return Shape{s.N, s.InC, s.H, s.W} }
func (s *ConvShape) Out() Shape { return Shape{s.N, s.OutC, s.OutH, s.OutW} }

// String gives a compact description such as "64x56x56→64 3x3/1 p1 g1".
func (s *ConvShape) String() string {
	return fmt.Sprintf("%dx%dx%d→%d %dx%d/%d p%d g%d", s.InC, s.H, s.W, s.OutC, s.KH, s.KW, s.StrideH, s.PadH, s.Groups)
}

// Epilogue is the element-wise tail fused into a convolution's store:
// y = conv + Bias[c]; then y += Residual (same shape as the output); then
// y = max(y, 0) if ReLU. Nil slices are skipped.
type Epilogue struct {
	Bias     []float32
	Residual []float32
	ReLU     bool
}

// ConvSpec is a convolution with its parameters: what a Conv constructor
// plans from. Weight is [OutC][InC/Groups][KH][KW]; Bias is nil or OutC
// values; ReLU applies max(·,0) last in the store (after a residual add, if
// Run is given one).
type ConvSpec struct {
	Shape  ConvShape
	Weight []float32
	Bias   []float32
	ReLU   bool
}

// Conv is a convolution planned for one ConvSpec: its constructor validates
// the shape and packs or transforms the weights once, so that Run does no
// setup and allocates nothing. Every implementation (naive, im2col+GEMM,
// Winograd, direct, grouped) satisfies it, and the shared conformance suite
// (kernels/kerneltest) runs them all through the same cases.
type Conv interface {
	// Name identifies the algorithm and microkernel, e.g. "im2col" or
	// "winograd-f4".
	Name() string
	// Layout is the activation layout of in, out and residual.
	Layout() Layout
	// WorkspaceLen is the number of float32s of scratch Run needs; the
	// caller owns it, so a planner can share one workspace across layers.
	WorkspaceLen() int
	// Run computes out = relu?(conv(in) + bias + residual) for the whole
	// batch. residual is nil or shaped like out; ws has at least
	// WorkspaceLen elements. in and out must not overlap.
	Run(in, out, residual, ws []float32)
}
