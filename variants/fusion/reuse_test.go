package fusion

import (
	"testing"

	"github.com/resbench/resbench/variants/graph"
)

// Graphs the zoo does not build but the passes accept: each fused graph
// must compute the unfused one's function.

// conv → bn1 → {bn2, relu}: after bn1 folds, the conv has two readers, so
// bn2 must not fold into it too (the relu branch would get bn2 as well).
func TestBNFoldAfterFoldKeepsOtherReaders(t *testing.T) {
	b := newTiny(4, 6, 6)
	c := b.conv("conv", b.g.Input, 8, 3, 1, 1, false)
	bn1 := b.bn("bn1", c, 1e-5, false)
	bn2 := b.bn("bn2", bn1, 1e-5, false)
	r := b.g.Add("relu", &graph.ReLU{}, bn1)
	b.out(bn2, r)
	h, _, _ := fuse(t, b.g, "bn-fold")
	sameFunction(t, "bn-fold", b.g, h, 1e-5)
}

// conv → max pool (size-keeping) → add shortcut → relu: the residual of a
// conv with a fused pool is added before the pool, so conv-add-relu must
// not take this add.
func TestConvAddAfterFusedPool(t *testing.T) {
	b := newTiny(8, 9, 9)
	c := b.conv("conv", b.g.Input, 8, 3, 1, 1, false)
	p := b.g.Add("pool", &graph.MaxPool{K: 3, Stride: 1, Pad: 1}, c)
	a := b.g.Add("add", &graph.Add{}, p, b.g.Input)
	b.out(b.g.Add("relu", &graph.ReLU{}, a))
	h, _, _ := fuse(t, b.g, "conv-relu", "conv-relu-pool", "conv-add-relu")
	sameFunction(t, "conv-relu-pool + conv-add-relu", b.g, h, 1e-5)
}
