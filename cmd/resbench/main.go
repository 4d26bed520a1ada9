// Command resbench benchmarks and profiles residual CNNs (ResNet, ResNet-v2,
// ResNeXt, SE-ResNet, SE-ResNeXt) on its own pure-Go inference engine.
//
// Usage:
//
//	resbench <command> [flags]
//
// "resbench <command> --help" prints that command's part of this manual.
//
// Commands:
//
//	machine [--json] [--time D]
//	    Describe the CPU (model, cores, caches, SIMD features, the ISA tier
//	    detected and the one in use) and measure its ceilings: the fp32 FMA
//	    peak of every supported tier (generic, avx2, avx512) on 1 thread and
//	    on all threads, and STREAM-triad memory bandwidth. With more than one
//	    thread, also how the FMA loop scales: rounds on all threads
//	    alternated with rounds on one, their ratio's median and minimum, and
//	    the share of rounds below 90% of the thread count (on a shared host,
//	    other tenants holding cores: multi-thread timings of that moment
//	    vary). --time is spent on each measurement (default 500ms).
//	    RESBENCH_ISA=generic|avx2|avx512 forces a lower tier for every
//	    command; forcing one the CPU lacks is an error at start-up.
//
//	models [--json]
//	    List every model of the zoo: name, family, depth, parameters and
//	    multiply-accumulates at 224x224, batch 1. With --json, a JSON array
//	    of objects with the keys name, aliases, family, depth, params, macs.
//
//	fusions [--model NAME [--combos [--full]]]
//	    List the fusion passes: name, the models the seed proposes them for,
//	    and what each rewrites. With --model, whether each applies to that
//	    model; with --combos, the fusion combinations the matrix samples for
//	    it (none, each alone, all, all-but-one), or with --full the whole
//	    power set, one comma-separated selection per line.
//
//	run --model NAME [flags]
//	    Build the model with deterministic weights, run warm-up inferences,
//	    then timed ones, and print a summary: median, p90 and p99 latency,
//	    throughput, effective GFLOP/s, and memory. With -o, write every timed
//	    inference as a line in Go's benchmark format, which benchstat
//	    (golang.org/x/perf/cmd/benchstat) reads. Flags:
//
//	    --model NAME        model or alias (see "resbench models"); required
//	    --kernel NAME       convolution kernel: naive, im2col, winograd-f2,
//	                        winograd-f4, winograd-f6, winograd (fastest of the
//	                        three per layer), direct (blocked layout), or auto
//	                        (default: the fastest per layer, measured once per
//	                        machine and cached). A kernel that cannot run a
//	                        layer (Winograd on a strided conv) falls back to
//	                        im2col for it, and the plan says so.
//	    --plan FILE         write every layer's kernel, layout and fallback
//	                        note to FILE (- for standard output)
//	    --fusion LIST       fusion passes: none, all (default), all-but-PASS, or
//	                        a comma-separated list (see "resbench fusions").
//	                        The benchmark name spells it as matrix does: passes
//	                        the model lacks are dropped, so a list of every
//	                        pass that applies is "all", one short "all-but-PASS"
//	    --verbose           log every rewrite the fusion passes make
//	    --resnext-form F    ResNeXt block form: a (split-branch sum), b (split,
//	                        concat) or c (grouped conv; default)
//	    --stride-on L       where a downsampling bottleneck (depth 50 and up)
//	                        strides: 3x3 (default, torchvision's "v1.5") or
//	                        1x1 (its first 1x1, the original ResNet paper;
//	                        the layout pool1x1 is proposed for). The result
//	                        name gets stride=1x1
//	    --size N            input height and width (default 224)
//	    --batch N           images per inference (default 1)
//	    --threads N         worker threads (default: all cores)
//	    --count N           minimum timed inferences (default 10)
//	    --max-count N       keep timing up to N inferences while the median's
//	                        confidence interval is wider than --target-ci
//	                        (default: --count; no cap with --min-time, or
//	                        with --target-ci and --max-time; 10000 with
//	                        --target-ci alone)
//	    --min-time D        time for at least D in total (e.g. 2s)
//	    --max-time D        stop timing after D even if --target-ci is not met
//	    --target-ci F       stop once the median's 95% confidence interval is
//	                        within ±F of it (e.g. 0.02)
//	    --parity N          check N inputs against the float64 oracle of the
//	                        unfused model (default 1; 0 skips it); a result
//	                        outside the kernel's tolerance is reported as
//	                        FAILED and the command exits with status 2
//	    --warmup N          untimed inferences first (default 2)
//	    --seed N            weights and input seed (default 1)
//	    -o FILE             write results in Go benchmark format to FILE
//	    --cpuprofile FILE   write a CPU profile to FILE, for go tool pprof,
//	                        from the end of the warm-up (the timed
//	                        inferences, and the parity check unless
//	                        --parity 0)
//	    --memprofile FILE   write a heap profile to FILE at the end
//
//	    Ctrl-C (or SIGTERM) stops a run between inferences; the inferences
//	    already timed are still summarized and written to -o. It also stops
//	    the auto kernel's first calibration between layers, keeping the
//	    layers timed so far in the cache. A second one exits at once.
//
//	profile --model NAME [flags]
//	    Profile one model layer by layer. Warm up, then alternate timed
//	    inferences, where the executor times every step of the plan, with
//	    untimed ones, for at least --count of each and --min-time in all,
//	    recording a CPU profile whose samples carry the pprof labels model,
//	    layer, op and kernel. Print a table with one row per step (every
//	    layer, reorder and fused-away step, so that it covers the whole
//	    inference): its op, the plan's kernel and layout, output shape,
//	    multiply-accumulates, mean time per inference, share of the total,
//	    GFLOP/s, share of the FMA peak measured in the same process, and its
//	    share of the CPU profile's layer-labelled samples; then the same by
//	    kernel. Times are means over the timed inferences whose total is in
//	    the middle 50% (all of them below 4 runs), so a run slowed by the
//	    machine does not skew them.
//	    Below the table: the sum of the layer times against the end-to-end
//	    latency of the untimed inferences (mean of their middle 50%, and
//	    their median), and their ratio; the profile's sample count (the
//	    profiler samples at 100 Hz: raise --min-time for more) and how far
//	    its layer and kernel shares are from the timers' (total variation
//	    distance, next to what sampling noise alone would give). With more
//	    than one thread, the profile counts CPU time on every thread and the
//	    timers wall time, so the two differ by more than noise. Flags:
//
//	    --model, --kernel, --fusion, --resnext-form, --stride-on, --size,
//	    --batch, --threads, --warmup, --seed
//	                        as for run
//	    --count N           minimum timed inferences (default 30)
//	    --min-time D        keep profiling for at least D (default 5s)
//	    --sort time|order   rows slowest first (default) or in plan order
//	    --top N             show the N slowest steps, and the others summed
//	                        in one row (default 0: every step)
//	    --trace FILE        write one more inference, step by step, as a
//	                        Chrome trace (trace event format JSON: complete
//	                        events per step with kernel, shape and MACs,
//	                        nested in stage and block events), which
//	                        ui.perfetto.dev and chrome://tracing open
//	    --cpuprofile FILE   write the labelled CPU profile to FILE; e.g.
//	                        go tool pprof -tagfocus layer=layer3.0.conv2 FILE
//
//	accuracy --model NAME [--kernel K] [--size N] [--resnext-form F] [--threads N] [--seed N]
//	    Run the model unfused with every activation kept and compare each
//	    conv, FC, add and SE-scale output with the float64 oracle's on the
//	    same weights and input: max |err|, max |ref| and relative L2 error
//	    per layer, which shows where drift enters and how it grows. Exit
//	    status 2 if a layer is outside the kernel's tolerance. Default size
//	    64 (the per-layer tables in the tests use 32).
//
//	matrix -o FILE [flags]
//	    Measure every cell of model × ResNeXt form × fusion selection ×
//	    kernel × batch × threads, one at a time, each as "run" does (warm-up,
//	    timed runs with the same stopping rule, memory, parity against the
//	    float64 oracle). Each finished cell is appended to FILE at once (Go
//	    benchmark format, one write and fsync per cell), so an interrupted
//	    run (Ctrl-C, a crash, a kill) loses no finished cell, and running the
//	    same command again resumes: finished cells are skipped, a partial one
//	    is cut off. Resuming with different settings is refused, naming
//	    them. A progress line before each cell shows cells done, the current
//	    cell and an ETA; a summary table follows at the end. Flags:
//
//	    --models LIST       models, or all (default all)
//	    --forms LIST        ResNeXt forms to sweep: a,b,c (default c); other
//	                        models have form c only, so a and b need a
//	                        ResNeXt model in --models
//	    --stride-on LIST    bottleneck stride layouts to sweep: 3x3,1x1
//	                        (default 3x3; see run)
//	    --fusions LIST      fusion selections per model: none, each (every pass
//	                        alone), all, all-but-one, or full (the whole power
//	                        set of the passes that apply); default none,all
//	    --kernels LIST      kernels (default auto)
//	    --batch LIST        batch sizes (default 1)
//	    --threads LIST      thread counts (default 1)
//	    --size N            input size (default 224)
//	    --count, --max-count, --warmup, --min-time, --max-time, --target-ci,
//	    --seed              as for run, per cell
//	    --parity N          oracle inputs per cell (default 2)
//	    --rounds R          interleave: make R passes over the cells, each
//	                        visit measuring 1/R of the cell's runs (parity on
//	                        the first). A shared machine's speed drifts over
//	                        minutes; with rounds every cell samples the whole
//	                        run instead of one stretch of it, so cells (and
//	                        two files run alike) compare fairly. Each visit is
//	                        a block of lines, resumed like a cell (default 1)
//	    --shard i/n         run a deterministic 1/n of the cells (0 ≤ i < n), so
//	                        a fleet can split a matrix; result files merge by
//	                        concatenation
//	    --config FILE       read settings from FILE, lines "key = value" with
//	                        the flags' names as keys (models, kernels, fusions,
//	                        batch, threads, size, count, ...); flags on the
//	                        command line win
//	    --json FILE         also append one JSON object per cell (per visit
//	                        with --rounds) to FILE: name, cell (model, form,
//	                        fusion, kernel, size, batch, threads, ...),
//	                        latency_ns, median_ns, percentiles, throughput,
//	                        memory and parity, snake_case keys throughout
//	    --cpuprofile FILE   write a CPU profile of the whole run (every cell,
//	                        parity checks included) to FILE
//	    --memprofile FILE   write a heap profile to FILE at the end
//
//	compare [flags] FILE...
//	    Compare result files benchstat-style, with the statistics of
//	    golang.org/x/perf (benchfmt, benchproc, benchmath): per benchmark the
//	    median with its 95% confidence interval, and between columns the
//	    change with a Mann-Whitney U test, "~" when it is not significant,
//	    and a geomean row per unit. Files label their column; "label=path"
//	    renames one. Flags:
//
//	    -col PROJ        column projection, e.g. /kernel (default .file)
//	    -row PROJ        row projection, e.g. /model (default .fullname)
//	    -filter EXPR     keep matching results, e.g. /model:resnet50
//	    --alpha A        significance level (default 0.05)
//	    --force          compare files from different CPUs or ISA tiers; by
//	                     default that is refused, since their timings do not
//	                     compare
//	    --html FILE      also write one self-contained HTML page with the
//	                     environment, the tables and latency/roofline plots;
//	                     an existing FILE is replaced only if it is an HTML
//	                     page (so "--html OLD NEW" cannot destroy OLD)
//
//	gate [--max-slowdown F] [--alpha A] [--force] [-filter EXPR] BASELINE NEW
//	    The CI regression gate (package ci): exit with status 2 if any
//	    benchmark of NEW is slower than in BASELINE by more than F (default
//	    0.05, i.e. 5%) with a significant Mann-Whitney U test at level A
//	    (default 0.05), or if any cell of NEW failed its parity check. Both
//	    conditions are needed for a slowdown to fail, so noise on a shared
//	    machine and tiny effects do not. It also fails if a benchmark of
//	    BASELINE is missing from NEW, if the files share no benchmark, or
//	    if a slowdown beyond F comes from too few runs for the test to
//	    ever be significant: the smallest p-value of n1 against n2 runs is
//	    2/C(n1+n2, n1), so level 0.05 needs 4 runs a side (or 2 against
//	    10), and one run needs 39 on the other side. Files from different
//	    CPUs or ISA tiers are refused unless --force.
//
//	help [COMMAND]
//	    Print this manual, or only COMMAND's part of it.
//
// Benchmark names are key=value paths with keys in a fixed order, for
// example
//
//	BenchmarkModel/model=se-resnext50-32x4d/form=c/fusion=none/kernel=naive/size=224/batch=1/threads=1
//
// so that benchstat can slice them (benchstat -col /kernel out.txt). The form
// key appears for ResNeXt models only. Result files also carry config lines
// that differ between files (commit, and in matrix files the matrix-*
// settings), change from run to run (date, peak-gflops,
// peak-gflops-threads) or follow from the cell's name (params, macs).
// Stock benchstat starts a new table wherever a config line differs (its
// default -table .config), which would put two commits' files in separate
// tables with nothing compared, and footnotes cells that vary in one; so
// give it
//
//	benchstat -table "" -ignore date,peak-gflops,peak-gflops-threads,params,macs OLD NEW
//
// to compare two files (resbench compare does the same itself).
//
// Environment:
//
//	RESBENCH_ISA=generic|avx2|avx512   force an ISA tier (a lower one than the
//	                                   CPU's best, for comparisons and tests)
//	RESBENCH_CACHE_DIR=DIR             where the auto kernel caches its
//	                                   per-machine calibration (default: the
//	                                   user cache directory + /resbench)
//
// Errors print one line, "resbench: <what went wrong and what to do>", and
// exit with status 2.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/resbench/resbench/kernels"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "resbench: %v\n", err)
		os.Exit(2)
	}
}

// usageError marks errors caused by the command line, to which run appends
// a pointer to the manual.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + " (see \"resbench help\")" }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// commands maps each command to its implementation.
var commands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"models":   cmdModels,
	"fusions":  cmdFusions,
	"machine":  cmdMachine,
	"compare":  cmdCompare,
	"matrix":   cmdMatrix,
	"gate":     cmdGate,
	"accuracy": cmdAccuracy,
	"run":      cmdRun,
	"profile":  cmdProfile,
	"help":     cmdHelp,
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given; commands: %s", strings.Join(commandNames, ", "))
	}
	cmd, ok := commands[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			return cmdHelp(nil, stdout, stderr)
		}
		return usagef("unknown command %q; commands: %s", args[0], strings.Join(commandNames, ", "))
	}
	if args[0] != "help" {
		// A forced ISA tier the CPU lacks is an error here: the kernels
		// would quietly run the detected tier instead, which is not what
		// was asked for.
		if err := kernels.TierErr(); err != nil {
			return err
		}
	}
	err := cmd(args[1:], stdout, stderr)
	if errors.Is(err, errHelp) {
		err = printCommandManual(stdout, args[0])
	}
	return err
}

// stderrLog writes notes (the auto kernel's calibration) as lines on w.
func stderrLog(w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
}

func printCommandManual(w io.Writer, cmd string) error {
	_, err := io.WriteString(w, "Usage: resbench "+strings.TrimRight(commandManual(cmd), "\n")+"\n\nThe whole manual: resbench help\n")
	return err
}
