package fusion

import "github.com/resbench/resbench/variants/graph"

func init() {
	register(Pass{Name: "conv-relu", Seed: "all models",
		Doc:     "bias and ReLU applied in the conv's store",
		rewrite: convReLU})
}

// convReLU rewrites Conv → ReLU, where the ReLU is the conv's only reader,
// into a Conv whose store applies the ReLU (after its bias and residual).
func convReLU(g *graph.Graph, log Logger) (int, error) {
	uses := consumers(g)
	n := 0
	for _, node := range g.Nodes {
		if _, ok := node.Op.(*graph.ReLU); !ok {
			continue
		}
		src := node.Inputs[0]
		conv, ok := src.Op.(*graph.Conv2D)
		if !ok || uses[src] != 1 || conv.ReLU {
			continue
		}
		conv.ReLU = true
		g.ReplaceUses(node, src)
		log("%s ← %s", src.Name, node.Name)
		n++
	}
	return n, nil
}
