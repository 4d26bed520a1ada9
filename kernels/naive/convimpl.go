package naive

import "github.com/resbench/resbench/kernels"

// Conv is the reference kernels.Conv: Conv2D behind the common interface, so
// the conformance suite and the executor can treat it like any other
// implementation.
type Conv struct {
	spec kernels.ConvSpec
}

// NewConv validates spec and returns the naive convolution.
func NewConv(spec kernels.ConvSpec) (*Conv, error) {
	if err := spec.Shape.Validate(); err != nil {
		return nil, err
	}
	return &Conv{spec: spec}, nil
}

func (c *Conv) Name() string           { return "naive" }
func (c *Conv) Layout() kernels.Layout { return kernels.NCHW }
func (c *Conv) WorkspaceLen() int      { return 0 }
func (c *Conv) Run(in, out, residual, ws []float32) {
	Conv2D(&c.spec.Shape, in, c.spec.Weight, c.spec.Bias, residual, c.spec.ReLU, out)
}
