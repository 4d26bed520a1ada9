package harness

import (
	"fmt"
	"runtime"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/peak"
)

// Machine describes the CPU and its measured ceilings: the roofline every
// efficiency figure is a ratio to.
type Machine struct {
	CPU      string   `json:"cpu"`
	Vendor   string   `json:"vendor"`
	Family   int      `json:"family"`
	Model    int      `json:"model"`
	Cores    int      `json:"cores"`
	Threads  int      `json:"threads"` // logical CPUs Go can use
	L1DBytes int      `json:"l1d_bytes"`
	L2Bytes  int      `json:"l2_bytes"`
	L3Bytes  int      `json:"l3_bytes"`
	Features []string `json:"features"` // the SIMD features resbench cares about
	// Detected is the best tier this CPU supports; Active the one in use
	// (RESBENCH_ISA may force a lower one).
	Detected string `json:"isa_detected"`
	Active   string `json:"isa_active"`
	Peaks    []Peak `json:"peaks"`
	// TriadGBs is STREAM-triad bandwidth, one thread and all threads.
	TriadGBs    float64 `json:"triad_gbs_1thread"`
	TriadGBsAll float64 `json:"triad_gbs_all_threads"`
}

// Peak is the measured fp32 FMA throughput of one ISA tier.
type Peak struct {
	Tier      string  `json:"isa"`
	GFLOPS1   float64 `json:"gflops_1thread"`
	GFLOPSAll float64 `json:"gflops_all_threads"`
}

// MeasureMachine reads the CPU description and measures the FMA peak of
// every supported tier (1 thread and all threads) and the triad bandwidth,
// spending about d on each measurement.
func MeasureMachine(d time.Duration) Machine {
	m := Machine{CPU: cpuid.CPU.BrandName, Vendor: cpuid.CPU.VendorString, Family: cpuid.CPU.Family, Model: cpuid.CPU.Model,
		Cores: cpuid.CPU.PhysicalCores, Threads: runtime.GOMAXPROCS(0),
		L1DBytes: cpuid.CPU.Cache.L1D, L2Bytes: cpuid.CPU.Cache.L2, L3Bytes: cpuid.CPU.Cache.L3,
		Detected: kernels.DetectedTier().String(), Active: kernels.ActiveTier().String()}
	for _, f := range []cpuid.FeatureID{cpuid.SSE4, cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.AVX512VNNI, cpuid.AMXFP16} {
		if cpuid.CPU.Supports(f) {
			m.Features = append(m.Features, f.String())
		}
	}
	if m.Cores == 0 {
		m.Cores = runtime.NumCPU()
	}
	for _, t := range kernels.Tiers() {
		if !kernels.TierSupported(t) {
			continue
		}
		m.Peaks = append(m.Peaks, Peak{Tier: t.String(), GFLOPS1: peak.FMAPeak(t, d), GFLOPSAll: peak.FMAPeakThreads(t, m.Threads, d)})
	}
	m.TriadGBs = peak.Triad(d)
	m.TriadGBsAll = peak.TriadThreads(m.Threads, d)
	return m
}

// PeakOf returns the measured peak of tier, or an error if it was not
// measured (unsupported).
func (m Machine) PeakOf(tier string) (Peak, error) {
	for _, p := range m.Peaks {
		if p.Tier == tier {
			return p, nil
		}
	}
	return Peak{}, fmt.Errorf("no peak measured for ISA tier %s", tier)
}

// ActivePeak measures only the active tier's FMA peak, 1 thread and
// threads, for the config lines of a result file; it is quicker than
// MeasureMachine.
func ActivePeak(threads int, d time.Duration) Peak {
	t := kernels.ActiveTier()
	return Peak{Tier: t.String(), GFLOPS1: peak.FMAPeak(t, d), GFLOPSAll: peak.FMAPeakThreads(t, threads, d)}
}
