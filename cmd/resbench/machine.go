package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/resbench/resbench/harness"
)

func cmdMachine(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("machine")
	asJSON := fs.Bool("json", false, "print JSON")
	dur := fs.Duration("time", 500*time.Millisecond, "time spent on each measurement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dur <= 0 {
		return usagef("machine: --time must be positive")
	}
	fmt.Fprintln(stderr, "measuring FMA peaks, memory bandwidth and thread scaling...")
	m := harness.MeasureMachine(*dur)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	kib := func(b int) string {
		if b <= 0 {
			return "not reported" // hypervisors often hide a level
		}
		return fmt.Sprintf("%d KiB", b/1024)
	}
	fmt.Fprintf(stdout, "cpu        %s (%s family %d model %d)\n", m.CPU, m.Vendor, m.Family, m.Model)
	fmt.Fprintf(stdout, "cpus       %d online, %d threads for Go (CPUID: %d cores per package)\n", m.CPUs, m.Threads, m.Cores)
	fmt.Fprintf(stdout, "caches     L1d %s, L2 %s, L3 %s\n", kib(m.L1DBytes), kib(m.L2Bytes), kib(m.L3Bytes))
	fmt.Fprintf(stdout, "features   %s\n", strings.Join(m.Features, " "))
	fmt.Fprintf(stdout, "isa        detected %s, active %s\n", m.Detected, m.Active)
	for _, p := range m.Peaks {
		fmt.Fprintf(stdout, "peak       %-8s %7.1f GFLOP/s 1 thread, %7.1f GFLOP/s %d threads (fp32 FMA)\n", p.Tier, p.GFLOPS1, p.GFLOPSAll, m.Threads)
	}
	fmt.Fprintf(stdout, "bandwidth  %.1f GB/s 1 thread, %.1f GB/s %d threads (STREAM triad)\n", m.TriadGBs, m.TriadGBsAll, m.Threads)
	if sc := m.Scaling; sc != nil {
		fmt.Fprintf(stdout, "scaling    %s FMA on %d threads: median %.2f×, min %.2f× one thread over %d alternated rounds; %.0f%% of rounds below %.1f×",
			sc.Tier, sc.Threads, sc.Median, sc.Min, sc.Rounds, 100*sc.Low, 0.9*float64(sc.Threads))
		if sc.Low > 0.1 {
			fmt.Fprint(stdout, " (other tenants are holding cores: multi-thread timings taken now will vary)")
		}
		fmt.Fprintln(stdout)
	}
	return nil
}
