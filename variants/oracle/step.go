package oracle

import (
	"fmt"
	"sync"

	"github.com/resbench/resbench/kernels"

	"github.com/resbench/resbench/kernels/naive"
	"github.com/resbench/resbench/variants/graph"
)

// Step returns the reference implementation of node n, reading its
// inputs from bufs and writing bufs[n.ID]. It is generic so that the naive
// float32 executor and the float64 oracle are the same code; param converts
// a weight slice once, at plan time.
//
// threads > 1 splits convolutions over output channels on that many
// goroutines (started per call: the oracle is not a timed path).
func Step[T naive.Float](n *graph.Node, bufs [][]T, param func([]float32) []T, threads int) (func(), error) {
	out := bufs[n.ID]
	in := func(i int) []T { return bufs[n.Inputs[i].ID] }
	x := n.Inputs[0].Shape
	switch op := n.Op.(type) {
	case *graph.Conv2D:
		s, err := op.Shape(x)
		if err != nil {
			return nil, err
		}
		w, b := param(op.Weight), param(op.Bias)
		var res []T
		if len(n.Inputs) == 2 {
			res = in(1)
		}
		src := in(0)
		if op.Pool != nil {
			// conv + relu + pool: the conv output is the step's scratch.
			full := make([]T, s.Out().Elems())
			p := naive.Pool2D{N: s.N, C: s.OutC, H: s.OutH, W: s.OutW, K: op.Pool.K, Stride: op.Pool.Stride, Pad: op.Pool.Pad, OutH: n.Shape.H, OutW: n.Shape.W}
			return func() {
				naive.Conv2D(&s, src, w, b, res, op.ReLU, full)
				naive.MaxPool(p, full, out)
			}, nil
		}
		if threads > 1 {
			return func() { parallelConv(&s, src, w, b, res, op.ReLU, out, threads) }, nil
		}
		return func() { naive.Conv2D(&s, src, w, b, res, op.ReLU, out) }, nil
	case *graph.BatchNorm:
		g, b, m, v := param(op.Gamma), param(op.Beta), param(op.Mean), param(op.Var)
		src := in(0)
		return func() { naive.BatchNorm(x.N, x.C, x.Plane(), src, g, b, m, v, T(op.Eps), op.ReLU, out) }, nil
	case *graph.ReLU:
		src := in(0)
		return func() { naive.ReLU(src, out) }, nil
	case *graph.Add:
		xs := make([][]T, len(n.Inputs))
		for i := range xs {
			xs[i] = in(i)
		}
		return func() { naive.Add(xs, op.ReLU, out) }, nil
	case *graph.MaxPool:
		p := naive.Pool2D{N: x.N, C: x.C, H: x.H, W: x.W, K: op.K, Stride: op.Stride, Pad: op.Pad, OutH: n.Shape.H, OutW: n.Shape.W}
		src := in(0)
		return func() { naive.MaxPool(p, src, out) }, nil
	case *graph.AvgPool:
		p := naive.Pool2D{N: x.N, C: x.C, H: x.H, W: x.W, K: op.K, Stride: op.Stride, Pad: op.Pad, OutH: n.Shape.H, OutW: n.Shape.W}
		src := in(0)
		return func() { naive.AvgPool(p, op.CountPad, src, out) }, nil
	case *graph.GlobalAvgPool:
		src := in(0)
		return func() { naive.GlobalAvgPool(x.N*x.C, x.Plane(), src, out) }, nil
	case *graph.FullyConnected:
		w, b := param(op.Weight), param(op.Bias)
		src := in(0)
		return func() { naive.FullyConnected(x.N, op.In, op.Out, src, w, b, op.ReLU, out) }, nil
	case *graph.Sigmoid:
		src := in(0)
		return func() { naive.Sigmoid(src, out) }, nil
	case *graph.ChannelMul:
		src, sc := in(0), in(1)
		var res []T
		if len(n.Inputs) == 3 {
			res = in(2)
		}
		return func() { naive.ChannelMul(x.N*x.C, x.Plane(), src, sc, res, op.ReLU, out) }, nil
	case *graph.Concat:
		xs := make([][]T, len(n.Inputs))
		cs := make([]int, len(n.Inputs))
		for i, m := range n.Inputs {
			xs[i], cs[i] = in(i), m.Shape.C
		}
		return func() { naive.Concat(x.N, x.Plane(), xs, cs, out) }, nil
	case *graph.Slice:
		src := in(0)
		return func() { naive.Slice(x.N, x.C, x.Plane(), op.Start, op.End, src, out) }, nil
	case *graph.Flatten:
		src := in(0)
		return func() { copy(out, src) }, nil
	}
	return nil, fmt.Errorf("node %s: no naive kernel for op %q", n.Name, n.Op.Type())
}

// parallelConv runs naive.Conv2DRange on threads goroutines, each a range of
// output channels; every output is still computed by one goroutine in the
// reference order, so the result does not depend on threads.
func parallelConv[T naive.Float](s *kernels.ConvShape, in, w, b, res []T, relu bool, out []T, threads int) {
	var wg sync.WaitGroup
	per := (s.OutC + threads - 1) / threads
	for lo := 0; lo < s.OutC; lo += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			naive.Conv2DRange(s, in, w, b, res, relu, out, lo, hi)
		}(lo, min(lo+per, s.OutC))
	}
	wg.Wait()
}
