package engine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
	"github.com/resbench/resbench/variants/graph"
)

// checkNoOverlap verifies a memory plan independently of how it was made:
// two tensors alive at the same step never share arena memory, unless one
// is written in place over the other at the step where the other dies (at
// the same offset, by an op that may, reading it once) or aliases it.
func checkNoOverlap(t *testing.T, g *graph.Graph, mp memPlan) {
	t.Helper()
	if err := overlapErr(g, mp); err != nil {
		t.Fatal(err)
	}
}

func overlapErr(g *graph.Graph, mp memPlan) error {
	last := make([]int, len(g.Nodes))
	for _, n := range g.Nodes {
		last[n.ID] = n.ID
		for _, in := range n.Inputs {
			last[in.ID] = max(last[in.ID], n.ID)
		}
	}
	last[g.Output.ID], last[g.Input.ID] = len(g.Nodes), len(g.Nodes)
	shares := func(a, b *graph.Node) bool {
		if mp.offset[a.ID] != mp.offset[b.ID] {
			return false // a shifted overlap is never in place
		}
		// b reads a and may write over it (in place, or a flatten alias).
		if _, flat := b.Op.(*graph.Flatten); flat && b.Inputs[0] == a {
			return true
		}
		idx := slices.Index(b.Inputs, a)
		return idx >= 0 && readsOnce(b, a) && last[a.ID] == b.ID && inPlaceOK(b, idx)
	}
	for _, a := range g.Nodes {
		for _, b := range g.Nodes[a.ID+1:] {
			if b.ID > last[a.ID] {
				continue // a is dead when b is written
			}
			overlap := mp.offset[a.ID] < mp.offset[b.ID]+mp.size[b.ID] && mp.offset[b.ID] < mp.offset[a.ID]+mp.size[a.ID]
			if overlap && !shares(a, b) && !sameClass(g, mp, a, b, last) {
				return fmt.Errorf("%s and %s are alive together but overlap in the arena", a.Name, b.Name)
			}
		}
	}
	return nil
}

// TestOverlapCheckerFires: the checker above refuses a conv written over
// its dying input (a conv cannot run in place) and an in-place write one
// element off, on a valid plan of resnet18 made invalid.
func TestOverlapCheckerFires(t *testing.T) {
	g, err := variants.Build("resnet18", variants.Options{CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	plan := func() memPlan {
		return planMemory(g, func(n *graph.Node) int { return n.Shape.Elems() }, func(n *graph.Node) *graph.Node { return nil })
	}
	if err := overlapErr(g, plan()); err != nil {
		t.Fatalf("a valid plan: %v", err)
	}
	readers := map[*graph.Node]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			readers[in]++
		}
	}
	mp := plan()
	var conv, relu *graph.Node
	for _, n := range g.Nodes {
		// A conv that its input's only reader: the input dies there.
		if _, ok := n.Op.(*graph.Conv2D); ok && conv == nil && len(n.Inputs[0].Inputs) > 0 && readers[n.Inputs[0]] == 1 {
			conv = n
		}
		// A relu the plan runs in place.
		if _, ok := n.Op.(*graph.ReLU); ok && relu == nil && mp.offset[n.ID] == mp.offset[n.Inputs[0].ID] {
			relu = n
		}
	}
	if conv == nil || relu == nil {
		t.Fatal("no conv that is its input's only reader, or no relu planned in place, in resnet18")
	}
	mp.offset[conv.ID] = mp.offset[conv.Inputs[0].ID]
	if overlapErr(g, mp) == nil {
		t.Error("a conv over its input passed")
	}
	mp = plan()
	mp.offset[relu.ID]++
	if overlapErr(g, mp) == nil {
		t.Error("an in-place write one element off passed")
	}
}

// readsOnce reports whether n has in among its inputs exactly once: an op
// that reads an input twice (Add(a, b, a)) must not write over it.
func readsOnce(n, in *graph.Node) bool {
	k := 0
	for _, x := range n.Inputs {
		if x == in {
			k++
		}
	}
	return k == 1
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
		_, flat := n.Op.(*graph.Flatten)
		for i, in := range n.Inputs {
			if mp.offset[in.ID] == mp.offset[n.ID] && last[in.ID] == n.ID && (flat || inPlaceOK(n, i) && readsOnce(n, in)) {
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
