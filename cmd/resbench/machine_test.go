package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
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
