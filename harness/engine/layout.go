package engine

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants/graph"
)

// Layouts. Every activation has a memory layout: NCHW, or the channel-
// blocked layout of the direct kernels (nChw8c for AVX2, nChw16c for
// AVX-512). A conv's layout is its kernel's; the element-wise ops, pools,
// adds and slices run in either and take their input's; FC, sigmoid and the
// squeezed SE tensors are N×C×1×1, which is the same memory in both
// layouts when C is a whole number of blocks. Wherever a node needs a
// layout its input does not have, assignLayouts inserts a Reorder node, so
// the plan shows (and counts) every reorder; with the direct kernel they
// sit only at the graph's edges.

// sameMemory reports whether a tensor of shape s is stored identically in
// layouts a and b.
func sameMemory(s kernels.Shape, a, b kernels.Layout) bool {
	if a == b {
		return true
	}
	bl := max(a.Block(), b.Block())
	return s.H*s.W == 1 && s.C%bl == 0
}

// blockedOK reports whether a node can run in the blocked layout l, given
// its op and shapes.
func blockedOK(n *graph.Node, l kernels.Layout) bool {
	b := l.Block()
	switch op := n.Op.(type) {
	case *graph.BatchNorm, *graph.ReLU, *graph.Add:
		return true
	case *graph.MaxPool:
		return op.K == 3
	case *graph.AvgPool:
		return op.K == 1 && op.Pad == 0
	case *graph.GlobalAvgPool:
		return true // reads blocked, writes N×C (flat)
	case *graph.ChannelMul:
		return n.Shape.C%b == 0
	case *graph.Slice:
		return op.Start%b == 0 && op.End%b == 0
	case *graph.Concat:
		for _, in := range n.Inputs {
			if in.Shape.C%b != 0 {
				return false
			}
		}
		return true
	}
	return false
}

// assignLayouts decides every node's layout from its conv kernels (convs,
// by node name) and inserts Reorder nodes where an input's layout differs
// from the one its reader needs. It edits g, which must be the plan's own
// clone.
func assignLayouts(g *graph.Graph, convs map[string]kernels.Conv) (map[*graph.Node]kernels.Layout, int, error) {
	lay := map[*graph.Node]kernels.Layout{g.Input: kernels.NCHW}
	reorders := 0
	cache := map[[2]any]*graph.Node{} // (producer, layout) → reorder node
	// need makes input i of n available in layout l.
	need := func(n *graph.Node, i int, l kernels.Layout) error {
		in := n.Inputs[i]
		if sameMemory(in.Shape, lay[in], l) {
			return nil
		}
		key := [2]any{in, l}
		r, ok := cache[key]
		if !ok {
			r = &graph.Node{Name: fmt.Sprintf("%s.to-%v", in.Name, l), Op: &graph.Reorder{To: l}, Inputs: []*graph.Node{in}}
			if err := g.InsertAfter(in, r); err != nil {
				return err
			}
			lay[r] = l
			cache[key] = r
			reorders++
		}
		n.Inputs[i] = r
		return nil
	}
	// Walk a snapshot: inserted reorders are handled as they are made.
	nodes := append([]*graph.Node(nil), g.Nodes...)
	for _, n := range nodes[1:] {
		var l kernels.Layout
		switch op := n.Op.(type) {
		case *graph.Conv2D:
			l = kernels.NCHW
			if c := convs[n.Name]; c != nil {
				l = c.Layout()
			}
			for i := range n.Inputs {
				if err := need(n, i, l); err != nil {
					return nil, 0, err
				}
			}
		case *graph.GlobalAvgPool:
			// Reads either layout; the result is N×C (flat).
			lay[n] = kernels.NCHW
			continue
		case *graph.ChannelMul:
			l = lay[n.Inputs[0]]
			if l != kernels.NCHW && !blockedOK(n, l) {
				l = kernels.NCHW
			}
			if err := need(n, 0, l); err != nil {
				return nil, 0, err
			}
			if err := need(n, 1, kernels.NCHW); err != nil { // the N×C scale
				return nil, 0, err
			}
			if len(n.Inputs) == 3 {
				if err := need(n, 2, l); err != nil {
					return nil, 0, err
				}
			}
		default:
			_ = op
			l = lay[n.Inputs[0]]
			if l != kernels.NCHW && !blockedOK(n, l) {
				l = kernels.NCHW
			}
			for i := range n.Inputs {
				if err := need(n, i, l); err != nil {
					return nil, 0, err
				}
			}
		}
		lay[n] = l
	}
	// The graph output is handed to the caller in NCHW.
	if out := g.Output; !sameMemory(out.Shape, lay[out], kernels.NCHW) {
		r := &graph.Node{Name: out.Name + ".to-nchw", Op: &graph.Reorder{To: kernels.NCHW}, Inputs: []*graph.Node{out}}
		if err := g.InsertAfter(out, r); err != nil {
			return nil, 0, err
		}
		lay[r] = kernels.NCHW
		g.Output = r
		reorders++
	}
	return lay, reorders, nil
}

// convTrialRounds is how many timed runs timeConvs gives each kernel.
const convTrialRounds = 5

// timeConvs runs each conv of convs (kernels for shape s) on random data and
// returns each one's best run in seconds, for the measured kernel choices.
// The kernels take turns, one run each per round, so that a slow spell of
// this shared machine does not fall on one kernel's runs only.
func timeConvs(convs []kernels.Conv, s kernels.ConvShape) []float64 {
	type trial struct{ in, out, ws []float32 }
	trials := make([]trial, len(convs))
	r := rand.New(rand.NewPCG(1, 1))
	for i, c := range convs {
		l := c.Layout()
		t := trial{in: kernels.Alloc(l.Elems(s.In())), out: kernels.Alloc(l.Elems(s.Out())), ws: kernels.Alloc(c.WorkspaceLen())}
		for j := range t.in {
			t.in[j] = float32(r.NormFloat64())
		}
		c.Run(t.in, t.out, nil, t.ws) // warm caches and pages
		trials[i] = t
	}
	best := make([]float64, len(convs))
	for range convTrialRounds {
		for i, c := range convs {
			t := &trials[i]
			start := time.Now()
			c.Run(t.in, t.out, nil, t.ws)
			if d := time.Since(start).Seconds(); best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	return best
}
