package fusion

import "github.com/resbench/resbench/variants/graph"

func init() {
	register(Pass{Name: "se-fc-conv1x1", Seed: "SE-ResNet, SE-ResNeXt",
		Doc:     "SE FC layers as 1x1 convs on the squeezed tensor; the squeeze pooled in the producing conv's step",
		rewrite: seFCConv1x1})
}

// seFCConv1x1 rewrites the SE block's excitation, GlobalAvgPool → FC → ReLU →
// FC → Sigmoid, so that each FC is a 1x1 convolution on the N×C×1×1
// squeezed tensor (the SENet implementation note: FC == conv1x1, the same
// weights [out][in][1][1]), which runs on the convolution kernels. When the
// pooled tensor is produced by a conv (after bn-fold, the block's last
// conv), the pool is marked to be computed in that conv's step, on its
// still-cached output.
func seFCConv1x1(g *graph.Graph, log Logger) (int, error) {
	readers := g.Consumers()
	n := 0
	toConv := func(node *graph.Node) {
		fc := node.Op.(*graph.FullyConnected)
		node.Op = &graph.Conv2D{InC: fc.In, OutC: fc.Out, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1,
			Weight: fc.Weight, Bias: fc.Bias, ReLU: fc.ReLU}
	}
	single := func(node *graph.Node) *graph.Node {
		if rs := readers[node.ID]; len(rs) == 1 {
			return rs[0]
		}
		return nil
	}
	for _, gap := range g.Nodes {
		pool, ok := gap.Op.(*graph.GlobalAvgPool)
		if !ok {
			continue
		}
		fc1 := single(gap)
		if fc1 == nil {
			continue
		}
		if _, ok := fc1.Op.(*graph.FullyConnected); !ok {
			continue
		}
		// FC1 may carry its ReLU already or be followed by one.
		next := single(fc1)
		if next == nil {
			continue
		}
		if _, isReLU := next.Op.(*graph.ReLU); isReLU {
			if next = single(next); next == nil {
				continue
			}
		}
		if _, ok := next.Op.(*graph.FullyConnected); !ok {
			continue
		}
		fc2 := next
		sig := single(fc2)
		if sig == nil {
			continue
		}
		if _, ok := sig.Op.(*graph.Sigmoid); !ok {
			continue
		}
		toConv(fc1)
		toConv(fc2)
		if _, fromConv := gap.Inputs[0].Op.(*graph.Conv2D); fromConv {
			pool.InProducer = true
		}
		log("%s, %s → 1x1 conv; %s in %s's step: %v", fc1.Name, fc2.Name, gap.Name, gap.Inputs[0].Name, pool.InProducer)
		n++
	}
	return n, nil
}
