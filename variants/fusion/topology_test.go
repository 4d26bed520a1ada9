package fusion

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/graph"
	"github.com/resbench/resbench/variants/oracle"
)

// Helpers shared by the topology-compress, pool1x1 and horizontal tests.

// exactTol is the tolerance of a rewrite that only reorders float64 sums.
const exactTol = 1e-9

func randFloats(n int, seed uint64, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * (2*r.Float64() - 1))
	}
	return v
}

// inputFor is a deterministic N(0,1) input image for g.
func inputFor(g *graph.Graph) []float32 {
	r := rand.New(rand.NewPCG(3, 5))
	x := make([]float32, g.Input.Shape.Elems())
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// run is g's float64 oracle output on x.
func run(t testing.TB, g *graph.Graph, x []float32) []float64 {
	t.Helper()
	o, err := oracle.New(g)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(o.Run(x))
}

func relL2(got, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range want {
		d := got[i] - want[i]
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		if num == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}

// fuse applies the named passes to g, failing the test on error, and
// returns the fused graph, the rewrites per pass and the log lines.
func fuse(t testing.TB, g *graph.Graph, passes ...string) (*graph.Graph, map[string]int, []string) {
	t.Helper()
	var lines []string
	h, reports, err := Apply(g, passes, func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range reports {
		counts[r.Pass] = r.Rewrites
	}
	if err := h.InferShapes(h.Input.Shape); err != nil {
		t.Fatalf("fused graph does not infer: %v", err)
	}
	checkGraph(t, h)
	return h, counts, lines
}

// checkGraph checks the invariants a pass must keep: IDs are indices, the
// order is topological, names are unique.
func checkGraph(t testing.TB, g *graph.Graph) {
	t.Helper()
	seen := map[string]bool{}
	for i, n := range g.Nodes {
		if n.ID != i {
			t.Fatalf("node %s has ID %d at index %d", n.Name, n.ID, i)
		}
		if seen[n.Name] {
			t.Fatalf("duplicate node name %s", n.Name)
		}
		seen[n.Name] = true
		if g.Node(n.Name) != n {
			t.Fatalf("name index does not find %s", n.Name)
		}
		for _, in := range n.Inputs {
			if in.ID >= i || g.Nodes[in.ID] != in {
				t.Fatalf("node %s reads %s, which is not before it", n.Name, in.Name)
			}
		}
	}
}

// sameFunction checks that got computes want's function within tol
// relative L2 on a random input, and has its output shape.
func sameFunction(t testing.TB, what string, want, got *graph.Graph, tol float64) float64 {
	t.Helper()
	if want.Output.Shape != got.Output.Shape {
		t.Fatalf("%s: output shape %v, want %v", what, got.Output.Shape, want.Output.Shape)
	}
	x := inputFor(want)
	d := relL2(run(t, got, x), run(t, want, x))
	if d > tol {
		t.Errorf("%s: relative L2 %.3g from the reference, tolerance %.g", what, d, tol)
	}
	return d
}

// count is the number of nodes of op type typ ("conv", "bn", …).
func count(g *graph.Graph, typ string) int {
	n := 0
	for _, node := range g.Nodes {
		if node.Op.Type() == typ {
			n++
		}
	}
	return n
}

// tiny is a hand-built test graph.
type tiny struct {
	g    *graph.Graph
	seed uint64
}

func newTiny(c, h, w int) *tiny {
	return &tiny{g: graph.New("tiny", kernels.Shape{N: 2, C: c, H: h, W: w}), seed: 1}
}

func (b *tiny) next() uint64 { b.seed++; return b.seed }

// conv adds a conv with random weights (stride s, pad p, groups 1).
func (b *tiny) conv(name string, x *graph.Node, out, k, s, p int, relu bool) *graph.Node {
	in := x.Shape.C
	return b.g.Add(name, &graph.Conv2D{InC: in, OutC: out, KH: k, KW: k, StrideH: s, StrideW: s, PadH: p, PadW: p,
		DilH: 1, DilW: 1, Groups: 1, Weight: randFloats(out*in*k*k, b.next(), 0.5), ReLU: relu}, x)
}

func (b *tiny) bn(name string, x *graph.Node, eps float32, relu bool) *graph.Node {
	c := x.Shape.C
	v := randFloats(c, b.next(), 0.5)
	for i := range v {
		v[i] += 1
	}
	return b.g.Add(name, &graph.BatchNorm{C: c, Eps: eps, ReLU: relu, Gamma: randFloats(c, b.next(), 1.5),
		Beta: randFloats(c, b.next(), 0.3), Mean: randFloats(c, b.next(), 0.3), Var: v}, x)
}

func (b *tiny) slice(name string, x *graph.Node, lo, hi int) *graph.Node {
	return b.g.Add(name, &graph.Slice{Start: lo, End: hi}, x)
}

// out makes xs the graph output: a Concat of them if several.
func (b *tiny) out(xs ...*graph.Node) {
	if len(xs) == 1 {
		b.g.Output = xs[0]
		return
	}
	b.g.Output = b.g.Add("out", &graph.Concat{}, xs...)
}

// refCache memoizes the unfused oracle output of zoo models.
var refCache sync.Map

// zooOptions is how every whole-zoo test builds: at 32x32, where five
// halvings leave 1x1 and every layer type still runs, with few classes.
func zooOptions(form variants.Form, strideOn1x1 bool) variants.Options {
	if form == 0 {
		form = variants.FormC
	}
	return variants.Options{Size: 32, Classes: 16, Form: form, StrideOn1x1: strideOn1x1}
}

// zooRef builds spec and returns it with its unfused oracle output.
func zooRef(t testing.TB, spec variants.Spec, opt variants.Options) (*graph.Graph, []float64) {
	t.Helper()
	g, err := variants.BuildSpec(spec, opt)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("%s/%+v", spec.Name, opt)
	if v, ok := refCache.Load(key); ok {
		return g, v.([]float64)
	}
	want := run(t, g, inputFor(g))
	refCache.Store(key, want)
	return g, want
}

// zooModels returns the zoo, without the deep models in -short mode.
func zooModels(t *testing.T) []variants.Spec {
	var out []variants.Spec
	for _, s := range variants.Models() {
		if testing.Short() && s.Depth > 50 {
			continue
		}
		out = append(out, s)
	}
	return out
}

// zooRewrites is, for each pass of this file set, the number of rewrites
// it makes alone on a model of the default zoo.
var zooRewrites = map[string]func(variants.Spec) int{
	// The Flatten after the global average pool, in every model.
	"topology-compress": func(variants.Spec) int { return 1 },
	// The stride-2 1x1 projection shortcuts of stages 2-4 (with the stride
	// on the 3x3, no bottleneck conv1 is strided).
	"pool1x1":    func(variants.Spec) int { return 3 },
	"horizontal": horizontalRewrites,
}

// mine are the passes of this file set.
var mine = []string{"topology-compress", "pool1x1", "horizontal"}

// Every model of the zoo, one build each:
//
//   - each of topology-compress, pool1x1 and horizontal alone makes the
//     expected rewrites and computes the unfused graph's function within
//     float64 reordering;
//   - with every registered pass, the model computes the unfused function
//     within float32 rounding of folded weights (bn-fold), and the function
//     of every pass but these three within float64 reordering: each of them
//     is exact, and the passes after them fold the same numbers. (Where
//     horizontal leaves a BN between a slice and its conv, which bn-fold
//     does not fold, that BN is computed in float64 instead of being
//     rounded into float32 weights: 1e-7 then.)
func TestZoo(t *testing.T) {
	others := slices.DeleteFunc(Names(), func(p string) bool { return slices.Contains(mine, p) })
	for _, spec := range zooModels(t) {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			g, ref := zooRef(t, spec, zooOptions(variants.FormC, false))
			x := inputFor(g)
			for _, pass := range mine {
				h, counts, lines := fuse(t, g, pass)
				if got, w := counts[pass], zooRewrites[pass](spec); got != w {
					t.Errorf("%s made %d rewrites, want %d:\n%s", pass, got, w, strings.Join(lines, "\n"))
				}
				if counts[pass] == 0 {
					// Nothing to run: the graph must be unchanged.
					if h.String() != g.String() {
						t.Errorf("%s made no rewrite but changed the graph", pass)
					}
					continue
				}
				d := relL2(run(t, h, x), ref)
				if d > exactTol {
					t.Errorf("%s alone: relative L2 %.3g from the unfused graph", pass, d)
				}
				t.Logf("%s: %d rewrites, %d → %d nodes, rel L2 %.2g", pass, counts[pass], len(g.Nodes), len(h.Nodes), d)
			}
			all, counts, _ := fuse(t, g, Names()...)
			got := run(t, all, x)
			without, _, _ := fuse(t, g, others...)
			tol := exactTol
			if count(all, "bn") > count(without, "bn") {
				tol = 1e-7
			}
			if d := relL2(got, run(t, without, x)); d > tol {
				t.Errorf("all passes vs all but %v: relative L2 %.3g (tolerance %.g)", mine, d, tol)
			}
			if d := relL2(got, ref); d > 1e-5 {
				t.Errorf("all passes vs unfused: relative L2 %.3g", d)
			}
			t.Logf("all: %d → %d nodes (%d without %v); rewrites %v", len(g.Nodes), len(all.Nodes), len(without.Nodes), mine, counts)
		})
	}
}

// checkTopo applies topology-compress to b's graph and checks the rewrite
// count, the function (within tol) and the op counts left.
func checkTopo(t *testing.T, b *tiny, rewrites int, tol float64, left map[string]int) *graph.Graph {
	t.Helper()
	h, counts, lines := fuse(t, b.g, "topology-compress")
	if counts["topology-compress"] != rewrites {
		t.Errorf("%d rewrites, want %d:\n%s", counts["topology-compress"], rewrites, strings.Join(lines, "\n"))
	}
	sameFunction(t, "topology-compress", b.g, h, tol)
	for typ, n := range left {
		if got := count(h, typ); got != n {
			t.Errorf("%d %s nodes left, want %d\n%v", got, typ, n, h)
		}
	}
	return h
}

func TestTopologyFlatten(t *testing.T) {
	t.Run("after global pool", func(t *testing.T) {
		b := newTiny(4, 6, 6)
		x := b.conv("c", b.g.Input, 8, 3, 1, 1, false)
		x = b.g.Add("gap", &graph.GlobalAvgPool{}, x)
		x = b.g.Add("flatten", &graph.Flatten{}, x)
		b.g.Add("fc", &graph.FullyConnected{In: 8, Out: 3, Weight: randFloats(24, 9, 1), Bias: randFloats(3, 10, 1)}, x)
		h := checkTopo(t, b, 1, exactTol, map[string]int{"flatten": 0})
		if h.Node("fc").Inputs[0].Name != "gap" {
			t.Errorf("fc reads %s, want gap", h.Node("fc").Inputs[0].Name)
		}
	})
	t.Run("flatten is the output", func(t *testing.T) {
		b := newTiny(4, 6, 6)
		x := b.g.Add("gap", &graph.GlobalAvgPool{}, b.g.Input)
		b.g.Add("flatten", &graph.Flatten{}, x)
		h := checkTopo(t, b, 1, exactTol, map[string]int{"flatten": 0})
		if h.Output.Name != "gap" {
			t.Errorf("output is %s, want gap", h.Output.Name)
		}
	})
	t.Run("real reshape stays", func(t *testing.T) {
		b := newTiny(4, 3, 3)
		x := b.conv("c", b.g.Input, 2, 3, 1, 1, false)
		x = b.g.Add("flatten", &graph.Flatten{}, x)
		b.g.Add("fc", &graph.FullyConnected{In: 18, Out: 3, Weight: randFloats(54, 9, 1)}, x)
		checkTopo(t, b, 0, exactTol, map[string]int{"flatten": 1})
	})
	t.Run("1x1 only at this input size stays", func(t *testing.T) {
		b := newTiny(4, 1, 1)
		x := b.conv("c", b.g.Input, 2, 1, 1, 0, false)
		b.g.Add("flatten", &graph.Flatten{}, x)
		checkTopo(t, b, 0, exactTol, map[string]int{"flatten": 1})
	})
}

func TestTopologyIdentities(t *testing.T) {
	t.Run("pooling", func(t *testing.T) {
		b := newTiny(4, 5, 5)
		p1 := b.g.Add("max1", &graph.MaxPool{K: 1, Stride: 1}, b.g.Input)
		p2 := b.g.Add("avg1", &graph.AvgPool{K: 1, Stride: 1, CountPad: true}, p1)
		keep1 := b.g.Add("max1s2", &graph.MaxPool{K: 1, Stride: 2}, p2)
		keep2 := b.g.Add("avg3", &graph.AvgPool{K: 3, Stride: 1, Pad: 1}, p2)
		keep3 := b.g.Add("max3", &graph.MaxPool{K: 3, Stride: 2, Pad: 1}, p2)
		b.out(keep1, keep3, b.g.Add("sub", &graph.MaxPool{K: 1, Stride: 2}, keep2))
		checkTopo(t, b, 2, exactTol, map[string]int{"maxpool": 3, "avgpool": 1})
	})
	t.Run("slices", func(t *testing.T) {
		b := newTiny(8, 3, 3)
		all := b.slice("all", b.g.Input, 0, 8)
		part := b.slice("part", all, 2, 7)
		inner := b.slice("inner", part, 1, 3) // channels 3..5 of the input
		cat := b.g.Add("cat", &graph.Concat{}, b.g.Input, part)
		fromCat := b.slice("fromcat", cat, 9, 12) // channels 1..4 of part → 3..6 of the input
		b.out(all, part, inner, fromCat)
		h := checkTopo(t, b, 4, exactTol, nil)
		for name, want := range map[string][3]any{"inner": {"input", 3, 5}, "fromcat": {"input", 3, 6}, "part": {"input", 2, 7}} {
			n := h.Node(name)
			s, ok := n.Op.(*graph.Slice)
			if !ok || n.Inputs[0].Name != want[0] || s.Start != want[1] || s.End != want[2] {
				t.Errorf("%s = %s %s of %s, want [%d:%d] of %s", name, n.Op.Type(), n.Op, n.Inputs[0].Name, want[1], want[2], want[0])
			}
		}
		if h.Node("all") != nil {
			t.Errorf("full slice kept")
		}
	})
	t.Run("one-input add and concat", func(t *testing.T) {
		b := newTiny(4, 3, 3)
		c := b.conv("c", b.g.Input, 4, 3, 1, 1, false)
		a := b.g.Add("add", &graph.Add{}, c, c)
		ar := b.g.Add("addrelu", &graph.Add{ReLU: true}, c, c)
		cat := b.g.Add("cat", &graph.Concat{}, c)
		b.out(a, ar, cat)
		// An Add needs two inputs to be built; a rewrite may leave one.
		a.Inputs, ar.Inputs = a.Inputs[:1], ar.Inputs[:1]
		h := checkTopo(t, b, 3, exactTol, map[string]int{"add": 0, "relu": 1, "concat": 1})
		if h.Node("addrelu").Op.Type() != "relu" {
			t.Errorf("one-input add+relu is %s, want relu", h.Node("addrelu").Op.Type())
		}
	})
}

func TestTopologyConcatOfSlices(t *testing.T) {
	build := func(ranges [][2]int, extra bool) *tiny {
		b := newTiny(4, 3, 3)
		c := b.conv("c", b.g.Input, 12, 3, 1, 1, false)
		var xs []*graph.Node
		for i, r := range ranges {
			xs = append(xs, b.slice(fmt.Sprintf("s%d", i), c, r[0], r[1]))
		}
		if extra {
			xs = append(xs, b.g.Input)
		}
		b.g.Add("cat", &graph.Concat{}, xs...)
		return b
	}
	t.Run("covering", func(t *testing.T) {
		h := checkTopo(t, build([][2]int{{0, 4}, {4, 9}, {9, 12}}, false), 2, exactTol, map[string]int{"slice": 0, "concat": 0})
		if h.Output.Name != "c" {
			t.Errorf("output %s, want c", h.Output.Name)
		}
	})
	t.Run("sub-range", func(t *testing.T) {
		h := checkTopo(t, build([][2]int{{2, 4}, {4, 9}, {9, 10}}, false), 2, exactTol, map[string]int{"slice": 1, "concat": 0})
		if s, ok := h.Output.Op.(*graph.Slice); !ok || s.Start != 2 || s.End != 10 {
			t.Errorf("output is %s %s, want slice [2:10]", h.Output.Op.Type(), h.Output.Op)
		}
	})
	t.Run("run among other inputs", func(t *testing.T) {
		checkTopo(t, build([][2]int{{0, 4}, {4, 12}}, true), 1, exactTol, map[string]int{"slice": 0, "concat": 1})
	})
	t.Run("gap", func(t *testing.T) {
		checkTopo(t, build([][2]int{{0, 4}, {5, 12}}, false), 0, exactTol, map[string]int{"slice": 2, "concat": 1})
	})
	t.Run("out of order", func(t *testing.T) {
		checkTopo(t, build([][2]int{{4, 12}, {0, 4}}, false), 0, exactTol, map[string]int{"slice": 2, "concat": 1})
	})
	t.Run("different tensors", func(t *testing.T) {
		b := newTiny(4, 3, 3)
		c1 := b.conv("c1", b.g.Input, 4, 3, 1, 1, false)
		c2 := b.conv("c2", b.g.Input, 4, 3, 1, 1, false)
		b.g.Add("cat", &graph.Concat{}, b.slice("s1", c1, 0, 2), b.slice("s2", c2, 2, 4))
		checkTopo(t, b, 0, exactTol, map[string]int{"slice": 2, "concat": 1})
	})
	t.Run("nested concat", func(t *testing.T) {
		b := newTiny(4, 3, 3)
		c := b.conv("c", b.g.Input, 4, 3, 1, 1, false)
		in := b.g.Add("inner", &graph.Concat{}, c, b.g.Input)
		b.g.Add("outer", &graph.Concat{}, in, c)
		checkTopo(t, b, 1, exactTol, map[string]int{"concat": 1})
	})
}

func TestTopologyReLU(t *testing.T) {
	b := newTiny(4, 5, 5)
	r := b.g.Add("r", &graph.ReLU{}, b.conv("c0", b.g.Input, 4, 3, 1, 1, false))
	rr := b.g.Add("rr", &graph.ReLU{}, r)
	cr := b.g.Add("cr", &graph.ReLU{}, b.conv("c1", b.g.Input, 4, 3, 1, 1, true))
	br := b.g.Add("br", &graph.ReLU{}, b.bn("bn", b.g.Input, 1e-5, true))
	pr := b.g.Add("pr", &graph.ReLU{}, b.g.Add("pool", &graph.MaxPool{K: 3, Stride: 1, Pad: 1}, b.slice("s", r, 0, 2)))
	// Not idempotent: the conv and BN below have no ReLU.
	keep1 := b.g.Add("keep1", &graph.ReLU{}, b.conv("c2", b.g.Input, 4, 3, 1, 1, false))
	keep2 := b.g.Add("keep2", &graph.ReLU{}, b.bn("bn2", b.g.Input, 1e-5, false))
	keep3 := b.g.Add("keep3", &graph.ReLU{}, b.g.Add("cat", &graph.Concat{}, r, b.g.Input))
	b.out(rr, cr, br, pr, keep1, keep2, keep3)
	h := checkTopo(t, b, 4, exactTol, map[string]int{"relu": 4})
	for _, name := range []string{"keep1", "keep2", "keep3", "r"} {
		if h.Node(name) == nil {
			t.Errorf("%s was removed", name)
		}
	}
}

func TestTopologyBatchNormChain(t *testing.T) {
	t.Run("merged", func(t *testing.T) {
		b := newTiny(6, 4, 4)
		x := b.bn("bn1", b.conv("c", b.g.Input, 6, 3, 1, 1, false), 1e-5, false)
		b.bn("bn2", x, 1e-3, true)
		// The merged parameters are rounded to float32 once, like bn-fold.
		h := checkTopo(t, b, 1, 1e-6, map[string]int{"bn": 1})
		bn := h.Node("bn2").Op.(*graph.BatchNorm)
		if !bn.ReLU || bn.Eps != 0 || h.Node("bn2").Inputs[0].Name != "c" {
			t.Errorf("merged BN: relu %v eps %g input %s", bn.ReLU, bn.Eps, h.Node("bn2").Inputs[0].Name)
		}
	})
	t.Run("three in a row", func(t *testing.T) {
		b := newTiny(6, 4, 4)
		x := b.bn("bn1", b.g.Input, 1e-5, false)
		x = b.bn("bn2", x, 1e-5, false)
		b.bn("bn3", x, 1e-5, false)
		checkTopo(t, b, 2, 1e-6, map[string]int{"bn": 1})
	})
	t.Run("first has relu", func(t *testing.T) {
		b := newTiny(6, 4, 4)
		b.bn("bn2", b.bn("bn1", b.g.Input, 1e-5, true), 1e-5, false)
		checkTopo(t, b, 0, exactTol, map[string]int{"bn": 2})
	})
	t.Run("first has two readers", func(t *testing.T) {
		b := newTiny(6, 4, 4)
		x := b.bn("bn1", b.g.Input, 1e-5, false)
		b.out(b.bn("bn2", x, 1e-5, false), x)
		checkTopo(t, b, 0, exactTol, map[string]int{"bn": 2})
	})
	t.Run("weights are not modified", func(t *testing.T) {
		b := newTiny(6, 4, 4)
		x := b.bn("bn1", b.g.Input, 1e-5, false)
		b.bn("bn2", x, 1e-5, false)
		before := slices.Clone(x.Op.(*graph.BatchNorm).Gamma)
		fuse(t, b.g, "topology-compress")
		if !slices.Equal(before, x.Op.(*graph.BatchNorm).Gamma) || b.g.Node("bn2").Inputs[0] != x {
			t.Errorf("the unfused graph changed")
		}
	})
}

func TestTopologyDeadNodes(t *testing.T) {
	b := newTiny(4, 3, 3)
	c := b.conv("c", b.g.Input, 4, 3, 1, 1, false)
	b.conv("dead1", c, 4, 3, 1, 1, false)
	b.g.Add("dead2", &graph.ReLU{}, b.g.Input)
	b.g.Add("live", &graph.Sigmoid{}, c)
	checkTopo(t, b, 2, exactTol, map[string]int{"conv": 1, "relu": 0})
}
