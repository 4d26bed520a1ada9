package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/resbench/resbench/harness"
	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run")
	model := fs.String("model", "", "model name")
	kernel := fs.String("kernel", engine.KernelAuto, "convolution kernel")
	planFile := fs.String("plan", "", "write the per-layer plan to this file (- for stdout)")
	fusionFlag := fs.String("fusion", "all", "fusion passes")
	verbose := fs.Bool("verbose", false, "log every fusion rewrite")
	form := fs.String("resnext-form", "", "ResNeXt form a, b or c")
	strideOn := fs.String("stride-on", "3x3", "bottleneck stride on the 3x3 or the first 1x1")
	size := positiveFlag(fs, "size", 224, "input size")
	batch := positiveFlag(fs, "batch", 1, "batch size")
	threads := positiveFlag(fs, "threads", runtime.NumCPU(), "threads")
	count := positiveFlag(fs, "count", 10, "minimum timed runs")
	maxCount := fs.Int("max-count", 0, "maximum timed runs (0: --count, or open-ended with --min-time/--target-ci)")
	minTime := fs.Duration("min-time", 0, "minimum total timed duration")
	maxTime := fs.Duration("max-time", 0, "stop timing after this long (0: no limit)")
	targetCI := fs.Float64("target-ci", 0, "stop when the median's 95% CI is within ±this fraction")
	parity := fs.Int("parity", 1, "inputs checked against the float64 oracle (0: none)")
	warmup := 2
	fs.Var(nonNegative{&warmup}, "warmup", "warm-up runs")
	seed := fs.Uint64("seed", 1, "seed")
	out := fs.String("o", "", "results file")
	prof := addProfilingFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return usagef("run: --model is required; try --model se-resnext50 (\"resbench models\" lists all)")
	}
	timing := harness.RunOptions{MinCount: *count, MaxCount: *maxCount, MinTime: *minTime, MaxTime: *maxTime, TargetCI: *targetCI, Parity: *parity}
	if err := timing.Check(); err != nil {
		return usagef("run: %v", err)
	}
	cell, err := cellFromFlags(*model, *kernel, *fusionFlag, *form, *strideOn, *size, *batch, *threads)
	if err != nil {
		return err
	}
	if err := distinctOutputs("run", "-o", *out, "--plan", *planFile, "--cpuprofile", prof.cpuPath, "--memprofile", prof.memPath); err != nil {
		return err
	}
	// Open the output before the (possibly long) run, so an unwritable path
	// fails at once, but truncate it only when the results are written: a
	// run that fails or is refused leaves an existing file as it was, and
	// does not leave a new empty one behind.
	var outFile *outputFile
	written := false
	if *out != "" {
		var closeOut func(bool)
		if outFile, closeOut, err = openBeforeRun(*out); err != nil {
			return fmt.Errorf("cannot write results: %v", err)
		}
		defer func() { closeOut(written) }()
	}
	// The plan file likewise: opened now, written after the run.
	var planOut *outputFile
	planWritten := false
	if *planFile != "" && *planFile != "-" {
		var closePlan func(bool)
		if planOut, closePlan, err = openBeforeRun(*planFile); err != nil {
			return fmt.Errorf("cannot write the plan: %v", err)
		}
		defer func() { closePlan(planWritten) }()
	}
	if err := prof.open(); err != nil {
		return err
	}
	defer prof.close()

	ctx, stop := interruptContext()
	defer stop()
	// The roofline ceiling of the tier and thread count in use, measured in
	// this process so that %peak compares like with like.
	pk := harness.ActivePeak(*threads, 200*time.Millisecond)
	fmt.Fprintf(stderr, "building %s (%s) at %dx%d, batch %d...\n", cell.Model, cell.Name(), *size, *size, *batch)
	start := time.Now()
	line := &progressLine{w: stderr, start: start, text: func(phase string, done, total int) string {
		if total <= 0 {
			return fmt.Sprintf("%-6s %d", phase, done) // open-ended: --min-time or --target-ci decides
		}
		return fmt.Sprintf("%-6s %d/%d", phase, done, total)
	}}
	progress := line.update
	opt := harness.RunOptions{CalibrationLog: stderrLog(stderr), Warmup: warmup, MinCount: *count, MaxCount: *maxCount, MinTime: *minTime, MaxTime: *maxTime,
		TargetCI: *targetCI, Parity: *parity, Seed: *seed, Progress: progress, BeforeTimed: func() { prof.start() }, Labels: prof.labels()}
	if *verbose {
		opt.FusionLog = func(format string, args ...any) { fmt.Fprintf(stderr, "fusion: "+format+"\n", args...) }
	}
	res, err := harness.Measure(ctx, cell, opt)
	line.flush()
	fmt.Fprintln(stderr)
	if perr := prof.finish(stderr); perr != nil && err == nil {
		return perr
	}
	interrupted := errors.Is(err, context.Canceled)
	if err != nil && !(interrupted && res != nil) {
		if interrupted {
			return fmt.Errorf("interrupted before any timed inference finished; nothing to report")
		}
		return err
	}
	if interrupted {
		fmt.Fprintf(stderr, "\ninterrupted: reporting the %d timed inferences that finished\n", len(res.Latencies))
	}
	if *planFile != "" {
		if err := writePlan(*planFile, planOut, stdout, res.Plan); err != nil {
			return err
		}
		planWritten = true
	}
	// A pass asked for by name that found nothing to rewrite is worth a
	// line; under "all" (or all-but-one) most models leave some passes
	// idle by design. A list is named as "all" when it holds every pass
	// that applies, so the passes run can be more than those listed:
	// only the listed ones are reported.
	listed, _ := fusion.Parse(*fusionFlag)
	byName := *fusionFlag != "all" && !strings.HasPrefix(*fusionFlag, "all-but-")
	for _, r := range res.Fusion {
		if r.Rewrites == 0 && (*verbose || byName && slices.Contains(listed, r.Pass)) {
			fmt.Fprintf(stderr, "fusion: %s %s\n", r.Pass, r.Note)
		}
	}
	printSummary(stdout, res, pk)
	if outFile != nil {
		env := harness.CurrentEnv()
		env.Extra = append(env.Extra, peakConfig(pk)...)
		f, err := outFile.begin()
		if err != nil {
			return fmt.Errorf("writing %s: %v", *out, err)
		}
		w := harness.NewResultWriter(f, env)
		written = true
		if err := w.Write(res); err != nil {
			return fmt.Errorf("writing %s: %v", *out, err)
		}
		if err := outFile.Close(); err != nil {
			return fmt.Errorf("writing %s: %v", *out, err)
		}
		fmt.Fprintf(stderr, "wrote %d results to %s\n", len(res.Latencies), *out)
	}
	if interrupted {
		return fmt.Errorf("interrupted after %d timed inferences", len(res.Latencies))
	}
	if res.Parity != nil && res.Parity.Failed {
		return fmt.Errorf("parity FAILED: %s", res.Parity.Reason)
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// peakConfig is the file-level config lines that record the ISA tier in use
// and its measured peak, so comparisons across machines can be refused.
func peakConfig(pk harness.Peak) [][2]string {
	return [][2]string{{"isa", pk.Tier}, {"peak-gflops", fmt.Sprintf("%.1f", pk.GFLOPS1)},
		{"peak-gflops-threads", fmt.Sprintf("%.1f", pk.GFLOPSAll)}}
}

func printSummary(w io.Writer, r *harness.Result, pk harness.Peak) {
	s := r.Stats
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Nanoseconds())/1e6) }
	fmt.Fprintf(w, "%s\n", r.Cell.Name())
	fmt.Fprintf(w, "  latency     median %s  p90 %s  p99 %s  min %s  (n=%d, %s)\n", ms(s.Median), ms(s.P90), ms(s.P99), ms(s.Min), s.N, s.CIText(ms))
	if r.Noisy {
		fmt.Fprintf(w, "  WARNING     noisy: IQR is %.0f%% of the median (over 10%%); the machine may be busy\n", 100*float64(s.Q3-s.Q1)/float64(s.Median))
	}
	fmt.Fprintf(w, "  throughput  %.2f images/s  %.1f GFLOP/s effective (%.3f GMACs/image)\n", r.ImagesPerSec, r.GFLOPS, float64(r.MACs)/float64(r.Cell.Batch)/1e9)
	fmt.Fprintf(w, "  efficiency  %.1f%% of the measured %s peak (%.1f GFLOP/s on %s)\n", 100*r.GFLOPS/pk.GFLOPSAll, pk.Tier, pk.GFLOPSAll, threadsText(r.Cell.Threads))
	if pa := r.Parity; pa != nil {
		status := "ok"
		if pa.Failed {
			status = "FAILED: " + pa.Reason
		}
		fmt.Fprintf(w, "  parity      %s vs float64 oracle over %d input(s): rel L2 %.2g (tolerance %.g), max |err| %.2g, top-1 %.0f%%, top-5 %.0f%%\n",
			status, pa.Inputs, pa.RelL2, pa.Tol, pa.MaxAbs, 100*pa.Top1, 100*pa.Top5)
	}
	p := r.Plan
	printKernelSummary(w, p)
	fmt.Fprintf(w, "  memory      activations %s planned (liveness lower bound %s) + workspace %s, weights %s packed\n",
		mib(p.ActivationBytes), mib(p.LowerBoundBytes), mib(p.WorkspaceBytes), mib(p.WeightBytes))
	fmt.Fprintf(w, "              Go heap %s, max RSS %s, %.1f allocs/inference\n", mib(int64(r.HeapPeakBytes)), mib(r.MaxRSSBytes), r.AllocsPerRun)
}

// outputFile is an output path checked before a long run and written
// after it (see openBeforeRun).
type outputFile struct {
	path    string
	f       *os.File // an existing file, opened at once; a new one, from begin
	created bool     // begin created the file
}

// openBeforeRun checks that path can be written before a long run, and
// writes nothing to it until begin. An existing file is opened at once,
// without truncating, so that a run that fails or is interrupted leaves
// it as it was. A new path is created and removed again at once, as the
// check, and created for good by begin, so that a run killed before it
// writes (SIGKILL, a second Ctrl-C) leaves no empty file behind.
// done(written) closes the file, and removes one this run created but did
// not finish writing.
func openBeforeRun(path string) (o *outputFile, done func(written bool), err error) {
	o = &outputFile{path: path}
	done = func(written bool) {
		o.Close()
		if o.created && !written {
			os.Remove(path)
		}
	}
	st, statErr := os.Stat(path)
	if errors.Is(statErr, os.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, nil, err
		}
		f.Close()
		os.Remove(path)
		return o, done, nil
	}
	flags := os.O_WRONLY
	if statErr == nil && isStdStream(st) {
		// -o /dev/stdout with stdout redirected to a file: append after
		// what this process printed there, never write from offset 0.
		flags |= os.O_APPEND
	}
	if o.f, err = os.OpenFile(path, flags, 0o644); err != nil {
		return nil, nil, err
	}
	return o, done, nil
}

// begin returns the file to write the output to, empty: an existing file
// truncated (unless it is not a regular file, or is standard output), a
// new one created now.
func (o *outputFile) begin() (*os.File, error) {
	if o.f != nil {
		return o.f, truncateRegular(o.f)
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	o.f, o.created = f, true
	return f, nil
}

// Close closes the file, if it is open.
func (o *outputFile) Close() error {
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

// progressLine rewrites one stderr line with a long loop's progress, at
// most ten times a second (small models run thousands of inferences), and
// always its first and last step.
type progressLine struct {
	w     io.Writer
	start time.Time
	text  func(phase string, done, total int) string
	shown time.Time
	last  string // the latest text, shown or not
	seen  bool   // last was shown
}

func (p *progressLine) update(phase string, done, total int) {
	p.last, p.seen = p.text(phase, done, total), false
	if time.Since(p.shown) < 100*time.Millisecond && done != total && done != 1 {
		return
	}
	p.print()
}

// flush shows the latest step if the rate limit held it back.
func (p *progressLine) flush() {
	if p.last != "" && !p.seen {
		p.print()
	}
}

func (p *progressLine) print() {
	p.shown, p.seen = time.Now(), true
	fmt.Fprintf(p.w, "\r%s  (%.1fs elapsed)   ", p.last, time.Since(p.start).Seconds())
}

// interruptContext returns a context cancelled by the first SIGINT or
// SIGTERM, which the commands answer by keeping what they measured. A
// second signal kills the process as usual, for whatever does not check
// the context (building a model, a plan trial's inference).
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// truncateRegular drops the old contents of f, a file opened before the run
// without truncating it. Only a regular file has any (a device or pipe
// refuses ftruncate), and not one that is also standard output.
func truncateRegular(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode().IsRegular() && !isStdStream(st) {
		return f.Truncate(0)
	}
	return nil
}

// isStdStream reports whether st is the file behind this process's
// standard output or error (-o /dev/stdout >> all.txt): it holds what the
// shell and this process wrote, and must only be appended to.
func isStdStream(st os.FileInfo) bool {
	for _, s := range []*os.File{os.Stdout, os.Stderr} {
		if o, err := s.Stat(); err == nil && os.SameFile(st, o) {
			return true
		}
	}
	return false
}

// writePlan writes p to stdout for path "-", else to out (path, checked
// before the run), replacing what it held.
func writePlan(path string, out *outputFile, stdout io.Writer, p *engine.Plan) error {
	if path == "-" {
		return p.WritePlan(stdout)
	}
	f, err := out.begin()
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := p.WritePlan(f); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := harness.SyncOutput(f); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}

// printKernelSummary says which kernels the plan's steps got, in one line.
func printKernelSummary(w io.Writer, p *engine.Plan) {
	counts := p.KernelCounts()
	names := make([]string, 0, len(counts))
	for k := range counts {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s×%d", k, counts[k])
	}
	fmt.Fprintf(w, "  plan        %s, %s (--plan FILE writes every layer's kernel and layout)\n", strings.Join(parts, " "), countText(p.Reorders, "reorder"))
}

// cellFromFlags validates the cell flags that run and profile share and
// builds the cell they name.
func cellFromFlags(model, kernel, fusionList, form, strideOn string, size, batch, threads int) (harness.Cell, error) {
	spec, err := variants.Lookup(model)
	if err != nil {
		return harness.Cell{}, err
	}
	if _, err := engine.ParseKernel(kernel); err != nil {
		return harness.Cell{}, err
	}
	passes, err := fusion.Parse(fusionList)
	if err != nil {
		return harness.Cell{}, err
	}
	cell := harness.Cell{Model: spec.Name, Form: variants.FormC, Fusion: fusion.Canonical(passes), Kernel: kernel, Size: size, Batch: batch, Threads: threads}
	if form != "" {
		f, err := variants.ParseForm(form)
		if err != nil {
			return harness.Cell{}, err
		}
		if !spec.IsResNeXt() {
			return harness.Cell{}, fmt.Errorf("--resnext-form applies to ResNeXt models only; %s has no grouped convolution", spec.Name)
		}
		cell.Form = f
	}
	if cell.StrideOn1x1, err = variants.ParseStride(strideOn); err != nil {
		return harness.Cell{}, err
	}
	if cell.StrideOn1x1 && !spec.Bottleneck {
		return harness.Cell{}, fmt.Errorf("--stride-on 1x1 applies to bottleneck models (depth 50 and up); %s has basic blocks", spec.Name)
	}
	// Before the peak measurement, which starts a thread per --threads.
	if most := engine.MaxThreads(); threads > most {
		return harness.Cell{}, fmt.Errorf("--threads %d is more than %d (4 per CPU); use at most %d", threads, most, most)
	}
	if size < variants.MinSize {
		return harness.Cell{}, fmt.Errorf("--size %d is too small; the models need at least %d", size, variants.MinSize)
	}
	if err := harness.CheckMemory(cell); err != nil {
		return harness.Cell{}, err
	}
	byName := fusionList != "all" && !strings.HasPrefix(fusionList, "all-but-")
	if cell.Fusion, err = harness.FusionName(cell, passes, byName); err != nil {
		return harness.Cell{}, err
	}
	return cell, nil
}

// distinctOutputs refuses two output flags that name the same file: the
// later write would silently replace the earlier one (the plan over the
// results, a profile over the trace, JSON lines inside a results file
// that resume then rejects). flags and paths alternate: "-o", path, ...;
// empty paths, "-", devices, pipes and the process's own stdout/stderr
// are not files.
func distinctOutputs(command string, flagsAndPaths ...string) error {
	type output struct {
		flag, path, abs string
		st              os.FileInfo
	}
	var seen []output
	for i := 0; i+1 < len(flagsAndPaths); i += 2 {
		o := output{flag: flagsAndPaths[i], path: flagsAndPaths[i+1]}
		if o.path == "" || o.path == "-" {
			continue
		}
		if st, err := os.Stat(o.path); err == nil {
			if !st.Mode().IsRegular() || isStdStream(st) {
				continue // /dev/null, a pipe, the terminal: not a file one output replaces
			}
			o.st = st
		}
		o.abs, _ = filepath.Abs(o.path)
		for _, p := range seen {
			if p.abs == o.abs || (p.st != nil && o.st != nil && os.SameFile(p.st, o.st)) {
				return usagef("%s: %s and %s both name %s; give each output its own file", command, p.flag, o.flag, o.path)
			}
		}
		seen = append(seen, o)
	}
	return nil
}
