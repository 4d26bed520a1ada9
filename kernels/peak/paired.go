package peak

import (
	"slices"
	"time"

	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/parallel"
)

// PairedResult is a kernel's speed measured against the peak beside it.
type PairedResult struct {
	GFLOPS  float64 // flops / median call time
	PctPeak float64 // median over calls of 100 × call rate / peak rate around it
	Pairs   int     // calls measured
}

// Paired measures op (one call does flops floating-point operations on the
// pool's threads) as a share of tier's FMA peak on the same threads, on a
// machine whose speed drifts: it alternates peak rounds (about 2 ms of the
// FMA loop on every worker of pool at once) with calls of op,
//
//	round₀ call₁ round₁ call₂ round₂ … callₙ roundₙ
//
// and returns the median over i of rate(callᵢ) / mean(rate(roundᵢ₋₁),
// rate(roundᵢ)). Each ratio compares the kernel with the peak of the same
// few milliseconds, so the minutes in which another tenant of a shared host
// slows both cancel out, instead of a peak measured once at start-up being
// compared with a kernel timed later.
//
// Each timed call follows an untimed one, so it finds the caches as a call
// in a loop of calls does (b.Loop's ns/op, or a layer whose input was just
// written): during a 2 ms round the FMA loop touches no memory, but other
// tenants of a shared L3 do, and a call timed right after a round found its
// operands evicted. Measured when this was added (ResNeXt-50 grouped 3×3
// layers, direct, 4 alternated runs): +21–29 %peak on the same kernels, and
// the paired GFLOP/s then agree with ns/op, which they had undercut.
//
// It runs at least minPairs calls and for at least minDur, at most 10000
// calls. It panics if the tier is not supported.
func Paired(tier isa.Tier, pool *parallel.Pool, flops float64, minPairs int, minDur time.Duration, op func()) PairedResult {
	rounds := NewRounds(tier, pool)
	var calls []float64
	var ratios []float64
	prev := rounds.Run()
	start := time.Now()
	minPairs = max(minPairs, 1)
	for len(calls) < 10000 && (len(calls) < minPairs || time.Since(start) < minDur) {
		op() // warm the caches: see the doc comment
		t0 := time.Now()
		op()
		rate := flops / time.Since(t0).Seconds() / 1e9
		next := rounds.Run()
		calls = append(calls, rate)
		ratios = append(ratios, 100*rate/((prev+next)/2))
		prev = next
	}
	return PairedResult{GFLOPS: Median(calls), PctPeak: Median(ratios), Pairs: len(calls)}
}

// Rounds measures the FMA peak of a pool's threads in short rounds, to be
// interleaved with the work being measured.
type Rounds struct {
	pool       *parallel.Pool
	run        func(n int)
	chunk      int
	fpi        float64
	rates      []float64
	chunkRates [][]float64
	ranOn      []int                  // the worker that ran each task of the last round
	roundFn    func(task, worker int) // r.round, bound once: a method value allocates
}

// NewRounds prepares peak rounds of tier's FMA loop on every worker of
// pool. It panics if the tier is not supported.
func NewRounds(tier isa.Tier, pool *parallel.Pool) *Rounds {
	run, chunk, fpi := fmaLoop(tier)
	threads := pool.Threads()
	r := &Rounds{pool: pool, run: run, chunk: chunk, fpi: fpi,
		rates: make([]float64, threads), chunkRates: make([][]float64, threads), ranOn: make([]int, threads)}
	r.roundFn = r.round
	run(chunk) // page in, clock up
	return r
}

// Run runs one round (about 2 ms of the FMA loop on every worker at once)
// and returns the sum of the workers' rates in GFLOP/s. A worker's rate is
// its median ~50 µs chunk's, so a timer interrupt that lands in the round
// does not count against the peak.
//
// If a helper was late and another worker ran its task after its own, the
// two tasks did not run at once and their rates must not be added: each
// worker counts once, with the best of the tasks it ran, which is what the
// machine gave the pool at that moment.
func (r *Rounds) Run() float64 {
	r.pool.Run(len(r.rates), r.roundFn)
	return jointRate(r.rates, r.ranOn)
}

// jointRate adds, over workers, the best rate of the tasks each ran
// (ranOn[task] is the task's worker).
func jointRate(rates []float64, ranOn []int) float64 {
	sum := 0.0
	for w := range rates {
		best := 0.0
		for task, rate := range rates {
			if ranOn[task] == w {
				best = max(best, rate)
			}
		}
		sum += best
	}
	return sum
}

func (r *Rounds) round(task, worker int) {
	r.ranOn[task] = worker
	rs := r.chunkRates[task][:0]
	t0 := time.Now()
	for c0 := t0; c0.Sub(t0) < round; {
		r.run(r.chunk)
		c1 := time.Now()
		rs = append(rs, float64(r.chunk)*r.fpi/c1.Sub(c0).Seconds()/1e9)
		c0 = c1
	}
	r.chunkRates[task] = rs
	r.rates[task] = Median(rs)
}

// Median of a non-empty slice (sorted in place); the mean of the middle two
// for an even length, as the harness's latency statistics take it.
func Median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
