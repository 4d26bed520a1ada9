package graph

import (
	"fmt"

	"github.com/resbench/resbench/kernels"
)

// Op is the operation of a node. Each concrete op type below knows its
// output shape, its multiply-accumulate count and its parameter count.
type Op interface {
	// Type is the op's short name as dumps and profiles show it.
	Type() string
	// infer returns the output shape for the given input shapes.
	infer(in []kernels.Shape) (kernels.Shape, error)
	// macs counts multiply-accumulates of conv and FC ops (the convention of
	// the published model tables: BN, ReLU, pooling, adds are not counted).
	macs(in []kernels.Shape, out kernels.Shape) int64
	// params counts learned parameters (BN: gamma and beta, like
	// torchvision; running statistics are buffers, not parameters).
	params() int64
	// attrs is the op's attributes for String().
	attrs() string
}

// Input is the graph's source: an N×C×H×W image batch.
type Input struct{ C int }

// Conv2D is a 2-D convolution with optional bias and a fused epilogue.
// Weight is [OutC][InC/Groups][KH][KW]. When the node has a second input,
// that tensor is added to the result before the ReLU (conv + eltsum (+relu)).
type Conv2D struct {
	InC, OutC        int
	KH, KW           int
	StrideH, StrideW int
	PadH, PadW       int
	DilH, DilW       int
	Groups           int
	Weight           []float32
	Bias             []float32 // nil: no bias
	ReLU             bool      // fused ReLU in the store
	// Pool, if set, is a max pooling applied to the conv's (ReLU'd) output
	// in the same step (conv + relu + pooling); the node's output is the
	// pooled tensor.
	Pool *MaxPool
}

// BatchNorm is inference-form batch normalization:
// y = (x − Mean)/sqrt(Var + Eps)·Gamma + Beta, then max(y,0) if ReLU (the
// fused pre-activation pair).
type BatchNorm struct {
	C                      int
	Gamma, Beta, Mean, Var []float32
	Eps                    float32
	ReLU                   bool
}

// ReLU is max(x, 0).
type ReLU struct{}

// Add sums its inputs element-wise (two for a shortcut, more for ResNeXt
// form a), then applies ReLU if set.
type Add struct{ ReLU bool }

// MaxPool is max pooling over K×K windows; padding never wins.
type MaxPool struct{ K, Stride, Pad int }

// AvgPool is average pooling over K×K windows. CountPad includes padding in
// the divisor (PyTorch's count_include_pad).
type AvgPool struct {
	K, Stride, Pad int
	CountPad       bool
}

// GlobalAvgPool averages each channel to 1×1. InProducer marks a pool that
// the executor computes in its producer's step, while the producer's output
// is still in cache (the SE squeeze fused into the conv before it).
type GlobalAvgPool struct{ InProducer bool }

// FullyConnected is y = W·x + b on an N×In×1×1 input; W is [Out][In].
type FullyConnected struct {
	In, Out int
	Weight  []float32
	Bias    []float32 // nil: no bias
	ReLU    bool
}

// Sigmoid is 1/(1+e^−x).
type Sigmoid struct{}

// ChannelMul scales each channel of input 0 (N×C×H×W) by input 1
// (N×C×1×1), the SE block's excitation. With a third input, that tensor is
// added afterwards (the fused channel-wise axpy), then ReLU if set.
type ChannelMul struct{ ReLU bool }

// Concat joins its inputs along channels.
type Concat struct{}

// Slice keeps channels [Start, End) of its input.
type Slice struct{ Start, End int }

// Flatten reshapes N×C×H×W to N×(C·H·W)×1×1.
type Flatten struct{}

// Reorder converts its input to another memory layout (NCHW ↔ nChw8c /
// nChw16c). Builders never emit it: the executor inserts it where a kernel
// needs a layout its input does not have, so the plan shows every reorder.
type Reorder struct{ To kernels.Layout }

func (*Input) Type() string          { return "input" }
func (*Conv2D) Type() string         { return "conv" }
func (*BatchNorm) Type() string      { return "bn" }
func (*ReLU) Type() string           { return "relu" }
func (*Add) Type() string            { return "add" }
func (*MaxPool) Type() string        { return "maxpool" }
func (*AvgPool) Type() string        { return "avgpool" }
func (*GlobalAvgPool) Type() string  { return "gap" }
func (*FullyConnected) Type() string { return "fc" }
func (*Sigmoid) Type() string        { return "sigmoid" }
func (*ChannelMul) Type() string     { return "chmul" }
func (*Concat) Type() string         { return "concat" }
func (*Slice) Type() string          { return "slice" }
func (*Flatten) Type() string        { return "flatten" }
func (*Reorder) Type() string        { return "reorder" }

func arity(in []kernels.Shape, lo, hi int, op string) error {
	if len(in) < lo || len(in) > hi {
		if lo == hi {
			return fmt.Errorf("%s takes %d inputs, got %d", op, lo, len(in))
		}
		return fmt.Errorf("%s takes %d to %d inputs, got %d", op, lo, hi, len(in))
	}
	return nil
}

func (o *Input) infer(in []kernels.Shape) (kernels.Shape, error) {
	return kernels.Shape{}, fmt.Errorf("input shape is set by the graph, not inferred")
}

// Shape returns the kernels.ConvShape of this conv applied to input x.
func (o *Conv2D) Shape(x kernels.Shape) (kernels.ConvShape, error) {
	s := kernels.ConvShape{N: x.N, InC: x.C, H: x.H, W: x.W, OutC: o.OutC, KH: o.KH, KW: o.KW,
		StrideH: o.StrideH, StrideW: o.StrideW, PadH: o.PadH, PadW: o.PadW, DilH: o.DilH, DilW: o.DilW, Groups: o.Groups}
	if x.C != o.InC {
		return s, fmt.Errorf("conv expects %d input channels, got %d", o.InC, x.C)
	}
	// Validate fills in the output size; the spec leaves the order of
	// "return s, s.Validate()" open.
	err := s.Validate()
	return s, err
}

func (o *Conv2D) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 2, "conv"); err != nil {
		return kernels.Shape{}, err
	}
	s, err := o.Shape(in[0])
	if err != nil {
		return kernels.Shape{}, err
	}
	if len(o.Weight) != s.WeightLen() {
		return kernels.Shape{}, fmt.Errorf("conv weight has %d values, want %d", len(o.Weight), s.WeightLen())
	}
	if o.Bias != nil && len(o.Bias) != o.OutC {
		return kernels.Shape{}, fmt.Errorf("conv bias has %d values, want %d", len(o.Bias), o.OutC)
	}
	out := s.Out()
	if len(in) == 2 && in[1] != out {
		return kernels.Shape{}, fmt.Errorf("conv residual input is %v, output is %v", in[1], out)
	}
	if o.Pool != nil {
		return o.Pool.infer([]kernels.Shape{out})
	}
	return out, nil
}

func (o *BatchNorm) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "bn"); err != nil {
		return kernels.Shape{}, err
	}
	if in[0].C != o.C {
		return kernels.Shape{}, fmt.Errorf("bn has %d channels, input has %d", o.C, in[0].C)
	}
	return in[0], nil
}

func (o *ReLU) infer(in []kernels.Shape) (kernels.Shape, error) {
	return in[0], arity(in, 1, 1, "relu")
}

func (o *Add) infer(in []kernels.Shape) (kernels.Shape, error) {
	if len(in) < 2 {
		return kernels.Shape{}, fmt.Errorf("add takes at least 2 inputs, got %d", len(in))
	}
	for _, s := range in[1:] {
		if s != in[0] {
			return kernels.Shape{}, fmt.Errorf("add inputs differ: %v and %v", in[0], s)
		}
	}
	return in[0], nil
}

func poolOut(x kernels.Shape, k, stride, pad int, op string) (kernels.Shape, error) {
	if k <= 0 || stride <= 0 || pad < 0 || 2*pad > k {
		return kernels.Shape{}, fmt.Errorf("%s window %d stride %d pad %d is invalid", op, k, stride, pad)
	}
	if x.H+2*pad < k || x.W+2*pad < k {
		return kernels.Shape{}, fmt.Errorf("%s window %d does not fit %dx%d", op, k, x.H, x.W)
	}
	return kernels.Shape{N: x.N, C: x.C, H: (x.H+2*pad-k)/stride + 1, W: (x.W+2*pad-k)/stride + 1}, nil
}

func (o *MaxPool) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "maxpool"); err != nil {
		return kernels.Shape{}, err
	}
	return poolOut(in[0], o.K, o.Stride, o.Pad, "maxpool")
}

func (o *AvgPool) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "avgpool"); err != nil {
		return kernels.Shape{}, err
	}
	return poolOut(in[0], o.K, o.Stride, o.Pad, "avgpool")
}

func (o *GlobalAvgPool) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "gap"); err != nil {
		return kernels.Shape{}, err
	}
	return kernels.Shape{N: in[0].N, C: in[0].C, H: 1, W: 1}, nil
}

func (o *FullyConnected) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "fc"); err != nil {
		return kernels.Shape{}, err
	}
	if got := in[0].C * in[0].H * in[0].W; got != o.In {
		return kernels.Shape{}, fmt.Errorf("fc expects %d inputs, got %d", o.In, got)
	}
	if len(o.Weight) != o.In*o.Out || (o.Bias != nil && len(o.Bias) != o.Out) {
		return kernels.Shape{}, fmt.Errorf("fc %d→%d has %d weights and %d biases", o.In, o.Out, len(o.Weight), len(o.Bias))
	}
	return kernels.Shape{N: in[0].N, C: o.Out, H: 1, W: 1}, nil
}

func (o *Sigmoid) infer(in []kernels.Shape) (kernels.Shape, error) {
	return in[0], arity(in, 1, 1, "sigmoid")
}

func (o *ChannelMul) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 2, 3, "chmul"); err != nil {
		return kernels.Shape{}, err
	}
	x, s := in[0], in[1]
	if s.N != x.N || s.C != x.C || s.H != 1 || s.W != 1 {
		return kernels.Shape{}, fmt.Errorf("chmul scale is %v, want %dx%dx1x1", s, x.N, x.C)
	}
	if len(in) == 3 && in[2] != x {
		return kernels.Shape{}, fmt.Errorf("chmul residual is %v, want %v", in[2], x)
	}
	return x, nil
}

func (o *Concat) infer(in []kernels.Shape) (kernels.Shape, error) {
	if len(in) < 1 {
		return kernels.Shape{}, fmt.Errorf("concat takes at least 1 input")
	}
	out := in[0]
	for _, s := range in[1:] {
		if s.N != out.N || s.H != out.H || s.W != out.W {
			return kernels.Shape{}, fmt.Errorf("concat inputs differ: %v and %v", in[0], s)
		}
		out.C += s.C
	}
	return out, nil
}

func (o *Slice) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "slice"); err != nil {
		return kernels.Shape{}, err
	}
	if o.Start < 0 || o.End > in[0].C || o.Start >= o.End {
		return kernels.Shape{}, fmt.Errorf("slice [%d,%d) outside %d channels", o.Start, o.End, in[0].C)
	}
	out := in[0]
	out.C = o.End - o.Start
	return out, nil
}

func (o *Reorder) infer(in []kernels.Shape) (kernels.Shape, error) {
	return in[0], arity(in, 1, 1, "reorder")
}

func (o *Flatten) infer(in []kernels.Shape) (kernels.Shape, error) {
	if err := arity(in, 1, 1, "flatten"); err != nil {
		return kernels.Shape{}, err
	}
	return kernels.Shape{N: in[0].N, C: in[0].C * in[0].H * in[0].W, H: 1, W: 1}, nil
}

func (o *Conv2D) macs(in []kernels.Shape, out kernels.Shape) int64 {
	s, err := o.Shape(in[0])
	if err != nil {
		return 0
	}
	return s.MACs()
}
func (o *FullyConnected) macs(in []kernels.Shape, out kernels.Shape) int64 {
	return int64(out.N) * int64(o.In) * int64(o.Out)
}
func (*Input) macs([]kernels.Shape, kernels.Shape) int64         { return 0 }
func (*BatchNorm) macs([]kernels.Shape, kernels.Shape) int64     { return 0 }
func (*ReLU) macs([]kernels.Shape, kernels.Shape) int64          { return 0 }
func (*Add) macs([]kernels.Shape, kernels.Shape) int64           { return 0 }
func (*MaxPool) macs([]kernels.Shape, kernels.Shape) int64       { return 0 }
func (*AvgPool) macs([]kernels.Shape, kernels.Shape) int64       { return 0 }
func (*GlobalAvgPool) macs([]kernels.Shape, kernels.Shape) int64 { return 0 }
func (*Sigmoid) macs([]kernels.Shape, kernels.Shape) int64       { return 0 }
func (*ChannelMul) macs([]kernels.Shape, kernels.Shape) int64    { return 0 }
func (*Concat) macs([]kernels.Shape, kernels.Shape) int64        { return 0 }
func (*Slice) macs([]kernels.Shape, kernels.Shape) int64         { return 0 }
func (*Flatten) macs([]kernels.Shape, kernels.Shape) int64       { return 0 }
func (*Reorder) macs([]kernels.Shape, kernels.Shape) int64       { return 0 }

func (o *Conv2D) params() int64         { return int64(len(o.Weight) + len(o.Bias)) }
func (o *FullyConnected) params() int64 { return int64(len(o.Weight) + len(o.Bias)) }
func (o *BatchNorm) params() int64      { return int64(2 * o.C) }
func (*Input) params() int64            { return 0 }
func (*ReLU) params() int64             { return 0 }
func (*Add) params() int64              { return 0 }
func (*MaxPool) params() int64          { return 0 }
func (*AvgPool) params() int64          { return 0 }
func (*GlobalAvgPool) params() int64    { return 0 }
func (*Sigmoid) params() int64          { return 0 }
func (*ChannelMul) params() int64       { return 0 }
func (*Concat) params() int64           { return 0 }
func (*Slice) params() int64            { return 0 }
func (*Flatten) params() int64          { return 0 }
func (*Reorder) params() int64          { return 0 }

func relu(b bool) string {
	if b {
		return "+relu"
	}
	return ""
}

func (o *Input) attrs() string { return fmt.Sprintf("c=%d", o.C) }
func (o *Conv2D) attrs() string {
	s := fmt.Sprintf("%d→%d k=%dx%d s=%d p=%d", o.InC, o.OutC, o.KH, o.KW, o.StrideH, o.PadH)
	if o.DilH > 1 {
		s += fmt.Sprintf(" d=%d", o.DilH)
	}
	if o.Groups > 1 {
		s += fmt.Sprintf(" g=%d", o.Groups)
	}
	if o.Bias != nil {
		s += " +bias"
	}
	s += relu(o.ReLU)
	if o.Pool != nil {
		s += " +maxpool(" + o.Pool.attrs() + ")"
	}
	return s
}
func (o *BatchNorm) attrs() string { return fmt.Sprintf("c=%d eps=%g", o.C, o.Eps) + relu(o.ReLU) }
func (*ReLU) attrs() string        { return "" }
func (o *Add) attrs() string       { return relu(o.ReLU) }
func (o *MaxPool) attrs() string   { return fmt.Sprintf("k=%d s=%d p=%d", o.K, o.Stride, o.Pad) }
func (o *AvgPool) attrs() string {
	return fmt.Sprintf("k=%d s=%d p=%d countpad=%t", o.K, o.Stride, o.Pad, o.CountPad)
}
func (o *GlobalAvgPool) attrs() string {
	if o.InProducer {
		return "in-producer"
	}
	return ""
}
func (o *FullyConnected) attrs() string {
	s := fmt.Sprintf("%d→%d", o.In, o.Out)
	if o.Bias != nil {
		s += " +bias"
	}
	return s + relu(o.ReLU)
}
func (*Sigmoid) attrs() string      { return "" }
func (o *ChannelMul) attrs() string { return relu(o.ReLU) }
func (*Concat) attrs() string       { return "" }
func (o *Slice) attrs() string      { return fmt.Sprintf("[%d:%d]", o.Start, o.End) }
func (*Flatten) attrs() string      { return "" }
func (o *Reorder) attrs() string    { return "to " + o.To.String() }
