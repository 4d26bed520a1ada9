package fusion

import "github.com/resbench/resbench/variants/graph"

func init() {
	register(Pass{Name: "se-scale-add", Seed: "SE-ResNet, SE-ResNeXt",
		Doc:     "SE channel-wise scale + eltsum (+ ReLU) as one channel-wise axpy pass",
		rewrite: seScaleAdd})
}

// seScaleAdd rewrites ChannelMul(x, s) → Add(·, shortcut) [→ ReLU] into one
// ChannelMul(x, s, shortcut) computing relu?(s·x + shortcut): one pass over
// the block's output instead of two (three with the ReLU).
func seScaleAdd(g *graph.Graph, log Logger) (int, error) {
	uses := consumers(g)
	readers := g.Consumers()
	n := 0
	for _, node := range g.Nodes {
		add, ok := node.Op.(*graph.Add)
		if !ok || len(node.Inputs) != 2 {
			continue
		}
		src, shortcut := node.Inputs[0], node.Inputs[1]
		mul, ok := src.Op.(*graph.ChannelMul)
		if !ok || uses[src] != 1 || len(src.Inputs) != 2 || mul.ReLU {
			continue
		}
		last := node
		mul.ReLU = add.ReLU
		if rs := readers[node.ID]; !add.ReLU && uses[node] == 1 && len(rs) == 1 {
			if _, isReLU := rs[0].Op.(*graph.ReLU); isReLU {
				last, mul.ReLU = rs[0], true
			}
		}
		src.Inputs = append(src.Inputs, shortcut)
		g.ReplaceUses(last, src)
		if last != node {
			g.ReplaceUses(node, src)
		}
		log("%s ← %s (+ %s)", src.Name, last.Name, shortcut.Name)
		n++
	}
	return n, nil
}
