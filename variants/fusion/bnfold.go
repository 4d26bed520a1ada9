package fusion

import (
	"math"

	"github.com/resbench/resbench/variants/graph"
)

func init() {
	register(Pass{Name: "bn-fold", Seed: "all models",
		Doc:     "conv + BatchNorm (+ scale/shift) → conv with folded weights and bias",
		rewrite: bnFold})
}

// bnFold rewrites Conv → BatchNorm, where the BN is the conv's only reader
// and the conv has no fused epilogue yet, into one Conv:
//
//	W'[o] = W[o]·s[o],  b'[o] = (b[o] − mean[o])·s[o] + beta[o],  s = gamma/√(var+eps)
//
// computed in float64 and rounded once.
func bnFold(g *graph.Graph, log Logger) (int, error) {
	uses := consumers(g)
	n := 0
	for _, node := range g.Nodes {
		bn, ok := node.Op.(*graph.BatchNorm)
		if !ok {
			continue
		}
		src := node.Inputs[0]
		conv, ok := src.Op.(*graph.Conv2D)
		// A fused pool would sit between the conv and the BN (a BN with
		// a negative scale does not commute with max).
		if !ok || uses[src] != 1 || len(src.Inputs) != 1 || conv.ReLU || conv.Pool != nil {
			continue
		}
		per := len(conv.Weight) / conv.OutC
		w := make([]float32, len(conv.Weight))
		b := make([]float32, conv.OutC)
		for o := range conv.OutC {
			s := float64(bn.Gamma[o]) / math.Sqrt(float64(bn.Var[o])+float64(bn.Eps))
			for i := o * per; i < (o+1)*per; i++ {
				w[i] = float32(float64(conv.Weight[i]) * s)
			}
			var bias float64
			if conv.Bias != nil {
				bias = float64(conv.Bias[o])
			}
			b[o] = float32((bias-float64(bn.Mean[o]))*s + float64(bn.Beta[o]))
		}
		conv.Weight, conv.Bias = w, b
		if bn.ReLU {
			conv.ReLU = true
		}
		g.ReplaceUses(node, src)
		// The conv now has the BN's readers: a second BN among them
		// must not fold into it for all of them.
		uses[src] = uses[node]
		log("%s ← %s", src.Name, node.Name)
		n++
	}
	return n, nil
}
