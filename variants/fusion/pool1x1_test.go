package fusion

import (
	"strings"
	"testing"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/graph"
)

// checkPool applies pool1x1 to b's graph and checks the rewrite count, the
// function and the op counts left.
func checkPool(t *testing.T, b *tiny, rewrites int, left map[string]int) *graph.Graph {
	t.Helper()
	h, counts, lines := fuse(t, b.g, "pool1x1")
	if counts["pool1x1"] != rewrites {
		t.Errorf("%d rewrites, want %d:\n%s", counts["pool1x1"], rewrites, strings.Join(lines, "\n"))
	}
	sameFunction(t, "pool1x1", b.g, h, exactTol)
	for typ, n := range left {
		if got := count(h, typ); got != n {
			t.Errorf("%d %s nodes left, want %d\n%v", got, typ, n, h)
		}
	}
	for _, n := range h.Nodes {
		if op, ok := n.Op.(*graph.Conv2D); ok && op.KH == 1 && op.KW == 1 && op.PadH == 0 && op.StrideH > 1 && op.StrideH == op.StrideW {
			t.Errorf("%s is still a strided 1x1 conv", n.Name)
		}
	}
	return h
}

// subsampleOfConv returns the subsample node conv reads, failing if it is
// not a K=1 average pool at stride s.
func subsampleOfConv(t *testing.T, h *graph.Graph, conv string, s int) *graph.Node {
	t.Helper()
	c := h.Node(conv)
	op := c.Op.(*graph.Conv2D)
	if op.StrideH != 1 || op.StrideW != 1 {
		t.Errorf("%s has stride %dx%d, want 1", conv, op.StrideH, op.StrideW)
	}
	sub := c.Inputs[0]
	if p, ok := sub.Op.(*graph.AvgPool); !ok || p.K != 1 || p.Stride != s || p.Pad != 0 {
		t.Fatalf("%s reads %s (%s %s), want a K=1 stride-%d subsample", conv, sub.Name, sub.Op.Type(), sub.Op, s)
	}
	return sub
}

func TestPool1x1Shared(t *testing.T) {
	// Odd size: the subsample keeps rows 0, 2, 4, 6 as the strided conv did.
	b := newTiny(6, 7, 7)
	x := b.conv("stem", b.g.Input, 8, 3, 1, 1, true)
	c1 := b.conv("conv1", x, 4, 1, 2, 0, false)
	c2 := b.conv("proj", x, 16, 1, 2, 0, true)
	c3 := b.conv("other", x, 4, 1, 3, 0, false)
	tail := b.g.Add("tail", &graph.Conv2D{InC: 4, OutC: 16, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, Groups: 1,
		Weight: randFloats(64, 77, 0.5)}, c1, c2)
	// 4x4 and 3x3: pool each to 1x1 to join them.
	b.out(b.g.Add("tail.gap", &graph.GlobalAvgPool{}, tail), b.g.Add("other.gap", &graph.GlobalAvgPool{}, c3))
	h := checkPool(t, b, 3, map[string]int{"avgpool": 2})
	s1, s2 := subsampleOfConv(t, h, "conv1", 2), subsampleOfConv(t, h, "proj", 2)
	if s1 != s2 || s1.Name != "stem.subsample2" {
		t.Errorf("conv1 reads %s, proj reads %s: want one shared stem.subsample2", s1.Name, s2.Name)
	}
	if s := subsampleOfConv(t, h, "other", 3); s.Name != "other.subsample" || s.Shape.H != 3 {
		t.Errorf("other reads %s at %dx%d, want other.subsample at 3x3", s.Name, s.Shape.H, s.Shape.W)
	}
}

func TestPool1x1Variants(t *testing.T) {
	t.Run("grouped with residual", func(t *testing.T) {
		b := newTiny(8, 6, 6)
		res := b.conv("res", b.g.Input, 8, 3, 2, 1, false)
		b.g.Add("g", &graph.Conv2D{InC: 8, OutC: 8, KH: 1, KW: 1, StrideH: 2, StrideW: 2, DilH: 1, DilW: 1, Groups: 4,
			Weight: randFloats(16, 5, 0.5), Bias: randFloats(8, 6, 0.1), ReLU: true}, b.g.Input, res)
		h := checkPool(t, b, 1, map[string]int{"avgpool": 1})
		subsampleOfConv(t, h, "g", 2)
		if len(h.Node("g").Inputs) != 2 {
			t.Errorf("the residual input was lost")
		}
	})
	t.Run("not a subsample", func(t *testing.T) {
		b := newTiny(4, 6, 6)
		outs := []*graph.Node{
			b.conv("padded", b.g.Input, 4, 1, 2, 1, false), // pad 1: the border is zero padding
			b.conv("k3", b.g.Input, 4, 3, 2, 1, false),
			b.g.Add("unit", &graph.MaxPool{K: 1, Stride: 2}, b.conv("s1", b.g.Input, 4, 1, 1, 0, false)),
			b.g.Add("aniso", &graph.Conv2D{InC: 4, OutC: 4, KH: 1, KW: 1, StrideH: 2, StrideW: 1, DilH: 1, DilW: 1, Groups: 1,
				Weight: randFloats(16, 8, 0.5)}, b.g.Input),
		}
		// Their sizes differ: pool each to 1x1 to join them.
		for i, n := range outs {
			outs[i] = b.g.Add(n.Name+".gap", &graph.GlobalAvgPool{}, n)
		}
		b.out(outs...)
		checkPool(t, b, 0, map[string]int{"avgpool": 0, "maxpool": 1})
	})
	t.Run("identity pooling", func(t *testing.T) {
		b := newTiny(4, 5, 5)
		x := b.g.Add("id1", &graph.MaxPool{K: 1, Stride: 1}, b.g.Input)
		x = b.g.Add("id2", &graph.AvgPool{K: 1, Stride: 1}, x)
		b.conv("c", x, 4, 1, 2, 0, false)
		h := checkPool(t, b, 3, map[string]int{"maxpool": 0, "avgpool": 1})
		if sub := subsampleOfConv(t, h, "c", 2); sub.Inputs[0] != h.Input {
			t.Errorf("the subsample reads %s, want the input", sub.Inputs[0].Name)
		}
	})
	t.Run("existing subsample is reused", func(t *testing.T) {
		b := newTiny(4, 6, 6)
		sub := b.g.Add("sub", &graph.AvgPool{K: 1, Stride: 2}, b.g.Input)
		b.out(sub, b.conv("c", b.g.Input, 4, 1, 2, 0, false))
		h := checkPool(t, b, 1, map[string]int{"avgpool": 1})
		if s := subsampleOfConv(t, h, "c", 2); s.Name != "sub" {
			t.Errorf("c reads %s, want the existing sub", s.Name)
		}
	})
}

// With the stride on the first 1x1, each downsampling bottleneck's conv1
// and projection subsample the block input once, together; horizontal then
// merges the two stride-1 convs that read the subsample.
func TestPool1x1StrideOn1x1(t *testing.T) {
	models := []string{"resnet50", "resnet50-v2"}
	if !testing.Short() {
		models = append(models, "se-resnext50", "resnet101")
	}
	for _, name := range models {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			spec, _ := variants.Lookup(name)
			g, ref := zooRef(t, spec, zooOptions(0, true))
			h, counts, _ := fuse(t, g, "pool1x1")
			if counts["pool1x1"] != 6 || count(h, "avgpool") != 3 {
				t.Errorf("%d rewrites, %d subsample nodes; want 6 and 3", counts["pool1x1"], count(h, "avgpool"))
			}
			for _, block := range []string{"layer2.0", "layer3.0", "layer4.0"} {
				s1 := subsampleOfConv(t, h, block+".conv1", 2)
				s2 := subsampleOfConv(t, h, block+".downsample.0", 2)
				if s1 != s2 || !strings.HasSuffix(s1.Name, ".subsample2") {
					t.Errorf("%s: conv1 reads %s, downsample.0 reads %s; want one shared subsample", block, s1.Name, s2.Name)
				}
			}
			if d := relL2(run(t, h, inputFor(g)), ref); d > exactTol {
				t.Errorf("pool1x1: relative L2 %.3g", d)
			}
			hh, counts, _ := fuse(t, g, "pool1x1", "horizontal")
			if d := relL2(run(t, hh, inputFor(g)), ref); d > exactTol {
				t.Errorf("pool1x1+horizontal: relative L2 %.3g", d)
			}
			// layer1.0 (stride 1) and the three downsampling blocks.
			if got := count(g, "conv") - count(hh, "conv"); got != 4 {
				t.Errorf("pool1x1+horizontal merged %d conv pairs, want 4 (rewrites %v)", got, counts)
			}
		})
	}
}
