// Package engine turns a model graph into an executable plan and runs it.
//
// Compile is the planner: it assigns each node a kernel, converts or packs
// weights once, and gives every node an output buffer, so that Run does no
// allocation and no per-inference setup. Run is the executor: it walks the
// plan's steps in order, optionally timing each one.
//
// The float64 Oracle in this package runs the same graph with the same
// naive kernels at double precision: it is what every fast path's accuracy
// is measured against.
package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/im2col"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/variants/graph"
)

// Kernel names accepted by Config.Kernel.
const (
	KernelNaive  = "naive"
	KernelIm2col = "im2col"
)

// Kernels lists the valid Config.Kernel values.
func Kernels() []string { return []string{KernelNaive, KernelIm2col} }

// ParseKernel validates a kernel name.
func ParseKernel(name string) (string, error) {
	if slices.Contains(Kernels(), name) {
		return name, nil
	}
	return "", fmt.Errorf("unknown kernel %q; valid kernels: %s", name, strings.Join(Kernels(), ", "))
}

// Config selects how a graph is planned.
type Config struct {
	Kernel  string // one of Kernels(); "" means naive
	Threads int    // worker threads; 0 means 1
	// KeepAll gives every node its own buffer instead of sharing memory
	// between tensors whose lifetimes do not overlap, so that Value can
	// read any layer's output after Run (per-layer parity).
	KeepAll bool
}

// Step is one planned node: the kernel it got and the closure that runs it.
type Step struct {
	Node    *graph.Node
	Kernel  string        // implementation chosen, e.g. "naive"
	Elapsed time.Duration // accumulated by RunTimed
	run     func()
}

// Plan is a compiled graph ready to run. Close it to stop its workers.
type Plan struct {
	Graph  *graph.Graph
	Config Config
	Steps  []Step
	// Tier is the ISA tier the plan's kernels were built for.
	Tier string
	bufs [][]float32
	// workspace is shared by every step (steps run one at a time).
	workspace []float32
	// gapInProducer maps a conv's node ID to the global average pool it
	// computes in its own step (se-fc-conv1x1).
	gapInProducer map[int]*graph.Node
	pool          *parallel.Pool
	gemm          *gemm.Context
	// ActivationBytes is the arena the plan holds for activations;
	// LowerBoundBytes the liveness lower bound (the most activation memory
	// alive at one step); WorkspaceBytes the shared scratch; WeightBytes
	// the weights as the kernels hold them (packed or transformed).
	ActivationBytes int64
	LowerBoundBytes int64
	WorkspaceBytes  int64
	WeightBytes     int64
	// InPlace counts element-wise steps that write over their input.
	InPlace int
}

// Compile plans g (at its current shapes) for execution.
func Compile(g *graph.Graph, cfg Config) (*Plan, error) {
	if cfg.Kernel == "" {
		cfg.Kernel = KernelNaive
	}
	if _, err := ParseKernel(cfg.Kernel); err != nil {
		return nil, err
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 1
	}
	if err := kernels.TierErr(); err != nil {
		return nil, err
	}
	p := &Plan{Graph: g, Config: cfg, bufs: make([][]float32, len(g.Nodes)), Tier: kernels.ActiveTier().String()}
	p.pool = parallel.New(cfg.Threads)
	p.gemm = gemm.NewContext(p.pool)
	p.planBuffers()
	same := func(w []float32) []float32 { return w }
	if cfg.Kernel != KernelNaive {
		p.findGAPInProducer()
	}
	var wsLen int
	for _, n := range g.Nodes[1:] {
		if _, ok := n.Op.(*graph.Flatten); ok {
			continue
		}
		if _, ok := n.Op.(*graph.Slice); ok && n.Shape.N == 1 {
			continue // a view of its input, planned as an alias
		}
		if gap, ok := n.Op.(*graph.GlobalAvgPool); ok && gap.InProducer && p.gapInProducer[n.Inputs[0].ID] == n {
			p.Steps = append(p.Steps, Step{Node: n, Kernel: "in-producer", run: func() {}})
			continue
		}
		if conv, ok := n.Op.(*graph.Conv2D); ok && cfg.Kernel != KernelNaive {
			step, ws, err := p.convStep(n, conv)
			if err != nil {
				p.Close()
				return nil, err
			}
			wsLen = max(wsLen, ws)
			p.Steps = append(p.Steps, step)
			continue
		}
		var run func()
		kernel := KernelNaive
		if cfg.Kernel != KernelNaive {
			var err error
			if run, err = p.fastStep(n); err != nil {
				p.Close()
				return nil, err
			}
			kernel = "vector"
		}
		if run == nil {
			var err error
			if run, err = naiveStep(n, p.bufs, same); err != nil {
				p.Close()
				return nil, err
			}
			kernel = KernelNaive
		}
		p.WeightBytes += 4 * n.Params()
		p.Steps = append(p.Steps, Step{Node: n, Kernel: kernel, run: run})
	}
	p.workspace = kernels.Alloc(wsLen)
	p.WorkspaceBytes = int64(4 * wsLen)
	return p, nil
}

// findGAPInProducer records the global average pools marked to run in
// their producing conv's step.
func (p *Plan) findGAPInProducer() {
	p.gapInProducer = map[int]*graph.Node{}
	for _, n := range p.Graph.Nodes {
		if gap, ok := n.Op.(*graph.GlobalAvgPool); ok && gap.InProducer {
			if _, isConv := n.Inputs[0].Op.(*graph.Conv2D); isConv {
				p.gapInProducer[n.Inputs[0].ID] = n
			}
		}
	}
}

// planBuffers gives every node its output buffer: windows of one arena
// planned by liveness, or (KeepAll) a buffer each.
func (p *Plan) planBuffers() {
	g := p.Graph
	elems := func(n *graph.Node) int { return n.Shape.Elems() }
	// A flatten is a reshape and, at batch 1, a channel slice is a
	// contiguous window: both share their input's storage.
	alias := func(n *graph.Node) *graph.Node {
		switch n.Op.(type) {
		case *graph.Flatten:
			return n.Inputs[0]
		case *graph.Slice:
			if n.Shape.N == 1 {
				return n.Inputs[0]
			}
		}
		return nil
	}
	aliasOffset := func(n *graph.Node) int {
		if s, ok := n.Op.(*graph.Slice); ok {
			return s.Start * n.Shape.Plane()
		}
		return 0
	}
	if p.Config.KeepAll {
		for _, n := range g.Nodes {
			if a := alias(n); a != nil {
				off := aliasOffset(n)
				p.bufs[n.ID] = p.bufs[a.ID][off : off+elems(n)]
				continue
			}
			p.bufs[n.ID] = kernels.Alloc(elems(n))
			p.ActivationBytes += int64(4 * elems(n))
		}
		p.LowerBoundBytes = p.ActivationBytes
		return
	}
	mp := planMemory(g, elems, alias)
	arena := kernels.Alloc(mp.arena)
	for _, n := range g.Nodes {
		off, size := mp.offset[n.ID], mp.size[n.ID]
		if a := alias(n); a != nil {
			off = mp.offset[a.ID] + aliasOffset(n)
		}
		p.bufs[n.ID] = arena[off : off+size : off+size]
	}
	p.ActivationBytes = int64(4 * mp.arena)
	p.LowerBoundBytes = int64(4 * mp.lowerBound)
	p.InPlace = mp.inPlace
}

// convStep plans one convolution with the configured kernel and returns
// its step and workspace need.
func (p *Plan) convStep(n *graph.Node, op *graph.Conv2D) (Step, int, error) {
	s, err := op.Shape(n.Inputs[0].Shape)
	if err != nil {
		return Step{}, 0, fmt.Errorf("node %s: %w", n.Name, err)
	}
	spec := kernels.ConvSpec{Shape: s, Weight: op.Weight, Bias: op.Bias, ReLU: op.ReLU}
	var conv kernels.Conv
	switch p.Config.Kernel {
	case KernelIm2col:
		c, err := im2col.New(spec, p.gemm, p.pool)
		if err != nil {
			return Step{}, 0, fmt.Errorf("node %s: %w", n.Name, err)
		}
		conv = c
		p.WeightBytes += int64(4 * len(op.Weight))
	default:
		return Step{}, 0, fmt.Errorf("node %s: kernel %q has no convolution", n.Name, p.Config.Kernel)
	}
	in, out := p.bufs[n.Inputs[0].ID], p.bufs[n.ID]
	var res []float32
	if len(n.Inputs) == 2 {
		res = p.bufs[n.Inputs[1].ID]
	}
	wsLen := conv.WorkspaceLen()
	run := func() { conv.Run(in, out, res, p.workspace) }
	if op.Pool != nil {
		// conv + relu + pool: the full conv output lives in the workspace
		// after the conv's own scratch, and is pooled at once.
		full := s.Out().Elems()
		pool := p.maxPoolFn(s.N*s.OutC, s.OutH, s.OutW, n.Shape.H, n.Shape.W, op.Pool.Stride, op.Pool.Pad)
		convWS := wsLen
		run = func() {
			buf := p.workspace[convWS : convWS+full]
			conv.Run(in, buf, res, p.workspace[:convWS])
			pool(buf, out)
		}
		wsLen += full
	}
	if gap := p.gapInProducer[n.ID]; gap != nil {
		// The SE squeeze of this conv's output, computed while it is still
		// in cache; the pool node's own step does nothing.
		conv := run
		mean := p.gapFn(s.N*s.OutC, n.Shape.Plane(), out, p.bufs[gap.ID])
		run = func() {
			conv()
			mean()
		}
	}
	return Step{Node: n, Kernel: conv.Name(), run: run}, wsLen, nil
}

// Close stops the plan's worker threads.
func (p *Plan) Close() {
	if p.pool != nil {
		p.pool.Close()
		p.pool = nil
	}
}

// Input is the plan's input buffer (N×3×H×W, NCHW); fill it, then Run.
func (p *Plan) Input() []float32 { return p.bufs[p.Graph.Input.ID] }

// Output is the plan's output buffer, valid after Run.
func (p *Plan) Output() []float32 { return p.bufs[p.Graph.Output.ID] }

// Value is the last output of the node called name (nil if none), for
// per-layer parity checks. Without Config.KeepAll, the buffer may have been
// reused by a later node.
func (p *Plan) Value(name string) []float32 {
	n := p.Graph.Node(name)
	if n == nil {
		return nil
	}
	return p.bufs[n.ID]
}

// Run executes one inference on the contents of Input.
func (p *Plan) Run() {
	for i := range p.Steps {
		p.Steps[i].run()
	}
}

// RunTimed executes one inference and adds each step's wall time to its
// Elapsed.
func (p *Plan) RunTimed() {
	for i := range p.Steps {
		s := &p.Steps[i]
		t := time.Now()
		s.run()
		s.Elapsed += time.Since(t)
	}
}
