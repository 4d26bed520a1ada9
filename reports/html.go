package reports

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"golang.org/x/perf/benchunit"
)

// HTMLOptions configure the HTML report.
type HTMLOptions struct {
	// Title is the page title; "resbench report" by default.
	Title string
	// Compare sets the grouping, filter, statistics and Force for the
	// summary and comparison tables and for the plots.
	Compare CompareOptions
	// NoPlots leaves the plots out.
	NoPlots bool
}

// HTML reads the result files named by paths (see ReadFiles) and writes
// one self-contained HTML page to w; see WriteHTML.
func HTML(w io.Writer, paths []string, opt HTMLOptions) error {
	files, err := ReadFiles(paths)
	if err != nil {
		return err
	}
	return WriteHTML(w, files, opt)
}

// WriteHTML writes one self-contained HTML page describing files: the
// environment (every file configuration key, per file, with the keys
// that differ between files marked), warnings, a summary table per unit
// (median, confidence interval, ± percent and n per cell, parity
// failures highlighted; see ParityFailed), a comparison table per unit
// when there is more than one column (one per file by default), and the
// latency and roofline plots as PNG data: URIs. The page loads nothing:
// no scripts, stylesheets, fonts or images from elsewhere. The same
// refusal rules as Compare apply.
func WriteHTML(w io.Writer, files []*File, opt HTMLOptions) error {
	rep, err := Analyze(files, opt.Compare)
	if err != nil {
		return err
	}
	page := htmlPage{Title: opt.Title}
	if page.Title == "" {
		page.Title = "resbench report"
	}
	for _, f := range files {
		page.Files = append(page.Files, f.Label)
	}
	for _, line := range rep.Warnings {
		page.Warnings = append(page.Warnings, htmlWarning{Text: line, Loud: strings.HasPrefix(line, "WARNING")})
	}
	page.EnvRows = envRows(files)
	for _, t := range rep.Tables {
		page.Summaries = append(page.Summaries, summaryTable(t))
		if len(t.Cols) > 1 {
			page.Comparisons = append(page.Comparisons, comparisonTable(t))
		}
	}
	if !opt.NoPlots {
		po := PlotOptions{Row: opt.Compare.Row, Col: opt.Compare.Col, Filter: opt.Compare.Filter}
		for _, t := range rep.Tables {
			var png []byte
			var title string
			switch t.Unit {
			case "sec/op":
				png, err = latencyPNG(t, po)
				title = "Latency"
			case "GFLOP/s":
				png, err = rooflinePNG(t, po)
				title = "Effective GFLOP/s against the peak"
			default:
				continue
			}
			if errors.Is(err, ErrNoData) {
				continue
			}
			if err != nil {
				return fmt.Errorf("plotting %s: %v", t.Unit, err)
			}
			page.Plots = append(page.Plots, htmlPlot{Title: title,
				Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))})
		}
	}
	return pageTemplate.Execute(w, page)
}

type htmlPage struct {
	Title       string
	Files       []string
	Warnings    []htmlWarning
	EnvRows     []htmlEnvRow
	Summaries   []htmlTable
	Comparisons []htmlTable
	Plots       []htmlPlot
}

type htmlWarning struct {
	Text string
	Loud bool
}

type htmlEnvRow struct {
	Key     string
	Values  []string
	Differs bool
}

type htmlPlot struct {
	Title string
	Src   template.URL
}

type htmlTable struct {
	Unit   string
	Header []string
	Rows   []htmlRow
	Notes  []string
}

type htmlRow struct {
	Class string
	Cells []htmlCell
}

type htmlCell struct {
	Text  string
	Class string
}

func envRows(files []*File) []htmlEnvRow {
	var keys []string
	for _, f := range files {
		for _, c := range f.Config {
			if !containsString(keys, c.Key) {
				keys = append(keys, c.Key)
			}
		}
	}
	rows := make([]htmlEnvRow, 0, len(keys))
	for _, k := range keys {
		r := htmlEnvRow{Key: k}
		for i, f := range files {
			v := f.Value(k)
			r.Values = append(r.Values, v)
			if i > 0 && v != r.Values[0] {
				r.Differs = true
			}
		}
		rows = append(rows, r)
	}
	return rows
}

func cellNotes(notes *footnotes, c *Cell) string {
	return notes.mark(c.Warnings, c.Sample.Warnings, c.Summary.Warnings)
}

func summaryTable(t *Table) htmlTable {
	var notes footnotes
	ht := htmlTable{Unit: t.Unit, Header: []string{"benchmark"}}
	multiCol := len(t.Cols) > 1
	if multiCol {
		ht.Header = append(ht.Header, "column")
	}
	ht.Header = append(ht.Header, "median", fmt.Sprintf("%g%% CI", 100*t.Confidence), "±", "n", "parity")
	for _, row := range t.Rows {
		scaler := t.rowScaler(row)
		for _, col := range t.Cols {
			c, ok := t.Cells[CellKey{row, col}]
			if !ok {
				continue
			}
			r := htmlRow{Cells: []htmlCell{{Text: row.StringValues(), Class: "name"}}}
			if multiCol {
				r.Cells = append(r.Cells, htmlCell{Text: col.StringValues(), Class: "name"})
			}
			median := scaler.Format(c.Summary.Center)
			if m := cellNotes(&notes, c); m != "" {
				median += " " + m
			}
			parity := htmlCell{Text: "–"} // not checked (go test output, --parity 0)
			if c.Checked > 0 {
				parity = htmlCell{Text: "ok"}
			}
			if c.Failed > 0 {
				r.Class = "failed"
				parity = htmlCell{Text: fmt.Sprintf("FAILED (%d of %d)", c.Failed, len(c.Sample.Values)), Class: "badge"}
			}
			r.Cells = append(r.Cells,
				htmlCell{Text: median, Class: "num"},
				htmlCell{Text: ciText(scaler, c.Summary.Lo, c.Summary.Hi), Class: "num"},
				htmlCell{Text: c.Summary.PctRangeString(), Class: "num"},
				htmlCell{Text: fmt.Sprint(len(c.Sample.Values)), Class: "num"},
				parity)
			ht.Rows = append(ht.Rows, r)
		}
	}
	ht.Notes = notes.list
	return ht
}

func comparisonTable(t *Table) htmlTable {
	var notes footnotes
	ht := htmlTable{Unit: t.Unit, Header: []string{"benchmark"}}
	for i, col := range t.Cols {
		ht.Header = append(ht.Header, col.StringValues())
		if i > 0 {
			ht.Header = append(ht.Header, "vs base", "p, n")
		}
	}
	for _, row := range t.Rows {
		scaler := t.rowScaler(row)
		r := htmlRow{Cells: []htmlCell{{Text: row.StringValues(), Class: "name"}}}
		for i, col := range t.Cols {
			c, ok := t.Cells[CellKey{row, col}]
			if !ok {
				r.Cells = append(r.Cells, htmlCell{})
				if i > 0 {
					r.Cells = append(r.Cells, htmlCell{}, htmlCell{})
				}
				continue
			}
			if c.Failed > 0 {
				r.Class = "failed"
			}
			text := scaler.Format(c.Summary.Center) + " ± " + c.Summary.PctRangeString()
			if m := cellNotes(&notes, c); m != "" {
				text += " " + m
			}
			r.Cells = append(r.Cells, htmlCell{Text: text, Class: "num"})
			if i == 0 {
				continue
			}
			if c.Baseline == nil {
				r.Cells = append(r.Cells, htmlCell{}, htmlCell{})
				continue
			}
			cls := "num same"
			if c.Significant() {
				better := t.Better
				if c.Summary.Center < c.Baseline.Summary.Center {
					better = -better
				}
				switch {
				case better > 0:
					cls = "num better"
				case better < 0:
					cls = "num worse"
				default:
					cls = "num changed"
				}
			}
			p := c.Comparison.String()
			if m := notes.mark(c.Comparison.Warnings); m != "" {
				p += " " + m
			}
			r.Cells = append(r.Cells, htmlCell{Text: c.Delta(), Class: cls}, htmlCell{Text: p, Class: "num"})
		}
		ht.Rows = append(ht.Rows, r)
	}
	if len(t.Rows) > 1 {
		r := htmlRow{Class: "geomean", Cells: []htmlCell{{Text: "geomean", Class: "name"}}}
		class := benchunit.ClassOf(t.Unit)
		for i, g := range t.Geomeans {
			text := "?"
			if g.HasCenter {
				text = benchunit.Scale(g.Center, class)
			}
			if i == 0 {
				if m := notes.mark(g.Warnings); m != "" {
					text += " " + m
				}
				r.Cells = append(r.Cells, htmlCell{Text: text, Class: "num"})
				continue
			}
			ratio := "?"
			if g.HasRatio {
				ratio = fmt.Sprintf("%+.2f%%", (g.Ratio-1)*100)
			}
			if m := notes.mark(g.Warnings); m != "" {
				ratio += " " + m
			}
			r.Cells = append(r.Cells, htmlCell{Text: text, Class: "num"}, htmlCell{Text: ratio, Class: "num"}, htmlCell{})
		}
		ht.Rows = append(ht.Rows, r)
	}
	ht.Notes = notes.list
	return ht
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"sup": func(i int) string { return superscript(i + 1) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.6em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; margin-bottom: .3em; }
table { border-collapse: collapse; margin-bottom: .5em; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; }
th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-family: ui-monospace, monospace; white-space: nowrap; }
td.name { font-family: ui-monospace, monospace; }
td.better { background: #dff3df; }
td.worse { background: #f9dcdc; }
td.changed { background: #fff3cd; }
tr.failed td { background: #fbd5d5; }
tr.failed td.badge { color: #fff; background: #b00020; font-weight: bold; }
tr.geomean td { font-weight: bold; border-top: 2px solid #999; }
tr.differs td { background: #fff3cd; }
.warning { padding: .5em 1em; background: #fff3cd; border-left: 4px solid #e0a800; margin: .3em 0; }
.warning.loud { background: #b00020; color: #fff; font-weight: bold; font-size: 1.1em; border-left-color: #600; }
.notes { font-size: .85em; color: #555; margin: 0 0 1em 0; padding-left: 0; list-style: none; }
img { max-width: 100%; border: 1px solid #ddd; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>Inputs: {{range $i, $f := .Files}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}</p>
{{range .Warnings}}<div class="warning{{if .Loud}} loud{{end}}">{{.Text}}</div>
{{end}}
<h2 id="environment">Environment</h2>
<table>
<tr><th>key</th>{{range .Files}}<th>{{.}}</th>{{end}}</tr>
{{range .EnvRows}}<tr{{if .Differs}} class="differs"{{end}}><td class="name">{{.Key}}</td>{{range .Values}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>

<h2 id="summary">Summary</h2>
{{range .Summaries}}<h3>{{.Unit}}</h3>
{{template "table" .}}{{end}}
{{if .Comparisons}}
<h2 id="comparison">Comparison</h2>
<p>Changes are against the first column; "~" means the Mann-Whitney U test found no significant difference.</p>
{{range .Comparisons}}<h3>{{.Unit}}</h3>
{{template "table" .}}{{end}}{{end}}
{{if .Plots}}
<h2 id="plots">Plots</h2>
{{range .Plots}}<h3>{{.Title}}</h3>
<p><img alt="{{.Title}}" src="{{.Src}}"></p>
{{end}}{{end}}
</body>
</html>
{{define "table"}}<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr{{if .Class}} class="{{.Class}}"{{end}}>{{range .Cells}}<td{{if .Class}} class="{{.Class}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{if .Notes}}<ul class="notes">{{range $i, $n := .Notes}}<li>{{sup $i}} {{$n}}</li>{{end}}</ul>
{{end}}{{end}}`))

// ciText is a confidence interval for a table cell: "lo – hi", or "∞" when
// the sample is too small for one (benchmath then gives ±Inf bounds), as
// the ± column says.
func ciText(scaler benchunit.Scaler, lo, hi float64) string {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return "∞"
	}
	return scaler.Format(lo) + " – " + scaler.Format(hi)
}
