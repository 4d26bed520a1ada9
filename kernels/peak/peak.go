// Package peak measures the machine ceilings the kernels are judged against:
// the fp32 FMA throughput of one core (or several) per ISA tier, and the
// STREAM-triad memory bandwidth.
//
// FMA peak: an assembly loop of many independent FMA chains held in
// registers (12 ymm chains for AVX2, 24 zmm chains for AVX-512: more than
// FMA latency × FMA ports on current x86 cores), no memory access, so it is
// bound by FMA throughput only. The Generic tier's "peak" is a pure-Go scalar
// loop of 12 independent multiply-add chains (2 flops each: a MULSS and an
// ADDSS, or one fused VFMADD when built with GOAMD64=v3 or above, which
// result files record), the ceiling of portable scalar code.
//
// Measurements are split into rounds of about 2 ms; the best round is
// reported (a ceiling, robust against the preemptions of a shared machine).
package peak

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/resbench/resbench/kernels/internal/isa"
)

var sink float32

const round = 2 * time.Millisecond

// fmaLoop returns the routine for a tier, its iterations per call (about
// 50 µs, so the non-preemptible assembly stays short) and the flops per
// iteration.
func fmaLoop(tier isa.Tier) (run func(n int), chunk int, flopsPerIter float64) {
	if !isa.Supported(tier) {
		panic(fmt.Sprintf("peak: tier %v not supported by this CPU/build", tier))
	}
	switch tier {
	case isa.AVX2:
		return func(n int) { fmaPeakAVX2(n, 1e-3) }, 25_000, 12 * 8 * 2
	case isa.AVX512:
		return func(n int) { fmaPeakAVX512(n, 1e-3) }, 12_500, 24 * 16 * 2
	default:
		return func(n int) { fmaPeakGeneric(n, 0.5) }, 25_000, 12 * 2
	}
}

// fmaPeakGeneric runs n iterations of 12 independent scalar multiply-add
// chains (24 flops per iteration).
func fmaPeakGeneric(n int, x float32) {
	var a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11 float32
	for i := 0; i < n; i++ {
		a0 = a0*x + x
		a1 = a1*x + x
		a2 = a2*x + x
		a3 = a3*x + x
		a4 = a4*x + x
		a5 = a5*x + x
		a6 = a6*x + x
		a7 = a7*x + x
		a8 = a8*x + x
		a9 = a9*x + x
		a10 = a10*x + x
		a11 = a11*x + x
	}
	sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11
}

// FMAPeak returns the single-thread fp32 peak of tier in GFLOP/s, measured
// for about d. It panics if the tier is not supported.
func FMAPeak(tier isa.Tier, d time.Duration) (gflops float64) {
	return FMAPeakThreads(tier, 1, d)
}

// FMAPeakThreads runs the FMA loop on threads goroutines (each locked to an
// OS thread) at the same time for about d and returns their joint rate in
// GFLOP/s: the best ~2 ms window of wall time, counting the work every
// thread did inside that window. Each thread's best round added up instead
// would overstate the peak whenever the threads do not all run at once
// (more threads than GOMAXPROCS or than the CPUs a container may use):
// each would still find full-speed rounds, just not at the same time.
func FMAPeakThreads(tier isa.Tier, threads int, d time.Duration) (gflops float64) {
	run, chunk, fpi := fmaLoop(tier)
	threads = max(threads, 1)
	windows := max(1, int(d/round))
	work := make([][]float64, threads) // iterations per thread per window
	var wg sync.WaitGroup
	var t0 time.Time
	start := make(chan struct{})
	for t := 0; t < threads; t++ {
		work[t] = make([]float64, windows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			run(chunk / 10) // warm up (clock ramp, page in code)
			<-start
			span := time.Duration(windows) * round
			for c0 := time.Since(t0); c0 < span; {
				run(chunk)
				c1 := time.Since(t0)
				// Share the chunk among the windows it overlaps, in
				// proportion to its time in each.
				for w := int(c0 / round); w < windows && time.Duration(w)*round < c1; w++ {
					lo, hi := max(c0, time.Duration(w)*round), min(c1, time.Duration(w+1)*round)
					if hi > lo {
						work[t][w] += float64(chunk) * float64(hi-lo) / float64(c1-c0)
					}
				}
				c0 = c1
			}
		}()
	}
	t0 = time.Now()
	close(start)
	wg.Wait()
	for w := range windows {
		iters := 0.0
		for t := range work {
			iters += work[t][w]
		}
		gflops = max(gflops, iters*fpi/round.Seconds()/1e9)
	}
	return gflops
}

// Triad measures single-thread memory bandwidth for about d with the
// STREAM triad a[i] = b[i] + s·c[i] over three 64 MiB arrays (6× the 32 MiB
// L3 of the development machine in total). Bandwidth counts 3 streams × 4
// bytes per element, as STREAM does; the write-allocate read of a (plain
// stores, not streaming) is NOT counted, so actual traffic is 4/3 of it.
// The best full pass is reported, in GB/s (10⁹ bytes).
func Triad(d time.Duration) (gbps float64) { return TriadThreads(1, d) }

// TriadThreads is Triad with the arrays split into threads contiguous parts
// processed concurrently, one goroutine (locked OS thread) each.
func TriadThreads(threads int, d time.Duration) (gbps float64) {
	const n = 64 << 20 / 4 // 64 MiB of float32 per array
	threads = max(threads, 1)
	a, b, c := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range b {
		b[i], c[i] = 1, 2
	}
	clear(a) // fault all pages in before timing
	kernel := triadGo
	if isa.Active() >= isa.AVX2 { // a forced generic tier measures the portable loop
		kernel = triadAsm
	}
	best := 0.0
	end := time.Now().Add(d)
	for first := true; first || time.Now().Before(end); first = false {
		t0 := time.Now()
		var wg sync.WaitGroup
		part := n / threads / 32 * 32
		for t := 0; t < threads; t++ {
			lo, hi := t*part, (t+1)*part
			if t == threads-1 {
				hi = n
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				kernel(a[lo:hi], b[lo:hi], c[lo:hi], 3)
			}()
		}
		wg.Wait()
		best = max(best, 3*4*float64(n)/time.Since(t0).Seconds()/1e9)
	}
	if a[n-1] != 1+3*2 || a[0] != 7 {
		panic("peak: triad computed a wrong result")
	}
	return best
}

// triadAsm runs triadAVX2 in 64 KiB-per-array chunks (short assembly calls)
// and the tail in Go.
func triadAsm(a, b, c []float32, s float32) {
	const chunk = 16 << 10
	n := len(a)
	i := 0
	for ; i+chunk <= n; i += chunk {
		triadAVX2(&a[i], &b[i], &c[i], chunk, s)
	}
	if rest := (n - i) / 32 * 32; rest > 0 {
		triadAVX2(&a[i], &b[i], &c[i], rest, s)
		i += rest
	}
	triadGo(a[i:], b[i:], c[i:], s)
}

// triadGo is the portable triad loop.
func triadGo(a, b, c []float32, s float32) {
	b, c = b[:len(a)], c[:len(a)]
	for i := range a {
		a[i] = b[i] + s*c[i]
	}
}
