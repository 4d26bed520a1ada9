package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/resbench/resbench/harness"
	"github.com/resbench/resbench/variants"
)

func cmdMatrix(args []string, stdout, stderr io.Writer) error {
	def := harness.DefaultMatrix()
	fs := newFlagSet("matrix")
	configPath := fs.String("config", "", "matrix settings file")
	models := fs.String("models", "all", "models")
	forms := fs.String("forms", "c", "ResNeXt forms")
	strides := fs.String("stride-on", "3x3", "bottleneck stride layouts")
	fusions := fs.String("fusions", def.Fusions, "fusion samples")
	kernels := fs.String("kernels", strings.Join(def.Kernels, ","), "kernels")
	batches := fs.String("batch", "1", "batch sizes")
	threads := fs.String("threads", "1", "thread counts")
	size := fs.Int("size", def.Size, "input size")
	count := fs.Int("count", 10, "minimum timed runs per cell")
	maxCount := fs.Int("max-count", 0, "maximum timed runs per cell (0: --count, or open-ended with --min-time/--target-ci)")
	warmup := fs.Int("warmup", 2, "warm-up runs per cell")
	minTime := fs.Duration("min-time", 0, "minimum timed duration per cell")
	maxTime := fs.Duration("max-time", 0, "maximum timed duration per cell")
	targetCI := fs.Float64("target-ci", 0, "median CI target")
	parity := fs.Int("parity", 2, "inputs checked against the oracle per cell")
	seed := fs.Uint64("seed", 1, "seed")
	rounds := fs.Int("rounds", 1, "passes over the cells, each visit measuring 1/rounds of the runs")
	shard := fs.String("shard", "", "i/n")
	out := fs.String("o", "", "results file")
	jsonOut := fs.String("json", "", "JSON-lines results file")
	prof := addProfilingFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("matrix: -o FILE is required: results are appended there cell by cell, and re-running with the same -o resumes")
	}
	// A config file sets defaults; flags given on the command line win.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *configPath != "" {
		f, err := os.Open(*configPath)
		if err != nil {
			return fmt.Errorf("cannot read the matrix config: %v", err)
		}
		cfg, err := harness.ReadConfig(*configPath, f)
		f.Close()
		if err != nil {
			return err
		}
		for key, value := range cfg {
			if set[key] {
				continue
			}
			if err := fs.Set(key, value); err != nil {
				// The flag package says only "parse error" for a bad number.
				return fmt.Errorf("%s: %s = %s: not a valid value for --%s (%s)", *configPath, key, value, key, fs.Lookup(key).Usage)
			}
		}
	}
	m := harness.Matrix{Fusions: *fusions, Size: *size, Kernels: splitList(*kernels)}
	if *models == "all" {
		m.Models = def.Models
	} else {
		m.Models = splitList(*models)
	}
	for _, s := range splitList(*strides) {
		on1x1, err := variants.ParseStride(s)
		if err != nil {
			return err
		}
		m.StrideOn1x1 = append(m.StrideOn1x1, on1x1)
	}
	for _, f := range splitList(*forms) {
		form, err := variants.ParseForm(f)
		if err != nil {
			return err
		}
		m.Forms = append(m.Forms, form)
	}
	var err error
	if m.Batches, err = intList("batch", *batches); err != nil {
		return err
	}
	if m.Threads, err = intList("threads", *threads); err != nil {
		return err
	}
	if *rounds < 1 {
		return usagef("matrix: --rounds %d must be at least 1", *rounds)
	}
	// Validated (names trimmed, duplicates dropped) before the run copies
	// it, so that the settings a file records, and resume compares, are
	// the normalised ones.
	if err := m.Validate(); err != nil {
		return err
	}
	if err := distinctOutputs("matrix", "-o", *out, "--json", *jsonOut, "--cpuprofile", prof.cpuPath, "--memprofile", prof.memPath); err != nil {
		return err
	}
	mr := &harness.MatrixRun{Matrix: m, Out: *out, JSON: *jsonOut, Rounds: *rounds,
		Opt: harness.RunOptions{CalibrationLog: stderrLog(stderr), Warmup: *warmup, MinCount: *count, MaxCount: *maxCount, MinTime: *minTime, MaxTime: *maxTime,
			TargetCI: *targetCI, Parity: *parity, Seed: *seed, Oracles: harness.NewOracleCache(2), Labels: prof.labels()}}
	if err := mr.Opt.Check(); err != nil {
		return usagef("matrix: %v", err)
	}
	if *shard != "" {
		if mr.ShardI, mr.ShardN, err = harness.ParseShard(*shard); err != nil {
			return err
		}
	}
	if err := prof.open(); err != nil {
		return err
	}
	defer prof.close()
	ctx, stop := interruptContext()
	defer stop()
	pk := harness.ActivePeak(maxInt(m.Threads), 200*time.Millisecond)
	mr.Env = harness.CurrentEnv()
	mr.Env.Extra = peakConfig(pk)
	start := time.Now()
	mr.Progress = func(done, total int, c harness.Cell, eta time.Duration) {
		// The first visit: the results file is locked and its settings
		// checked, so a refused run leaves an earlier profile alone.
		prof.start()
		bar := progressBar(done, total, 24)
		etaText := "ETA --"
		if eta > 0 {
			etaText = "ETA " + eta.Round(time.Second).String()
		}
		unit := "cells"
		if *rounds > 1 {
			unit = fmt.Sprintf("visits (%d rounds)", *rounds)
		}
		fmt.Fprintf(stderr, "%s %d/%d %s  %s  elapsed %s  now: %s\n", bar, done, total, unit, etaText, time.Since(start).Round(time.Second), c.Name())
	}
	mr.CellDone = func(r *harness.Result) {
		status := ""
		if r.Parity != nil && r.Parity.Failed {
			status = "  FAILED: " + r.Parity.Reason
		} else if r.Noisy {
			status = "  (noisy)"
		}
		fmt.Fprintf(stderr, "    median %.2f ms, %.1f GFLOP/s%s\n", float64(r.Stats.Median.Microseconds())/1000, r.GFLOPS, status)
	}
	sum, err := mr.Run(ctx)
	switch {
	case err != nil || sum == nil || sum.Measured > 0:
	case sum.Total == 0:
		prof.unreached = "this shard has no cells; nothing was measured"
	default:
		prof.unreached = fmt.Sprintf("every cell was already in %s; nothing was measured", *out)
	}
	if perr := prof.finish(stderr); perr != nil && err == nil {
		err = perr
	}
	if sum != nil {
		printMatrixSummary(stdout, sum, pk, maxInt(m.Threads))
	}
	if err != nil {
		if ctx.Err() != nil {
			if st, err := os.Stat(*out); err != nil || st.Size() == 0 {
				return fmt.Errorf("interrupted before the first cell finished; nothing was written to %s", *out)
			}
			return fmt.Errorf("interrupted; the %d finished cells are in %s, and running the same command again resumes", sumDone(sum), *out)
		}
		return err
	}
	fmt.Fprintf(stderr, "results in %s (benchstat %s, or resbench compare)\n", *out, *out)
	if sum.Failed > 0 {
		return fmt.Errorf("%d cells FAILED their parity check: %s; resbench accuracy --model M --kernel K names the layer that breaks",
			sum.Failed, strings.Join(sum.FailedCells, ", "))
	}
	return nil
}

func sumDone(s *harness.MatrixSummary) int {
	if s == nil {
		return 0
	}
	return s.Resumed + s.Measured
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, usagef("matrix: --%s %q: %q is not a positive integer", name, s, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usagef("matrix: --%s needs at least one value", name)
	}
	return out, nil
}

func maxInt(v []int) int {
	m := 1
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func progressBar(done, total, width int) string {
	filled := 0
	if total > 0 {
		filled = done * width / total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + "]"
}

// printMatrixSummary prints the cells' table; %peak is against pk, the
// active tier's peak measured in this process on peakThreads threads (and
// on one).
func printMatrixSummary(w io.Writer, s *harness.MatrixSummary, pk harness.Peak, peakThreads int) {
	fmt.Fprintf(w, "matrix: %d cells, %d measured now, %d resumed from the file, %d FAILED parity, %d noisy\n",
		s.Total, s.Measured, s.Resumed, s.Failed, s.Noisy)
	if len(s.Results) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	io.WriteString(tw, "median ms\t95% CI\tp99 ms\tGFLOP/s\t%peak\tparity\t\t\n")
	for _, r := range s.Results {
		parity := "-"
		if p := r.Parity; p != nil {
			parity = fmt.Sprintf("%.1e", p.RelL2)
			if p.Failed {
				parity = "FAILED"
			}
		}
		peakT := pk.For(r.Cell.Threads, peakThreads)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		noisy := ""
		if r.Noisy {
			noisy = "noisy"
		}
		ci := fmt.Sprintf("±%.1f%%", 50*float64(r.Stats.CIHigh-r.Stats.CILow)/float64(r.Stats.Median))
		if !r.Stats.CI95 {
			ci = fmt.Sprintf("n<%d", harness.MinCI95Runs)
		}
		fmt.Fprintf(tw, "%.2f\t%s\t%.2f\t%.1f\t%.0f%%\t%s\t%s\t %s\n", ms(r.Stats.Median),
			ci, ms(r.Stats.P99), r.GFLOPS, 100*r.GFLOPS/peakT, parity, noisy, r.Cell.Name())
	}
	tw.Flush()
}
