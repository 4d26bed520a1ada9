package fusion

import "github.com/resbench/resbench/variants/graph"

func init() {
	register(Pass{Name: "conv-relu-pool", Seed: "all models (the stem)",
		Doc:     "conv + ReLU + max pooling in one step (the stem)",
		rewrite: convReLUPool})
	needs["conv-relu-pool"] = "conv-relu"
}

// convReLUPool rewrites Conv(+ReLU) → MaxPool, where the pool is the conv's
// only reader, into one Conv that pools its own output: the full-size conv
// output (64×112×112 in the stem, 3 MiB) becomes scratch of the step instead
// of an activation the planner must keep, and is pooled while still in
// cache. Without conv-relu the stem's ReLU sits between them and nothing
// matches.
func convReLUPool(g *graph.Graph, log Logger) (int, error) {
	uses := consumers(g)
	n := 0
	for _, node := range g.Nodes {
		pool, ok := node.Op.(*graph.MaxPool)
		if !ok {
			continue
		}
		src := node.Inputs[0]
		conv, ok := src.Op.(*graph.Conv2D)
		if !ok || uses[src] != 1 || conv.Pool != nil {
			continue
		}
		p := *pool
		conv.Pool = &p
		g.ReplaceUses(node, src)
		log("%s ← %s", src.Name, node.Name)
		n++
	}
	return n, nil
}
