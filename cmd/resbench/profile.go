package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/resbench/resbench/harness"
	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/reports"
)

func cmdProfile(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("profile")
	model := fs.String("model", "", "model name")
	kernel := fs.String("kernel", engine.KernelAuto, "convolution kernel")
	fusionFlag := fs.String("fusion", "all", "fusion passes")
	form := fs.String("resnext-form", "", "ResNeXt form a, b or c")
	strideOn := fs.String("stride-on", "3x3", "bottleneck stride on the 3x3 or the first 1x1")
	size := positiveFlag(fs, "size", 224, "input size")
	batch := positiveFlag(fs, "batch", 1, "batch size")
	threads := positiveFlag(fs, "threads", runtime.NumCPU(), "threads")
	count := positiveFlag(fs, "count", 30, "minimum timed inferences")
	minTime := fs.Duration("min-time", 5*time.Second, "profile for at least this long")
	warmup := 2
	fs.Var(nonNegative{&warmup}, "warmup", "warm-up runs")
	seed := fs.Uint64("seed", 1, "seed")
	traceFile := fs.String("trace", "", "write a Chrome/Perfetto trace of one inference to this file")
	cpuFile := fs.String("cpuprofile", "", "write the labelled CPU profile to this file")
	sortBy := fs.String("sort", "time", "row order: time or order")
	top := 0
	fs.Var(nonNegative{&top}, "top", "show the N slowest steps and sum the rest in one row (0: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usagef("profile: --model is required; try --model se-resnext50 (\"resbench models\" lists all)")
	}
	if *sortBy != "time" && *sortBy != "order" {
		return usagef("profile: --sort %q: want time (slowest first) or order (plan order)", *sortBy)
	}
	if *minTime < 0 {
		return usagef("profile: --min-time must not be negative")
	}
	cell, err := cellFromFlags(*model, *kernel, *fusionFlag, *form, *strideOn, *size, *batch, *threads)
	if err != nil {
		return err
	}
	if err := distinctOutputs("profile", "--trace", *traceFile, "--cpuprofile", *cpuFile); err != nil {
		return err
	}
	// Open the output files first, so an unwritable path fails at once.
	// They are emptied only when written: a run that fails or is
	// interrupted leaves an earlier profile as it was, and removes a file
	// it created rather than leave one that pprof and Perfetto reject.
	var trace, cpu *outputFile
	cpuDone, traceDone := false, false
	if *traceFile != "" {
		f, done, err := openBeforeRun(*traceFile)
		if err != nil {
			return fmt.Errorf("cannot write the trace: %v", err)
		}
		trace = f
		defer func() { done(traceDone) }()
	}
	if *cpuFile != "" {
		f, done, err := openBeforeRun(*cpuFile)
		if err != nil {
			return fmt.Errorf("cannot write the CPU profile: %v", err)
		}
		cpu = f
		defer func() { done(cpuDone) }()
	}

	ctx, stop := interruptContext()
	defer stop()
	fmt.Fprintf(stderr, "profiling %s at %dx%d, batch %d, for at least %d timed inferences and %v...\n", cell.Name(), *size, *size, *batch, *count, *minTime)
	start := time.Now()
	line := &progressLine{w: stderr, start: start, text: func(phase string, done, total int) string {
		return fmt.Sprintf("%-6s %d (of at least %d)", phase, done, total)
	}}
	opt := harness.ProfileOptions{CalibrationLog: stderrLog(stderr), Warmup: warmup, Count: *count, MinTime: *minTime, Seed: *seed, CPUProfile: true,
		Progress: line.update}
	lp, err := harness.ProfileLayers(ctx, cell, opt)
	line.flush()
	fmt.Fprintln(stderr)
	if errors.Is(err, context.Canceled) {
		// The table's shares and the profile's comparison need the whole
		// run; a part of it would be reported as if it were one.
		return fmt.Errorf("interrupted: a profile reports only a whole run, so no table was printed and no --cpuprofile or --trace was written (an earlier file at either path is left as it was); a shorter run takes --min-time (now %v) and --count (now %d)", *minTime, *count)
	}
	if err != nil {
		return err
	}
	prof, err := reports.ParseCPUProfile(lp.CPUProfile)
	if err != nil {
		return fmt.Errorf("reading back the CPU profile: %v", err)
	}
	if err := printProfile(stdout, lp, prof, *sortBy == "time", top); err != nil {
		return err
	}
	if cpu != nil {
		f, err := cpu.begin()
		if err != nil {
			return fmt.Errorf("writing %s: %v", *cpuFile, err)
		}
		if _, err := f.Write(lp.CPUProfile); err != nil {
			return fmt.Errorf("writing %s: %v", *cpuFile, err)
		}
		if err := cpu.Close(); err != nil {
			return fmt.Errorf("writing %s: %v", *cpuFile, err)
		}
		cpuDone = true
		slowest := lp.Rows[0]
		for _, r := range lp.Rows {
			if r.Time > slowest.Time {
				slowest = r
			}
		}
		fmt.Fprintf(stdout, "cpu profile     %s (e.g. go tool pprof -tagfocus layer=%s %s; -tags lists the labels)\n", *cpuFile, slowest.Layer, *cpuFile)
	}
	if trace != nil {
		f, err := trace.begin()
		if err != nil {
			return fmt.Errorf("writing %s: %v", *traceFile, err)
		}
		if err := reports.WriteTrace(f, traceInfo(lp), traceSteps(lp)); err != nil {
			return fmt.Errorf("writing %s: %v", *traceFile, err)
		}
		if err := trace.Close(); err != nil {
			return fmt.Errorf("writing %s: %v", *traceFile, err)
		}
		traceDone = true
		fmt.Fprintf(stdout, "trace           %s: one inference, %d steps (open in ui.perfetto.dev or chrome://tracing)\n", *traceFile, len(lp.Trace))
	}
	return nil
}

func traceInfo(lp *harness.LayerProfile) reports.TraceInfo {
	c := lp.Cell
	return reports.TraceInfo{
		Process: "resbench " + c.Model,
		Thread:  fmt.Sprintf("inference (calling goroutine; %s)", threadsText(c.Threads)),
		Args: map[string]any{"benchmark": c.Name(), "model": c.Model, "kernel": c.Kernel, "fusion": c.Fusion,
			"size": c.Size, "batch": c.Batch, "threads": c.Threads, "isa": lp.Plan.Tier, "macs": lp.MACs},
	}
}

func traceSteps(lp *harness.LayerProfile) []reports.TraceStep {
	steps := make([]reports.TraceStep, len(lp.Trace))
	for i, t := range lp.Trace {
		r := lp.Rows[i]
		steps[i] = reports.TraceStep{Name: r.Layer, Op: r.Op, Kernel: r.Kernel, Layout: r.Layout, Shape: r.Shape, MACs: r.MACs,
			Start: t.Start, End: t.End}
	}
	return steps
}

// printProfile writes the per-layer table, the sum against the end-to-end
// latency, and the agreement with the CPU profile.
func printProfile(w io.Writer, lp *harness.LayerProfile, prof *reports.CPUProfile, byTime bool, top int) error {
	layers, kernelShares := prof.ByLabel("layer"), prof.ByLabel("kernel")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Nanoseconds())/1e6) }
	pct := func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
	gflops := func(macs int64, d time.Duration) (string, string) {
		if macs == 0 || d <= 0 {
			return "-", "-"
		}
		g := 2 * float64(macs) / d.Seconds() / 1e9
		return fmt.Sprintf("%.1f", g), pct(g / lp.Peak.GFLOPSAll)
	}
	c := lp.Cell
	fmt.Fprintf(w, "%s\n", c.Name())
	if lp.Timed < harness.MinMiddleRuns {
		fmt.Fprintf(w, "  time      mean per inference over all %d timed inferences (under %d, none is left out)\n", lp.Timed, harness.MinMiddleRuns)
	} else {
		fmt.Fprintf(w, "  time      mean per inference over the %d of %d timed inferences whose total is in the middle 50%%\n", lp.Middle, lp.Timed)
	}
	fmt.Fprintf(w, "  %%peak     of the measured %s FMA peak, %.1f GFLOP/s on %s\n", lp.Peak.Tier, lp.Peak.GFLOPSAll, threadsText(c.Threads))
	fmt.Fprintf(w, "  %%pprof    share of the CPU profile's layer-labelled samples (%d samples)\n\n", layers.LabelledSamples)

	rows := slices.Clone(lp.Rows)
	if byTime {
		slices.SortStableFunc(rows, func(a, b harness.LayerRow) int { return cmp.Compare(b.Time, a.Time) })
	}
	var rest []harness.LayerRow
	if top > 0 && top < len(rows) {
		slowest := slices.Clone(rows)
		slices.SortStableFunc(slowest, func(a, b harness.LayerRow) int { return cmp.Compare(b.Time, a.Time) })
		keep := map[int]bool{}
		for _, r := range slowest[:top] {
			keep[r.Step] = true
		}
		var shown []harness.LayerRow
		for _, r := range rows {
			if keep[r.Step] {
				shown = append(shown, r)
			} else {
				rest = append(rest, r)
			}
		}
		rows = shown
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "STEP\tLAYER\tOP\tKERNEL\tLAYOUT\tOUTPUT\tMMACs\tTIME ms\t%TOTAL\tGFLOP/s\t%PEAK\t%PPROF\t\n")
	for _, r := range rows {
		g, p := gflops(r.MACs, r.Time)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Step, r.Layer, r.Op, r.Kernel, r.Layout, r.Shape,
			mmacs(r.MACs), ms(r.Time), pct(r.Share), g, p, pct(layers.Share(r.Layer)))
	}
	if len(rest) > 0 {
		var macs int64
		var t time.Duration
		var share, pshare float64
		for _, r := range rest {
			macs += r.MACs
			t += r.Time
			share += r.Share
			pshare += layers.Share(r.Layer)
		}
		g, p := gflops(macs, t)
		fmt.Fprintf(tw, "\t(%d other steps)\t\t\t\t\t%s\t%s\t%s\t%s\t%s\t%s\t\n", len(rest), mmacs(macs), ms(t), pct(share), g, p, pct(pshare))
	}
	g, p := gflops(lp.MACs, lp.LayerSum)
	fmt.Fprintf(tw, "\tTOTAL (%d steps)\t\t\t\t\t%s\t%s\t%s\t%s\t%s\t%s\t\n", len(lp.Rows), mmacs(lp.MACs), ms(lp.LayerSum), pct(1), g, p, pct(1))
	if err := tw.Flush(); err != nil {
		return err
	}

	// By kernel.
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	io.WriteString(tw, "KERNEL\tSTEPS\tMMACs\tTIME ms\t%TOTAL\tGFLOP/s\t%PEAK\t%PPROF\t\n")
	steps := map[string]int{}
	for _, r := range lp.Rows {
		steps[r.Kernel]++
	}
	byKernel := harness.ByKernel(lp.Rows)
	slices.SortStableFunc(byKernel, func(a, b harness.LayerRow) int { return cmp.Compare(b.Time, a.Time) })
	for _, k := range byKernel {
		g, p := gflops(k.MACs, k.Time)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", k.Kernel, steps[k.Kernel], mmacs(k.MACs), ms(k.Time), pct(k.Share), g, p, pct(kernelShares.Share(k.Kernel)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	// The sum against the end-to-end latency.
	e := lp.EndToEnd
	ratio := lp.Ratio()
	verdict := "within 5%"
	if ratio < 0.95 || ratio > 1.05 {
		verdict = "NOT within 5%"
	}
	fmt.Fprintln(w)
	// The middle 50% of n runs, or all of them when too few to cut one.
	meanOf := func(n int) string {
		if n < harness.MinMiddleRuns {
			return fmt.Sprintf("mean of all %d", n)
		}
		return fmt.Sprintf("mean of the middle 50%% of %d", n)
	}
	fmt.Fprintf(w, "sum of layers   %s ms per inference (the TIME column's total; %s timed inferences)\n", ms(lp.LayerSum), meanOf(lp.Timed))
	fmt.Fprintf(w, "end-to-end      %s ms per inference (%s untimed inferences, one after each timed one; median %s ms, %s)\n",
		ms(lp.EndToEndMid), meanOf(e.N), ms(e.Median), e.CIText(func(d time.Duration) string { return ms(d) + " ms" }))
	fmt.Fprintf(w, "sum/end-to-end  %.3f (%s)\n", ratio, verdict)
	fmt.Fprintf(w, "timer overhead  %s ms per timed inference (its wall time, median %s ms, beyond the sum of its steps)\n", ms(lp.TimerOverhead), ms(lp.TimedWall.Median))

	// The profile against the timers, over the same inferences.
	timerLayers, timerKernels := map[string]float64{}, map[string]float64{}
	for _, r := range lp.Rows {
		timerLayers[r.Layer] += float64(r.AllTime)
		timerKernels[r.Kernel] += float64(r.AllTime)
	}
	al, ak := reports.CompareShares(timerLayers, layers), reports.CompareShares(timerKernels, kernelShares)
	hz := ""
	if prof.Period > 0 {
		hz = fmt.Sprintf(" at %.0f Hz", float64(time.Second)/float64(prof.Period))
	}
	fmt.Fprintf(w, "pprof samples   %d%s over %.1fs of %d inferences (timed and untimed); %s of the CPU time carries a layer label\n",
		prof.Samples, hz, lp.ProfileTime.Seconds(), 2*lp.Timed, pct(layers.LabelledFraction()))
	fmt.Fprintf(w, "pprof vs timers layer shares differ by %s (total variation distance over %d layers; independent random samples would give about %s), kernel shares by %s (about %s)\n",
		pct(al.Distance), al.Labels, pct(al.Noise), pct(ak.Distance), pct(ak.Noise))
	if layers.LabelledSamples < 500 {
		fmt.Fprintf(w, "                only %d labelled samples: per-layer %%PPROF is coarse; raise --min-time for more (about 100 per second of CPU)\n", layers.LabelledSamples)
	}
	if c.Threads > 1 {
		fmt.Fprintf(w, "                with %d threads pprof counts CPU time on every thread (helpers that spin between parallel steps too), the timers wall time, so the shares can differ by more than sampling noise\n", c.Threads)
	}
	return nil
}

// mmacs formats a MAC count in millions, "-" for none.
func mmacs(n int64) string {
	m := float64(n) / 1e6
	switch {
	case n == 0:
		return "-"
	case m < 0.001:
		return "<0.001"
	case m >= 100:
		return fmt.Sprintf("%.0f", m)
	case m >= 1:
		return fmt.Sprintf("%.1f", m)
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", m), "0"), ".")
	}
}

func threadsText(n int) string { return countText(n, "thread") }

// countText is "1 thread", "2 threads": n and the noun, plural unless n is 1.
func countText(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
