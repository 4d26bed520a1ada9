package engine

import (
	"fmt"
	"math"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/eltwise"
	"github.com/resbench/resbench/kernels/naive"
	"github.com/resbench/resbench/variants/graph"
)

// planeTasks runs fn(plane) for each of n planes (channel planes in NCHW,
// channel-block planes in a blocked layout) on the pool, one contiguous
// range of planes per worker. These steps are bound by memory, and the
// tensor they read was just written by the workers of the step before, a
// contiguous part each: chunks of 32 KiB handed out in turn made every core
// read half of its input from the other's cache, and on two threads
// SE-ResNeXt-50's channel scales took 1.35 ms per inference against
// 0.49 ms with one range per worker (0.75 ms on one thread). A range is
// at least about 32 KiB of output, so that small steps do not drown in
// hand-off cost. The closure handed to the pool is built here, at plan
// time, so running the step allocates nothing.
func (p *Plan) planeTasks(n, planeLen int, fn func(plane, worker int)) func() {
	per := max(1, (n+p.pool.Threads()-1)/p.pool.Threads(), 8192/max(planeLen, 1))
	tasks := (n + per - 1) / per
	body := func(task, worker int) {
		for i := task * per; i < min(n, (task+1)*per); i++ {
			fn(i, worker)
		}
	}
	return func() { p.pool.Run(tasks, body) }
}

// fastStep returns the vectorized, multi-threaded implementation of a
// non-convolution node in its planned layout, or nil if there is none (the
// naive step is then used, in NCHW).
func (p *Plan) fastStep(n *graph.Node) (func(), error) {
	out := p.bufs[n.ID]
	in := func(i int) []float32 { return p.bufs[n.Inputs[i].ID] }
	x := n.Inputs[0].Shape
	l := p.layout[n]
	b := l.Block()
	cb := (x.C + b - 1) / b // channel blocks (channels, in NCHW)
	planes := x.N * cb      // planes of the input
	plane := x.Plane() * b  // floats per plane
	switch op := n.Op.(type) {
	case *graph.Reorder:
		src, from := in(0), p.layout[n.Inputs[0]]
		if from == kernels.NCHW {
			return func() { kernels.ToBlocked(op.To, x, src, out) }, nil
		}
		if op.To == kernels.NCHW {
			return func() { kernels.FromBlocked(from, x, src, out) }, nil
		}
		tmp := kernels.Alloc(x.Elems())
		return func() {
			kernels.FromBlocked(from, x, src, tmp)
			kernels.ToBlocked(op.To, x, tmp, out)
		}, nil
	case *graph.BatchNorm:
		// Per-channel scale and shift, padded to whole blocks with zeros
		// so the padding channels stay zero.
		scale, shift := make([]float32, cb*b), make([]float32, cb*b)
		for c := range op.C {
			s := float64(op.Gamma[c]) / math.Sqrt(float64(op.Var[c])+float64(op.Eps))
			scale[c] = float32(s)
			shift[c] = float32(float64(op.Beta[c]) - float64(op.Mean[c])*s)
		}
		src := in(0)
		return p.planeTasks(planes, plane, func(i, _ int) {
			c := i % cb
			s, d := src[i*plane:(i+1)*plane], out[i*plane:(i+1)*plane]
			if b == 1 {
				eltwise.ScaleShift(s, d, scale[c], shift[c], op.ReLU)
			} else {
				eltwise.ScaleShiftBlocked(s, d, scale[c*b:(c+1)*b], shift[c*b:(c+1)*b], op.ReLU)
			}
		}), nil
	case *graph.ReLU:
		src := in(0)
		return p.planeTasks(planes, plane, func(i, _ int) {
			eltwise.ReLU(src[i*plane:(i+1)*plane], out[i*plane:(i+1)*plane])
		}), nil
	case *graph.Add:
		srcs := make([][]float32, len(n.Inputs))
		for i := range srcs {
			srcs[i] = in(i)
		}
		return p.planeTasks(planes, plane, func(i, _ int) {
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
		pool := p.maxPoolFn(l, planes, x.H, x.W, n.Shape.H, n.Shape.W, op.K, op.Stride, op.Pad)
		src := in(0)
		return func() { pool(src, out) }, nil
	case *graph.AvgPool:
		if op.K != 1 || op.Pad != 0 {
			return nil, nil
		}
		// A 1x1 average pool is a strided subsample (pool1x1): copy one
		// b-wide pixel vector per output pixel.
		src := in(0)
		oh, ow := n.Shape.H, n.Shape.W
		return p.planeTasks(planes, oh*ow*b, func(i, _ int) {
			s, d := src[i*plane:(i+1)*plane], out[i*oh*ow*b:(i+1)*oh*ow*b]
			if b == 1 && op.Stride == 2 {
				// NCHW: one vector routine for the plane, which
				// prefetches rows ahead (a scalar pick per pixel
				// ran at ~1 GB/s on planes evicted from L2).
				eltwise.Subsample2(s, d, oh, ow, 2*x.W)
				return
			}
			if b > 1 {
				eltwise.SubsamplePixels(s, d, oh, ow, b, op.Stride, op.Stride*x.W*b)
				return
			}
			for r := range oh {
				row := s[r*op.Stride*x.W:]
				for c := range ow {
					d[r*ow+c] = row[c*op.Stride]
				}
			}
		}), nil
	case *graph.GlobalAvgPool:
		return p.gapFn(p.layout[n.Inputs[0]], x, in(0), out), nil
	case *graph.ChannelMul:
		src, sc := in(0), in(1)
		var res []float32
		if len(n.Inputs) == 3 {
			res = in(2)
		}
		zeros := make([]float32, b)
		return p.planeTasks(planes, plane, func(i, _ int) {
			lo, hi := i*plane, (i+1)*plane
			nIdx, c := i/cb, i%cb
			if b == 1 {
				if res != nil {
					eltwise.ScaleAdd(src[lo:hi], res[lo:hi], out[lo:hi], sc[i], op.ReLU)
				} else {
					eltwise.ScaleShift(src[lo:hi], out[lo:hi], sc[i], 0, op.ReLU)
				}
				return
			}
			scale := sc[nIdx*x.C+c*b : nIdx*x.C+(c+1)*b]
			if res != nil {
				eltwise.ScaleAddBlocked(src[lo:hi], res[lo:hi], out[lo:hi], scale, op.ReLU)
			} else {
				eltwise.ScaleShiftBlocked(src[lo:hi], out[lo:hi], scale, zeros, op.ReLU)
			}
		}), nil
	case *graph.FullyConnected:
		// A GEMV per image: one dot product per output, vectorized, the
		// outputs split over the workers.
		src := in(0)
		return p.planeTasks(x.N*op.Out, op.In/8, func(i, _ int) {
			nIdx, o := i/op.Out, i%op.Out
			v := eltwise.Dot(op.Weight[o*op.In:(o+1)*op.In], src[nIdx*op.In:(nIdx+1)*op.In])
			if op.Bias != nil {
				v += op.Bias[o]
			}
			if op.ReLU {
				v = max(v, 0)
			}
			out[i] = v
		}), nil
	case *graph.Slice:
		if l == kernels.NCHW {
			return nil, nil
		}
		// Batch > 1 (batch 1 is an alias): whole blocks, so the NCHW copy
		// with channels counted in padded units is the same copy.
		src := in(0)
		return func() { naive.Slice(x.N, cb*b, x.Plane(), op.Start, op.End, src, out) }, nil
	case *graph.Concat:
		if l == kernels.NCHW {
			return nil, nil
		}
		xs := make([][]float32, len(n.Inputs))
		cs := make([]int, len(n.Inputs))
		for i, m := range n.Inputs {
			xs[i], cs[i] = in(i), m.Shape.C
		}
		return func() { naive.Concat(x.N, x.Plane(), xs, cs, out) }, nil
	}
	return nil, nil
}

// maxPoolFn returns a k×k max pool (3×3 vectorized, other sizes plainly)
// over planes of h×w pixels (each pixel b channels wide in layout l) into
// oh×ow, parallel over planes, with its
// per-worker row buffers and task closure built now; src and dst are given
// per call.
func (p *Plan) maxPoolFn(l kernels.Layout, planes, h, w, oh, ow, k, stride, pad int) func(src, dst []float32) {
	b := l.Block()
	if k != 3 {
		var cs, cd []float32
		in, o := h*w*b, oh*ow*b
		run := p.planeTasks(planes, o, func(i, _ int) {
			maxPoolK(cs[i*in:(i+1)*in], cd[i*o:(i+1)*o], h, w, oh, ow, k, stride, pad, b)
		})
		return func(src, dst []float32) {
			cs, cd = src, dst
			run()
			cs, cd = nil, nil
		}
	}
	rows := make([][]float32, p.pool.Threads())
	for i := range rows {
		rows[i] = kernels.Alloc(2 * w * b) // the vertical max, then the horizontal one
	}
	var cs, cd []float32
	in, o := h*w*b, oh*ow*b
	run := p.planeTasks(planes, o, func(i, worker int) {
		maxPool3(cs[i*in:(i+1)*in], cd[i*o:(i+1)*o], h, w, oh, ow, stride, pad, b, rows[worker])
	})
	return func(src, dst []float32) {
		cs, cd = src, dst
		run()
		cs, cd = nil, nil
	}
}

// gapFn returns the global average pool of x (in layout l) into dst (N×C).
func (p *Plan) gapFn(l kernels.Layout, x kernels.Shape, src, dst []float32) func() {
	b := l.Block()
	cb := (x.C + b - 1) / b
	plane := x.Plane()
	inv := 1 / float32(plane)
	if b == 1 {
		return p.planeTasks(x.N*x.C, plane, func(i, _ int) {
			dst[i] = eltwise.Sum(src[i*plane:(i+1)*plane]) * inv
		})
	}
	sums := make([][]float32, p.pool.Threads())
	for i := range sums {
		sums[i] = make([]float32, b)
	}
	return p.planeTasks(x.N*cb, plane*b, func(i, worker int) {
		s := sums[worker]
		eltwise.SumBlocked(src[i*plane*b:(i+1)*plane*b], s)
		n, c0 := i/cb, (i%cb)*b
		for j := range min(b, x.C-c0) {
			dst[n*x.C+c0+j] = s[j] * inv
		}
	})
}

// maxPool3 is a 3x3 max pool of one plane whose pixels are b values wide:
// the vertical max of the three input rows (vectorized), then the
// horizontal max of three neighbouring pixels. Padding never wins.
// maxPoolK is the max pool of any window size k over one plane of h×w
// pixels of b values each, plainly: the zoo's pools are all 3×3
// (maxPool3), and this serves the other sizes the graph allows. Padding
// never wins; max propagates NaN, as in maxPool3.
func maxPoolK(src, dst []float32, h, w, oh, ow, k, stride, pad, b int) {
	for r := range oh {
		i0, i1 := max(r*stride-pad, 0), min(r*stride-pad+k, h)
		for c := range ow {
			j0, j1 := max(c*stride-pad, 0), min(c*stride-pad+k, w)
			o := dst[(r*ow+c)*b : (r*ow+c+1)*b]
			copy(o, src[(i0*w+j0)*b:(i0*w+j0+1)*b])
			for i := i0; i < i1; i++ {
				for j := j0; j < j1; j++ {
					v := src[(i*w+j)*b : (i*w+j+1)*b]
					for q := range o {
						o[q] = max(o[q], v[q])
					}
				}
			}
		}
	}
}

func maxPool3(src, dst []float32, h, w, oh, ow, stride, pad, b int, scratch []float32) {
	rw := w * b
	row, hmax := scratch[:rw], scratch[rw:2*rw]
	// Output columns [c0, c1) have their whole window inside the row: they
	// are every stride-th pixel of hmax, one vector subsample per row for
	// blocked layouts (picked pixel by pixel in Go, they were 40 % of the
	// stem's pool).
	c0, c1 := min(ow, (pad+stride-1)/stride), 0
	if w >= 3 {
		c1 = min(ow, (w-3+pad)/stride+1)
	}
	c1 = max(c0, c1)
	for r := range oh {
		top := r*stride - pad
		lo, hi := max(top, 0), min(top+3, h)
		switch hi - lo {
		case 3:
			eltwise.Max3(src[lo*rw:(lo+1)*rw], src[(lo+1)*rw:(lo+2)*rw], src[(lo+2)*rw:(lo+3)*rw], row)
		case 2:
			a := src[lo*rw : (lo+1)*rw]
			eltwise.Max3(a, a, src[(lo+1)*rw:(lo+2)*rw], row)
		case 1:
			copy(row, src[lo*rw:(lo+1)*rw])
		default:
			panic(fmt.Sprintf("maxpool: window row %d has no input row", r))
		}
		// hmax[k] = max of pixels k, k+1, k+2, vectorized over the whole
		// row; interior output pixels then pick every stride-th one.
		if w >= 3 {
			eltwise.Max3(row[:rw-2*b], row[b:rw-b], row[2*b:], hmax[:rw-2*b])
		}
		out := dst[r*ow*b : (r+1)*ow*b]
		if b == 1 {
			for c := c0; c < c1; c++ {
				out[c] = hmax[c*stride-pad]
			}
		} else if c1 > c0 {
			eltwise.SubsamplePixels(hmax[(c0*stride-pad)*b:], out[c0*b:c1*b], 1, c1-c0, b, stride, 0)
		}
		for c := range ow {
			if c >= c0 && c < c1 {
				continue
			}
			left := c*stride - pad
			o := out[c*b : (c+1)*b]
			k0, k1 := max(left, 0), min(left+3, w)
			copy(o, row[k0*b:(k0+1)*b])
			for k := k0 + 1; k < k1; k++ {
				v := row[k*b : (k+1)*b]
				for j := range o {
					o[j] = max(o[j], v[j])
				}
			}
		}
	}
}
