package harness

import (
	"bytes"
	"context"
	"fmt"
	"runtime/pprof"
	"time"

	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants/fusion"
	"github.com/resbench/resbench/variants/graph"
)

// ProfileOptions control ProfileLayers.
type ProfileOptions struct {
	Warmup int // untimed inferences first
	// Count is the minimum number of timed inferences; timing goes on
	// until MinTime has passed too, so that the 100 Hz CPU profiler takes
	// enough samples (about 100 a second of CPU).
	Count   int
	MinTime time.Duration
	Seed    uint64
	// CPUProfile records a CPU profile (runtime/pprof) of the timed phase.
	// Only one CPU profile can run in a process at a time.
	CPUProfile bool
	// Peak is the FMA ceiling that %peak is a ratio to; nil measures the
	// active tier's with ActivePeak for the cell's thread count.
	Peak *Peak
	// Progress, if set, is called after every inference with the phase
	// ("warmup" or "timed"), the number done and the minimum planned.
	Progress  func(phase string, done, total int)
	FusionLog fusion.Logger
	// CalibrationLog: as RunOptions.CalibrationLog.
	CalibrationLog func(format string, args ...any)
}

// LayerRow is one step of a profiled plan: a layer (a graph node, fused
// or not), a layout reorder, or a step whose work another does
// (in-producer).
type LayerRow struct {
	Step   int    // index in the plan
	Layer  string // node name, the pprof label "layer"
	Op     string // e.g. conv3x3/1g32, relu, reorder
	Kernel string // the plan's kernel, the pprof label "kernel"
	Micro  string // the conv implementation, if any
	Layout string // layout of the step's output
	Shape  string // output shape NxCxHxW
	MACs   int64  // multiply-accumulates per inference (whole batch)
	// Time is the step's mean wall time per inference over the middle
	// timed inferences (see LayerProfile.Middle); Share its fraction of
	// the per-layer sum.
	Time  time.Duration
	Share float64
	// AllTime is the step's time summed over every timed inference: the
	// same inferences the CPU profile saw (with the untimed ones between
	// them), so AllTime shares are what pprof's shares estimate.
	AllTime time.Duration
	// GFLOPS is 2·MACs over Time; PeakFrac its fraction of the peak (0
	// for steps without MACs).
	GFLOPS   float64
	PeakFrac float64
}

// LayerProfile is a cell profiled layer by layer.
type LayerProfile struct {
	Cell Cell
	// Plan is the compiled plan (closed: for its metadata and WritePlan).
	Plan   *engine.Plan
	MACs   int64
	Fusion []fusion.Report
	Peak   Peak
	Rows   []LayerRow // one per plan step, in plan order
	// Timed is the number of timed inferences (RunTimed, every step
	// timed). Their per-layer times are averaged over the Middle ones
	// whose total lies within the interquartile range of the totals, so
	// that an inference slowed by the machine (a preempted thread) does
	// not skew the table; with fewer than 4 timed inferences, all of them.
	Timed, Middle int
	// LayerSum is the sum of the rows' Time: the per-layer estimate of
	// one inference.
	LayerSum time.Duration
	// EndToEnd is the latency of untimed inferences (plain Run, no
	// per-step timers), one after each timed one, in the same process;
	// EndToEndMid their mean over the middle 50% (the interquartile mean,
	// the estimator of LayerSum): what the per-layer sum is checked
	// against.
	EndToEnd    LatencyStats
	EndToEndMid time.Duration
	// TimedWall is the wall time of each timed inference, per-step timers
	// included; TimerOverhead the mean of its excess over the sum of the
	// inference's step times.
	TimedWall     LatencyStats
	TimerOverhead time.Duration
	// CPUProfile is the gzipped pprof profile of the timed phase (timed
	// and untimed inferences), its samples labelled model, layer, op and
	// kernel; nil unless ProfileOptions.CPUProfile.
	CPUProfile  []byte
	ProfileTime time.Duration // how long the profiler ran
	// Trace is the start and end of every step of one more inference
	// (RunTraced), for a Chrome/Perfetto trace.
	Trace []engine.StepTime
}

// Ratio is the per-layer sum over the end-to-end latency, both the mean
// of the middle 50% of their inferences.
func (p *LayerProfile) Ratio() float64 {
	return float64(p.LayerSum) / float64(p.EndToEndMid)
}

// ProfileLayers builds, fuses and compiles c with pprof labels, warms it
// up, then alternates timed inferences (RunTimed: every step's wall time)
// with untimed ones (Run) until opt.Count of each and opt.MinTime have
// passed, recording a CPU profile throughout if asked, and finally traces
// one inference. Interleaving puts the two kinds of inference under the
// same machine conditions, so the per-layer sum and the end-to-end
// latency compare like with like.
func ProfileLayers(ctx context.Context, c Cell, opt ProfileOptions) (*LayerProfile, error) {
	if opt.Count < 1 {
		return nil, fmt.Errorf("count %d must be positive", opt.Count)
	}
	g, err := c.Build(opt.Seed)
	if err != nil {
		return nil, err
	}
	g, reports, err := c.Fuse(g, opt.FusionLog)
	if err != nil {
		return nil, err
	}
	pk := opt.Peak
	if pk == nil {
		p := ActivePeak(c.Threads, 200*time.Millisecond)
		pk = &p
	}
	plan, err := engine.Compile(g, engine.Config{Kernel: c.Kernel, Threads: c.Threads, Labels: true, Log: opt.CalibrationLog, Context: ctx})
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	RandomInput(plan.Input(), opt.Seed)
	lp := &LayerProfile{Cell: c, Plan: plan, MACs: g.MACs(), Fusion: reports, Peak: *pk}
	for i := range opt.Warmup {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		plan.Run()
		if opt.Progress != nil {
			opt.Progress("warmup", i+1, opt.Warmup)
		}
	}

	n := len(plan.Steps)
	for i := range plan.Steps {
		plan.Steps[i].Elapsed = 0
	}
	// steps holds every timed inference's step times, one row of n each.
	steps := make([]time.Duration, 0, opt.Count*n)
	var wall, plain []time.Duration
	var buf bytes.Buffer
	if opt.CPUProfile {
		if err := pprof.StartCPUProfile(&buf); err != nil {
			return nil, fmt.Errorf("cannot start the CPU profile: %v", err)
		}
	}
	start := time.Now()
	for i := 0; i < opt.Count || time.Since(start) < opt.MinTime; i++ {
		if err := ctx.Err(); err != nil {
			if opt.CPUProfile {
				pprof.StopCPUProfile()
			}
			return nil, err
		}
		t := time.Now()
		plan.RunTimed()
		wall = append(wall, time.Since(t))
		for j := range plan.Steps {
			steps = append(steps, plan.Steps[j].Elapsed)
			plan.Steps[j].Elapsed = 0
		}
		t = time.Now()
		plan.Run()
		plain = append(plain, time.Since(t))
		if opt.Progress != nil {
			opt.Progress("timed", i+1, opt.Count)
		}
	}
	if opt.CPUProfile {
		pprof.StopCPUProfile()
		lp.ProfileTime = time.Since(start)
		lp.CPUProfile = buf.Bytes()
	}
	lp.Trace = plan.RunTraced()

	lp.Timed = len(wall)
	lp.EndToEnd = Stats(plain)
	lp.TimedWall = Stats(wall)
	totals := make([]time.Duration, lp.Timed)
	var over time.Duration
	for i := range totals {
		for _, d := range steps[i*n : (i+1)*n] {
			totals[i] += d
		}
		over += wall[i] - totals[i]
	}
	lp.TimerOverhead = over / time.Duration(lp.Timed)
	middle := middleRuns(totals)
	lp.Middle = len(middle)
	mid := middleRuns(plain)
	for _, i := range mid {
		lp.EndToEndMid += plain[i]
	}
	lp.EndToEndMid /= time.Duration(len(mid))
	lp.Rows = make([]LayerRow, n)
	for j, s := range plan.Steps {
		r := LayerRow{Step: j, Layer: s.Node.Name, Op: OpName(s.Node), Kernel: s.Kernel, Micro: s.Micro,
			Layout: s.Layout.String(), Shape: s.Node.Shape.String(), MACs: s.Node.MACs()}
		var sum time.Duration
		for _, i := range middle {
			sum += steps[i*n+j]
		}
		r.Time = sum / time.Duration(len(middle))
		for i := range lp.Timed {
			r.AllTime += steps[i*n+j]
		}
		if r.MACs > 0 && r.Time > 0 {
			r.GFLOPS = 2 * float64(r.MACs) / r.Time.Seconds() / 1e9
			if pk.GFLOPSAll > 0 {
				r.PeakFrac = r.GFLOPS / pk.GFLOPSAll
			}
		}
		lp.LayerSum += r.Time
		lp.Rows[j] = r
	}
	for j := range lp.Rows {
		if lp.LayerSum > 0 {
			lp.Rows[j].Share = float64(lp.Rows[j].Time) / float64(lp.LayerSum)
		}
	}
	return lp, nil
}

// MinMiddleRuns is the fewest runs whose middle 50% profile tables take;
// below it they average all runs.
const MinMiddleRuns = 4

// middleRuns returns the indices of the runs whose total lies within the
// interquartile range of the totals (nearest rank), or all of them when
// there are fewer than MinMiddleRuns.
func middleRuns(totals []time.Duration) []int {
	idx := make([]int, len(totals))
	for i := range idx {
		idx[i] = i
	}
	if len(totals) < MinMiddleRuns {
		return idx
	}
	st := Stats(totals)
	var mid []int
	for i, t := range totals {
		if t >= st.Q1 && t <= st.Q3 {
			mid = append(mid, i)
		}
	}
	return mid
}

// OpName is a node's op for tables: the op type, or for a convolution its
// kernel size, stride and groups (conv3x3/2g32), as engine.WritePlan
// prints it.
func OpName(n *graph.Node) string {
	c, ok := n.Op.(*graph.Conv2D)
	if !ok {
		return n.Op.Type()
	}
	op := fmt.Sprintf("conv%dx%d/%d", c.KH, c.KW, c.StrideH)
	if c.Groups > 1 {
		op += fmt.Sprintf("g%d", c.Groups)
	}
	return op
}

// ByKernel sums rows' Time and AllTime by kernel, in order of first
// appearance.
func ByKernel(rows []LayerRow) []LayerRow {
	var out []LayerRow
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.Kernel]
		if !ok {
			i = len(out)
			at[r.Kernel] = i
			out = append(out, LayerRow{Step: -1, Kernel: r.Kernel})
		}
		o := &out[i]
		o.Time += r.Time
		o.AllTime += r.AllTime
		o.Share += r.Share
		o.MACs += r.MACs
	}
	return out
}
