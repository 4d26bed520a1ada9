package harness

import (
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/parallel"
	"github.com/resbench/resbench/kernels/peak"
)

// Machine describes the CPU and its measured ceilings: the roofline every
// efficiency figure is a ratio to.
type Machine struct {
	CPU    string `json:"cpu"`
	Vendor string `json:"vendor"`
	Family int    `json:"family"`
	Model  int    `json:"model"`
	// Cores is what CPUID reports per package: in a virtual machine the
	// host's topology (254 on a 2-vCPU Zen 5 guest), not what this
	// process can use; CPUs is the logical CPUs online to it.
	Cores   int `json:"cores"`
	CPUs    int `json:"cpus"`
	Threads int `json:"threads"` // logical CPUs Go can use
	// Cache sizes are 0, and left out of the JSON, where CPUID does not
	// report the level (hypervisors often hide L3).
	L1DBytes int      `json:"l1d_bytes,omitempty"`
	L2Bytes  int      `json:"l2_bytes,omitempty"`
	L3Bytes  int      `json:"l3_bytes,omitempty"`
	Features []string `json:"features"` // the SIMD features resbench cares about
	// Detected is the best tier this CPU supports; Active the one in use
	// (RESBENCH_ISA may force a lower one).
	Detected string `json:"isa_detected"`
	Active   string `json:"isa_active"`
	Peaks    []Peak `json:"peaks"`
	// TriadGBs is STREAM-triad bandwidth, one thread and all threads.
	TriadGBs    float64 `json:"triad_gbs_1thread"`
	TriadGBsAll float64 `json:"triad_gbs_all_threads"`
	// Scaling is nil with one thread.
	Scaling *Scaling `json:"fma_scaling,omitempty"`
}

// Scaling is how much faster the active tier's FMA loop runs on all
// threads than on one, over alternated ~2 ms rounds of each. The loop
// touches no memory, so on a machine of one's own every round gives the
// thread count; on a shared host a round in which another tenant held one
// of the cores gives less. Min and the share of rounds below 90 % of the
// thread count say how far multi-thread timings of this moment can be
// trusted (peak.Paired compares each call with the rounds around it).
type Scaling struct {
	Tier    string  `json:"isa"`
	Threads int     `json:"threads"`
	Rounds  int     `json:"rounds"`
	Median  float64 `json:"median"`
	Min     float64 `json:"min"`
	Low     float64 `json:"low_share"` // rounds below 0.9 × Threads
}

// Peak is the measured fp32 FMA throughput of one ISA tier.
type Peak struct {
	Tier      string  `json:"isa"`
	GFLOPS1   float64 `json:"gflops_1thread"`
	GFLOPSAll float64 `json:"gflops_all_threads"`
}

// For returns the FMA ceiling of a run on threads, for a Peak whose
// GFLOPSAll was measured on allThreads: the measured figure for one thread
// and for allThreads, in between the one-thread figure scaled, capped at
// the measured all-thread figure (two threads of a machine whose cores share
// a clock budget do not reach twice one).
func (p Peak) For(threads, allThreads int) float64 {
	switch {
	case threads <= 1:
		return p.GFLOPS1
	case threads >= allThreads:
		return p.GFLOPSAll
	}
	return min(p.GFLOPS1*float64(threads), p.GFLOPSAll)
}

// reported maps cpuid's -1 for a cache level it could not read to 0.
func reported(bytes int) int { return max(bytes, 0) }

// MeasureMachine reads the CPU description and measures the FMA peak of
// every supported tier (1 thread and all threads), the triad bandwidth and,
// with more than one thread, the FMA scaling, spending about d on each
// measurement.
func MeasureMachine(d time.Duration) Machine {
	m := Machine{CPU: cpuid.CPU.BrandName, Vendor: cpuid.CPU.VendorString, Family: cpuid.CPU.Family, Model: cpuid.CPU.Model,
		Cores: cpuid.CPU.PhysicalCores, CPUs: runtime.NumCPU(), Threads: runtime.GOMAXPROCS(0),
		L1DBytes: reported(cpuid.CPU.Cache.L1D), L2Bytes: reported(cpuid.CPU.Cache.L2), L3Bytes: reported(cpuid.CPU.Cache.L3),
		Detected: kernels.DetectedTier().String(), Active: kernels.ActiveTier().String()}
	for _, f := range []cpuid.FeatureID{cpuid.SSE4, cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VNNI, cpuid.AMXFP16} {
		if cpuid.CPU.Supports(f) {
			m.Features = append(m.Features, f.String())
		}
	}
	for _, t := range kernels.Tiers() {
		if !kernels.TierSupported(t) {
			continue
		}
		m.Peaks = append(m.Peaks, Peak{Tier: t.String(), GFLOPS1: peak.FMAPeak(t, d), GFLOPSAll: peak.FMAPeakThreads(t, m.Threads, d)})
	}
	m.TriadGBs = peak.Triad(d)
	m.TriadGBsAll = peak.TriadThreads(m.Threads, d)
	if m.Threads > 1 {
		sc := MeasureScaling(kernels.ActiveTier(), m.Threads, d)
		m.Scaling = &sc
	}
	return m
}

// MeasureScaling alternates FMA peak rounds of tier on one thread and on
// threads for about d (at least 10 pairs) and summarizes the ratios.
func MeasureScaling(tier kernels.Tier, threads int, d time.Duration) Scaling {
	pool1, poolN := parallel.New(1), parallel.New(threads)
	defer pool1.Close()
	defer poolN.Close()
	r1, rN := peak.NewRounds(tier, pool1), peak.NewRounds(tier, poolN)
	var ratios []float64
	low := 0
	for start := time.Now(); len(ratios) < 10 || time.Since(start) < d; {
		x := rN.Run() / r1.Run()
		ratios = append(ratios, x)
		if x < 0.9*float64(threads) {
			low++
		}
	}
	slices.Sort(ratios)
	return Scaling{Tier: tier.String(), Threads: threads, Rounds: len(ratios), Median: ratios[len(ratios)/2],
		Min: ratios[0], Low: float64(low) / float64(len(ratios))}
}

// ActivePeak measures only the active tier's FMA peak, 1 thread and
// threads, for the config lines of a result file; it is quicker than
// MeasureMachine.
func ActivePeak(threads int, d time.Duration) Peak {
	t := kernels.ActiveTier()
	return Peak{Tier: t.String(), GFLOPS1: peak.FMAPeak(t, d), GFLOPSAll: peak.FMAPeakThreads(t, threads, d)}
}
