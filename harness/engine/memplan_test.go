package engine

import (
	"testing"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
	"github.com/resbench/resbench/variants/graph"
)

// checkNoOverlap verifies a memory plan independently of how it was made:
// two tensors alive at the same step never share arena memory, unless one
// is written in place over the other at the step where the other dies.
func checkNoOverlap(t *testing.T, g *graph.Graph, mp memPlan) {
	t.Helper()
	last := make([]int, len(g.Nodes))
	for _, n := range g.Nodes {
		last[n.ID] = n.ID
		for _, in := range n.Inputs {
			last[in.ID] = max(last[in.ID], n.ID)
		}
	}
	last[g.Output.ID], last[g.Input.ID] = len(g.Nodes), len(g.Nodes)
	shares := func(a, b *graph.Node) bool {
		// b reads a and may write over it (in place, or a flatten alias).
		for _, in := range b.Inputs {
			if in == a && last[a.ID] == b.ID {
				return true
			}
		}
		_, flat := b.Op.(*graph.Flatten)
		return flat && b.Inputs[0] == a
	}
	for _, a := range g.Nodes {
		for _, b := range g.Nodes[a.ID+1:] {
			if b.ID > last[a.ID] {
				continue // a is dead when b is written
			}
			overlap := mp.offset[a.ID] < mp.offset[b.ID]+mp.size[b.ID] && mp.offset[b.ID] < mp.offset[a.ID]+mp.size[a.ID]
			if overlap && !shares(a, b) && !sameClass(g, mp, a, b, last) {
				t.Fatalf("%s and %s are alive together but overlap in the arena", a.Name, b.Name)
			}
		}
	}
}

// sameClass accepts overlaps along a chain of in-place writes (a → x → b,
// each written over the one before as it dies).
func sameClass(g *graph.Graph, mp memPlan, a, b *graph.Node, last []int) bool {
	if mp.offset[a.ID] != mp.offset[b.ID] {
		return false
	}
	// Walk from b back through first-input in-place parents.
	for n := b; n != nil && n.ID > a.ID; {
		var next *graph.Node
		for _, in := range n.Inputs {
			if mp.offset[in.ID] == mp.offset[n.ID] && last[in.ID] == n.ID {
				next = in
				break
			}
		}
		if next == a {
			return true
		}
		n = next
	}
	return false
}

// At 224x224, batch 1, for every model with and without fusion: the plan is
// valid, and the arena is within 10% of the liveness lower bound.
func TestMemoryPlanNearLowerBound(t *testing.T) {
	for _, spec := range variants.Models() {
		for _, fuse := range []bool{false, true} {
			g, err := variants.BuildSpec(spec, variants.Options{CountOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if fuse {
				if g, _, err = fusion.Apply(g, fusion.Names(), nil); err != nil {
					t.Fatal(err)
				}
			}
			mp := planMemory(g, func(n *graph.Node) int { return n.Shape.Elems() }, func(n *graph.Node) *graph.Node {
				if _, ok := n.Op.(*graph.Flatten); ok {
					return n.Inputs[0]
				}
				return nil
			})
			checkNoOverlap(t, g, mp)
			ratio := float64(mp.arena) / float64(mp.lowerBound)
			t.Logf("%s fused=%v: arena %.1f MiB, lower bound %.1f MiB (×%.3f), %d in place", spec.Name, fuse,
				float64(4*mp.arena)/(1<<20), float64(4*mp.lowerBound)/(1<<20), ratio, mp.inPlace)
			if ratio > 1.1 {
				t.Errorf("%s fused=%v: arena is %.3f× the lower bound", spec.Name, fuse, ratio)
			}
		}
	}
}

// The same bound on real plans, whose graphs carry reorders, blocked
// layouts (padded channels) and slice views.
func TestCompiledPlansNearLowerBound(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles every model at 224x224")
	}
	for _, spec := range variants.Models() {
		g, err := variants.BuildSpec(spec, variants.Options{CountOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if g, _, err = fusion.Apply(g, fusion.Names(), nil); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{KernelIm2col, KernelDirect} {
			p, err := Compile(g, Config{Kernel: k, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			ratio := float64(p.ActivationBytes) / float64(p.LowerBoundBytes)
			t.Logf("%s %s: arena %.1f MiB, bound %.1f MiB (×%.3f), workspace %.1f MiB", spec.Name, k,
				float64(p.ActivationBytes)/(1<<20), float64(p.LowerBoundBytes)/(1<<20), ratio, float64(p.WorkspaceBytes)/(1<<20))
			if ratio > 1.1 {
				t.Errorf("%s %s: arena is %.3f× the liveness lower bound", spec.Name, k, ratio)
			}
			p.Close()
		}
	}
}
