package fusion

import (
	"fmt"
	"math"
	"strings"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants/graph"
)

func init() {
	register(Pass{Name: "topology-compress", Seed: "all models",
		Doc:     "lossless topology compression: remove identity and dead nodes, merge consecutive linear ops",
		rewrite: topologyCompress})
}

// topologyCompress removes nodes that compute nothing and merges chains of
// linear ops, repeating until nothing changes:
//
//   - dead nodes (the output does not depend on them);
//   - Flatten of a tensor that is N×C×1×1 at every input size (after a
//     global average pool, an FC, …): an identity reshape;
//   - MaxPool/AvgPool with K=1, stride 1, pad 0;
//   - Slice covering all channels; Slice of a Slice (one Slice); Slice of a
//     Concat that falls inside one of its inputs (a Slice of that input, or
//     the input itself);
//   - Add or Concat with a single input (an Add's ReLU is kept as a ReLU);
//   - Concat of a Concat (flattened); runs of Concat inputs that are
//     consecutive Slices [a0,a1),[a1,a2),… of one tensor (one Slice, or the
//     tensor itself when they cover it);
//   - ReLU of a tensor that cannot be negative (a ReLU, an op with a fused
//     ReLU, a sigmoid, or a slice, concat or pooling of such): idempotent;
//   - BatchNorm → BatchNorm, the first without ReLU and read only by the
//     second: one BatchNorm whose affine map is the composition, computed in
//     float64 and rounded once (Gamma = scale, Beta = shift, Mean = 0,
//     Var = 1, Eps = 0). This is the one rewrite here that is exact only up
//     to float32 rounding of the merged parameters, as bn-fold is.
//
// Constant folding is not done: the IR has no constant op, and every op of
// the zoo reads the input image.
func topologyCompress(g *graph.Graph, log Logger) (int, error) {
	total := removeDead(g, log)
	for round := 0; ; round++ {
		if round > 1000 {
			return total, fmt.Errorf("topology-compress: no fixed point after %d rounds", round)
		}
		n := compressOnce(g, log)
		if n == 0 {
			break
		}
		total += n
		if err := g.Prune(); err != nil {
			return total, err
		}
	}
	return total, nil
}

// removeDead logs and drops the nodes the output does not depend on.
func removeDead(g *graph.Graph, log Logger) int {
	live := map[*graph.Node]bool{g.Input: true}
	var mark func(n *graph.Node)
	mark = func(n *graph.Node) {
		if live[n] {
			return
		}
		live[n] = true
		for _, in := range n.Inputs {
			mark(in)
		}
	}
	mark(g.Output)
	kept := g.Nodes[:0:0]
	n := 0
	for _, node := range g.Nodes {
		if live[node] {
			kept = append(kept, node)
			continue
		}
		log("∅ ← %s (dead)", node.Name)
		n++
	}
	g.Nodes = kept
	g.Renumber()
	return n
}

// compressOnce makes one sweep of topologyCompress's rewrites; a node that
// one rewrite touched is left alone by the others until the next sweep.
func compressOnce(g *graph.Graph, log Logger) int {
	e := newEditor(g)
	uses := consumers(g)
	touched := map[*graph.Node]bool{}
	n := 0
	// bypass makes node's readers read src instead: node is an identity.
	bypass := func(node, src *graph.Node, why string) {
		g.ReplaceUses(node, src)
		touched[node], touched[src] = true, true
		log("%s ← %s (%s)", src.Name, node.Name, why)
		n++
	}
	for _, node := range g.Nodes[:len(g.Nodes):len(g.Nodes)] {
		if touched[node] || len(node.Inputs) == 0 {
			continue
		}
		src := node.Inputs[0]
		switch op := node.Op.(type) {
		case *graph.Flatten:
			if unitAlways(src) && src.Shape.H == 1 && src.Shape.W == 1 {
				bypass(node, src, "flatten of N×C×1×1")
			}
		case *graph.MaxPool:
			if op.K == 1 && op.Stride == 1 && op.Pad == 0 {
				bypass(node, src, "1x1 stride-1 pooling")
			}
		case *graph.AvgPool:
			if op.K == 1 && op.Stride == 1 && op.Pad == 0 {
				bypass(node, src, "1x1 stride-1 pooling")
			}
		case *graph.Slice:
			if what := sliceSimplify(node); what != "" {
				touched[node] = true
				log("%s ← %s (%s)", node.Name, node.Name, what)
				n++
			}
			if x := node.Inputs[0]; op.Start == 0 && op.End == x.Shape.C {
				bypass(node, x, "slice of all channels")
			}
		case *graph.Add:
			if len(node.Inputs) != 1 {
				continue
			}
			if op.ReLU {
				node.Op = &graph.ReLU{}
				touched[node] = true
				log("%s ← %s (one-input add+relu is a relu)", node.Name, node.Name)
				n++
				continue
			}
			bypass(node, src, "one-input add")
		case *graph.Concat:
			if what := concatSimplify(e, node, true); what != "" {
				touched[node] = true
				log("%s ← %s (%s)", node.Name, node.Name, what)
				n++
			}
			if len(node.Inputs) == 1 {
				bypass(node, node.Inputs[0], "one-input concat")
			}
		case *graph.ReLU:
			if nonNegative(src) {
				bypass(node, src, "relu of a non-negative tensor")
			}
		case *graph.BatchNorm:
			first, ok := src.Op.(*graph.BatchNorm)
			// touched: src may have gained readers in this sweep.
			if !ok || first.ReLU || uses[src] != 1 || touched[src] {
				continue
			}
			node.Op = composeBN(first, op)
			node.Inputs = []*graph.Node{src.Inputs[0]}
			touched[node], touched[src] = true, true
			log("%s ← %s, %s (composed affine maps)", node.Name, src.Name, node.Name)
			n++
		}
	}
	return n
}

// composeBN returns one BatchNorm computing second(first(x)).
func composeBN(first, second *graph.BatchNorm) *graph.BatchNorm {
	c := first.C
	out := &graph.BatchNorm{C: c, Gamma: make([]float32, c), Beta: make([]float32, c),
		Mean: make([]float32, c), Var: make([]float32, c), Eps: 0, ReLU: second.ReLU}
	affine := func(bn *graph.BatchNorm, i int) (s, t float64) {
		s = float64(bn.Gamma[i]) / math.Sqrt(float64(bn.Var[i])+float64(bn.Eps))
		return s, float64(bn.Beta[i]) - float64(bn.Mean[i])*s
	}
	for i := range c {
		s1, t1 := affine(first, i)
		s2, t2 := affine(second, i)
		out.Gamma[i] = float32(s1 * s2)
		out.Beta[i] = float32(t1*s2 + t2)
		out.Var[i] = 1
	}
	return out
}

// unitAlways reports whether n's output is N×C×1×1 whatever the input
// image size, so a Flatten of it stays an identity if shapes are inferred
// again at another size.
func unitAlways(n *graph.Node) bool {
	switch op := n.Op.(type) {
	case *graph.GlobalAvgPool, *graph.FullyConnected, *graph.Flatten:
		return true
	case *graph.BatchNorm, *graph.ReLU, *graph.Sigmoid, *graph.Slice, *graph.ChannelMul:
		return unitAlways(n.Inputs[0])
	case *graph.Add, *graph.Concat:
		for _, in := range n.Inputs {
			if !unitAlways(in) {
				return false
			}
		}
		return true
	case *graph.Conv2D:
		// A 1x1 unpadded conv maps 1×1 to 1×1 at any stride.
		return op.KH == 1 && op.KW == 1 && op.PadH == 0 && op.PadW == 0 && op.Pool == nil && unitAlways(n.Inputs[0])
	}
	return false
}

// nonNegative reports whether every value of n's output is ≥ 0 (or NaN),
// so that a ReLU of it changes nothing.
func nonNegative(n *graph.Node) bool {
	switch op := n.Op.(type) {
	case *graph.ReLU, *graph.Sigmoid:
		return true
	case *graph.Conv2D:
		return op.ReLU
	case *graph.BatchNorm:
		return op.ReLU
	case *graph.Add:
		return op.ReLU
	case *graph.ChannelMul:
		return op.ReLU
	case *graph.FullyConnected:
		return op.ReLU
	case *graph.Slice, *graph.Flatten, *graph.MaxPool, *graph.AvgPool, *graph.GlobalAvgPool:
		// Pooling averages or maxes values ≥ 0 (zero padding included).
		return nonNegative(n.Inputs[0])
	case *graph.Concat:
		for _, in := range n.Inputs {
			if !nonNegative(in) {
				return false
			}
		}
		return true
	}
	return false
}

// sliceSimplify folds a Slice of a Slice, or of a Concat when the range lies
// inside one input, into a Slice of the underlying tensor, in place. It
// returns what it did, or "" if nothing.
func sliceSimplify(node *graph.Node) string {
	op := node.Op.(*graph.Slice)
	src := node.Inputs[0]
	switch in := src.Op.(type) {
	case *graph.Slice:
		node.Inputs = []*graph.Node{src.Inputs[0]}
		op.Start, op.End = in.Start+op.Start, in.Start+op.End
		return "slice of " + src.Name
	case *graph.Concat:
		off := 0
		for _, x := range src.Inputs {
			c := x.Shape.C
			if op.Start >= off && op.End <= off+c {
				node.Inputs = []*graph.Node{x}
				op.Start, op.End = op.Start-off, op.End-off
				return "slice of " + src.Name
			}
			off += c
		}
	}
	return ""
}

// concatSimplify rewrites a Concat's input list in place: nested Concats are
// flattened (with flatten), and each run of consecutive Slices of one tensor
// with adjacent ranges becomes one Slice (a new node), or the tensor itself
// when the run covers all its channels. It returns what it did, or "".
func concatSimplify(e *editor, node *graph.Node, flatten bool) string {
	var did []string
	ins := node.Inputs
	if flatten {
		var flat []*graph.Node
		for _, x := range ins {
			if _, ok := x.Op.(*graph.Concat); ok && x != node {
				flat = append(flat, x.Inputs...)
				did = append(did, "flattened "+x.Name)
				continue
			}
			flat = append(flat, x)
		}
		ins = flat
	}
	var out []*graph.Node
	for i := 0; i < len(ins); {
		s, ok := ins[i].Op.(*graph.Slice)
		j := i + 1
		if ok {
			end := s.End
			for j < len(ins) {
				t, ok := ins[j].Op.(*graph.Slice)
				if !ok || ins[j].Inputs[0] != ins[i].Inputs[0] || t.Start != end {
					break
				}
				end = t.End
				j++
			}
			if j-i >= 2 {
				src := ins[i].Inputs[0]
				var x *graph.Node
				if s.Start == 0 && end == src.Shape.C {
					x = src
				} else {
					shape := ins[i].Shape
					shape.C = end - s.Start
					x = e.add(ins[i].Name+fmt.Sprintf("+%d", j-i-1), &graph.Slice{Start: s.Start, End: end}, shape, src)
				}
				out = append(out, x)
				did = append(did, fmt.Sprintf("%s[%d:%d] ← %s", src.Name, s.Start, end, names(ins[i:j])))
				i = j
				continue
			}
		}
		out = append(out, ins[i])
		i++
	}
	if len(did) == 0 {
		return ""
	}
	node.Inputs = out
	return strings.Join(did, "; ")
}

// editor adds nodes to a graph under a pass: names stay unique, IDs are
// the next free index (Prune renumbers and re-sorts them).
type editor struct {
	g     *graph.Graph
	taken map[string]bool
}

func newEditor(g *graph.Graph) *editor {
	e := &editor{g: g, taken: make(map[string]bool, len(g.Nodes))}
	for _, n := range g.Nodes {
		e.taken[n.Name] = true
	}
	return e
}

// unique returns base, or base#2, base#3, … if that name is taken.
func (e *editor) unique(base string) string {
	name := base
	for i := 2; e.taken[name]; i++ {
		name = fmt.Sprintf("%s#%d", base, i)
	}
	e.taken[name] = true
	return name
}

// add appends a node named (uniquely) after name with the given output
// shape; unlike Graph.Add it does not make the node the graph's output.
func (e *editor) add(name string, op graph.Op, shape kernels.Shape, inputs ...*graph.Node) *graph.Node {
	n := &graph.Node{ID: len(e.g.Nodes), Name: e.unique(name), Op: op, Inputs: inputs, Shape: shape}
	e.g.Nodes = append(e.g.Nodes, n)
	return n
}

// names lists node names for a log line, eliding the middle of long lists.
func names(ns []*graph.Node) string {
	if len(ns) > 4 {
		return fmt.Sprintf("%s, %s, …, %s (%d)", ns[0].Name, ns[1].Name, ns[len(ns)-1].Name, len(ns))
	}
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.Name
	}
	return strings.Join(s, ", ")
}
