package reports

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/perf/benchproc"
	"golang.org/x/perf/benchunit"
)

// WriteText renders the report's tables as benchstat does: the shared
// environment as "key: value" lines, then one table per unit. Each table
// has a header row per column-projection field, then per row the median
// and its confidence interval (as ± percent) for each column and, for
// every column but the first, the change against the first ("~" if the
// U test finds no significant difference) with the p-value and sample
// sizes. A geomean row ends tables of more than one row. Footnotes
// explain the superscript warnings. Unless FullNames is set, name parts
// that all rows of a table share are printed once above it ("every row:
// Model/kernel=im2col/...") and the rows show the rest. Warnings is not
// written; Compare writes it first.
func (r *Report) WriteText(w io.Writer) error {
	var buf bytes.Buffer
	for _, c := range r.Env {
		fmt.Fprintf(&buf, "%s: %s\n", c.Key, c.Values[0])
	}
	for i, t := range r.Tables {
		if i > 0 || len(r.Env) > 0 {
			buf.WriteByte('\n')
		}
		t.writeText(&buf, r.FullNames)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// footnotes numbers distinct warning messages in order of first use.
type footnotes struct {
	list  []string
	index map[string]int
}

func (f *footnotes) mark(errs ...[]error) string {
	if f.index == nil {
		f.index = make(map[string]int)
	}
	var marks []string
	for _, list := range errs {
		for _, e := range list {
			s := e.Error()
			i, ok := f.index[s]
			if !ok {
				i = len(f.list)
				f.index[s] = i
				f.list = append(f.list, s)
			}
			if m := superscript(i + 1); !containsString(marks, m) {
				marks = append(marks, m)
			}
		}
	}
	return strings.Join(marks, " ")
}

var superDigits = []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")

func superscript(i int) string {
	s := fmt.Sprint(i)
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(superDigits[c-'0'])
	}
	return b.String()
}

// rowScaler picks one scale (n, µ, m, Ki, Mi, ...) for a whole row so its
// columns line up.
func (t *Table) rowScaler(row benchproc.Key) benchunit.Scaler {
	var values []float64
	for _, col := range t.Cols {
		if c, ok := t.Cells[CellKey{row, col}]; ok {
			values = append(values, c.Summary.Center)
		}
	}
	return benchunit.CommonScale(values, benchunit.ClassOf(t.Unit))
}

func width(s string) int { return utf8.RuneCountInString(s) }

func padLeft(s string, w int) string  { return strings.Repeat(" ", max(0, w-width(s))) + s }
func padRight(s string, w int) string { return s + strings.Repeat(" ", max(0, w-width(s))) }
func center(s string, w int) string {
	d := max(0, w-width(s))
	return strings.Repeat(" ", d/2) + s + strings.Repeat(" ", d-d/2)
}

// colText holds the formatted pieces of one logical column, one entry
// per body row (the geomean row last).
type colText struct {
	center, rng, foot1, delta, pinfo, foot2 []string
	wC, wR, wF1, wD, wP, wF2                int
	baseW, deltaW, w                        int
}

func (c *colText) base(i int) string {
	s := padLeft(c.center[i], c.wC)
	if c.rng[i] != "" {
		s += " ± " + padLeft(c.rng[i], c.wR)
	} else {
		s += strings.Repeat(" ", 3+c.wR)
	}
	if c.wF1 > 0 {
		s += " " + padRight(c.foot1[i], c.wF1)
	}
	return padRight(s, c.baseW)
}

func (c *colText) cmp(i int) string {
	s := "  " + padLeft(c.delta[i], c.wD) + " " + padRight(c.pinfo[i], c.wP)
	if c.wF2 > 0 {
		s += " " + padRight(c.foot2[i], c.wF2)
	}
	return padRight(s, c.deltaW)
}

func (t *Table) writeText(w io.Writer, fullNames bool) {
	var notes footnotes
	nBody := len(t.Rows)
	showGeo := len(t.Rows) > 1
	if showGeo {
		nBody++
	}
	labels := make([]string, 0, nBody)
	for _, r := range t.Rows {
		labels = append(labels, r.StringValues())
	}
	var common []string
	if !fullNames {
		labels, common = shortLabels(labels)
	}
	if showGeo {
		labels = append(labels, "geomean")
	}
	cols := make([]*colText, len(t.Cols))
	for ci := range t.Cols {
		c := &colText{}
		for _, p := range []*[]string{&c.center, &c.rng, &c.foot1, &c.delta, &c.pinfo, &c.foot2} {
			*p = make([]string, nBody)
		}
		cols[ci] = c
	}
	for ri, row := range t.Rows {
		scaler := t.rowScaler(row)
		for ci, col := range t.Cols {
			cell, ok := t.Cells[CellKey{row, col}]
			if !ok {
				continue
			}
			c := cols[ci]
			c.center[ri] = scaler.Format(cell.Summary.Center)
			c.rng[ri] = cell.Summary.PctRangeString()
			c.foot1[ri] = notes.mark(cell.Warnings, cell.Sample.Warnings, cell.Summary.Warnings)
			if ci > 0 && cell.Baseline != nil {
				c.delta[ri] = cell.Delta()
				c.pinfo[ri] = "(" + cell.Comparison.String() + ")"
				c.foot2[ri] = notes.mark(cell.Comparison.Warnings)
			}
		}
	}
	if showGeo {
		gi := nBody - 1
		class := benchunit.ClassOf(t.Unit)
		for ci, g := range t.Geomeans {
			c := cols[ci]
			if g.HasCenter {
				c.center[gi] = benchunit.Scale(g.Center, class)
			}
			if ci == 0 {
				c.foot1[gi] = notes.mark(g.Warnings)
				continue
			}
			if g.HasRatio {
				c.delta[gi] = fmt.Sprintf("%+.2f%%", (g.Ratio-1)*100)
			} else {
				c.delta[gi] = "?"
			}
			c.foot2[gi] = notes.mark(g.Warnings)
		}
	}

	// Widths: body first, then grow columns for headers that are wider.
	for ci, c := range cols {
		for i := 0; i < nBody; i++ {
			c.wC = max(c.wC, width(c.center[i]))
			c.wR = max(c.wR, width(c.rng[i]))
			c.wF1 = max(c.wF1, width(c.foot1[i]))
			c.wD = max(c.wD, width(c.delta[i]))
			c.wP = max(c.wP, width(c.pinfo[i]))
			c.wF2 = max(c.wF2, width(c.foot2[i]))
		}
		c.baseW = c.wC + 3 + c.wR
		if c.wF1 > 0 {
			c.baseW += 1 + c.wF1
		}
		c.baseW = max(c.baseW, width(t.Unit))
		c.w = c.baseW
		if ci > 0 {
			c.deltaW = 2 + c.wD + 1 + c.wP
			if c.wF2 > 0 {
				c.deltaW += 1 + c.wF2
			}
			c.deltaW = max(c.deltaW, width("  vs base"))
			c.w += c.deltaW
		}
	}
	const margin = 3 // " │ " in headers, spaces in the body
	spanWidth := func(start, n int) int {
		s := 0
		for _, c := range cols[start : start+n] {
			s += c.w
		}
		return s + margin*(n-1)
	}
	kh := benchproc.NewKeyHeader(t.Cols)
	var levels [][]*benchproc.KeyHeaderNode
	for nodes := kh.Top; len(nodes) > 0; {
		levels = append(levels, nodes)
		var next []*benchproc.KeyHeaderNode
		for _, n := range nodes {
			next = append(next, n.Children...)
		}
		nodes = next
	}
	for _, nodes := range levels {
		for _, n := range nodes {
			if d := width(n.Value) - spanWidth(n.Start, n.Len); d > 0 {
				cols[n.Start+n.Len-1].w += d
			}
		}
	}
	wL := 0
	for _, l := range labels {
		wL = max(wL, width(l))
	}

	var b strings.Builder
	if len(common) > 0 {
		fmt.Fprintf(&b, "every row: %s\n", strings.Join(common, "/"))
	}
	for _, nodes := range levels {
		b.WriteString(strings.Repeat(" ", wL))
		for _, n := range nodes {
			b.WriteString(" │ ")
			b.WriteString(center(n.Value, spanWidth(n.Start, n.Len)))
		}
		b.WriteString(" │\n")
	}
	b.WriteString(strings.Repeat(" ", wL))
	for ci, c := range cols {
		b.WriteString(" │ ")
		s := center(t.Unit, c.baseW)
		if ci > 0 {
			s += padRight("  vs base", c.deltaW)
		}
		b.WriteString(padRight(s, c.w))
	}
	b.WriteString(" │\n")
	for i := 0; i < nBody; i++ {
		line := padRight(labels[i], wL)
		for ci, c := range cols {
			s := c.base(i)
			if ci > 0 {
				s += c.cmp(i)
			}
			line += strings.Repeat(" ", margin) + padRight(s, c.w)
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	for i, n := range notes.list {
		fmt.Fprintf(&b, "%s %s\n", superscript(i+1), n)
	}
	io.WriteString(w, b.String())
}
