// Package graph is resbench's model IR: a directed acyclic graph of typed
// nodes (convolution, batch norm, pooling, the SE ops, ...) with weights,
// shape inference, MAC and parameter counts, and a readable dump.
//
// A Graph keeps its nodes in topological order: a node's inputs always come
// before it, so executors and passes walk Nodes front to back. Fusion passes
// (package fusion) rewrite a graph into a new one; they never mutate weights
// in place, so the unfused graph stays valid as the reference.
package graph

import (
	"fmt"
	"strings"

	"github.com/resbench/resbench/kernels"
)

// Node is one operation in the graph.
type Node struct {
	ID     int    // index in Graph.Nodes
	Name   string // unique, stable across builds (e.g. "layer2.0.conv1")
	Op     Op
	Inputs []*Node
	Shape  kernels.Shape // output shape, set by InferShapes
}

// Graph is a model: nodes in topological order, one input, one output.
type Graph struct {
	Name   string
	Nodes  []*Node
	Input  *Node
	Output *Node
	byName map[string]*Node
}

// New returns an empty graph whose input is an image batch of shape in.
func New(name string, in kernels.Shape) *Graph {
	g := &Graph{Name: name, byName: map[string]*Node{}}
	g.Input = g.Add("input", &Input{C: in.C})
	g.Input.Shape = in
	return g
}

// Add appends a node computing op over inputs and returns it. The output
// shape is inferred at once so that builders fail at the node that is
// wrong; it panics on a duplicate name or a shape error, which are bugs in
// the builder, not user errors.
func (g *Graph) Add(name string, op Op, inputs ...*Node) *Node {
	if _, dup := g.byName[name]; dup {
		panic(fmt.Sprintf("graph %s: duplicate node name %q", g.Name, name))
	}
	n := &Node{ID: len(g.Nodes), Name: name, Op: op, Inputs: inputs}
	if _, isInput := op.(*Input); !isInput {
		shape, err := infer(n)
		if err != nil {
			panic(fmt.Sprintf("graph %s: node %s: %v", g.Name, name, err))
		}
		n.Shape = shape
	}
	g.Nodes = append(g.Nodes, n)
	g.byName[name] = n
	g.Output = n
	return n
}

// Node returns the node called name, or nil.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

func infer(n *Node) (kernels.Shape, error) {
	in := make([]kernels.Shape, len(n.Inputs))
	for i, x := range n.Inputs {
		in[i] = x.Shape
	}
	return n.Op.infer(in)
}

// InferShapes sets the input shape (batch and image size; the channel count
// is the model's) and recomputes every node's output shape.
func (g *Graph) InferShapes(in kernels.Shape) error {
	if c := g.Input.Op.(*Input).C; in.C != c {
		return fmt.Errorf("model %s takes %d input channels, got %d", g.Name, c, in.C)
	}
	g.Input.Shape = in
	for _, n := range g.Nodes[1:] {
		s, err := infer(n)
		if err != nil {
			return fmt.Errorf("model %s at %dx%d: node %s: %w", g.Name, in.H, in.W, n.Name, err)
		}
		n.Shape = s
	}
	return nil
}

// InsertAfter adds node n (its Op and Inputs set, Name unique) right after
// node at in the order, infers its shape and renumbers.
func (g *Graph) InsertAfter(at, n *Node) error {
	if _, dup := g.byName[n.Name]; dup {
		return fmt.Errorf("graph %s: duplicate node name %q", g.Name, n.Name)
	}
	s, err := infer(n)
	if err != nil {
		return fmt.Errorf("graph %s: node %s: %w", g.Name, n.Name, err)
	}
	n.Shape = s
	i := at.ID + 1
	g.Nodes = append(g.Nodes[:i], append([]*Node{n}, g.Nodes[i:]...)...)
	g.Renumber()
	return nil
}

// Renumber restores the invariant ID == index after a pass edits Nodes and
// rebuilds the name index.
func (g *Graph) Renumber() {
	g.byName = make(map[string]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		n.ID = i
		g.byName[n.Name] = n
	}
}

// MACs is the node's multiply-accumulate count at the current shapes.
func (n *Node) MACs() int64 {
	in := make([]kernels.Shape, len(n.Inputs))
	for i, x := range n.Inputs {
		in[i] = x.Shape
	}
	return n.Op.macs(in, n.Shape)
}

// Params is the node's learned parameter count.
func (n *Node) Params() int64 { return n.Op.params() }

// MACs sums the conv and FC multiply-accumulates of the whole graph.
func (g *Graph) MACs() int64 {
	var t int64
	for _, n := range g.Nodes {
		t += n.MACs()
	}
	return t
}

// Params sums the learned parameters of the whole graph.
func (g *Graph) Params() int64 {
	var t int64
	for _, n := range g.Nodes {
		t += n.Params()
	}
	return t
}

// Consumers returns, for each node ID, the nodes that read it.
func (g *Graph) Consumers() [][]*Node {
	c := make([][]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			c[in.ID] = append(c[in.ID], n)
		}
	}
	return c
}

// Clone returns a copy of g whose nodes and ops are new values, so a pass
// can rewire and edit them; weight slices are shared, so a pass that changes
// weights must copy them first.
func (g *Graph) Clone() *Graph {
	h := &Graph{Name: g.Name, Nodes: make([]*Node, len(g.Nodes)), byName: make(map[string]*Node, len(g.Nodes))}
	for i, n := range g.Nodes {
		m := &Node{ID: i, Name: n.Name, Op: cloneOp(n.Op), Shape: n.Shape, Inputs: make([]*Node, len(n.Inputs))}
		for j, in := range n.Inputs {
			m.Inputs[j] = h.Nodes[in.ID]
		}
		h.Nodes[i] = m
		h.byName[m.Name] = m
	}
	h.Input, h.Output = h.Nodes[g.Input.ID], h.Nodes[g.Output.ID]
	return h
}

func cloneOp(op Op) Op {
	switch o := op.(type) {
	case *Input:
		c := *o
		return &c
	case *Conv2D:
		c := *o
		if o.Pool != nil {
			p := *o.Pool
			c.Pool = &p
		}
		return &c
	case *BatchNorm:
		c := *o
		return &c
	case *ReLU:
		return &ReLU{}
	case *Add:
		c := *o
		return &c
	case *MaxPool:
		c := *o
		return &c
	case *AvgPool:
		c := *o
		return &c
	case *GlobalAvgPool:
		c := *o
		return &c
	case *FullyConnected:
		c := *o
		return &c
	case *Sigmoid:
		return &Sigmoid{}
	case *ChannelMul:
		c := *o
		return &c
	case *Concat:
		return &Concat{}
	case *Slice:
		c := *o
		return &c
	case *Flatten:
		return &Flatten{}
	case *Reorder:
		c := *o
		return &c
	}
	panic(fmt.Sprintf("graph: clone of unknown op %T", op))
}

// String dumps the graph one node per line:
//
//	12 layer1.0.conv2  conv 64→64 k=3x3 s=1 p=1  [11]  1x64x56x56  macs=115.6M
//
// It is stable, so golden tests can compare dumps before and after a pass.
func (g *Graph) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s: %d nodes, %s params, %s MACs at %v\n", g.Name, len(g.Nodes), Count(g.Params()), Count(g.MACs()), g.Input.Shape)
	for _, n := range g.Nodes {
		ids := make([]string, len(n.Inputs))
		for i, in := range n.Inputs {
			ids[i] = fmt.Sprint(in.ID)
		}
		fmt.Fprintf(&b, "%4d %-28s %-7s %-34s [%s] %v", n.ID, n.Name, n.Op.Type(), n.Op.attrs(), strings.Join(ids, ","), n.Shape)
		if m := n.MACs(); m > 0 {
			fmt.Fprintf(&b, " macs=%s", Count(m))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Count formats a large count with an SI suffix: 4.089G, 25.56M, 9.4k.
func Count(v int64) string {
	f := float64(v)
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3fG", f/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprint(v)
}

// ReplaceUses makes every reader of old (and the graph output, if old is
// it) read new instead.
func (g *Graph) ReplaceUses(old, new *Node) {
	for _, n := range g.Nodes {
		if n == new {
			continue
		}
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
	}
	if g.Output == old {
		g.Output = new
	}
}

// Prune removes nodes the output does not depend on, restores topological
// order (a rewrite may give a node an input that was listed after it),
// renumbers, and re-infers shapes. Among nodes that are ready at the same
// time, the original order is kept, so dumps stay readable.
func (g *Graph) Prune() error {
	live := map[*Node]bool{g.Input: true}
	var mark func(n *Node)
	mark = func(n *Node) {
		if live[n] {
			return
		}
		live[n] = true
		for _, in := range n.Inputs {
			mark(in)
		}
	}
	mark(g.Output)
	pos := map[*Node]int{}
	for i, n := range g.Nodes {
		pos[n] = i
	}
	indeg := map[*Node]int{}
	readers := map[*Node][]*Node{}
	var kept []*Node
	for _, n := range g.Nodes {
		if !live[n] {
			continue
		}
		kept = append(kept, n)
		seen := map[*Node]bool{}
		for _, in := range n.Inputs {
			if !seen[in] {
				seen[in] = true
				indeg[n]++
				readers[in] = append(readers[in], n)
			}
		}
	}
	// Kahn's algorithm with the ready set ordered by original position.
	var ready, order []*Node
	for _, n := range kept {
		if indeg[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		best := 0
		for i, n := range ready {
			if pos[n] < pos[ready[best]] {
				best = i
			}
		}
		n := ready[best]
		ready = append(ready[:best], ready[best+1:]...)
		order = append(order, n)
		for _, r := range readers[n] {
			if indeg[r]--; indeg[r] == 0 {
				ready = append(ready, r)
			}
		}
	}
	if len(order) != len(kept) {
		return fmt.Errorf("graph %s: cycle after rewrite", g.Name)
	}
	g.Nodes = order
	g.Renumber()
	return g.InferShapes(g.Input.Shape)
}
