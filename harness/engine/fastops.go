package engine

import (
	"fmt"
	"math"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/eltwise"
	"github.com/resbench/resbench/variants/graph"
)

// planeTasks runs fn(plane) for each of n channel planes on the pool, in
// chunks so that small planes do not drown in hand-off cost. The closure
// handed to the pool is built here, at plan time, so running the step
// allocates nothing.
func (p *Plan) planeTasks(n, planeLen int, fn func(plane, worker int)) func() {
	// About 32 KiB of output per task.
	per := max(1, 8192/max(planeLen, 1))
	tasks := (n + per - 1) / per
	body := func(task, worker int) {
		for i := task * per; i < min(n, (task+1)*per); i++ {
			fn(i, worker)
		}
	}
	return func() { p.pool.Run(tasks, body) }
}

// fastStep returns the vectorized, multi-threaded implementation of a
// non-convolution node in NCHW, or nil if there is none (the naive step is
// then used).
func (p *Plan) fastStep(n *graph.Node) (func(), error) {
	out := p.bufs[n.ID]
	in := func(i int) []float32 { return p.bufs[n.Inputs[i].ID] }
	x := n.Inputs[0].Shape
	plane := x.Plane()
	switch op := n.Op.(type) {
	case *graph.BatchNorm:
		scale, shift := make([]float32, op.C), make([]float32, op.C)
		for c := range op.C {
			s := float64(op.Gamma[c]) / math.Sqrt(float64(op.Var[c])+float64(op.Eps))
			scale[c] = float32(s)
			shift[c] = float32(float64(op.Beta[c]) - float64(op.Mean[c])*s)
		}
		src := in(0)
		return p.planeTasks(x.N*x.C, plane, func(i, _ int) {
			c := i % x.C
			eltwise.ScaleShift(src[i*plane:(i+1)*plane], out[i*plane:(i+1)*plane], scale[c], shift[c], op.ReLU)
		}), nil
	case *graph.ReLU:
		src := in(0)
		return p.planeTasks(x.N*x.C, plane, func(i, _ int) {
			eltwise.ReLU(src[i*plane:(i+1)*plane], out[i*plane:(i+1)*plane])
		}), nil
	case *graph.Add:
		srcs := make([][]float32, len(n.Inputs))
		for i := range srcs {
			srcs[i] = in(i)
		}
		return p.planeTasks(x.N*x.C, plane, func(i, _ int) {
			lo, hi := i*plane, (i+1)*plane
			last := len(srcs) - 1
			// Sum left to right, as the naive kernel does, applying the
			// ReLU only with the last addend.
			eltwise.Add(srcs[0][lo:hi], srcs[1][lo:hi], out[lo:hi], op.ReLU && last == 1)
			for j := 2; j <= last; j++ {
				eltwise.Add(out[lo:hi], srcs[j][lo:hi], out[lo:hi], op.ReLU && j == last)
			}
		}), nil
	case *graph.MaxPool:
		if op.K != 3 {
			return nil, nil
		}
		pool := p.maxPoolFn(x.N*x.C, x.H, x.W, n.Shape.H, n.Shape.W, op.Stride, op.Pad)
		src := in(0)
		return func() { pool(src, out) }, nil
	case *graph.AvgPool:
		if op.K != 1 || op.Pad != 0 {
			return nil, nil
		}
		// A 1x1 average pool is a strided subsample (pool1x1).
		src := in(0)
		oh, ow := n.Shape.H, n.Shape.W
		return p.planeTasks(x.N*x.C, oh*ow, func(i, _ int) {
			s, d := src[i*plane:(i+1)*plane], out[i*oh*ow:(i+1)*oh*ow]
			for r := range oh {
				row := s[r*op.Stride*x.W:]
				for c := range ow {
					d[r*ow+c] = row[c*op.Stride]
				}
			}
		}), nil
	case *graph.GlobalAvgPool:
		return p.gapFn(x.N*x.C, plane, in(0), out), nil
	case *graph.ChannelMul:
		src, sc := in(0), in(1)
		var res []float32
		if len(n.Inputs) == 3 {
			res = in(2)
		}
		return p.planeTasks(x.N*x.C, plane, func(i, _ int) {
			lo, hi := i*plane, (i+1)*plane
			if res != nil {
				eltwise.ScaleAdd(src[lo:hi], res[lo:hi], out[lo:hi], sc[i], op.ReLU)
			} else {
				eltwise.ScaleShift(src[lo:hi], out[lo:hi], sc[i], 0, op.ReLU)
			}
		}), nil
	}
	return nil, nil
}

// maxPoolFn returns a 3x3 max pool over planes channel planes of h×w into
// oh×ow, parallel over planes, with its per-worker row buffers and task
// closure built now; src and dst are given per call.
func (p *Plan) maxPoolFn(planes, h, w, oh, ow, stride, pad int) func(src, dst []float32) {
	rows := make([][]float32, p.pool.Threads())
	for i := range rows {
		rows[i] = kernels.Alloc(w)
	}
	var cs, cd []float32
	run := p.planeTasks(planes, oh*ow, func(i, worker int) {
		maxPool3(cs[i*h*w:(i+1)*h*w], cd[i*oh*ow:(i+1)*oh*ow], h, w, oh, ow, stride, pad, rows[worker])
	})
	return func(src, dst []float32) {
		cs, cd = src, dst
		run()
		cs, cd = nil, nil
	}
}

// gapFn returns the global average pool of planes channel planes of src
// into dst.
func (p *Plan) gapFn(planes, plane int, src, dst []float32) func() {
	inv := 1 / float32(plane)
	return p.planeTasks(planes, plane, func(i, _ int) {
		dst[i] = eltwise.Sum(src[i*plane:(i+1)*plane]) * inv
	})
}

// maxPool3 is a 3x3 max pool of one plane: the vertical max of the three
// input rows (vectorized), then the horizontal max of three neighbours.
// Padding never wins.
func maxPool3(src, dst []float32, h, w, oh, ow, stride, pad int, row []float32) {
	for r := range oh {
		top := r*stride - pad
		lo, hi := max(top, 0), min(top+3, h)
		switch hi - lo {
		case 3:
			eltwise.Max3(src[lo*w:(lo+1)*w], src[(lo+1)*w:(lo+2)*w], src[(lo+2)*w:(lo+3)*w], row)
		case 2:
			a := src[lo*w : (lo+1)*w]
			eltwise.Max3(a, a, src[(lo+1)*w:(lo+2)*w], row)
		case 1:
			copy(row, src[lo*w:(lo+1)*w])
		default:
			panic(fmt.Sprintf("maxpool: window row %d has no input row", r))
		}
		out := dst[r*ow : (r+1)*ow]
		for c := range ow {
			left := c*stride - pad
			m := float32(math.Inf(-1))
			for k := max(left, 0); k < min(left+3, w); k++ {
				m = max(m, row[k])
			}
			out[c] = m
		}
	}
}
