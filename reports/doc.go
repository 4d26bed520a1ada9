// Package reports turns resbench result files into comparison tables,
// plots and a single HTML page. It reads files and never measures: it
// imports nothing of kernels/, harness/ or the engine, only
// golang.org/x/perf (benchfmt, benchproc, benchmath, benchunit),
// gonum.org/v1/plot and github.com/google/pprof/profile (CPU profiles cut
// by the engine's layer labels, pprof.go; traces, trace.go).
//
// # Reading
//
// Result files are in the Go benchmark format
// (golang.org/design/14313-benchmark-format), as harness.ResultWriter and
// "go test -bench" write them: "key: value" file configuration lines
// (goos, goarch, goamd64, cpu, cores, go, commit, date, isa, peak-gflops,
// peak-gflops-threads, params, macs) followed by one line per timed
// inference, named with key=value parts in a fixed order:
//
//	BenchmarkModel/model=resnet50/fusion=all/kernel=im2col/size=224/batch=1/threads=1 1 141390000 ns/op 7.07 images/s 57.8 GFLOP/s ...
//
// ReadFile and ReadFiles parse a file completely with benchfmt.Reader,
// keeping each result with the configuration in force at its line and
// the internal key ".file" set to the file's label (its path, or the
// label of a "label=path" argument, as in benchstat). A file that cannot
// be a result file is an error, never a panic: an empty file, a file of
// configuration lines only, a file with no benchmark line (the error
// names the first line that is neither), binary data, a malformed
// benchmark line (benchfmt's syntax error, with its line), or a
// measurement that is NaN or infinite. Each error is a *FormatError with
// the file and line. benchstat skips malformed lines with a warning; a
// gate that compares results should not, so here they are fatal.
//
// # Projection
//
// Analyze groups results the way benchstat does, with benchproc: a
// filter (CompareOptions.Filter, benchstat's -filter syntax, e.g.
// "/model:resnet50 -/fusion:none"), a row projection (Row, default
// ".fullname") and a column projection (Col, default ".file"), each in
// benchstat's -row/-col syntax ("/kernel", "/model,/fusion",
// "/size@num"). Every unit gets its own table, sec/op first and the rest
// in order of appearance (or the order of CompareOptions.Units). Unlike
// benchstat, tables are not split by file configuration (its default
// -table .config): resbench files differ in date and measured peak on
// every run, which would put every file in its own table. Instead, the
// keys that the projections do not mention form the residue, and a cell
// whose results differ in it gets a footnote ("benchmarks vary in
// .fullname" when -row /model merges fusion variants, "benchmarks vary in
// .file, commit" when -col /fusion merges two files), as in benchstat. The keys date, peak-gflops and
// peak-gflops-threads are excluded from the residue because they change
// with every run, and params and macs because they follow from the cell's
// name (CompareOptions.Ignore adds more).
//
// # Statistics
//
// As in benchstat, each cell is a benchmath.Sample summarized under
// benchmath.AssumeNothing (or AssumeExact if the file's unit metadata
// says "Unit x assume=exact"): the median with a distribution-free
// confidence interval at CompareOptions.Confidence (0.95), printed as
// "± x%". Each column after the first is compared with the first, row by
// row, with the Mann-Whitney U test at CompareOptions.Alpha (0.05): "~"
// when p > alpha, else the change of the medians as "+x.xx%"/"-x.xx%",
// followed by "(p=0.000 n=10)". Too few samples to ever reach
// significance, or for a finite interval, are footnoted with how many are
// needed. Tables of more than one row end with a geomean row: the
// geometric mean of each column's medians and, as benchstat computes it,
// the geometric mean of the per-row ratios to the baseline (footnoted if
// the benchmark sets differ, and "?" when a value is not positive).
// Numbers are scaled per row with benchunit (m for milli, Ki for 1024, ...)
// so a row's columns line up. In text, the "/"-separated name parts that
// every row of a table shares are printed once above it ("every row:
// Model/kernel=im2col/size=224/batch=1/threads=1") so that rows fit a
// terminal; CompareOptions.FullNames turns that off.
//
// Borrowed from golang.org/x/perf/cmd/benchstat and its internal benchtab
// and texttab packages, and reimplemented here because those are not
// importable: the default projections (.file columns, .fullname rows),
// the residue check, the choice of AssumeNothing with the median and its
// order-statistic interval, the U test against the first column and its
// alpha of 0.05, the "~"/"+x.xx%"/"(p= n=)" formatting, geomean of ratios
// with its "benchmark set differs" warning, per-row unit scaling, the
// text layout with one header row per column field, and the footnote
// superscripts. Not borrowed: splitting tables by file configuration,
// skipping malformed lines, the CSV format, and the deprecated top-level
// benchstat package.
//
// # Refusal rules
//
// Latency measured on another CPU, or at another SIMD tier, says nothing
// about a code change. So before comparing, Analyze looks at the
// configuration of every result that passed the filter:
//
//   - more than one "cpu" value, or more than one "isa" value, is an
//     *EnvError naming each value and the files that recorded it, unless
//     CompareOptions.Force is set; then a loud "WARNING: FORCED
//     COMPARISON ..." line opens the output and the tables follow;
//   - more than one "goarch" or "goamd64" value is a warning;
//   - when more than one file is compared and some lack "cpu" or "isa"
//     (plain "go test -bench" output has cpu but no isa), a warning says
//     the environment is unknown.
//
// The check covers results, not files, so one concatenated file holding
// results from two machines is refused too.
//
// # Parity failures
//
// A result fails accuracy parity against the float64 oracle if it has a
// file configuration "parity: FAILED", a name part "parity=FAILED", or a
// "parity-fail" measurement above zero (see ParityFailed). Such cells get
// a "parity FAILED in k of n results" footnote in text, a highlighted row
// with a FAILED badge in HTML, and a red bar in the plots.
//
// # Plots
//
// LatencyPlot and RooflinePlot write PNGs with gonum/plot, grouped by the
// same projections (PlotOptions): one horizontal bar per cell (one group
// per row, one color per column, a legend when there are several
// columns), its length the median and a whisker from the 10th to the
// 90th percentile (linear interpolation between ranks). Name parts that
// every row shares move from the axis labels to the title. The roofline
// plot shows effective GFLOP/s against vertical lines at the compute
// peak of the ISA tier and thread count each result recorded
// (peak-gflops for one thread, peak-gflops-threads for the thread count
// the run measured it on, resbench run's --threads or a matrix's widest,
// or the peak implied by a %peak measurement for bench/ output), with each bar
// labelled by its share of that peak; a bar whose results have different
// peaks (a row merging thread counts) gets none, since no one ceiling
// applies, and the title counts such bars. Result files record no memory
// bandwidth, so only the compute roof is drawn. Plots draw the data as it
// is: they do not apply the refusal rules.
//
// # HTML
//
// HTML and WriteHTML write one page with html/template: the inputs, the
// warnings (a forced comparison in a red banner), the environment (every
// configuration key per file, rows that differ between files marked), a
// summary table per unit (median, confidence interval, ± and n per cell,
// parity failures highlighted), the comparison tables when there is more
// than one column (significant changes colored by whether the unit is
// better higher or lower), and the plots as data: URIs. It references
// nothing outside itself, so it can be mailed or archived as one file.
package reports
