package fusion

import (
	"fmt"
	"slices"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants/graph"
)

func init() {
	register(Pass{Name: "horizontal", Seed: "ResNeXt forms a/b; projection + first 1x1 with equal strides",
		Doc:     "multi-branch fusion: sibling convs, per-path convs, BNs and ReLUs over slices of one tensor become one wider or grouped op",
		rewrite: horizontal})
}

// horizontal fuses branches that read the same tensor into one op, repeating
// these rewrites until none applies:
//
//	A  convs reading the same tensor with the same kernel, stride, padding,
//	   dilation and ReLU (dense, no residual) → one conv with the output
//	   channels of all of them (filters and biases concatenated); each
//	   original conv becomes a Slice of it, under its own name;
//	B  the same element-wise op (BatchNorm with one eps and ReLU flag, or
//	   ReLU) on each of consecutive Slices [a0,a1),[a1,a2),… of a tensor T →
//	   that op once over T[a0,an) (T itself when the run covers it), then
//	   Slices of its output;
//	C  dense convs of identical shape (d→d' channels, same kernel, stride,
//	   padding, dilation, ReLU) each on one of consecutive Slices of width d
//	   of T → one grouped conv over T[a0,an) with one group per slice
//	   (filters in slice order), then Slices of its output;
//	D  an Add of dense convs without ReLU, same kernel, stride, padding and
//	   output width, each read only by the Add and each on one of
//	   consecutive Slices of T → one conv over T[a0,an) whose filter is the
//	   paths' filters side by side along input channels and whose bias is
//	   their sum; the Add's ReLU moves into the conv;
//	E  a Concat of consecutive Slices of one tensor → that tensor, or one
//	   Slice of it;
//	F  a Slice of a Slice (A turns a conv that Slices read into a Slice) →
//	   one Slice; a Slice of all channels → its input. (At batch 1 the
//	   engine serves a Slice as a view of its input: this keeps every view
//	   one level deep.)
//
// Each rewrite is exact: every output value is the same sum of the same
// products, in another order (D merges biases only when their float32 sum
// is exact). On ResNeXt form a, A+B+C+B+D turn the C paths into form c's
// 1x1, grouped 3x3 and 1x1; on form b, C+B+E do; in every bottleneck
// whose first 1x1 has the stride of its projection shortcut (layer1.0, and
// every downsampling block with stride on the 1x1), A merges the two convs
// and B their BNs.
//
// D runs before C in each round so that the path convs feeding a sum are
// aggregated by D rather than turned into a grouped conv whose outputs are
// then summed; C leaves alone a conv whose only reader is an Add for the
// same reason.
func horizontal(g *graph.Graph, log Logger) (int, error) {
	rules := []func(*editor, Logger) int{mergeSiblingConvs, mergeSlicedConcat, mergeSummedConvs, mergeSlicedConvs, mergeSlicedEltwise, composeSlices}
	total := 0
	for round := 0; ; round++ {
		if round > 1000 {
			return total, fmt.Errorf("horizontal: no fixed point after %d rounds", round)
		}
		n := 0
		for _, rule := range rules {
			k := rule(newEditor(g), log)
			if k == 0 {
				continue
			}
			if err := g.Prune(); err != nil {
				return total + n, err
			}
			n += k
		}
		if n == 0 {
			return total, nil
		}
		total += n
	}
}

// convGeom is what convs must share to run as one: the window and its
// placement.
type convGeom struct{ KH, KW, SH, SW, PH, PW, DH, DW int }

func geomOf(op *graph.Conv2D) convGeom {
	return convGeom{op.KH, op.KW, op.StrideH, op.StrideW, op.PadH, op.PadW, op.DilH, op.DilW}
}

// denseConv returns n's op if n is a dense conv with no residual input and
// no fused pooling: the convs these rewrites may merge.
func denseConv(n *graph.Node) *graph.Conv2D {
	op, ok := n.Op.(*graph.Conv2D)
	if !ok || len(n.Inputs) != 1 || op.Groups != 1 || op.Pool != nil {
		return nil
	}
	return op
}

// mergeSiblingConvs is rewrite A.
func mergeSiblingConvs(e *editor, log Logger) int {
	g := e.g
	type key struct {
		geom convGeom
		relu bool
	}
	byInput := map[*graph.Node][]*graph.Node{}
	for _, n := range g.Nodes {
		if denseConv(n) != nil {
			byInput[n.Inputs[0]] = append(byInput[n.Inputs[0]], n)
		}
	}
	count := 0
	for _, t := range g.Nodes[:len(g.Nodes):len(g.Nodes)] {
		var keys []key
		groups := map[key][]*graph.Node{}
		for _, c := range byInput[t] {
			op := denseConv(c)
			k := key{geomOf(op), op.ReLU}
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], c)
		}
		for _, k := range keys {
			convs := groups[k]
			if len(convs) < 2 {
				continue
			}
			op0 := denseConv(convs[0])
			outC, wLen, hasBias := 0, 0, false
			for _, c := range convs {
				op := denseConv(c)
				outC += op.OutC
				wLen += len(op.Weight)
				hasBias = hasBias || op.Bias != nil
			}
			w := make([]float32, 0, wLen)
			var b []float32
			if hasBias {
				b = make([]float32, 0, outC)
			}
			for _, c := range convs {
				op := denseConv(c)
				w = append(w, op.Weight...)
				if hasBias {
					if op.Bias != nil {
						b = append(b, op.Bias...)
					} else {
						b = append(b, make([]float32, op.OutC)...)
					}
				}
			}
			shape := convs[0].Shape
			shape.C = outC
			m := e.add(fmt.Sprintf("%s+%d", convs[0].Name, len(convs)-1), &graph.Conv2D{
				InC: op0.InC, OutC: outC, KH: op0.KH, KW: op0.KW, StrideH: op0.StrideH, StrideW: op0.StrideW,
				PadH: op0.PadH, PadW: op0.PadW, DilH: op0.DilH, DilW: op0.DilW, Groups: 1,
				Weight: w, Bias: b, ReLU: op0.ReLU}, shape, t)
			off := 0
			for _, c := range convs {
				oc := denseConv(c).OutC
				c.Op = &graph.Slice{Start: off, End: off + oc}
				c.Inputs = []*graph.Node{m}
				off += oc
			}
			log("%s ← %s (convs reading %s)", m.Name, names(convs), t.Name)
			count++
		}
	}
	return count
}

// mergeSlicedConcat is rewrite E.
func mergeSlicedConcat(e *editor, log Logger) int {
	count := 0
	for _, n := range e.g.Nodes[:len(e.g.Nodes):len(e.g.Nodes)] {
		if _, ok := n.Op.(*graph.Concat); !ok {
			continue
		}
		what := concatSimplify(e, n, false)
		if what == "" {
			continue
		}
		if len(n.Inputs) == 1 {
			e.g.ReplaceUses(n, n.Inputs[0])
			log("%s ← %s (%s)", n.Inputs[0].Name, n.Name, what)
		} else {
			log("%s ← %s (%s)", n.Name, n.Name, what)
		}
		count++
	}
	return count
}

// member is one path of a slice partition: a Slice [start, end) of the
// partitioned tensor and the op that reads it.
type member struct {
	slice, user *graph.Node
	start, end  int
}

// runs cuts members (of one kind, over one tensor) into maximal runs of
// adjacent ranges [a0,a1),[a1,a2),…, each user used once, and returns the
// runs of two or more. A member overlapping the run being built is left
// for a later round.
func runs(ms []member) [][]member {
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b member) int {
		if a.start != b.start {
			return a.start - b.start
		}
		if a.end != b.end {
			return a.end - b.end
		}
		return a.user.ID - b.user.ID
	})
	var out [][]member
	var cur []member
	used := map[*graph.Node]bool{}
	flush := func() {
		if len(cur) >= 2 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, m := range ms {
		if used[m.user] {
			continue
		}
		if len(cur) > 0 {
			end := cur[len(cur)-1].end
			if m.start < end {
				continue
			}
			if m.start > end {
				flush()
			}
		}
		cur = append(cur, m)
		used[m.user] = true
	}
	flush()
	return out
}

// slicesByTensor maps each tensor to the Slices that read it, in node order.
func slicesByTensor(g *graph.Graph) ([]*graph.Node, map[*graph.Node][]*graph.Node) {
	var order []*graph.Node
	by := map[*graph.Node][]*graph.Node{}
	for _, n := range g.Nodes {
		if _, ok := n.Op.(*graph.Slice); ok {
			t := n.Inputs[0]
			if by[t] == nil {
				order = append(order, t)
			}
			by[t] = append(by[t], n)
		}
	}
	return order, by
}

// sliceRange returns the channel range of a Slice node.
func sliceRange(n *graph.Node) (int, int) {
	s := n.Op.(*graph.Slice)
	return s.Start, s.End
}

// span returns t itself if [a, b) is all of it, else a new Slice of it.
func span(e *editor, t *graph.Node, a, b int, name string) *graph.Node {
	if a == 0 && b == t.Shape.C {
		return t
	}
	shape := t.Shape
	shape.C = b - a
	return e.add(name, &graph.Slice{Start: a, End: b}, shape, t)
}

// users returns the user nodes of a run.
func users(run []member) []*graph.Node {
	out := make([]*graph.Node, len(run))
	for i, m := range run {
		out[i] = m.user
	}
	return out
}

// toSlices turns each user of run into a Slice of m: the user's channels
// in m's output are its slice's range shifted by a.
func toSlices(run []member, m *graph.Node, a int) {
	for _, p := range run {
		p.user.Op = &graph.Slice{Start: p.start - a, End: p.end - a}
		p.user.Inputs = []*graph.Node{m}
	}
}

// mergeSlicedEltwise is rewrite B.
func mergeSlicedEltwise(e *editor, log Logger) int {
	g := e.g
	readers := g.Consumers()
	type key struct {
		bn   bool
		eps  float32
		relu bool
	}
	order, by := slicesByTensor(g)
	count := 0
	for _, t := range order {
		var keys []key
		groups := map[key][]member{}
		for _, s := range by[t] {
			a, b := sliceRange(s)
			for _, u := range readers[s.ID] {
				var k key
				switch op := u.Op.(type) {
				case *graph.BatchNorm:
					k = key{bn: true, eps: op.Eps, relu: op.ReLU}
				case *graph.ReLU:
				default:
					continue
				}
				if groups[k] == nil {
					keys = append(keys, k)
				}
				groups[k] = append(groups[k], member{s, u, a, b})
			}
		}
		for _, k := range keys {
			for _, run := range runs(groups[k]) {
				a, b := run[0].start, run[len(run)-1].end
				var op graph.Op = &graph.ReLU{}
				kind := "relu"
				if k.bn {
					bn := &graph.BatchNorm{C: b - a, Eps: k.eps, ReLU: k.relu}
					for _, p := range run {
						x := p.user.Op.(*graph.BatchNorm)
						bn.Gamma = append(bn.Gamma, x.Gamma...)
						bn.Beta = append(bn.Beta, x.Beta...)
						bn.Mean = append(bn.Mean, x.Mean...)
						bn.Var = append(bn.Var, x.Var...)
					}
					op, kind = bn, "bn"
				}
				name := fmt.Sprintf("%s+%d", run[0].user.Name, len(run)-1)
				in := span(e, t, a, b, name+".in")
				shape := t.Shape
				shape.C = b - a
				m := e.add(name, op, shape, in)
				log("%s ← %s (%s per slice of %s[%d:%d])", m.Name, names(users(run)), kind, t.Name, a, b)
				toSlices(run, m, a)
				count++
			}
		}
	}
	return count
}

// mergeSlicedConvs is rewrite C.
func mergeSlicedConvs(e *editor, log Logger) int {
	g := e.g
	readers := g.Consumers()
	type key struct {
		geom      convGeom
		in, out   int
		relu      bool
		hasReader bool
	}
	order, by := slicesByTensor(g)
	count := 0
	for _, t := range order {
		var keys []key
		groups := map[key][]member{}
		for _, s := range by[t] {
			a, b := sliceRange(s)
			for _, u := range readers[s.ID] {
				op := denseConv(u)
				if op == nil || op.InC != b-a {
					continue
				}
				if rs := readers[u.ID]; len(rs) == 1 && u != g.Output {
					if _, isAdd := rs[0].Op.(*graph.Add); isAdd {
						continue // a path of a sum: rewrite D's
					}
				}
				k := key{geom: geomOf(op), in: op.InC, out: op.OutC, relu: op.ReLU}
				if groups[k] == nil {
					keys = append(keys, k)
				}
				groups[k] = append(groups[k], member{s, u, a, b})
			}
		}
		for _, k := range keys {
			for _, run := range runs(groups[k]) {
				a, b := run[0].start, run[len(run)-1].end
				op0 := denseConv(run[0].user)
				groupsN := len(run)
				var w, bias []float32
				hasBias := false
				for _, p := range run {
					hasBias = hasBias || denseConv(p.user).Bias != nil
				}
				for _, p := range run {
					op := denseConv(p.user)
					w = append(w, op.Weight...)
					if hasBias {
						if op.Bias != nil {
							bias = append(bias, op.Bias...)
						} else {
							bias = append(bias, make([]float32, op.OutC)...)
						}
					}
				}
				name := fmt.Sprintf("%s+%d", run[0].user.Name, len(run)-1)
				in := span(e, t, a, b, name+".in")
				shape := run[0].user.Shape
				shape.C = groupsN * k.out
				m := e.add(name, &graph.Conv2D{
					InC: b - a, OutC: groupsN * k.out, KH: op0.KH, KW: op0.KW, StrideH: op0.StrideH, StrideW: op0.StrideW,
					PadH: op0.PadH, PadW: op0.PadW, DilH: op0.DilH, DilW: op0.DilW, Groups: groupsN,
					Weight: w, Bias: bias, ReLU: op0.ReLU}, shape, in)
				log("%s ← %s (convs per slice of %s[%d:%d], %d groups)", m.Name, names(users(run)), t.Name, a, b, groupsN)
				for i, p := range run {
					p.user.Op = &graph.Slice{Start: i * k.out, End: (i + 1) * k.out}
					p.user.Inputs = []*graph.Node{m}
				}
				count++
			}
		}
	}
	return count
}

// mergeSummedConvs is rewrite D.
func mergeSummedConvs(e *editor, log Logger) int {
	g := e.g
	uses := consumers(g)
	type key struct {
		t    *graph.Node
		geom convGeom
		out  int
	}
	count := 0
	for _, add := range g.Nodes[:len(g.Nodes):len(g.Nodes)] {
		addOp, ok := add.Op.(*graph.Add)
		if !ok {
			continue
		}
		var keys []key
		groups := map[key][]member{}
		for _, x := range add.Inputs {
			op := denseConv(x)
			if op == nil || op.ReLU || uses[x] != 1 {
				continue
			}
			s := x.Inputs[0]
			if _, isSlice := s.Op.(*graph.Slice); !isSlice {
				continue
			}
			a, b := sliceRange(s)
			k := key{s.Inputs[0], geomOf(op), op.OutC}
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], member{s, x, a, b})
		}
		merged := map[*graph.Node]*graph.Node{} // path conv → its merged conv
		var lines []string
		var last *graph.Node
		for _, k := range keys {
			for _, run := range runs(groups[k]) {
				m := sumOfPaths(e, k.t, run, add.Shape)
				if m == nil {
					continue // biases whose float32 sum is not exact
				}
				for _, p := range run {
					merged[p.user] = m
				}
				lines = append(lines, fmt.Sprintf("%s ← %s (paths over %s[%d:%d] summed by %s)",
					m.Name, names(users(run)), k.t.Name, run[0].start, run[len(run)-1].end, add.Name))
				last = m
				count++
			}
		}
		if len(lines) == 0 {
			continue
		}
		var ins []*graph.Node
		placed := map[*graph.Node]bool{}
		for _, x := range add.Inputs {
			m, ok := merged[x]
			switch {
			case !ok:
				ins = append(ins, x)
			case !placed[m]:
				// The merged conv takes its first path's place in the sum.
				ins = append(ins, m)
				placed[m] = true
			}
		}
		add.Inputs = ins
		if len(ins) == 1 {
			last.Op.(*graph.Conv2D).ReLU = addOp.ReLU
			g.ReplaceUses(add, last)
			lines[len(lines)-1] += fmt.Sprintf("; %s ← %s", last.Name, add.Name)
		}
		for _, l := range lines {
			log("%s", l)
		}
	}
	return count
}

// sumOfPaths builds the conv computing Σ conv_p(slice_p) for a run of
// rewrite D: the paths' filters side by side along input channels, bias the
// sum of the paths' biases. It returns nil if those sums are not exact in
// float32.
func sumOfPaths(e *editor, t *graph.Node, run []member, shape kernels.Shape) *graph.Node {
	op0 := denseConv(run[0].user)
	a, b := run[0].start, run[len(run)-1].end
	out, in := op0.OutC, b-a
	kk := op0.KH * op0.KW
	var bias []float32
	for _, p := range run {
		if denseConv(p.user).Bias != nil {
			bias = make([]float32, out)
			break
		}
	}
	if bias != nil {
		for o := range out {
			var s float64
			for _, p := range run {
				if pb := denseConv(p.user).Bias; pb != nil {
					s += float64(pb[o])
				}
			}
			bias[o] = float32(s)
			if float64(bias[o]) != s {
				return nil
			}
		}
	}
	w := make([]float32, out*in*kk)
	for o := range out {
		for _, p := range run {
			d := p.end - p.start
			pw := denseConv(p.user).Weight
			copy(w[(o*in+p.start-a)*kk:(o*in+p.end-a)*kk], pw[o*d*kk:(o+1)*d*kk])
		}
	}
	name := fmt.Sprintf("%s+%d", run[0].user.Name, len(run)-1)
	src := span(e, t, a, b, name+".in")
	return e.add(name, &graph.Conv2D{
		InC: in, OutC: out, KH: op0.KH, KW: op0.KW, StrideH: op0.StrideH, StrideW: op0.StrideW,
		PadH: op0.PadH, PadW: op0.PadW, DilH: op0.DilH, DilW: op0.DilW, Groups: 1,
		Weight: w, Bias: bias}, shape, src)
}

// composeSlices is rewrite F.
func composeSlices(e *editor, log Logger) int {
	count := 0
	for _, n := range e.g.Nodes[:len(e.g.Nodes):len(e.g.Nodes)] {
		op, ok := n.Op.(*graph.Slice)
		if !ok {
			continue
		}
		if in, ok := n.Inputs[0].Op.(*graph.Slice); ok {
			src := n.Inputs[0]
			op.Start, op.End = in.Start+op.Start, in.Start+op.End
			n.Inputs = []*graph.Node{src.Inputs[0]}
			log("%s ← %s (slice of %s)", n.Name, n.Name, src.Name)
			count++
		}
		if x := n.Inputs[0]; op.Start == 0 && op.End == x.Shape.C {
			e.g.ReplaceUses(n, x)
			log("%s ← %s (slice of all channels)", x.Name, n.Name)
			count++
		}
	}
	return count
}
