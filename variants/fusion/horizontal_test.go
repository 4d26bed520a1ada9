package fusion

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/graph"
)

// checkHoriz applies horizontal to b's graph and checks the rewrite count,
// the function (float64 reordering only) and the op counts left.
func checkHoriz(t *testing.T, b *tiny, rewrites int, left map[string]int) *graph.Graph {
	t.Helper()
	h, counts, lines := fuse(t, b.g, "horizontal")
	if counts["horizontal"] != rewrites {
		t.Errorf("%d rewrites, want %d:\n%s", counts["horizontal"], rewrites, strings.Join(lines, "\n"))
	}
	sameFunction(t, "horizontal", b.g, h, exactTol)
	for typ, n := range left {
		if got := count(h, typ); got != n {
			t.Errorf("%d %s nodes left, want %d\n%v", got, typ, n, h)
		}
	}
	return h
}

// pooled joins tensors of any size as the graph output.
func (b *tiny) pooled(xs ...*graph.Node) {
	for i, x := range xs {
		xs[i] = b.g.Add(x.Name+".gap", &graph.GlobalAvgPool{}, x)
	}
	b.out(xs...)
}

// isSliceOf checks that node name is Slice [lo, hi) of a conv with outC
// output channels and returns that conv's op.
func isSliceOf(t *testing.T, h *graph.Graph, name string, lo, hi, outC int) *graph.Conv2D {
	t.Helper()
	n := h.Node(name)
	s, ok := n.Op.(*graph.Slice)
	if !ok || s.Start != lo || s.End != hi {
		t.Fatalf("%s is %s %s, want slice [%d:%d]", name, n.Op.Type(), n.Op, lo, hi)
	}
	c, ok := n.Inputs[0].Op.(*graph.Conv2D)
	if !ok || c.OutC != outC {
		t.Fatalf("%s slices %s (%s %s), want a conv with %d outputs", name, n.Inputs[0].Name, n.Inputs[0].Op.Type(), n.Inputs[0].Op, outC)
	}
	return c
}

func TestHorizontalSiblingConvs(t *testing.T) {
	b := newTiny(6, 5, 5)
	x := b.g.Input
	a := b.conv("a", x, 4, 3, 1, 1, false)
	a.Op.(*graph.Conv2D).Bias = randFloats(4, 50, 0.3)
	bb := b.conv("b", x, 5, 3, 1, 1, false)
	r1 := b.conv("r1", x, 3, 3, 1, 1, true)
	r2 := b.conv("r2", x, 2, 3, 1, 1, true)
	// None of these matches another conv reading x.
	k1 := b.conv("k1", x, 4, 1, 1, 0, false)
	s2 := b.conv("s2", x, 4, 3, 2, 1, false)
	grouped := b.g.Add("grouped", &graph.Conv2D{InC: 6, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1,
		DilH: 1, DilW: 1, Groups: 2, Weight: randFloats(4*3*9, 51, 0.5)}, x)
	res := b.g.Add("res", &graph.Conv2D{InC: 6, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1,
		DilH: 1, DilW: 1, Groups: 1, Weight: randFloats(4*6*9, 52, 0.5)}, x, grouped)
	other := b.conv("other", a, 4, 3, 1, 1, false) // reads a, not x
	b.pooled(bb, r1, r2, k1, s2, res, other)
	h := checkHoriz(t, b, 2, map[string]int{"conv": 7})
	m := isSliceOf(t, h, "a", 0, 4, 9)
	isSliceOf(t, h, "b", 4, 9, 9)
	if m.ReLU || len(m.Bias) != 9 || !slices.Equal(m.Bias[:4], a.Op.(*graph.Conv2D).Bias) || slices.ContainsFunc(m.Bias[4:], func(v float32) bool { return v != 0 }) {
		t.Errorf("merged a+b: relu %v, bias %v", m.ReLU, m.Bias)
	}
	if m := isSliceOf(t, h, "r2", 3, 5, 5); !m.ReLU || m.Bias != nil {
		t.Errorf("merged r1+r2: relu %v, bias %v", m.ReLU, m.Bias)
	}
	for _, name := range []string{"k1", "s2", "grouped", "res", "other"} {
		if h.Node(name).Op.Type() != "conv" {
			t.Errorf("%s was merged", name)
		}
	}
}

func TestHorizontalSlicedEltwise(t *testing.T) {
	b := newTiny(4, 4, 4)
	t1 := b.conv("t1", b.g.Input, 12, 3, 1, 1, false)
	var outs []*graph.Node
	for i := range 3 {
		s := b.slice(fmt.Sprintf("t1.s%d", i), t1, 4*i, 4*i+4)
		outs = append(outs, b.bn(fmt.Sprintf("t1.bn%d", i), s, 1e-5, true))
	}
	// A run over part of t2: the ReLUs of [0:4) and [4:8); [8:12) has a
	// sigmoid.
	t2 := b.conv("t2", b.g.Input, 12, 1, 1, 0, false) // not A's: other kernels
	outs = append(outs,
		b.g.Add("t2.r0", &graph.ReLU{}, b.slice("t2.s0", t2, 0, 4)),
		b.g.Add("t2.r1", &graph.ReLU{}, b.slice("t2.s1", t2, 4, 8)),
		b.g.Add("t2.sig", &graph.Sigmoid{}, b.slice("t2.s2", t2, 8, 12)))
	// Not mergeable: different eps; a BN with ReLU next to one without; a
	// gap between slices.
	t3 := b.conv("t3", b.g.Input, 12, 1, 1, 0, true)
	outs = append(outs,
		b.bn("t3.bn0", b.slice("t3.s0", t3, 0, 4), 1e-5, false),
		b.bn("t3.bn1", b.slice("t3.s1", t3, 4, 8), 1e-3, false),
		b.bn("t3.bn2", b.slice("t3.s2", t3, 8, 12), 1e-3, true),
		b.g.Add("t3.r0", &graph.ReLU{}, b.slice("t3.s3", t3, 0, 3)),
		b.g.Add("t3.r1", &graph.ReLU{}, b.slice("t3.s4", t3, 4, 8)))
	// Pooled, not concatenated: a Concat of the new slices would be E's.
	b.pooled(outs...)
	h := checkHoriz(t, b, 2, map[string]int{"bn": 4, "relu": 3, "conv": 3})
	bn := h.Node("t1.bn1").Inputs[0]
	if op, ok := bn.Op.(*graph.BatchNorm); !ok || op.C != 12 || !op.ReLU || bn.Inputs[0].Name != "t1" {
		t.Errorf("t1.bn1 slices %s (%s %s), want a 12-channel BN+ReLU of t1", bn.Name, bn.Op.Type(), bn.Op)
	}
	r := h.Node("t2.r1").Inputs[0]
	if _, ok := r.Op.(*graph.ReLU); !ok || r.Shape.C != 8 {
		t.Fatalf("t2.r1 slices %s (%s), want an 8-channel ReLU", r.Name, r.Op.Type())
	}
	if in := r.Inputs[0]; in.Op.Type() != "slice" || in.Inputs[0].Name != "t2" {
		t.Errorf("the merged ReLU reads %s, want a slice of t2", in.Name)
	}
}

func TestHorizontalSlicedConvs(t *testing.T) {
	b := newTiny(4, 5, 5)
	t1 := b.conv("t1", b.g.Input, 12, 3, 1, 1, true)
	var outs []*graph.Node
	for i := range 3 {
		c := b.conv(fmt.Sprintf("p%d", i), b.slice(fmt.Sprintf("s%d", i), t1, 4*i, 4*i+4), 6, 3, 2, 1, true)
		if i == 1 {
			c.Op.(*graph.Conv2D).Bias = randFloats(6, 60, 0.2)
		}
		outs = append(outs, c)
	}
	// Not mergeable: output widths differ.
	t2 := b.conv("t2", b.g.Input, 8, 1, 1, 0, true) // not A's: another kernel
	outs = append(outs,
		b.conv("q0", b.slice("u0", t2, 0, 4), 6, 3, 2, 1, true),
		b.conv("q1", b.slice("u1", t2, 4, 8), 5, 3, 2, 1, true))
	b.pooled(outs...)
	h := checkHoriz(t, b, 1, map[string]int{"conv": 5})
	m := isSliceOf(t, h, "p2", 12, 18, 18)
	if m.Groups != 3 || m.InC != 12 || !m.ReLU || len(m.Bias) != 18 || m.Bias[0] != 0 || m.Bias[6] == 0 {
		t.Errorf("grouped conv: %v, bias %v", m, m.Bias)
	}
	if h.Node("p0").Inputs[0].Inputs[0].Name != "t1" {
		t.Errorf("the grouped conv does not read t1")
	}
}

func TestHorizontalSummedConvs(t *testing.T) {
	// Paths of different widths: [0:3) and [3:8).
	build := func(biases [2][]float32, relu bool, extra bool) *tiny {
		b := newTiny(4, 5, 5)
		t1 := b.conv("t1", b.g.Input, 8, 3, 1, 1, true)
		p0 := b.conv("p0", b.slice("s0", t1, 0, 3), 5, 1, 1, 0, false)
		p1 := b.conv("p1", b.slice("s1", t1, 3, 8), 5, 1, 1, 0, false)
		p0.Op.(*graph.Conv2D).Bias, p1.Op.(*graph.Conv2D).Bias = biases[0], biases[1]
		ins := []*graph.Node{p0, p1}
		if extra {
			ins = []*graph.Node{p0, b.conv("skip", b.g.Input, 5, 3, 1, 1, false), p1}
		}
		b.g.Add("sum", &graph.Add{ReLU: relu}, ins...)
		return b
	}
	half := []float32{0.5, 0.25, -1, 2, 0}
	quarter := []float32{0.25, 0.25, 0.5, -0.125, 1}
	t.Run("plain", func(t *testing.T) {
		h := checkHoriz(t, build([2][]float32{nil, nil}, true, false), 1, map[string]int{"conv": 2, "add": 0})
		m := h.Output.Op.(*graph.Conv2D)
		if !m.ReLU || m.InC != 8 || m.OutC != 5 || m.Bias != nil || h.Output.Inputs[0].Name != "t1" {
			t.Errorf("merged: %v reading %s", m, h.Output.Inputs[0].Name)
		}
	})
	t.Run("exact bias sum", func(t *testing.T) {
		h := checkHoriz(t, build([2][]float32{half, quarter}, false, false), 1, map[string]int{"conv": 2, "add": 0})
		if b := h.Output.Op.(*graph.Conv2D).Bias; !slices.Equal(b, []float32{0.75, 0.5, -0.5, 1.875, 1}) {
			t.Errorf("bias %v", b)
		}
	})
	t.Run("one bias", func(t *testing.T) {
		checkHoriz(t, build([2][]float32{nil, randFloats(5, 61, 1)}, false, false), 1, map[string]int{"conv": 2, "add": 0})
	})
	t.Run("inexact bias sum", func(t *testing.T) {
		checkHoriz(t, build([2][]float32{randFloats(5, 62, 1), randFloats(5, 63, 1)}, false, false), 0, map[string]int{"conv": 3, "add": 1})
	})
	t.Run("other addend", func(t *testing.T) {
		h := checkHoriz(t, build([2][]float32{nil, nil}, true, true), 1, map[string]int{"conv": 3, "add": 1})
		if a := h.Node("sum"); len(a.Inputs) != 2 || !a.Op.(*graph.Add).ReLU {
			t.Errorf("sum has %d inputs, relu %v", len(a.Inputs), a.Op.(*graph.Add).ReLU)
		}
	})
	t.Run("path with relu", func(t *testing.T) {
		b := build([2][]float32{nil, nil}, false, false)
		b.g.Node("p1").Op.(*graph.Conv2D).ReLU = true
		checkHoriz(t, b, 0, map[string]int{"conv": 3, "add": 1})
	})
	t.Run("path read twice", func(t *testing.T) {
		b := build([2][]float32{nil, nil}, false, false)
		sum := b.g.Output
		b.out(sum, b.g.Node("p1"))
		checkHoriz(t, b, 0, map[string]int{"conv": 3, "add": 1})
	})
}

// A conv that Slices read, merged by A, becomes a Slice: F folds the
// Slices of it into Slices of the merged conv.
func TestHorizontalSliceOfSlice(t *testing.T) {
	b := newTiny(4, 4, 4)
	c1 := b.conv("c1", b.g.Input, 6, 3, 1, 1, false)
	c2 := b.conv("c2", b.g.Input, 5, 3, 1, 1, false)
	b.pooled(b.slice("s", c2, 1, 4), c1, b.slice("all", c2, 0, 5))
	h := checkHoriz(t, b, 3, map[string]int{"conv": 1, "slice": 3})
	if s := h.Node("s"); s.Op.(*graph.Slice).Start != 7 || s.Op.(*graph.Slice).End != 10 || s.Inputs[0].Name != "c1+1" {
		t.Errorf("s is %s of %s, want [7:10] of c1+1", s.Op, s.Inputs[0].Name)
	}
}

func TestHorizontalConcatOfSlices(t *testing.T) {
	b := newTiny(4, 3, 3)
	c := b.conv("c", b.g.Input, 6, 3, 1, 1, false)
	b.g.Add("cat", &graph.Concat{}, b.slice("s0", c, 0, 2), b.slice("s1", c, 2, 6))
	h := checkHoriz(t, b, 1, map[string]int{"concat": 0, "slice": 0})
	if h.Output.Name != "c" {
		t.Errorf("output %s, want c", h.Output.Name)
	}
}

// horizontalRewrites is the count of horizontal rewrites on the default
// (form c, stride on the 3x3) zoo: in a bottleneck's layer1.0, conv1 and
// the projection read the block input at stride 1 and merge (A), and so do
// their BNs (B) where the projection has one (not in v2). Basic blocks
// have a 3x3 conv1 next to a 1x1 projection: nothing to merge.
func horizontalRewrites(s variants.Spec) int {
	switch {
	case !s.Bottleneck:
		return 0
	case s.PreAct:
		return 1
	}
	return 2
}

// Horizontal fusion turns ResNeXt forms a and b into form c: the same
// number of convolutions, with one grouped 3x3 per block, and the same
// function as the unfused form c within float64 reordering.
func TestHorizontalResNeXtForms(t *testing.T) {
	models := []string{"resnext50"}
	if !testing.Short() {
		models = append(models, "se-resnext50", "resnext101-64x4d")
	}
	for _, name := range models {
		for _, form := range []variants.Form{variants.FormA, variants.FormB, variants.FormC} {
			t.Run(name+"/"+form.String(), func(t *testing.T) {
				t.Parallel()
				spec, err := variants.Lookup(name)
				if err != nil {
					t.Fatal(err)
				}
				c, ref := zooRef(t, spec, zooOptions(variants.FormC, false))
				g, err := variants.BuildSpec(spec, zooOptions(form, false))
				if err != nil {
					t.Fatal(err)
				}
				h, counts, lines := fuse(t, g, "horizontal")
				blocks := 0
				for _, n := range spec.Blocks {
					blocks += n
				}
				// Per block, form a: A conv1s, B bn1s, B relu1s, C conv2s,
				// B bn2s, B relu2s, D conv3s; form b: C, B, B, E. Plus, in
				// every form, layer1.0's conv1 + projection (A) and their
				// BNs (B), which form a's first A and B include.
				want := map[variants.Form]int{variants.FormA: 7 * blocks, variants.FormB: 4*blocks + 2, variants.FormC: 2}[form]
				if counts["horizontal"] != want {
					t.Errorf("%d rewrites, want %d:\n%s", counts["horizontal"], want, strings.Join(lines, "\n"))
				}
				// Layer1.0's conv1 and projection are one conv in every form.
				if got, want := count(h, "conv"), count(c, "conv")-1; got != want {
					t.Errorf("%d convs, want %d (form c has %d)", got, want, count(c, "conv"))
				}
				grouped := 0
				for _, n := range h.Nodes {
					if op, ok := n.Op.(*graph.Conv2D); ok && op.Groups > 1 {
						grouped++
						if op.Groups != spec.Groups || op.KH != 3 {
							t.Errorf("%s: %d groups, k=%d", n.Name, op.Groups, op.KH)
						}
					}
				}
				if grouped != blocks {
					t.Errorf("%d grouped convs, want one per block (%d)", grouped, blocks)
				}
				if n := count(h, "concat"); n != 0 {
					t.Errorf("%d concats left", n)
				}
				if d := relL2(run(t, h, inputFor(g)), ref); d > exactTol {
					t.Errorf("form %v + horizontal vs unfused form c: relative L2 %.3g", form, d)
				}
				t.Logf("form %v: %d → %d nodes (form c: %d), %d convs, %d rewrites", form, len(g.Nodes), len(h.Nodes), len(c.Nodes), count(h, "conv"), counts["horizontal"])
			})
		}
	}
}

// A merges a bottleneck's conv1 with its projection shortcut only when the
// two read the same tensor with the same stride: with the stride on the
// 1x1 (the original ResNet), in every downsampling block; in ResNet-v2,
// where both read the pre-activation, only in layer1.0 (stride 1), not in
// stages 2-4 where the projection has stride 2 and conv1 stride 1.
func TestHorizontalProjection(t *testing.T) {
	for _, c := range []struct {
		model       string
		strideOn1x1 bool
		merged      []string
		separate    []string
	}{
		{"resnet50", true, []string{"layer1.0", "layer2.0", "layer3.0", "layer4.0"}, nil},
		{"resnet50", false, []string{"layer1.0"}, []string{"layer2.0", "layer3.0", "layer4.0"}},
		{"resnet50-v2", false, []string{"layer1.0"}, []string{"layer2.0", "layer3.0", "layer4.0"}},
		{"resnet50-v2", true, []string{"layer1.0", "layer2.0", "layer3.0", "layer4.0"}, nil},
	} {
		t.Run(fmt.Sprintf("%s/strideOn1x1=%v", c.model, c.strideOn1x1), func(t *testing.T) {
			t.Parallel()
			spec, _ := variants.Lookup(c.model)
			g, ref := zooRef(t, spec, zooOptions(0, c.strideOn1x1))
			h, _, _ := fuse(t, g, "horizontal")
			for _, block := range c.merged {
				// The merged conv is named after conv1, the first of the two;
				// conv1 and the projection are slices of it, or gone when B
				// merged their BNs too.
				want := g.Node(block+".conv1").Op.(*graph.Conv2D).OutC + g.Node(block+".downsample.0").Op.(*graph.Conv2D).OutC
				m := h.Node(block + ".conv1+1")
				if m == nil || m.Op.Type() != "conv" || m.Op.(*graph.Conv2D).OutC != want {
					t.Errorf("%s: no merged conv1+projection conv with %d outputs", block, want)
				}
				for _, name := range []string{".conv1", ".downsample.0"} {
					if n := h.Node(block + name); n != nil && n.Op.Type() != "slice" {
						t.Errorf("%s%s is a %s, want a slice of the merged conv", block, name, n.Op.Type())
					}
				}
			}
			for _, block := range c.separate {
				conv1, proj := h.Node(block+".conv1"), h.Node(block+".downsample.0")
				if conv1.Op.Type() != "conv" || proj.Op.Type() != "conv" || conv1.Inputs[0] != proj.Inputs[0] {
					t.Errorf("%s: conv1 (%s) and projection (%s) should stay separate convs reading one tensor", block, conv1.Op.Type(), proj.Op.Type())
				}
			}
			if got, want := count(g, "conv")-count(h, "conv"), len(c.merged); got != want {
				t.Errorf("%d fewer convs, want %d", got, want)
			}
			if d := relL2(run(t, h, inputFor(g)), ref); d > exactTol {
				t.Errorf("relative L2 %.3g", d)
			}
		})
	}
}

// After every pass, forms a and b are the same graph as form c, conv for
// conv, and compute its function within float64 reordering.
func TestHorizontalFormsFullyFused(t *testing.T) {
	spec, _ := variants.Lookup("resnext50")
	c, _ := zooRef(t, spec, zooOptions(variants.FormC, false))
	fc, _, _ := fuse(t, c, Names()...)
	want := run(t, fc, inputFor(c))
	for _, form := range []variants.Form{variants.FormA, variants.FormB} {
		g, err := variants.BuildSpec(spec, zooOptions(form, false))
		if err != nil {
			t.Fatal(err)
		}
		h, _, _ := fuse(t, g, Names()...)
		for _, typ := range []string{"conv", "bn", "relu", "add", "slice", "concat"} {
			if count(h, typ) != count(fc, typ) {
				t.Errorf("form %v fully fused has %d %s nodes, form c %d", form, count(h, typ), typ, count(fc, typ))
			}
		}
		if d := relL2(run(t, h, inputFor(g)), want); d > exactTol {
			t.Errorf("form %v fully fused vs form c fully fused: relative L2 %.3g", form, d)
		}
	}
}
