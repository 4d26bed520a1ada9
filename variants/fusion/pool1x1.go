package fusion

import (
	"fmt"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants/graph"
)

func init() {
	register(Pass{Name: "pool1x1", Seed: "ResNet (original stride-on-1x1 layout), all projection shortcuts",
		Doc:     "kernel = 1 pooling: a strided 1x1 conv as one shared subsample + a stride-1 1x1 conv; identity pooling removed",
		rewrite: pool1x1})
}

// pool1x1 rewrites every 1x1 convolution with stride s > 1 (the same on
// both axes) and no padding into a subsample, AvgPool{K: 1, Stride: s} (the
// average of one value is that value), feeding the same conv at stride 1:
// both keep pixels (i·s, j·s) and nothing else, so the result is exact.
// Convs that read the same tensor at the same stride share one subsample
// node: in the original ResNet layout (stride on the first 1x1) a
// downsampling block's conv1 and its projection shortcut both subsample the
// block input, and now do it once (and horizontal can then merge the two
// convs, which read the same tensor). An existing K=1, pad-0 pooling of
// that tensor at that stride is reused. Pooling that is the identity (K=1,
// stride 1, pad 0) is removed.
func pool1x1(g *graph.Graph, log Logger) (int, error) {
	e := newEditor(g)
	readers := g.Consumers()
	n := 0
	type key struct {
		in     *graph.Node
		stride int
	}
	var order []key
	groups := map[key][]*graph.Node{}
	for _, node := range g.Nodes[:len(g.Nodes):len(g.Nodes)] {
		switch op := node.Op.(type) {
		case *graph.Conv2D:
			s := op.StrideH
			if op.KH != 1 || op.KW != 1 || op.PadH != 0 || op.PadW != 0 || s <= 1 || op.StrideW != s {
				continue
			}
			k := key{node.Inputs[0], s}
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], node)
		case *graph.MaxPool:
			if op.K == 1 && op.Stride == 1 && op.Pad == 0 {
				g.ReplaceUses(node, node.Inputs[0])
				log("%s ← %s (identity pooling)", node.Inputs[0].Name, node.Name)
				n++
			}
		case *graph.AvgPool:
			if op.K == 1 && op.Stride == 1 && op.Pad == 0 {
				g.ReplaceUses(node, node.Inputs[0])
				log("%s ← %s (identity pooling)", node.Inputs[0].Name, node.Name)
				n++
			}
		}
	}
	for _, k := range order {
		convs := groups[k]
		sub := subsampleOf(k.in, k.stride, readers)
		if sub == nil {
			name := convs[0].Name + ".subsample"
			if len(convs) > 1 {
				name = fmt.Sprintf("%s.subsample%d", k.in.Name, k.stride)
			}
			x := k.in.Shape
			shape := kernels.Shape{N: x.N, C: x.C, H: (x.H-1)/k.stride + 1, W: (x.W-1)/k.stride + 1}
			sub = e.add(name, &graph.AvgPool{K: 1, Stride: k.stride}, shape, k.in)
		}
		for _, c := range convs {
			op := c.Op.(*graph.Conv2D)
			op.StrideH, op.StrideW = 1, 1
			c.Inputs[0] = sub
			log("%s → %s (stride 1) ← %s (1x1 stride %d)", sub.Name, c.Name, c.Name, k.stride)
			n++
		}
	}
	return n, nil
}

// subsampleOf returns an existing reader of x that keeps every stride-th
// pixel (a K=1, pad-0 pooling at that stride), or nil.
func subsampleOf(x *graph.Node, stride int, readers [][]*graph.Node) *graph.Node {
	for _, r := range readers[x.ID] {
		switch op := r.Op.(type) {
		case *graph.AvgPool:
			if op.K == 1 && op.Pad == 0 && op.Stride == stride {
				return r
			}
		case *graph.MaxPool:
			if op.K == 1 && op.Pad == 0 && op.Stride == stride {
				return r
			}
		}
	}
	return nil
}
