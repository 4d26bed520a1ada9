package reports

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
	"golang.org/x/perf/benchunit"
)

// CompareOptions control how results are grouped, filtered and tested.
// The zero value compares files column by column, one row per full
// benchmark name, like benchstat with no flags.
type CompareOptions struct {
	// Col and Row are benchproc projections (benchstat's -col and -row
	// syntax, e.g. "/kernel" or "/model,/fusion"). Each distinct value of
	// Col is a column and of Row a row. The defaults are ".file" and
	// ".fullname".
	Col, Row string
	// Filter is a benchproc filter (benchstat's -filter syntax, e.g.
	// "/model:resnet50 .unit:sec/op"). The default "*" keeps everything.
	Filter string
	// Ignore lists further keys (projection syntax) whose variation
	// within a cell is expected and should not be warned about. The
	// per-run measurement keys date, peak-gflops and
	// peak-gflops-threads, and params and macs, which follow from the
	// cell's name, are always ignored.
	Ignore string
	// Alpha is the significance level of the Mann-Whitney U test; 0
	// means 0.05.
	Alpha float64
	// Confidence is the level of the median's confidence interval; 0
	// means 0.95.
	Confidence float64
	// Force compares results from different CPUs or ISA tiers anyway,
	// with a loud warning, instead of refusing.
	Force bool
	// FullNames prints every row label in full in text tables. By
	// default, when rows are benchmark names, the "/"-separated parts
	// that every row of a table shares are printed once above it and
	// dropped from the rows, which keeps resbench's long key=value names
	// readable in a terminal.
	FullNames bool
	// Units, if set, selects the tables to show, in this order ("ns/op"
	// and "sec/op" are the same unit). By default every unit is shown,
	// sec/op first and the rest in order of first appearance.
	Units []string
}

// alwaysIgnored are configuration keys that change with every run of the
// same cell on the same machine (a cell that merges two runs is expected
// to vary in them), and the cell's counts, which follow from its name
// (model, size, batch): kept, they would split -col /batch into tables.
const alwaysIgnored = "date,peak-gflops,peak-gflops-threads,params,macs"

// A Report is the analysis of a set of result files: the environment
// they share, warnings about it, and one Table per unit.
type Report struct {
	Files []*File
	// Env holds the file configuration keys that have one value across
	// every compared result, in order of first appearance.
	Env []ConfigValues
	// Warnings are human-readable lines about the environment and the
	// options, to show before the tables. A forced comparison across
	// CPUs or ISA tiers produces a line starting "WARNING:".
	Warnings []string
	// Tables has one table per unit, sec/op first.
	Tables []*Table
	// MultiFile reports whether the results come from more than one
	// input file.
	MultiFile bool
	// FullNames is CompareOptions.FullNames, for WriteText.
	FullNames bool
}

// A Table summarizes and compares the values of one unit in a grid of
// cells, one per distinct (Row, Col) projection key. Comparisons are
// made within each row between the first column (the baseline) and each
// other column.
type Table struct {
	Unit string
	// Assumption is the statistical model: benchmath.AssumeNothing
	// (median, order-statistic confidence interval, Mann-Whitney U test)
	// unless the unit metadata says "assume=exact".
	Assumption benchmath.Assumption
	// Confidence is the level of the intervals in Summary.
	Confidence float64
	// Rows and Cols are the keys in display order (first observed first,
	// unless the projection gives an order).
	Rows, Cols []benchproc.Key
	// Cells maps a (row, column) pair to its cell. Not every pair need
	// be present.
	Cells map[CellKey]*Cell
	// Geomeans has one entry per column: the geometric mean of the cell
	// centers and of their ratios to the baseline. It is shown only when
	// the table has more than one row.
	Geomeans []*Geomean
	// Better is +1 if higher values of Unit are better, -1 if lower
	// values are, 0 if unknown.
	Better int
}

// CellKey indexes a cell of a Table.
type CellKey struct{ Row, Col benchproc.Key }

// A Cell holds the sample of one unit for one (row, column) pair.
type Cell struct {
	// Sample holds the values, sorted.
	Sample *benchmath.Sample
	// Summary is the center (the median unless the unit is exact) and
	// its confidence interval.
	Summary benchmath.Summary
	// Baseline is the cell in the first column of the same row, or nil
	// for the first column or when that cell is missing.
	Baseline *Cell
	// Comparison is the test of this cell against Baseline.
	Comparison benchmath.Comparison
	// Failed counts the results in this cell flagged as parity failures
	// (see ParityFailed); Checked those that record a parity check at all
	// (see ParityChecked).
	Failed, Checked int
	// Results are the (filtered) results whose values the cell holds, in
	// input order. Sample.Values is sorted, so the two do not pair up by
	// index.
	Results []*benchfmt.Result
	// Unfiltered are the same results before the filter dropped other
	// units' measurements (a plot of GFLOP/s still needs the %peak of a
	// -filter .unit:GFLOP/s comparison), index for index with Results.
	Unfiltered []*benchfmt.Result
	// Warnings are problems with the cell's data itself, such as results
	// that vary in keys that the projections do not show.
	Warnings []error
}

// Delta is the change of the cell's center relative to its baseline
// ("~" when not significant), as benchstat prints it.
func (c *Cell) Delta() string {
	if c.Baseline == nil {
		return ""
	}
	return c.Comparison.FormatDelta(c.Baseline.Summary.Center, c.Summary.Center)
}

// Significant reports whether the cell differs from its baseline at the
// table's alpha level.
func (c *Cell) Significant() bool {
	return c.Baseline != nil && c.Comparison.P <= c.Comparison.Alpha && c.Baseline.Summary.Center != c.Summary.Center
}

// Geomean summarizes one column of a Table.
type Geomean struct {
	HasCenter bool
	Center    float64 // geometric mean of the cell centers
	HasRatio  bool
	Ratio     float64 // geometric mean of center/baseline-center
	Warnings  []error
}

// ParityFailed reports whether a result is flagged as failing the
// accuracy-parity check against the float64 oracle. Three spellings are
// recognized, so that both the matrix runner and hand-made files can flag
// a failure:
//
//   - a file configuration line "parity: FAILED" in force at the result;
//   - a sub-name key "parity=FAILED" in the benchmark name, e.g.
//     BenchmarkModel/model=resnet50/.../parity=FAILED;
//   - a measurement in the unit "parity-fail" greater than zero (the
//     number of failed parity checks in that run).
//
// The comparison of FAILED is case-insensitive.
func ParityFailed(r *benchfmt.Result) bool {
	if strings.EqualFold(r.GetConfig("parity"), "FAILED") {
		return true
	}
	_, parts := r.Name.Parts()
	for _, p := range parts {
		if bytes.EqualFold(p, []byte("/parity=FAILED")) {
			return true
		}
	}
	for _, v := range r.Values {
		if v.Unit == "parity-fail" && v.Value > 0 {
			return true
		}
	}
	return false
}

// ParityChecked reports whether r records a parity check, passed or not:
// a parity config line or name part, or resbench's parity units. go test
// output and runs with --parity 0 record none.
func ParityChecked(r *benchfmt.Result) bool {
	if r.GetConfig("parity") != "" {
		return true
	}
	_, parts := r.Name.Parts()
	for _, p := range parts {
		if bytes.HasPrefix(bytes.ToLower(p), []byte("/parity=")) {
			return true
		}
	}
	for _, v := range r.Values {
		if v.Unit == "parity-fail" || v.Unit == "parity-relL2" {
			return true
		}
	}
	return false
}

// Analyze groups, summarizes and compares the results of files. It
// returns an *EnvError if they come from different CPUs or ISA tiers and
// opt.Force is not set.
func Analyze(files []*File, opt CompareOptions) (*Report, error) {
	if len(files) == 0 {
		return nil, errors.New("no result files given")
	}
	if opt.Col == "" {
		opt.Col = ".file"
	}
	if opt.Row == "" {
		opt.Row = ".fullname"
	}
	if opt.Filter == "" {
		opt.Filter = "*"
	}
	if opt.Alpha == 0 {
		opt.Alpha = benchmath.DefaultThresholds.CompareAlpha
	}
	if opt.Alpha < 0 || opt.Alpha > 1 {
		return nil, fmt.Errorf("alpha %v is not in [0, 1]", opt.Alpha)
	}
	if opt.Confidence == 0 {
		opt.Confidence = 0.95
	}
	if opt.Confidence < 0 || opt.Confidence > 1 {
		return nil, fmt.Errorf("confidence %v is not in [0, 1]", opt.Confidence)
	}

	filter, err := benchproc.NewFilter(opt.Filter)
	if err != nil {
		return nil, fmt.Errorf("parsing filter %q: %s", opt.Filter, oneLine(err))
	}
	var parser benchproc.ProjectionParser
	rowBy, err := parser.Parse(opt.Row, filter)
	if err != nil {
		return nil, fmt.Errorf("parsing row projection %q: %s", opt.Row, oneLine(err))
	}
	colBy, err := parser.Parse(opt.Col, filter)
	if err != nil {
		return nil, fmt.Errorf("parsing column projection %q: %s", opt.Col, oneLine(err))
	}
	ignore := alwaysIgnored
	if opt.Ignore != "" {
		ignore += "," + opt.Ignore
	}
	if _, err := parser.Parse(ignore, filter); err != nil {
		return nil, fmt.Errorf("parsing ignore keys %q: %s", opt.Ignore, oneLine(err))
	}
	residueBy := parser.Residue()

	// Filter clones: Filter.Apply drops measurements in place, and the
	// Files must stay intact for other reports.
	type kept struct {
		res, orig       *benchfmt.Result
		failed, checked bool
	}
	var results []kept
	units := make(benchfmt.UnitMetadataMap)
	for _, f := range files {
		for k, v := range f.Units {
			if _, ok := units[k]; !ok {
				units[k] = v
			}
		}
		for _, r := range f.Results {
			failed := ParityFailed(r)
			c := r.Clone()
			if ok, _ := filter.Apply(c); !ok {
				continue
			}
			results = append(results, kept{c, r, failed, ParityChecked(r)})
		}
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no results match filter %q", opt.Filter)
	}

	rep := &Report{Files: files, MultiFile: len(files) > 1, FullNames: opt.FullNames}
	plain := make([]*benchfmt.Result, len(results))
	for i, k := range results {
		plain[i] = k.res
	}
	rep.Warnings, err = checkEnv(plain, files, opt.Force)
	if err != nil {
		return nil, err
	}
	rep.Env = commonConfig(plain)

	// Group values into cells, one grid per unit.
	type builderCell struct {
		values     []float64
		results    []*benchfmt.Result
		unfiltered []*benchfmt.Result
		failed     int
		checked    int
		residue    map[benchproc.Key]struct{}
	}
	type builder struct {
		rows, cols map[benchproc.Key]struct{}
		cells      map[CellKey]*builderCell
	}
	grids := make(map[string]*builder)
	var unitOrder []string
	for _, k := range results {
		row, col, residue := rowBy.Project(k.res), colBy.Project(k.res), residueBy.Project(k.res)
		ck := CellKey{row, col}
		for _, v := range k.res.Values {
			// benchfmt tidies a unit only when that changes the value,
			// so 0 ns/op keeps "ns/op" beside the sec/op of the same
			// benchmark's other runs: tidy every value here.
			value, unit := v.Value, v.Unit
			if scale, tidy := benchunit.Tidy(1, unit); tidy != unit {
				value, unit = value*scale, tidy
			}
			g := grids[unit]
			if g == nil {
				g = &builder{rows: map[benchproc.Key]struct{}{}, cols: map[benchproc.Key]struct{}{}, cells: map[CellKey]*builderCell{}}
				grids[unit] = g
				unitOrder = append(unitOrder, unit)
			}
			c := g.cells[ck]
			if c == nil {
				c = &builderCell{residue: map[benchproc.Key]struct{}{}}
				g.cells[ck] = c
				g.rows[row] = struct{}{}
				g.cols[col] = struct{}{}
			}
			c.values = append(c.values, value)
			c.results = append(c.results, k.res)
			c.unfiltered = append(c.unfiltered, k.orig)
			c.residue[residue] = struct{}{}
			if k.failed {
				c.failed++
			}
			if k.checked {
				c.checked++
			}
		}
	}

	// Choose and order the units.
	var show []string
	if len(opt.Units) > 0 {
		for _, u := range opt.Units {
			_, tidy := benchunit.Tidy(1, u)
			if grids[tidy] == nil {
				return nil, fmt.Errorf("no results in unit %q (the results have %s)", u, strings.Join(unitOrder, ", "))
			}
			if !containsString(show, tidy) {
				show = append(show, tidy)
			}
		}
	} else {
		if grids["sec/op"] != nil {
			show = append(show, "sec/op")
		}
		for _, u := range unitOrder {
			if u != "sec/op" {
				show = append(show, u)
			}
		}
	}

	thresholds := &benchmath.Thresholds{CompareAlpha: opt.Alpha}
	for _, unit := range show {
		g := grids[unit]
		t := &Table{
			Unit:       unit,
			Assumption: units.GetAssumption(unit),
			Confidence: opt.Confidence,
			Rows:       sortedKeys(g.rows),
			Cols:       sortedKeys(g.cols),
			Cells:      make(map[CellKey]*Cell),
			Better:     betterOf(unit, units),
		}
		for ck, bc := range g.cells {
			c := &Cell{Sample: benchmath.NewSample(bc.values, thresholds), Failed: bc.failed, Checked: bc.checked, Results: bc.results, Unfiltered: bc.unfiltered}
			c.Summary = t.Assumption.Summary(c.Sample, opt.Confidence)
			if nsk := benchproc.NonSingularFields(sortedKeys(bc.residue)); len(nsk) > 0 {
				names := make([]string, len(nsk))
				for i, f := range nsk {
					names[i] = f.Name
				}
				c.Warnings = append(c.Warnings, fmt.Errorf("benchmarks vary in %s", strings.Join(names, ", ")))
			}
			if bc.failed > 0 {
				c.Warnings = append(c.Warnings, fmt.Errorf("parity FAILED in %d of %d results", bc.failed, len(bc.values)))
			}
			t.Cells[ck] = c
		}
		base := t.Cols[0]
		for ck, c := range t.Cells {
			if ck.Col == base {
				continue
			}
			if b, ok := t.Cells[CellKey{ck.Row, base}]; ok {
				c.Baseline = b
				c.Comparison = t.Assumption.Compare(b.Sample, c.Sample)
			}
		}
		t.Geomeans = geomeans(t)
		rep.Tables = append(rep.Tables, t)
	}
	return rep, nil
}

func sortedKeys(m map[benchproc.Key]struct{}) []benchproc.Key {
	keys := make([]benchproc.Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	benchproc.SortKeys(keys)
	return keys
}

// geomeans summarizes each column as benchstat does: the geometric mean
// of the centers, and the geometric mean of the per-row ratios to the
// baseline (rather than the ratio of the geomeans, which stays
// meaningful when the columns hold different benchmark sets), with a
// warning when they do.
func geomeans(t *Table) []*Geomean {
	out := make([]*Geomean, len(t.Cols))
	nBase := 0
	for _, row := range t.Rows {
		if _, ok := t.Cells[CellKey{row, t.Cols[0]}]; ok {
			nBase++
		}
	}
	for i, col := range t.Cols {
		g := new(Geomean)
		out[i] = g
		var centers, ratios []float64
		badRatio := false
		for _, row := range t.Rows {
			c, ok := t.Cells[CellKey{row, col}]
			if !ok {
				continue
			}
			centers = append(centers, c.Summary.Center)
			if c.Baseline != nil {
				a, b := c.Summary.Center, c.Baseline.Summary.Center
				switch {
				case a == b:
					ratios = append(ratios, 1)
				case b == 0:
					badRatio = true
					ratios = append(ratios, 0)
				default:
					ratios = append(ratios, a/b)
				}
			}
		}
		if i > 0 && nBase != len(ratios) {
			g.Warnings = append(g.Warnings, errors.New("benchmark set differs from baseline; geomeans may not be comparable"))
		}
		if gm, ok := geomean(centers); ok {
			g.HasCenter, g.Center = true, gm
		} else {
			g.Warnings = append(g.Warnings, errors.New("summaries must be >0 to compute geomean"))
		}
		if i > 0 && !badRatio {
			if gm, ok := geomean(ratios); ok {
				g.HasRatio, g.Ratio = true, gm
			} else {
				g.Warnings = append(g.Warnings, errors.New("ratios must be >0 to compute geomean"))
			}
		}
	}
	return out
}

// geomean is the geometric mean of xs, which must all be positive.
func geomean(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := 0.0
	for _, x := range xs {
		if !(x > 0) {
			return 0, false
		}
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(xs))), true
}

// betterOf is +1 if higher values of unit are better, -1 if lower ones
// are, 0 if unknown. Unit metadata ("Unit x better=higher") wins; then
// resbench's own units are known.
func betterOf(unit string, meta benchfmt.UnitMetadataMap) int {
	if b := meta.GetBetter(unit); b != 0 {
		return b
	}
	switch {
	case unit == "images/s", unit == "GFLOP/s", unit == "%peak", strings.HasSuffix(unit, "/s"):
		return +1
	case unit == "top1-agree", unit == "top5-agree":
		return +1
	case unit == "sec/op", unit == "allocs/op", unit == "B/op", unit == "parity-fail", unit == "parity-relL2", unit == "parity-maxabs", strings.HasSuffix(unit, "-B"):
		return -1
	}
	return 0
}

// commonConfig is the file configuration keys that have exactly one value
// across every result, in order of first appearance.
func commonConfig(results []*benchfmt.Result) []ConfigValues {
	type state struct {
		value string
		count int
		multi bool
	}
	var order []string
	seen := make(map[string]*state)
	for _, r := range results {
		for _, c := range r.Config {
			if !c.File {
				continue
			}
			s := seen[c.Key]
			if s == nil {
				s = &state{value: string(c.Value)}
				seen[c.Key] = s
				order = append(order, c.Key)
			} else if s.value != string(c.Value) {
				s.multi = true
			}
			s.count++
		}
	}
	var out []ConfigValues
	for _, k := range order {
		if s := seen[k]; !s.multi && s.count == len(results) {
			out = append(out, ConfigValues{Key: k, Values: []string{s.value}})
		}
	}
	return out
}

// oneLine flattens a benchproc syntax error, which draws a caret under the
// query on two more lines, to one line with the position in characters:
// the CLI's errors are single lines.
func oneLine(err error) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 3 && strings.HasPrefix(lines[0], "syntax error") {
		if caret := strings.IndexByte(lines[2], '^'); caret >= 1 {
			return fmt.Sprintf("%s at character %d", lines[0], utf8.RuneCountInString(lines[2][1:caret])+1)
		}
	}
	return strings.Join(lines, "; ")
}
