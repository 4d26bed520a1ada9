// Package oracle runs a graph with the naive kernels: in float64 as the
// reference every fast path is checked against, and (through Step) in
// float32 as the engine's naive executor. It sits with the graph, below the
// engine, so that graph rewrites (variants/fusion) can be tested for
// computing the same function without depending on the harness.
package oracle

import (
	"fmt"

	"github.com/resbench/resbench/variants/graph"
)

// Oracle runs a graph in float64 with the naive kernels: the reference every
// fast path is measured against. Weights are the graph's float32 values
// widened once, so oracle and engine compute the same function and differ
// only in rounding.
type Oracle struct {
	g     *graph.Graph
	bufs  [][]float64
	steps []func()
}

// New plans g for float64 execution at its current shapes, single
// threaded.
func New(g *graph.Graph) (*Oracle, error) { return NewThreads(g, 1) }

// NewThreads is New with convolutions split over threads
// goroutines; the result is the same for any thread count.
func NewThreads(g *graph.Graph, threads int) (*Oracle, error) {
	o := &Oracle{g: g, bufs: make([][]float64, len(g.Nodes))}
	for _, n := range g.Nodes {
		o.bufs[n.ID] = make([]float64, n.Shape.Elems())
	}
	widen := func(w []float32) []float64 {
		if w == nil {
			return nil
		}
		v := make([]float64, len(w))
		for i, x := range w {
			v[i] = float64(x)
		}
		return v
	}
	for _, n := range g.Nodes[1:] {
		s, err := Step(n, o.bufs, widen, threads)
		if err != nil {
			return nil, fmt.Errorf("oracle: %w", err)
		}
		o.steps = append(o.steps, s)
	}
	return o, nil
}

// Run computes every node for input x (the graph's input shape, NCHW) and
// returns the output.
func (o *Oracle) Run(x []float32) []float64 {
	in := o.bufs[o.g.Input.ID]
	for i, v := range x[:len(in)] {
		in[i] = float64(v)
	}
	for _, s := range o.steps {
		s()
	}
	return o.bufs[o.g.Output.ID]
}

// Value returns the last computed output of the node called name, for
// per-layer drift analysis; nil if there is no such node.
func (o *Oracle) Value(name string) []float64 {
	n := o.g.Node(name)
	if n == nil {
		return nil
	}
	return o.bufs[n.ID]
}
