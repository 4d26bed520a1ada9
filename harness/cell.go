package harness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
	"github.com/resbench/resbench/variants/graph"
)

// Cell is one point of the benchmark space.
type Cell struct {
	Model   string // canonical model name
	Form    variants.Form
	Fusion  string
	Kernel  string
	Size    int
	Batch   int
	Threads int
}

// Name is the cell's benchmark name in key=value form, keys in a fixed
// order, e.g. "Model/model=resnet50/fusion=none/kernel=naive/size=224/batch=1/threads=1".
// The form key appears for ResNeXt models only.
func (c Cell) Name() string {
	form := ""
	if spec, err := variants.Lookup(c.Model); err == nil && spec.IsResNeXt() {
		form = "/form=" + c.Form.String()
	}
	return fmt.Sprintf("Model/model=%s%s/fusion=%s/kernel=%s/size=%d/batch=%d/threads=%d",
		c.Model, form, c.Fusion, c.Kernel, c.Size, c.Batch, c.Threads)
}

// RunOptions control how a cell is measured.
type RunOptions struct {
	Warmup int // untimed inferences first
	Count  int // timed inferences
	Seed   uint64
	// Progress, if set, is called after every inference with the phase
	// ("warmup" or "timed"), the number done and the number planned.
	Progress func(phase string, done, total int)
	// FusionLog, if set, receives one line per rewrite the passes make.
	FusionLog fusion.Logger
}

// Result is a measured cell.
type Result struct {
	Cell      Cell
	MACs      int64
	Params    int64
	Latencies []time.Duration // timed runs, in run order
	Stats     LatencyStats
	// ImagesPerSec is Batch over the median latency.
	ImagesPerSec float64
	// GFLOPS is the effective rate, 2·MACs over the median latency.
	GFLOPS float64
	// Memory
	ActivationBytes int64   // planned activation arena + shared workspace
	LowerBoundBytes int64   // liveness lower bound of the activations
	WeightBytes     int64   // weights as the plan holds them
	HeapPeakBytes   uint64  // Go heap in use after the timed runs (runtime/metrics)
	MaxRSSBytes     int64   // process max resident set size (getrusage)
	AllocsPerRun    float64 // heap allocations per timed inference
	Plan            *engine.Plan
	Fusion          []fusion.Report
}

// LatencyStats are order statistics of the timed runs.
type LatencyStats struct {
	Min, Median, P90, P99, Max time.Duration
	N                          int
}

// Stats computes order statistics with the nearest-rank method.
func Stats(ds []time.Duration) LatencyStats {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return LatencyStats{}
	}
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return LatencyStats{Min: s[0], Median: med, P90: rank(0.90), P99: rank(0.99), Max: s[len(s)-1], N: len(s)}
}

// Build constructs the cell's model at its size and batch, unfused.
func (c Cell) Build(seed uint64) (*graph.Graph, error) {
	return variants.Build(c.Model, variants.Options{Size: c.Size, Batch: c.Batch, Form: c.Form, Seed: seed})
}

// Fuse applies the cell's fusion passes to g.
func (c Cell) Fuse(g *graph.Graph, log fusion.Logger) (*graph.Graph, []fusion.Report, error) {
	names, err := fusion.Parse(strings.ReplaceAll(c.Fusion, "+", ","))
	if err != nil {
		return nil, nil, err
	}
	return fusion.Apply(g, names, log)
}

// RandomInput fills x with a deterministic N(0,1) image batch.
func RandomInput(x []float32, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
}

// Measure builds, compiles and times one cell. If ctx is cancelled between
// inferences it stops and returns ctx's error together with a Result
// holding the timed runs finished so far (nil if none), so an interrupted
// run loses nothing it measured.
func Measure(ctx context.Context, c Cell, opt RunOptions) (*Result, error) {
	if opt.Count < 1 {
		return nil, fmt.Errorf("count %d must be positive", opt.Count)
	}
	g, err := c.Build(opt.Seed)
	if err != nil {
		return nil, err
	}
	params := g.Params()
	g, reports, err := c.Fuse(g, opt.FusionLog)
	if err != nil {
		return nil, err
	}
	plan, err := engine.Compile(g, engine.Config{Kernel: c.Kernel, Threads: c.Threads})
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	RandomInput(plan.Input(), opt.Seed)
	res := &Result{Cell: c, MACs: g.MACs(), Params: params, Plan: plan, Fusion: reports,
		ActivationBytes: plan.ActivationBytes + plan.WorkspaceBytes, LowerBoundBytes: plan.LowerBoundBytes, WeightBytes: plan.WeightBytes}
	for i := range opt.Warmup {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		plan.Run()
		if opt.Progress != nil {
			opt.Progress("warmup", i+1, opt.Warmup)
		}
	}
	var allocs uint64
	counter := newAllocCounter()
	res.Latencies = make([]time.Duration, 0, opt.Count)
	for i := range opt.Count {
		if err := ctx.Err(); err != nil {
			if i == 0 {
				return nil, err
			}
			res.finish(allocs)
			return res, err
		}
		a0 := counter.read()
		t := time.Now()
		plan.Run()
		d := time.Since(t)
		allocs += counter.read() - a0
		res.Latencies = append(res.Latencies, d)
		if opt.Progress != nil {
			opt.Progress("timed", i+1, opt.Count)
		}
	}
	res.finish(allocs)
	return res, nil
}

// finish reduces the timed runs to the summary figures. allocs is the heap
// allocation count summed over the timed inferences alone, so progress
// output between runs does not count.
func (res *Result) finish(allocs uint64) {
	n := len(res.Latencies)
	res.AllocsPerRun = float64(allocs) / float64(n)
	res.HeapPeakBytes = heapInUse()
	res.MaxRSSBytes = maxRSS()
	res.Stats = Stats(res.Latencies)
	sec := res.Stats.Median.Seconds()
	res.ImagesPerSec = float64(res.Cell.Batch) / sec
	res.GFLOPS = 2 * float64(res.MACs) / sec / 1e9
}

func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}
