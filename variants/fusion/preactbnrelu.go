package fusion

import "github.com/resbench/resbench/variants/graph"

func init() {
	register(Pass{Name: "preact-bn-relu", Seed: "ResNet-v2",
		Doc:     "pre-activation BN + ReLU as one op (BNs after a conv are bn-fold's)",
		rewrite: preactBNReLU})
}

// preactBNReLU rewrites BatchNorm → ReLU into one BatchNorm that applies the
// ReLU in its store, for the BNs that no conv precedes: ResNet-v2's
// pre-activations (each block's bn0 and the final postnorm). A BN right
// after a conv is left to bn-fold, which removes it altogether; folding a
// pre-activation BN into the conv after it is not legal, because the ReLU
// sits between them (and the conv's zero padding would not be normalized).
func preactBNReLU(g *graph.Graph, log Logger) (int, error) {
	uses := consumers(g)
	n := 0
	for _, node := range g.Nodes {
		if _, ok := node.Op.(*graph.ReLU); !ok {
			continue
		}
		src := node.Inputs[0]
		bn, ok := src.Op.(*graph.BatchNorm)
		if !ok || uses[src] != 1 || bn.ReLU {
			continue
		}
		if _, afterConv := src.Inputs[0].Op.(*graph.Conv2D); afterConv {
			continue
		}
		bn.ReLU = true
		g.ReplaceUses(node, src)
		log("%s ← %s", src.Name, node.Name)
		n++
	}
	return n, nil
}
