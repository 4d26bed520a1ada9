package harness

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
	"github.com/resbench/resbench/variants/graph"
	"github.com/resbench/resbench/variants/oracle"
)

// Cell is one point of the benchmark space.
// Its JSON keys are snake_case, as in the rest of matrix --json.
type Cell struct {
	Model string        `json:"model"` // canonical model name
	Form  variants.Form `json:"form"`
	// StrideOn1x1 builds the original ResNet layout, the stride of a
	// downsampling bottleneck on its first 1x1 (default: on the 3x3).
	StrideOn1x1 bool   `json:"stride_on_1x1"`
	Fusion      string `json:"fusion"` // as in the benchmark name: none, all, all-but-PASS, or names joined by '+'
	Kernel      string `json:"kernel"`
	Size        int    `json:"size"`
	Batch       int    `json:"batch"`
	Threads     int    `json:"threads"`
}

// Name is the cell's benchmark name in key=value form, keys in a fixed
// order, e.g. "Model/model=resnet50/fusion=none/kernel=naive/size=224/batch=1/threads=1".
// The form key appears for ResNeXt models only, the stride key
// ("stride=1x1") for the original layout only, so that names from before
// it existed still match.
func (c Cell) Name() string {
	form := ""
	if spec, err := variants.Lookup(c.Model); err == nil && spec.IsResNeXt() {
		form = "/form=" + c.Form.String()
	}
	if c.StrideOn1x1 {
		form += "/stride=1x1"
	}
	return fmt.Sprintf("Model/model=%s%s/fusion=%s/kernel=%s/size=%d/batch=%d/threads=%d",
		c.Model, form, c.Fusion, c.Kernel, c.Size, c.Batch, c.Threads)
}

// RunOptions control how a cell is measured. The stopping rule combines
// MLPerf LoadGen's (a minimum count and a minimum duration, both met) with
// torch.utils.benchmark's adaptive_autorange (stop once the estimate is
// precise enough): timed runs continue until MinCount runs and MinTime
// have both passed, and then until the 95% confidence interval of the
// median is within ±TargetCI of it, or MaxCount runs or MaxTime are reached.
type RunOptions struct {
	Warmup int // untimed inferences first (benchdnn and torch both warm up)
	// BeforeTimed, if set, runs once after the build, compile and
	// warm-up, just before the first timed inference: a CPU profile
	// started there covers the timed part only, warm-up or none.
	BeforeTimed func()
	MinCount    int
	// MaxCount 0 means a fixed count of MinCount, unless MinTime or
	// TargetCI asks for more runs: then no cap (MinTime, the CI target or
	// MaxTime ends the timing), and CIMaxCount for a CI target alone.
	MaxCount int
	MinTime  time.Duration
	MaxTime  time.Duration // 0: no limit beyond MaxCount
	// TargetCI stops timing once both ends of the median's 95% confidence
	// interval are within ±TargetCI of it (e.g. 0.02); 0 stops at
	// MinCount/MinTime.
	TargetCI float64
	Seed     uint64
	// Parity is the number of inputs checked against the float64 oracle
	// (0: no parity check).
	Parity int
	// Progress, if set, is called after every inference with the phase
	// ("warmup", "timed" or "parity"), the number done and the number
	// planned (for timed runs, MaxCount, or 0 when open-ended).
	Progress func(phase string, done, total int)
	// FusionLog, if set, receives one line per rewrite the passes make.
	FusionLog fusion.Logger
	// CalibrationLog, if set, receives the auto kernel's notes (see
	// engine.Config.Log).
	CalibrationLog func(format string, args ...any)
	// Oracles caches float64 oracle outputs across cells (nil: none).
	Oracles *OracleCache
	// Layers overrides kernels per layer.
	Layers map[string]string
	// WrapConv wraps planned convolutions (tests inject a wrong kernel).
	WrapConv func(node string, c kernels.Conv) kernels.Conv
	// Labels runs the plan under pprof labels model, layer, op, kernel
	// (for --cpuprofile).
	Labels bool
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
	// Noisy is set when the spread (IQR/median) is over 10%, the threshold
	// torch.utils.benchmark warns at.
	Noisy bool
	// Memory
	ActivationBytes int64   // planned activation arena + shared workspace
	LowerBoundBytes int64   // liveness lower bound of the activations
	WeightBytes     int64   // weights as the plan holds them (packed)
	HeapPeakBytes   uint64  // Go heap in use after the timed runs (runtime/metrics)
	MaxRSSBytes     int64   // process max resident set size (getrusage)
	AllocsPerRun    float64 // heap allocations per timed inference
	Parity          *Parity // nil when not checked
	Plan            *engine.Plan
	Fusion          []fusion.Report
}

// Parity is a cell's agreement with the float64 oracle of the unfused
// model on the same weights, over several inputs.
type Parity struct {
	Inputs int     `json:"inputs"`
	MaxAbs float64 `json:"max_abs"`          // max |got − oracle| over every logit of every input
	RelL2  float64 `json:"rel_l2"`           // worst per-input relative L2 error of the logits
	Top1   float64 `json:"top1_agree"`       // fraction of images whose top-1 class agrees
	Top5   float64 `json:"top5_agree"`       // fraction of images whose top-5 sets agree
	Tol    float64 `json:"rel_l2_tolerance"` // the kernel's relative L2 bound
	Failed bool    `json:"failed"`
	Reason string  `json:"reason,omitempty"`
}

// LatencyStats are order statistics of the timed runs.
type LatencyStats struct {
	Min, Median, P90, P99, Max time.Duration
	Q1, Q3                     time.Duration
	// CILow and CIHigh bound the median with 95% confidence
	// (distribution-free, from binomial order statistics) when CI95 is
	// set. Below 6 runs no order statistics reach 95%: CI95 is false and
	// they are the extremes, which bracket it with 1 − 2·½ⁿ (75% at n = 3).
	CILow, CIHigh time.Duration
	CI95          bool
	N             int
}

// MinCI95Runs is the fewest runs whose order statistics bracket the
// median with 95% confidence.
const MinCI95Runs = 6

// CIText describes the median's confidence interval for a summary line,
// formatting durations with f.
func (s LatencyStats) CIText(f func(time.Duration) string) string {
	if !s.CI95 {
		return fmt.Sprintf("no 95%% CI of the median below %d runs", MinCI95Runs)
	}
	return fmt.Sprintf("median 95%% CI %s–%s", f(s.CILow), f(s.CIHigh))
}

// Stats computes order statistics with the nearest-rank method.
func Stats(ds []time.Duration) LatencyStats {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return LatencyStats{}
	}
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(n))) - 1
		return s[max(0, min(i, n-1))]
	}
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	st := LatencyStats{Min: s[0], Median: med, P90: rank(0.90), P99: rank(0.99), Max: s[n-1],
		Q1: rank(0.25), Q3: rank(0.75), N: n}
	j := medianCIRank(n)
	st.CILow, st.CIHigh = s[max(0, j-1)], s[min(n-1, n-j)]
	st.CI95 = n >= MinCI95Runs
	return st
}

// medianCIRank returns the 1-based rank j such that the order statistics
// j and n+1−j bracket the median with at least 95% confidence: the largest
// j with P(Binomial(n, ½) < j) ≤ 2.5%, exactly up to n = 1000 (n = 10: 2,
// n = 50: 18), by the normal approximation ⌊n/2 − 1.96·√n/2⌋ beyond (where
// ½ⁿ underflows), and 1 when no interval reaches 95% (n ≤ 5).
func medianCIRank(n int) int {
	if n > 1000 {
		return max(1, int(math.Floor(float64(n)/2-1.96*math.Sqrt(float64(n))/2)))
	}
	pmf := math.Pow(0.5, float64(n)) // P(X = 0)
	cdf, j := pmf, 1                 // cdf = P(X ≤ j−1)
	for cdf <= 0.025 {
		pmf *= float64(n-j+1) / float64(j) // P(X = j)
		cdf += pmf
		j++
	}
	return max(1, j-1)
}

// Build constructs the cell's model at its size and batch, unfused.
func (c Cell) Build(seed uint64) (*graph.Graph, error) {
	return variants.Build(c.Model, variants.Options{Size: c.Size, Batch: c.Batch, Form: c.Form, StrideOn1x1: c.StrideOn1x1, Seed: seed})
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

// Measure builds, compiles and times one cell, then checks its parity. If
// ctx is cancelled between inferences it stops and returns ctx's error
// together with a Result holding the timed runs finished so far (nil if
// none), so an interrupted run loses nothing it measured.
func Measure(ctx context.Context, c Cell, opt RunOptions) (*Result, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	opt.MaxCount = effectiveMaxCount(opt)
	g, err := c.Build(opt.Seed)
	if err != nil {
		return nil, err
	}
	params := g.Params()
	unfused := g
	g, reports, err := c.Fuse(g, opt.FusionLog)
	if err != nil {
		return nil, err
	}
	plan, err := engine.Compile(g, engine.Config{Kernel: c.Kernel, Threads: c.Threads, Layers: opt.Layers, WrapConv: opt.WrapConv, Labels: opt.Labels, Log: opt.CalibrationLog, Context: ctx})
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
	if opt.BeforeTimed != nil {
		opt.BeforeTimed()
	}
	var allocs uint64
	counter := newAllocCounter()
	res.Latencies = make([]time.Duration, 0, min(opt.MaxCount, 1<<16))
	progressTotal := opt.MaxCount
	if opt.MaxCount == math.MaxInt {
		progressTotal = 0
	}
	start := time.Now()
	for i := 0; ; i++ {
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
			opt.Progress("timed", i+1, progressTotal)
		}
		if done(res.Latencies, time.Since(start), opt) {
			break
		}
	}
	res.finish(allocs)
	if opt.Parity > 0 {
		p, err := checkParity(ctx, c, unfused, plan, opt)
		if err != nil {
			return res, err
		}
		res.Parity = p
	}
	return res, nil
}

// Check refuses settings that contradict each other or cannot be met, in
// the command-line flags' names.
func (opt RunOptions) Check() error {
	switch {
	case opt.MinCount < 1:
		return fmt.Errorf("--count %d must be positive", opt.MinCount)
	case opt.MaxCount < 0 || opt.MinTime < 0 || opt.MaxTime < 0 || opt.Parity < 0 || opt.Warmup < 0:
		return fmt.Errorf("--max-count, --min-time, --max-time, --parity and --warmup must not be negative")
	case math.IsNaN(opt.TargetCI) || math.IsInf(opt.TargetCI, 0) || opt.TargetCI < 0:
		return fmt.Errorf("--target-ci %v must be a fraction ≥ 0, e.g. 0.02", opt.TargetCI)
	case opt.MaxCount > 0 && opt.MaxCount < opt.MinCount:
		return fmt.Errorf("--max-count %d is below --count %d; raise it or drop it", opt.MaxCount, opt.MinCount)
	case opt.MaxTime > 0 && opt.MinTime > opt.MaxTime:
		return fmt.Errorf("--min-time %v exceeds --max-time %v", opt.MinTime, opt.MaxTime)
	}
	return nil
}

// CIMaxCount caps the timed runs of a CI target given without MaxCount,
// MinTime or MaxTime: on a noisy machine the target may never be met.
const CIMaxCount = 10000

// effectiveMaxCount applies RunOptions.MaxCount's defaults.
func effectiveMaxCount(opt RunOptions) int {
	switch {
	case opt.MaxCount > 0:
		return max(opt.MaxCount, opt.MinCount)
	case opt.MinTime > 0 || opt.MaxTime > 0 && opt.TargetCI > 0:
		return math.MaxInt
	case opt.TargetCI > 0:
		return max(CIMaxCount, opt.MinCount)
	}
	return opt.MinCount
}

// done is the stopping rule of RunOptions.
func done(lat []time.Duration, elapsed time.Duration, opt RunOptions) bool {
	n := len(lat)
	switch {
	case n >= opt.MaxCount:
		return true
	case opt.MaxTime > 0 && elapsed >= opt.MaxTime && n >= opt.MinCount:
		return true
	case n < opt.MinCount || elapsed < opt.MinTime:
		return false
	case opt.TargetCI <= 0:
		return true
	}
	// Within ±F of the median on both sides: the interval's ends are
	// order statistics, so it can be lopsided, and its half-width alone
	// could pass with one end further out than F.
	st := Stats(lat)
	med := float64(st.Median)
	return st.CI95 && float64(max(st.CIHigh-st.Median, st.Median-st.CILow)) <= opt.TargetCI*med
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
	res.Noisy = float64(res.Stats.Q3-res.Stats.Q1) > 0.10*float64(res.Stats.Median)
}

// OracleCache keeps float64 oracle logits per model, form, layout, size, batch,
// seed and input, so a matrix computes each once for all its fusions,
// kernels and thread counts.
type OracleCache struct {
	mu sync.Mutex
	m  map[string][]float64
	// Threads for the oracle's convolutions.
	Threads int
}

// NewOracleCache returns an empty cache whose oracle uses threads
// goroutines.
func NewOracleCache(threads int) *OracleCache {
	return &OracleCache{m: map[string][]float64{}, Threads: max(threads, 1)}
}

// checkParity runs the plan on opt.Parity inputs and compares the logits
// with the float64 oracle of the unfused graph.
func checkParity(ctx context.Context, c Cell, unfused *graph.Graph, plan *engine.Plan, opt RunOptions) (*Parity, error) {
	cache := opt.Oracles
	if cache == nil {
		cache = NewOracleCache(c.Threads)
	}
	p := &Parity{Inputs: opt.Parity, Tol: engine.Tolerance(c.Kernel)}
	var ref *oracle.Oracle
	classes := unfused.Output.Shape.C
	top1, top5 := 0, 0
	for i := range opt.Parity {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seed := opt.Seed + 1000 + uint64(i)
		x := make([]float32, unfused.Input.Shape.Elems())
		RandomInput(x, seed)
		key := fmt.Sprintf("%s|%v|%v|%d|%d|%d|%d", c.Model, c.Form, c.StrideOn1x1, c.Size, c.Batch, opt.Seed, seed)
		cache.mu.Lock()
		want, ok := cache.m[key]
		cache.mu.Unlock()
		if !ok {
			if ref == nil {
				var err error
				if ref, err = oracle.NewThreads(unfused, cache.Threads); err != nil {
					return nil, err
				}
			}
			want = slices.Clone(ref.Run(x))
			cache.mu.Lock()
			cache.m[key] = want
			cache.mu.Unlock()
		}
		copy(plan.Input(), x)
		plan.Run()
		got := plan.Output()
		d := engine.Compare(got, want)
		p.MaxAbs = max(p.MaxAbs, d.MaxAbs)
		p.RelL2 = max(p.RelL2, d.RelL2)
		for b := range c.Batch {
			w, g := want[b*classes:(b+1)*classes], got[b*classes:(b+1)*classes]
			tw, tg := engine.TopK(w, 5), engine.TopK(g, 5)
			if tw[0] == tg[0] {
				top1++
			} else if w[tw[0]]-w[tg[0]] > 4*d.MaxAbs {
				// Not a near-tie the rounding could flip: a wrong answer.
				p.Failed = true
				p.Reason = fmt.Sprintf("input %d image %d: top-1 class %d, oracle %d", i, b, tg[0], tw[0])
			}
			if sameSet(tw, tg) {
				top5++
			}
		}
		if opt.Progress != nil {
			opt.Progress("parity", i+1, opt.Parity)
		}
	}
	images := float64(opt.Parity * c.Batch)
	p.Top1, p.Top5 = float64(top1)/images, float64(top5)/images
	if !(p.RelL2 <= p.Tol) { // also catches NaN
		p.Failed = true
		p.Reason = fmt.Sprintf("relative L2 error %.3g > the %s tolerance %.g", p.RelL2, c.Kernel, p.Tol)
	}
	return p, nil
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}
