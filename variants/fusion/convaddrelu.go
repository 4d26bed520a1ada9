package fusion

import (
	"slices"

	"github.com/resbench/resbench/variants/graph"
)

func init() {
	register(Pass{Name: "conv-add-relu", Seed: "ResNet v1, ResNeXt (blocks without SE)",
		Doc:     "a block's last conv adds the shortcut and applies ReLU in its store (conv + eltsum + relu)",
		rewrite: func(g *graph.Graph, log Logger) (int, error) { return convAdd(g, log, true) }})
	register(Pass{Name: "preact-conv-add", Seed: "ResNet-v2",
		Doc:     "a block's last conv adds the shortcut in its store, no ReLU (conv + eltsum)",
		rewrite: func(g *graph.Graph, log Logger) (int, error) { return convAdd(g, log, false) }})
}

// convAdd rewrites Add(conv, shortcut) into a Conv that reads the shortcut
// as its residual input. With relu, it takes the pattern Add → ReLU (or an
// Add that already carries its ReLU) and the conv applies the ReLU after the
// add; without, it takes an Add with no ReLU after it (ResNet-v2's clean
// shortcut). The conv must be the add's first input (the residual branch,
// as the builders order it), have no other reader and no epilogue yet; the
// shortcut conv of a projection block stays a separate op.
func convAdd(g *graph.Graph, log Logger, relu bool) (int, error) {
	uses := consumers(g)
	readers := g.Consumers()
	n := 0
	for _, node := range g.Nodes {
		add, ok := node.Op.(*graph.Add)
		if !ok || len(node.Inputs) != 2 {
			continue
		}
		src, shortcut := node.Inputs[0], node.Inputs[1]
		conv, ok := src.Op.(*graph.Conv2D)
		// The residual is added before a fused pool; this add comes
		// after it.
		if !ok || uses[src] != 1 || len(src.Inputs) != 1 || conv.ReLU || conv.Pool != nil {
			continue
		}
		// The node whose output the fused conv replaces.
		last := node
		switch {
		case add.ReLU:
			if !relu {
				continue
			}
		case relu:
			rs := readers[node.ID]
			if uses[node] != 1 || len(rs) != 1 {
				continue
			}
			if _, isReLU := rs[0].Op.(*graph.ReLU); !isReLU {
				continue
			}
			last = rs[0]
		default:
			// preact-conv-add: only when no ReLU reads the sum.
			if slices.ContainsFunc(readers[node.ID], func(r *graph.Node) bool {
				_, isReLU := r.Op.(*graph.ReLU)
				return isReLU
			}) {
				continue
			}
		}
		src.Inputs = append(src.Inputs, shortcut)
		conv.ReLU = relu
		g.ReplaceUses(last, src)
		if last != node {
			g.ReplaceUses(node, src)
		}
		log("%s ← %s (+ %s)", src.Name, last.Name, shortcut.Name)
		n++
	}
	return n, nil
}
