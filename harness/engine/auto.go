package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/resbench/resbench/harness/internal/filelock"
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants/graph"
)

// The auto kernel. Per conv layer it measures every conv kernel that can
// run the shape (im2col, Winograd F2/F4/F6, direct) on random data, a few
// runs each, and takes the fastest. Because kernels differ in layout (the
// direct kernel's blocked activations), the per-layer winners can force
// reorders between layers; so auto then compiles four whole plans — the
// per-layer winners with the NCHW winner (the GEMM) for every pointwise
// conv, the per-layer winners, the winners among NCHW kernels only, and
// direct wherever it runs — times them end to end in alternation, and
// keeps the first unless another is clearly faster (pickPlan). The first
// is there because a layer timed alone is not a layer in a network:
// SE-ResNeXt-50's pointwise
// convs with every fusion time alike with direct and with the GEMM alone,
// but in the network the all-direct plan was 4.5 % slower (median of 80
// alternated inferences; the GEMM plan won 50 of the 80 rounds). Both
// measurements are cached per machine (CPU model, ISA tier, threads) in the
// user's cache directory, so the calibration runs once.

// calibration is the on-disk cache.
type calibration struct {
	// Layers: conv shape key → kernel → best seconds.
	Layers map[string]map[string]float64 `json:"layers"`
	// Plans: graph signature → chosen kernel per conv node.
	Plans map[string]map[string]string `json:"plans"`
}

var calibMu sync.Mutex

// calibrationVersion is part of the cache key: bump it when a kernel,
// reorder or planning change can move the per-layer or whole-plan winners,
// so that an upgrade recalibrates instead of keeping stale choices.
// 2: vector nChw8c reorders, GEMM column kernel, vector subsample.
// 3: strided (unpacked) B for GEMMs whose rows fit one block.
// 4: the strided-B kernels prefetch the next strip's rows; direct 1x1
// kernels prefetch their input.
// 5: sliding-window direct kernels for grouped 3x3 layers; per-tile copies.
// 6: whole plans compared by the median of alternated inferences, layers
// by the best of 5 alternated runs per kernel.
// 7: a fourth candidate plan, pointwise convs on the GEMM.
// 8: direct strided 1x1 convs subsample first; vector blocked subsample.
// 9: direct 3x3 stride-2 convs with 15–28 output columns use border passes.
// 10: vector nChw16c reorders and vector partial-block (input) reorders.
// 11: im2col's vector stride-2 unfold; GEMM n = 49 on AVX-512 without the
// tile buffer.
// 12: direct 1×1 convs on 56×56 planes compute all tiles row by row.
// 13: group-8 permute family for groups of 8 channels on AVX-512.
// 14: direct 1×1 convs on 7×7 planes prefetch the next weight chunk.
// 15: im2col on several threads unfolds and multiplies whole blocks per worker.
// 16: the next-chunk weight prefetch spread over four strips; fewer
// weight prefetches otherwise (none without the flag).
// 17: GEMM K blocks of 512 for few-row deep A; im2col row-split gathers
// and small remainders merged into the last block.
// 18: direct convs split into one contiguous range of work per worker.
// 19: Winograd hands whole blocks to the workers on several threads, each
// with its own padded input.
// 20: Winograd layers of one block split its GEMMs by rows per worker.
// 21: block-parallel Winograd: a fixed run of blocks per worker, padding
// only its band of input rows.
// 22: Winograd layers with fewer blocks than workers transform the input
// on every worker.
// 23: whole plans compared over 21 alternated inferences instead of 9.
// 24: im2col unfolds from zero-padded input rows (3x3 layers 9–24 %
// faster on one thread); pool workers keep their share of tasks.
// 25: candidate plans timed on one pool (the helpers of the plan timed
// before spun on a CPU while the next one ran).
// 26: the first candidate (GEMM for pointwise convs) is kept unless another
// is faster by planMargin, round by round, each timed after a run of its own.
// 27: candidates (and the plan) compiled on a freshly collected heap.
// 28: GEMM N edges (49 = 48+1, 196 = 192+4, …) as one wide strip on AVX-512.
// 29: GEMM K blocks cut about equal when the last would be short (256 = 128+128).
// 30: the wide strip's panel copied by one AVX-512 loop.
// 31: im2col's strided gather on two threads staggered by K block.
// 32: im2col gathers a 1x1 stride-2 conv's whole planes in one subsample sweep.
// 33: im2col splits a 1x1 stride-2 conv with small weights by columns on several threads.
const calibrationVersion = 33

// CalibrationPath is the cache file for this machine and thread count.
// RESBENCH_CACHE_DIR overrides the user cache directory (tests use it).
func CalibrationPath(threads int) (string, error) {
	dir := os.Getenv("RESBENCH_CACHE_DIR")
	if dir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(d, "resbench")
	}
	key := fmt.Sprintf("%s|%s|threads=%d|v%d", cpuid.CPU.BrandName, kernels.ActiveTier(), threads, calibrationVersion)
	h := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "calibration-"+hex.EncodeToString(h[:6])+".json"), nil
}

func loadCalibration(path string) *calibration {
	c := &calibration{Layers: map[string]map[string]float64{}, Plans: map[string]map[string]string{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	if json.Unmarshal(data, c) != nil || c.Layers == nil || c.Plans == nil {
		// A damaged cache is only a cache: start over.
		return &calibration{Layers: map[string]map[string]float64{}, Plans: map[string]map[string]string{}}
	}
	return c
}

func (c *calibration) save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	// A temporary file of its own, renamed over the cache: a reader sees
	// the old or the new cache whole.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// lockCalibration takes the cache's inter-process lock (a ".lock" file
// beside it), held while a process loads, extends and saves the cache:
// two processes calibrating at once would time their kernels against each
// other and the last to save would drop the other's entries.
func lockCalibration(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := filelock.Lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the calibration cache: %v", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

func shapeKey(s kernels.ConvShape) string {
	return fmt.Sprintf("n%d c%d %dx%d o%d k%dx%d s%d p%d d%d g%d", s.N, s.InC, s.H, s.W, s.OutC, s.KH, s.KW, s.StrideH, s.PadH, s.DilH, s.Groups)
}

// logf passes a note to Config.Log, if set.
// canceled is the error of the plan's Config.Context once it is done, or
// nil.
func (p *Plan) canceled() error {
	if p.Config.Context == nil {
		return nil
	}
	return p.Config.Context.Err()
}

func (p *Plan) logf(format string, args ...any) {
	if p.Config.Log != nil {
		p.Config.Log(format, args...)
	}
}

func cacheName(path string) string {
	if path == "" {
		return "no file: kept for this run only"
	}
	return path
}

// autoLayers returns the kernel auto assigns to each conv node of g.
func (p *Plan) autoLayers(g *graph.Graph) (map[string]string, error) {
	calibMu.Lock()
	defer calibMu.Unlock()
	// Without a usable cache (no home directory, a read-only one), auto
	// still works: it calibrates in this process and keeps nothing.
	path, err := CalibrationPath(p.Config.Threads)
	if err == nil {
		var unlock func()
		if unlock, err = lockCalibration(path); err == nil {
			defer unlock()
		}
	}
	if err != nil {
		p.logf("no kernel calibration cache (%v); calibrating for this run only", err)
		path = ""
	}
	cal := loadCalibration(path)
	sig := sha256.Sum256([]byte(g.String()))
	planKey := hex.EncodeToString(sig[:12])
	if layers, ok := cal.Plans[planKey]; ok {
		return layers, nil
	}
	p.logf("auto: choosing a kernel per layer by timing each on this machine (once; cached in %s)...", cacheName(path))
	best := map[string]string{}     // all kernels
	bestNCHW := map[string]string{} // layout-compatible with im2col
	direct := map[string]string{}
	gemmPointwise := map[string]string{}
	for _, n := range g.Nodes {
		op, ok := n.Op.(*graph.Conv2D)
		if !ok {
			continue
		}
		if err := p.canceled(); err != nil {
			// Keep the layers timed so far: the next run starts there.
			if path != "" {
				cal.save(path)
			}
			return nil, err
		}
		s, err := op.Shape(n.Inputs[0].Shape)
		if err != nil {
			return nil, err
		}
		spec := kernels.ConvSpec{Shape: s, Weight: op.Weight, Bias: op.Bias, ReLU: op.ReLU}
		key := shapeKey(s)
		times := cal.Layers[key]
		if times == nil {
			var names []string
			var convs []kernels.Conv
			for _, k := range ConvKernels() {
				c, err := p.buildConv(k, spec)
				if errors.Is(err, errUnsupported) {
					continue
				}
				if err != nil {
					return nil, err
				}
				names, convs = append(names, k), append(convs, c)
			}
			times = map[string]float64{}
			for i, t := range timeConvs(convs, s) {
				times[names[i]] = t
			}
			cal.Layers[key] = times
		}
		pick := func(allowed func(string) bool) string {
			bk, bt := KernelIm2col, 0.0
			for _, k := range ConvKernels() {
				if t, ok := times[k]; ok && allowed(k) && (bt == 0 || t < bt) {
					bk, bt = k, t
				}
			}
			return bk
		}
		best[n.Name] = pick(func(string) bool { return true })
		bestNCHW[n.Name] = pick(func(k string) bool { return k != KernelDirect })
		direct[n.Name] = pick(func(k string) bool { return k == KernelDirect })
		gemmPointwise[n.Name] = best[n.Name]
		if s.KH == 1 && s.KW == 1 && s.H*s.W > 1 { // not the SE FCs
			gemmPointwise[n.Name] = bestNCHW[n.Name]
		}
	}
	chosen, err := p.pickPlan(g, []map[string]string{gemmPointwise, best, bestNCHW, direct})
	if err != nil {
		if path != "" && p.canceled() != nil {
			cal.save(path)
		}
		return nil, err
	}
	freshHeap() // for the plan being compiled, as for the candidates
	cal.Plans[planKey] = chosen
	if path == "" {
		return chosen, nil
	}
	if err := cal.save(path); err != nil {
		// The choice is still good for this run; only the cache is lost.
		p.logf("cannot save the kernel calibration to %s: %v", path, err)
	}
	return chosen, nil
}

// planTrialRounds is how many inferences of each candidate plan pickPlan
// times. The candidates differ by 2–20 % end to end, about as much as this
// shared machine's speed moves within seconds, so one plan's lucky best-of-3
// used to beat a faster one (ResNet-50-v2 with every fusion kept a mixed
// plan 16 % slower than its NCHW one, and lost to its unfused graph). With
// 9 rounds, SE-ResNeXt-50 with every fusion on one thread still kept a
// plan 2–4 % slower than the one each all-but-one selection chose (100
// interleaved inferences each); 21 rounds (of two inferences each, see
// pickPlan) cost about 8 s for it, once.
//
// A variable so that tests, which calibrate every model and fusion
// combination at small sizes for correctness, not for the choice, can
// take fewer.
var planTrialRounds = 21

// planMargin is how much faster than the first candidate another must be
// to replace it: the median over rounds of its time over the first one's
// in the same round must be below 1 − planMargin. Taking the lowest
// median outright, re-calibrating ResNet-50 on one thread five times
// (fresh caches) gave three different plans, the candidates being within
// noise of each other.
const planMargin = 0.015

// pickPlan compiles g with each candidate per-layer kernel choice and keeps
// the first one unless another is faster by planMargin (then the fastest).
// Candidates are timed in alternation, one timed inference (after an
// untimed one) each per round, so that a slow spell of the machine falls
// on all of them, and compared round by round; identical candidates are
// timed once. The
// candidates are alive together, so the first calibration of a model holds
// up to four copies of its packed weights (ResNet-50's first run peaked at
// 763 MB resident with three, a cached run at 442 MB).
func (p *Plan) pickPlan(g *graph.Graph, candidates []map[string]string) (map[string]string, error) {
	var plans []*Plan
	var layers []map[string]string
	defer func() {
		for _, q := range plans {
			q.Close()
		}
	}()
	freshHeap()
	for _, c := range candidates {
		if slices.ContainsFunc(layers, func(l map[string]string) bool { return maps.Equal(l, c) }) {
			continue
		}
		cfg := p.Config
		cfg.Kernel, cfg.Layers = KernelIm2col, c
		cfg.Labels = false
		// One pool for all candidates. With a pool each, the helpers
		// of the plan just timed kept spinning (parallel.SpinTime)
		// on one of the two CPUs while the next plan started, and the
		// plans that lost most to that lost the trial: SE-ResNeXt-50
		// on two threads kept a plan 12 % slower than its all-direct
		// candidate.
		cfg.pool = p.pool
		q, err := Compile(g, cfg)
		if err != nil {
			return nil, err
		}
		q.Run() // warm caches and pages
		plans, layers = append(plans, q), append(layers, c)
	}
	times := make([][]float64, len(plans))
	for range planTrialRounds {
		if err := p.canceled(); err != nil {
			return nil, err
		}
		for i, q := range plans {
			// Time the second of two inferences, as a run times each
			// after the one before it: right after another
			// candidate's inference, weights and activations are
			// colder than they ever are in a run, and the plan that
			// suffered least from that won (ResNet-50, one thread: a
			// plan with 25 direct convs picked over the GEMM one in
			// the trial, 2 % slower in runs of its own).
			q.Run()
			t := time.Now()
			q.Run()
			times[i] = append(times[i], time.Since(t).Seconds())
		}
	}
	return layers[choosePlan(times)], nil
}

// freshHeap collects the garbage and returns the freed memory to the OS, so
// that the plans compiled next get new pages. Compiled right after the
// per-layer timings had freed their buffers, the first candidate ran 7–12 %
// slower in the trial than in runs of its own, and the trial picked the
// second (ResNet-50 on one thread: medians 44.3 vs 40.6 ms in the trial,
// 38.3 vs 39.2 in runs); with the heap returned first, 39.3 vs 39.5 and
// 37.7 vs 37.6 (compiling the candidates in reverse order moved the
// slowdown to the one then compiled first).
func freshHeap() {
	if !collectForTrial {
		return
	}
	runtime.GC()
	debug.FreeOSMemory()
}

// collectForTrial enables freshHeap; tests that calibrate many small plans
// for their results, not their choice, turn it off.
var collectForTrial = true

// choosePlan returns the index of the candidate to keep, given each one's
// times in the same rounds: the first, unless the median over rounds of
// another's time over the first's is below 1 − planMargin (then the one
// with the lowest such median).
func choosePlan(times [][]float64) int {
	best, bestRatio := 0, 1-planMargin
	ratios := make([]float64, len(times[0]))
	for i := 1; i < len(times); i++ {
		for r := range ratios {
			ratios[r] = times[i][r] / times[0][r]
		}
		slices.Sort(ratios)
		if med := ratios[len(ratios)/2]; med < bestRatio {
			best, bestRatio = i, med
		}
	}
	return best
}

// KernelCounts summarizes a plan's kernel choices: kernel → number of steps.
func (p *Plan) KernelCounts() map[string]int {
	m := map[string]int{}
	for _, s := range p.Steps {
		m[s.Kernel]++
	}
	return m
}
