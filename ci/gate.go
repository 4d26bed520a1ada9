// Package ci is resbench's regression gate: it compares new results with a
// stored baseline and fails when a benchmark got slower by more than a
// minimum effect AND the slowdown is statistically significant (the
// Mann-Whitney U test of golang.org/x/perf/benchmath, via package
// reports), or when a cell fails its parity check. Requiring both keeps
// the gate quiet on a noisy shared machine (a significant 1% change is
// not a regression worth a red build, and a 20% change that the test
// cannot separate from noise is not proven). But a slowdown beyond the
// minimum effect on samples too small for the test ever to reach
// significance fails: on them the gate could catch nothing. The smallest
// p-value the test can give n1 and n2 runs is 2/C(n1+n2, n1), when every
// run of one side is slower than every run of the other: at alpha 0.05
// that takes 4 runs a side, or 2 against 10, and 1 run (go test's default
// -count 1) needs 39 on the other side.
//
// Baselines are ordinary result files (resbench run -o, resbench matrix
// -o, or go test -bench output). The gate refuses to compare files from
// different CPUs or ISA tiers, since their timings say nothing about each
// other, and fails when a baseline benchmark is missing from the new
// results or when the two files have no benchmark in common: a renamed,
// crashed or filtered-out benchmark must not pass as "no regression".
package ci

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/resbench/resbench/reports"
)

// Options are the gate's thresholds.
type Options struct {
	// MaxSlowdown is the minimum effect: a relative increase of sec/op
	// (0.05 = 5%) that a significant change must exceed to fail the gate.
	MaxSlowdown float64
	// Alpha is the significance level (default 0.05).
	Alpha float64
	// Force compares files from different CPUs or ISA tiers anyway.
	Force bool
	// Filter restricts the benchmarks compared (benchproc syntax).
	Filter string
}

// Finding is one benchmark's verdict.
type Finding struct {
	Name       string
	Old, New   float64 // sec/op medians
	Change     float64 // New/Old − 1
	P          float64
	Regression bool
	Failed     bool // parity failure in the new results
	Missing    bool // in the baseline, not in the new results
	Compared   bool // in both: Old, Change and P are set
	// TooFew marks a slowdown beyond the minimum effect that the samples
	// are too small to test (minP above alpha): not proven, but not
	// cleared either.
	TooFew bool
}

// minP is the smallest two-sided p-value of the Mann-Whitney U test on
// samples of n1 and n2 values, reached when they do not overlap:
// 2/C(n1+n2, n1).
func minP(n1, n2 int) float64 {
	c := 1.0 // C(n1+n2, n1), built as ∏ (n2+i)/i
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return min(1, 2/c)
}

// runsPerSide is the fewest runs a side (the same on both) whose minP is
// at most alpha.
func runsPerSide(alpha float64) int {
	n := 1
	for minP(n, n) > alpha {
		n++
	}
	return n
}

// Gate compares baseline with current and writes a verdict per benchmark
// to w. It returns the findings and an error if any benchmark regressed
// or failed parity.
func Gate(w io.Writer, baseline, current string, opt Options) ([]Finding, error) {
	if opt.Alpha == 0 {
		opt.Alpha = 0.05
	}
	// Negated so that NaN is refused: a NaN threshold passes everything.
	if !(opt.MaxSlowdown >= 0 && opt.MaxSlowdown < math.Inf(1)) || !(opt.Alpha > 0 && opt.Alpha < 1) {
		return nil, fmt.Errorf("gate: max slowdown %v must be finite and ≥ 0, alpha %v in (0, 1)", opt.MaxSlowdown, opt.Alpha)
	}
	files, err := reports.ReadFiles([]string{"baseline=" + baseline, "current=" + current})
	if err != nil {
		return nil, err
	}
	rep, err := reports.Analyze(files, reports.CompareOptions{Col: ".file", Row: ".fullname", Filter: opt.Filter, Alpha: opt.Alpha, Force: opt.Force, Units: []string{"sec/op"}})
	if err != nil {
		return nil, err
	}
	for _, warning := range rep.Warnings {
		fmt.Fprintln(w, warning)
	}
	var findings []Finding
	for _, t := range rep.Tables {
		if t.Unit != "sec/op" || len(t.Cols) < 2 {
			continue
		}
		for _, row := range t.Rows {
			c := t.Cells[reports.CellKey{Row: row, Col: t.Cols[1]}]
			if c == nil {
				if b := t.Cells[reports.CellKey{Row: row, Col: t.Cols[0]}]; b != nil {
					findings = append(findings, Finding{Name: row.StringValues(), Old: b.Summary.Center, Missing: true, P: math.NaN()})
				}
				continue
			}
			f := Finding{Name: row.StringValues(), New: c.Summary.Center, Failed: c.Failed > 0, P: math.NaN()}
			if b := c.Baseline; b != nil {
				f.Compared = true
				f.Old = b.Summary.Center
				f.Change = f.New/f.Old - 1 // +Inf from 0 to more
				if f.Old == 0 && f.New == 0 {
					f.Change = 0
				}
				f.P = c.Comparison.P
				f.Regression = c.Significant() && f.Change > opt.MaxSlowdown
				f.TooFew = !f.Regression && f.Change > opt.MaxSlowdown && minP(c.Comparison.N1, c.Comparison.N2) > opt.Alpha
			}
			findings = append(findings, f)
		}
	}
	compared := 0
	for _, f := range findings {
		if f.Compared {
			compared++
		}
	}
	if compared == 0 {
		return nil, fmt.Errorf("no benchmark appears in both %s and %s: check that they are the right files, that benchmark names did not change, and the -filter", baseline, current)
	}
	sort.SliceStable(findings, func(i, j int) bool {
		if findings[i].Missing != findings[j].Missing {
			return findings[i].Missing
		}
		return findings[i].Change > findings[j].Change
	})
	bad := 0
	verdicts := make([]string, len(findings))
	width := 0
	kinds := map[string]int{}
	for i, f := range findings {
		verdict, kind := "ok", "" // kind: the failure it counts as, if any
		switch {
		case f.Missing:
			verdict, kind = "MISSING from new results", "missing"
		case f.Failed:
			verdict, kind = "PARITY FAILED", "parity"
		case f.Regression:
			verdict, kind = fmt.Sprintf("REGRESSION (> %.4g%%, p=%.3f)", 100*opt.MaxSlowdown, f.P), "regressed"
		case f.TooFew:
			verdict, kind = "TOO FEW RUNS to test", "toofew"
		case !f.Compared:
			verdict = "new (no baseline)"
		}
		if kind != "" {
			bad++
			kinds[kind]++
		}
		verdicts[i], width = verdict, max(width, len(verdict))
	}
	for i, f := range findings {
		if f.Missing {
			fmt.Fprintf(w, "%-*s %8s  %s\n", width, verdicts[i], "", f.Name)
			continue
		}
		fmt.Fprintf(w, "%-*s %+7.1f%%  %s\n", width, verdicts[i], 100*f.Change, f.Name)
	}
	if bad > 0 {
		// Name only the kinds of failure that occurred, with the advice on
		// run counts only when some benchmark had too few to test.
		var parts []string
		for _, k := range []struct {
			kind, text string
		}{{"regressed", "%d regressed"}, {"parity", "%d failed parity"}, {"missing", "%d missing"}, {"toofew", "%d slower on too few runs to test"}} {
			if n := kinds[k.kind]; n > 0 {
				parts = append(parts, fmt.Sprintf(k.text, n))
			}
		}
		msg := fmt.Sprintf("%d of %d benchmarks failed the gate against %s: %s", bad, len(findings), baseline, strings.Join(parts, ", "))
		if kinds["toofew"] > 0 {
			msg += fmt.Sprintf(" (at alpha %g use at least %d runs per side, e.g. go test -count 10 or resbench run --count 10)", opt.Alpha, runsPerSide(opt.Alpha))
		}
		return findings, errors.New(msg)
	}
	fmt.Fprintf(w, "gate passed: %d benchmarks, none slower by more than %.4g%% with significance\n", len(findings), 100*opt.MaxSlowdown)
	return findings, nil
}
