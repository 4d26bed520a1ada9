package engine

import (
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/resbench/resbench/variants/graph"
)

// memPlan is the result of planning activation memory: every node's output
// is a window of one arena, assigned once at plan time.
type memPlan struct {
	offset []int // per node ID: start of its output in the arena (floats)
	size   []int // per node ID: floats
	arena  int   // floats
	// lowerBound is the largest total size of tensors alive at once: no
	// assignment of offsets can use less.
	lowerBound int
	inPlace    int // nodes that write over an input
}

// inPlaceOK reports whether op may write its output over its input idx: a
// per-element read-then-write of the same index, as the element-wise ops
// do. Convolutions are excluded: the GEMM accumulates partial sums in its
// output, which would clobber a residual read later in its store.
func inPlaceOK(n *graph.Node, idx int) bool {
	switch n.Op.(type) {
	case *graph.BatchNorm, *graph.ReLU, *graph.Sigmoid:
		return idx == 0
	case *graph.Add:
		// The vector add of three or more inputs accumulates into its
		// output pairwise, so only the first two may share it.
		return idx <= 1
	case *graph.ChannelMul:
		return idx == 0 || idx == 2
	}
	return false
}

// viewsSlice reports whether n is a Slice or a view (alias chain) of one.
func viewsSlice(n *graph.Node, alias func(*graph.Node) *graph.Node) bool {
	for ; n != nil; n = alias(n) {
		if _, ok := n.Op.(*graph.Slice); ok {
			return true
		}
	}
	return false
}

// planMemory assigns arena offsets to the outputs of g's nodes (sizes from
// elems), sharing memory between tensors whose lifetimes do not overlap and
// writing element-wise ops in place over an input that dies there. The
// graph input gets its own buffer and is never written over, so a caller
// can fill it once and run many times; the graph output stays alive to the
// end. alias maps a node to the node whose buffer it shares (Flatten).
//
// Offsets are assigned greedily by size, largest first, each at the lowest
// offset that does not overlap a tensor alive at the same time (the
// "greedy by size" strategy of TFLite's arena planner).
func planMemory(g *graph.Graph, elems func(*graph.Node) int, alias func(*graph.Node) *graph.Node) memPlan {
	nn := len(g.Nodes)
	// Buffer classes: a node that aliases or writes in place over another
	// joins its class.
	class := make([]int, nn)
	for i := range class {
		class[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for class[i] != i {
			class[i] = class[class[i]]
			i = class[i]
		}
		return i
	}
	lastUse := make([]int, nn) // step index of the last reader
	for _, n := range g.Nodes {
		lastUse[n.ID] = n.ID
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			lastUse[in.ID] = max(lastUse[in.ID], n.ID)
		}
	}
	lastUse[g.Output.ID] = nn
	lastUse[g.Input.ID] = nn // never reuse the input
	mp := memPlan{offset: make([]int, nn), size: make([]int, nn)}
	for _, n := range g.Nodes {
		mp.size[n.ID] = elems(n)
	}
	// The class's lifetime and size, found while merging.
	start, end, size := make([]int, nn), make([]int, nn), make([]int, nn)
	for _, n := range g.Nodes {
		start[n.ID], end[n.ID], size[n.ID] = n.ID, lastUse[n.ID], mp.size[n.ID]
	}
	merge := func(n, into *graph.Node) {
		a, b := find(n.ID), find(into.ID)
		class[a] = b
		start[b] = min(start[b], start[a])
		end[b] = max(end[b], end[a])
		size[b] = max(size[b], size[a])
	}
	for _, n := range g.Nodes {
		if a := alias(n); a != nil {
			merge(n, a)
			continue
		}
		for idx, in := range n.Inputs {
			if viewsSlice(in, alias) {
				// A slice may be a view at an offset into its input (also
				// through a flatten of it); writing over it in place would
				// need that offset too. Not worth it.
				continue
			}
			if slices.Contains(n.Inputs[idx+1:], in) {
				// Read again after this position (Add(a, b, a)): the
				// pairwise sums would overwrite it before that read.
				continue
			}
			c := find(in.ID)
			// The input's whole class must die at this node.
			if in != g.Input && inPlaceOK(n, idx) && end[c] == n.ID && mp.size[in.ID] == mp.size[n.ID] {
				merge(n, in)
				mp.inPlace++
				break
			}
		}
	}
	// Lower bound: the most memory live at any step.
	var roots []int
	for i := range nn {
		if find(i) == i {
			roots = append(roots, i)
		}
	}
	for step := range nn + 1 {
		live := 0
		for _, r := range roots {
			if start[r] <= step && step <= end[r] {
				live += size[r]
			}
		}
		mp.lowerBound = max(mp.lowerBound, live)
	}
	// Greedy placement under a few orders (largest first, first-born
	// first, longest-lived first), each both lowest-fit and least-growth;
	// keep the smallest arena. Each is the
	// "greedy by size" strategy of TFLite's arena planner with a different
	// priority, and which wins depends on the graph.
	type placed struct{ off, size, start, end int }
	place := func(order []int, bestFit bool) ([]int, int) {
		var done []placed
		offs := make([]int, nn)
		arena := 0
		for _, r := range order {
			var clash []placed
			for _, p := range done {
				if p.start <= end[r] && start[r] <= p.end {
					clash = append(clash, p)
				}
			}
			if bestFit {
				// Candidates: the bottom, right above or right below each
				// clashing tensor, and flush with the current top; take the
				// one that grows the arena least (lowest on ties). Packing a
				// tensor against the top leaves the room below it for the
				// tensors its neighbours need later.
				free := func(off int) bool {
					for _, p := range clash {
						if off < p.off+p.size && p.off < off+size[r] {
							return false
						}
					}
					return off >= 0
				}
				cands := []int{0, (arena - size[r]) &^ 15}
				for _, p := range clash {
					cands = append(cands, (p.off+p.size+15)&^15, (p.off-size[r])&^15)
				}
				best, bestTop := -1, 0
				for _, off := range cands {
					if !free(off) {
						continue
					}
					top := max(arena, off+size[r])
					if best < 0 || top < bestTop || (top == bestTop && off < best) {
						best, bestTop = off, top
					}
				}
				offs[r] = best
				done = append(done, placed{best, size[r], start[r], end[r]})
				arena = bestTop
				continue
			}
			sort.Slice(clash, func(i, j int) bool { return clash[i].off < clash[j].off })
			// The lowest gap that fits; offsets stay 64-byte aligned (16
			// floats). Clashes are sorted by offset, so once the candidate
			// ends before one starts, it ends before all later ones.
			off := 0
			for _, p := range clash {
				if off+size[r] <= p.off {
					break
				}
				off = max(off, (p.off+p.size+15)&^15)
			}
			offs[r] = off
			done = append(done, placed{off, size[r], start[r], end[r]})
			arena = max(arena, off+size[r])
		}
		return offs, arena
	}
	orders := []func(a, b int) bool{
		func(a, b int) bool { return size[a] > size[b] },
		func(a, b int) bool { return start[a] < start[b] },
		func(a, b int) bool { return end[a]-start[a] > end[b]-start[b] },
		func(a, b int) bool { return size[a]*(end[a]-start[a]) > size[b]*(end[b]-start[b]) },
		func(a, b int) bool { return end[a] > end[b] },
		func(a, b int) bool { return start[a] > start[b] },
		func(a, b int) bool { return size[a] < size[b] },
	}
	// Randomized variants of largest-first, with a fixed seed so plans are
	// reproducible: sizes are jittered by up to ±25% before sorting, which
	// lets a few tensors of similar size trade places.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 48 {
		jitter := make([]float64, nn)
		for i := range jitter {
			jitter[i] = float64(size[i]) * (0.75 + 0.5*rng.Float64())
		}
		orders = append(orders, func(a, b int) bool { return jitter[a] > jitter[b] })
	}
	var classOff []int
	mp.arena = -1
	for _, less := range orders {
		order := append([]int(nil), roots...)
		// The graph input lives from first to last step: place it first, at
		// the bottom, or it ends up wherever the others left a hole.
		in := find(g.Input.ID)
		sort.SliceStable(order, func(i, j int) bool {
			if (order[i] == in) != (order[j] == in) {
				return order[i] == in
			}
			return less(order[i], order[j])
		})
		for _, bestFit := range []bool{false, true} {
			// Re-placement: the tensors that end at the top of the arena
			// move to the front of the order and everything is placed
			// again, a few rounds; a small tensor placed last often ends up
			// on top only because bigger ones took the room it needed.
			for range 32 {
				offs, arena := place(order, bestFit)
				if mp.arena < 0 || arena < mp.arena {
					classOff, mp.arena = offs, arena
				}
				if arena == mp.lowerBound {
					break
				}
				var top, rest []int
				for _, r := range order {
					if offs[r]+size[r] == arena {
						top = append(top, r)
					} else {
						rest = append(rest, r)
					}
				}
				order = append(top, rest...)
			}
		}
	}
	for i := range nn {
		mp.offset[i] = classOff[find(i)]
	}
	return mp
}
