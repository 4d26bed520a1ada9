// Package engine turns a model graph into an executable plan and runs it.
//
// Compile is the planner: it assigns each node a kernel, converts or packs
// weights once, and gives every node an output buffer, so that Run does no
// allocation and no per-inference setup. Run is the executor: it walks the
// plan's steps in order, optionally timing each one.
//
// The float64 oracle (package variants/oracle) runs the same graph with the
// naive kernels at double precision: it is what every fast path's accuracy
// is measured against.
package engine

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/variants/graph"
	"github.com/resbench/resbench/variants/oracle"
)

// Config selects how a graph is planned.
type Config struct {
	Kernel  string // one of Kernels(); "" means naive
	Threads int    // worker threads; 0 means 1
	// KeepAll gives every node its own buffer instead of sharing memory
	// between tensors whose lifetimes do not overlap, so that Value can
	// read any layer's output after Run (per-layer parity).
	KeepAll bool
	// Layers overrides Kernel for the named conv nodes (auto's per-layer
	// choice).
	Layers map[string]string
	// WrapConv, if set, may replace each planned convolution (node name,
	// conv) with a wrapper: for fault injection in tests and for tracing.
	WrapConv func(node string, c kernels.Conv) kernels.Conv
	// Labels runs every step under runtime/pprof labels model, layer, op
	// and kernel, on the calling goroutine and on the pool's workers, so a
	// CPU profile can be cut by layer (go tool pprof -tagfocus
	// layer=layer3.0.conv2). The contexts are built at plan time, so a
	// labelled run allocates nothing either.
	Labels bool
	// Log, if set, receives notes on the auto kernel's calibration: that
	// it is measuring (the first time on a machine, 10–20 s per model on 2
	// cores) and a cache it cannot use. nil drops them.
	Log func(format string, args ...any)
	// Context, if set, stops the auto kernel's calibration between
	// layers and between trial rounds when it is done (Ctrl-C), with its
	// error; the per-layer timings measured so far are kept in the cache.
	Context context.Context
	// pool, if set, is a pool the plan borrows instead of starting its
	// own, and does not close: auto's candidate plans run on the pool of
	// the plan being calibrated (see pickPlan).
	pool *parallel.Pool
}

// Step is one planned node: the kernel it got and the closure that runs it.
type Step struct {
	Node    *graph.Node
	Kernel  string         // algorithm chosen, e.g. "im2col", "winograd-f4", "vector"
	Micro   string         // the conv implementation's own name (microkernel, tile)
	Layout  kernels.Layout // layout of the step's output
	Note    string         // why the kernel differs from the one asked for, if it does
	Elapsed time.Duration  // accumulated by RunTimed
	run     func()
}

// Plan is a compiled graph ready to run. Close it to stop its workers.
type Plan struct {
	closed bool // by Close: its pool is gone
	Graph  *graph.Graph
	Config Config
	Steps  []Step
	// Tier is the ISA tier the plan's kernels were built for.
	Tier string
	// Reorders counts the layout conversions the plan inserted.
	Reorders int
	bufs     [][]float32
	layout   map[*graph.Node]kernels.Layout
	// workspace is shared by every step (steps run one at a time).
	workspace []float32
	// gapInProducer maps a conv's node ID to the global average pool it
	// computes in its own step (se-fc-conv1x1).
	gapInProducer map[int]*graph.Node
	pool          *parallel.Pool
	gemm          *gemm.Context
	labels        []context.Context // per step, when Config.Labels
	curStep       atomic.Int64      // the step running, for the workers' labels
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

// Compile plans g (at its current shapes) for execution. g is not
// modified: the plan works on its own copy, where it may insert reorders.
func Compile(g *graph.Graph, cfg Config) (*Plan, error) {
	if cfg.Kernel == "" {
		cfg.Kernel = KernelNaive
	}
	if _, err := ParseKernel(cfg.Kernel); err != nil {
		return nil, err
	}
	for name, k := range cfg.Layers {
		if !slices.Contains(ConvKernels(), k) {
			return nil, fmt.Errorf("layer %s: kernel %q is not a conv kernel (%s)", name, k, strings.Join(ConvKernels(), ", "))
		}
	}
	if cfg.Threads <= 0 {
		cfg.Threads = 1
	}
	// Each worker has its own GEMM and transform scratch (megabytes), and
	// workers beyond the CPUs only wait for one: a typo like --threads 200
	// should be an error, not gigabytes.
	if most := MaxThreads(); cfg.Threads > most {
		return nil, fmt.Errorf("%d threads is more than %d (4 per CPU of this machine's %d); use at most %d", cfg.Threads, most, runtime.NumCPU(), most)
	}
	if err := kernels.TierErr(); err != nil {
		return nil, err
	}
	p := &Plan{Config: cfg, Tier: kernels.ActiveTier().String()}
	p.pool = cfg.pool
	if p.pool == nil {
		p.pool = parallel.New(cfg.Threads)
	}
	p.gemm = gemm.NewContext(p.pool)
	if err := p.compile(g); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Plan) compile(g *graph.Graph) error {
	cfg := p.Config
	if cfg.Kernel == KernelAuto {
		layers, err := p.autoLayers(g)
		if err != nil {
			return err
		}
		p.Config.Layers = layers
	}
	g = g.Clone()
	p.Graph = g
	convs := map[string]kernels.Conv{}
	notes, algos := map[string]string{}, map[string]string{}
	if cfg.Kernel != KernelNaive {
		for _, n := range g.Nodes {
			op, ok := n.Op.(*graph.Conv2D)
			if !ok {
				continue
			}
			s, err := op.Shape(n.Inputs[0].Shape)
			if err != nil {
				return fmt.Errorf("node %s: %w", n.Name, err)
			}
			conv, algo, note, err := p.chooseConv(n, kernels.ConvSpec{Shape: s, Weight: op.Weight, Bias: op.Bias, ReLU: op.ReLU})
			if err != nil {
				return err
			}
			if cfg.WrapConv != nil {
				conv = cfg.WrapConv(n.Name, conv)
			}
			convs[n.Name], algos[n.Name], notes[n.Name] = conv, algo, note
		}
	}
	lay, reorders, err := assignLayouts(g, convs)
	if err != nil {
		return err
	}
	p.layout, p.Reorders = lay, reorders
	p.bufs = make([][]float32, len(g.Nodes))
	p.planBuffers()
	same := func(w []float32) []float32 { return w }
	if cfg.Kernel != KernelNaive {
		p.findGAPInProducer()
	}
	var wsLen int
	for _, n := range g.Nodes[1:] {
		if p.isAlias(n) {
			continue // a view of its input's buffer
		}
		if gap, ok := n.Op.(*graph.GlobalAvgPool); ok && gap.InProducer && p.gapInProducer[n.Inputs[0].ID] == n {
			p.Steps = append(p.Steps, Step{Node: n, Kernel: "in-producer", Layout: lay[n], run: func() {}})
			continue
		}
		if op, ok := n.Op.(*graph.Conv2D); ok && cfg.Kernel != KernelNaive {
			step, ws := p.convStep(n, op, convs[n.Name])
			step.Kernel, step.Note = algos[n.Name], notes[n.Name]
			wsLen = max(wsLen, ws)
			p.Steps = append(p.Steps, step)
			continue
		}
		var run func()
		kernel := KernelNaive
		if cfg.Kernel != KernelNaive {
			var err error
			if run, err = p.fastStep(n); err != nil {
				return err
			}
			kernel = "vector"
		}
		if run == nil {
			if lay[n] != kernels.NCHW {
				return fmt.Errorf("node %s: no %v kernel for op %s", n.Name, lay[n], n.Op.Type())
			}
			var err error
			if run, err = oracle.Step(n, p.bufs, same, 1); err != nil {
				return err
			}
			kernel = KernelNaive
		}
		p.WeightBytes += 4 * n.Params()
		p.Steps = append(p.Steps, Step{Node: n, Kernel: kernel, Layout: lay[n], run: run})
	}
	p.workspace = kernels.Alloc(wsLen)
	p.WorkspaceBytes = int64(4 * wsLen)
	if cfg.Labels {
		p.labels = make([]context.Context, len(p.Steps))
		for i, st := range p.Steps {
			p.labels[i] = pprof.WithLabels(context.Background(), pprof.Labels(
				"model", g.Name, "layer", st.Node.Name, "op", st.Node.Op.Type(), "kernel", st.Kernel))
		}
		p.pool.OnJoin(func() { pprof.SetGoroutineLabels(p.labels[p.curStep.Load()]) })
	}
	return nil
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

// elems is the storage length of n's output in its layout.
func (p *Plan) elems(n *graph.Node) int { return p.layout[n].Elems(n.Shape) }

// aliasOf returns the node whose storage n shares, or nil: a flatten is a
// reshape, and at batch 1 a channel slice is a contiguous window (in the
// blocked layout too, its bounds being whole blocks).
func (p *Plan) aliasOf(n *graph.Node) *graph.Node {
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

func (p *Plan) isAlias(n *graph.Node) bool { return p.aliasOf(n) != nil }

// aliasOffset is where an alias starts in its input's storage.
func (p *Plan) aliasOffset(n *graph.Node) int {
	if s, ok := n.Op.(*graph.Slice); ok {
		return s.Start * n.Shape.Plane()
	}
	return 0
}

// planBuffers gives every node its output buffer: windows of one arena
// planned by liveness, or (KeepAll) a buffer each.
func (p *Plan) planBuffers() {
	g := p.Graph
	if p.Config.KeepAll {
		for _, n := range g.Nodes {
			if a := p.aliasOf(n); a != nil {
				off := p.aliasOffset(n)
				p.bufs[n.ID] = p.bufs[a.ID][off : off+p.elems(n)]
				continue
			}
			p.bufs[n.ID] = kernels.Alloc(p.elems(n))
			p.ActivationBytes += int64(4 * p.elems(n))
		}
		p.LowerBoundBytes = p.ActivationBytes
		return
	}
	mp := planMemory(g, p.elems, p.aliasOf)
	arena := kernels.Alloc(mp.arena)
	for _, n := range g.Nodes {
		off, size := mp.offset[n.ID], mp.size[n.ID]
		if a := p.aliasOf(n); a != nil {
			// A view of its input's buffer (itself possibly a view), which
			// is planned already: inputs come first.
			off = p.aliasOffset(n)
			size = p.elems(n)
			p.bufs[n.ID] = p.bufs[a.ID][off : off+size : off+size]
			continue
		}
		p.bufs[n.ID] = arena[off : off+size : off+size]
	}
	p.ActivationBytes = int64(4 * mp.arena)
	p.LowerBoundBytes = int64(4 * mp.lowerBound)
	p.InPlace = mp.inPlace
}

// convStep wraps a planned conv as a step, with its fused pooling and SE
// squeeze, and returns the step and its workspace need.
func (p *Plan) convStep(n *graph.Node, op *graph.Conv2D, conv kernels.Conv) (Step, int) {
	s, _ := op.Shape(n.Inputs[0].Shape)
	p.WeightBytes += int64(4 * (len(op.Weight) + len(op.Bias)))
	l := conv.Layout()
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
		full := l.Elems(s.Out())
		pool := p.maxPoolFn(l, s.N*((s.OutC+l.Block()-1)/l.Block()), s.OutH, s.OutW, n.Shape.H, n.Shape.W, op.Pool.K, op.Pool.Stride, op.Pool.Pad)
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
		mean := p.gapFn(l, n.Shape, out, p.bufs[gap.ID])
		run = func() {
			conv()
			mean()
		}
	}
	return Step{Node: n, Micro: conv.Name(), Layout: l, run: run}, wsLen
}

// Pool is the plan's worker pool: measurements that must run on the same
// threads as the inference (the FMA peak beside it) use it between Runs.
func (p *Plan) Pool() *parallel.Pool { return p.pool }

// Close stops the plan's worker threads.
func (p *Plan) Close() {
	if p.pool != nil && p.pool != p.Config.pool {
		p.pool.Close()
	}
	p.pool = nil
	p.closed = true
}

// checkOpen panics with a clear message on a closed plan, whose convs'
// pool is gone (they would panic deeper, with "Run on closed Pool").
func (p *Plan) checkOpen() {
	if p.closed {
		panic("engine: Run on a closed Plan")
	}
}

// MaxThreads is the most threads a plan may use: 4 per CPU.
func MaxThreads() int { return 4 * runtime.NumCPU() }

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

// ValueNCHW is Value converted to NCHW when the node's output is in a
// blocked layout (it allocates: for parity checks, not timed runs).
func (p *Plan) ValueNCHW(name string) []float32 {
	n := p.Graph.Node(name)
	if n == nil {
		return nil
	}
	l := p.layout[n]
	if l == kernels.NCHW {
		return p.bufs[n.ID]
	}
	out := make([]float32, n.Shape.Elems())
	kernels.FromBlocked(l, n.Shape, p.bufs[n.ID], out)
	return out
}

// Run executes one inference on the contents of Input.
func (p *Plan) Run() {
	p.checkOpen()
	if p.labels != nil {
		p.runLabelled()
		return
	}
	for i := range p.Steps {
		p.Steps[i].run()
	}
}

func (p *Plan) runLabelled() {
	for i := range p.Steps {
		p.curStep.Store(int64(i))
		pprof.SetGoroutineLabels(p.labels[i])
		p.Steps[i].run()
	}
	pprof.SetGoroutineLabels(context.Background())
}

// StepTime is when one step of a traced inference started and ended,
// relative to the start of the inference.
type StepTime struct{ Start, End time.Duration }

// RunTraced executes one inference and returns every step's start and end
// (for a Chrome/Perfetto trace). It allocates the result; use Run or
// RunTimed for timed runs.
func (p *Plan) RunTraced() []StepTime {
	p.checkOpen()
	ts := make([]StepTime, len(p.Steps))
	t0 := time.Now()
	for i := range p.Steps {
		if p.labels != nil {
			p.curStep.Store(int64(i))
			pprof.SetGoroutineLabels(p.labels[i])
		}
		ts[i].Start = time.Since(t0)
		p.Steps[i].run()
		ts[i].End = time.Since(t0)
	}
	if p.labels != nil {
		pprof.SetGoroutineLabels(context.Background())
	}
	return ts
}

// RunTimed executes one inference and adds each step's wall time to its
// Elapsed.
func (p *Plan) RunTimed() {
	p.checkOpen()
	for i := range p.Steps {
		s := &p.Steps[i]
		if p.labels != nil {
			p.curStep.Store(int64(i))
			pprof.SetGoroutineLabels(p.labels[i])
		}
		t := time.Now()
		s.run()
		s.Elapsed += time.Since(t)
	}
	if p.labels != nil {
		pprof.SetGoroutineLabels(context.Background())
	}
}

// WritePlan writes the plan one step per line: the node, its op and shape,
// the kernel and layout it got, and why it differs from what was asked, if
// it does. Reorders are steps too, so they show where layouts change.
func (p *Plan) WritePlan(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "# plan: kernel=%s threads=%d isa=%s, %d steps, %d reorders\n", p.Config.Kernel, p.Config.Threads, p.Tier, len(p.Steps), p.Reorders)
	fmt.Fprintln(tw, "STEP\tNODE\tOP\tOUTPUT\tKERNEL\tMICROKERNEL\tLAYOUT\tNOTE")
	for i, s := range p.Steps {
		op := s.Node.Op.Type()
		if c, ok := s.Node.Op.(*graph.Conv2D); ok {
			op = fmt.Sprintf("conv%dx%d/%d", c.KH, c.KW, c.StrideH)
			if c.Groups > 1 {
				op += fmt.Sprintf("g%d", c.Groups)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%v\t%s\t%s\t%v\t%s\n", i, s.Node.Name, op, s.Node.Shape, s.Kernel, s.Micro, s.Layout, s.Note)
	}
	return tw.Flush()
}
