package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/resbench/resbench/harness"
)

// TestMachine checks the text and JSON forms of "resbench machine": every
// supported tier's peak, the bandwidth, and with more than one thread the
// FMA scaling, whose ratios must be physical (a round of n threads cannot
// run more than n times, or much less than once, the one-thread rate).
func TestMachine(t *testing.T) {
	out, _, err := runCLI("machine", "--time", "20ms")
	if err != nil {
		t.Fatal(err)
	}
	multi := runtime.GOMAXPROCS(0) > 1
	for _, want := range []string{"cpu ", "peak       avx2", "bandwidth  "} {
		if want == "peak       avx2" && !strings.Contains(out, "avx2") {
			continue // not an AVX2 machine
		}
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Contains(out, "scaling    "); got != multi {
		t.Errorf("scaling line present = %v with GOMAXPROCS %d:\n%s", got, runtime.GOMAXPROCS(0), out)
	}
	out, _, err = runCLI("machine", "--json", "--time", "20ms")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, `_bytes": -`) {
		t.Errorf("a cache size is negative in the JSON:\n%s", out)
	}
	var m struct {
		CPUs    int `json:"cpus"`
		Threads int `json:"threads"`
		Scaling *struct {
			Threads     int
			Rounds      int
			Median, Min float64
		} `json:"fma_scaling"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.CPUs != runtime.NumCPU() {
		t.Errorf("cpus = %d, want the %d online", m.CPUs, runtime.NumCPU())
	}
	if (m.Scaling != nil) != multi {
		t.Fatalf("fma_scaling present = %v with %d threads", m.Scaling != nil, m.Threads)
	}
	if sc := m.Scaling; sc != nil {
		n := float64(m.Threads)
		if sc.Threads != m.Threads || sc.Rounds < 10 || !(sc.Min > 0.5 && sc.Min <= sc.Median && sc.Median <= 1.1*n) {
			t.Errorf("implausible scaling: %+v (threads %d)", *sc, m.Threads)
		}
	}
}

// The matrix table's %peak takes each cell's thread count's ceiling: the
// measured all-thread peak for the widest cells, not one thread's × threads.
func TestMatrixSummaryPeakPerThreads(t *testing.T) {
	cell := func(threads int, gflops float64) *harness.Result {
		return &harness.Result{Cell: harness.Cell{Model: "resnet18", Fusion: "all", Kernel: "im2col", Size: 224, Batch: 1, Threads: threads},
			GFLOPS: gflops, Stats: harness.LatencyStats{Median: time.Millisecond, P99: time.Millisecond}}
	}
	sum := &harness.MatrixSummary{Total: 2, Measured: 2, Results: []*harness.Result{cell(1, 50), cell(2, 90)}}
	var b strings.Builder
	printMatrixSummary(&b, sum, harness.Peak{Tier: "avx512", GFLOPS1: 100, GFLOPSAll: 180}, 2)
	out := b.String()
	for _, want := range []string{"50%", "50.0", "90.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// 90 of the measured 180 is 50 %; 90 of 1-thread × 2 = 200 would be 45 %.
	if strings.Contains(out, "45%") {
		t.Errorf("2-thread %%peak against one thread's peak × 2:\n%s", out)
	}
	if n := strings.Count(out, " 50%"); n != 2 {
		t.Errorf("want both cells at 50%% of their ceiling, got %d:\n%s", n, out)
	}
}
