package reports

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ErrNoData is wrapped by the plot functions when the results lack what
// the plot needs (latency, GFLOP/s, or a peak to compare against).
var ErrNoData = errors.New("nothing to plot")

// PlotOptions choose what a plot shows. Row, Col and Filter are
// projections and a filter as in CompareOptions: each row is one bar
// group (a category on the vertical axis) and each column one bar in
// every group, with its own color and legend entry.
type PlotOptions struct {
	Row, Col, Filter string
	// Title replaces the default title.
	Title string
	// Width is the image width in inches; 0 means 9. The height follows
	// from the number of bars.
	Width float64
}

// LatencyPlot writes a PNG to path: a horizontal bar per cell at its
// median latency, with a whisker from the 10th to the 90th percentile of
// its runs.
func LatencyPlot(files []*File, path string, opt PlotOptions) error {
	png, err := LatencyPNG(files, opt)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o666)
}

// RooflinePlot writes a PNG to path: a horizontal bar per cell at its
// median effective GFLOP/s (p10–p90 whisker), labelled with its share of
// the peak, and a vertical line at each compute peak. The peak is that of
// the file configuration (peak-gflops for 1 thread, peak-gflops-threads
// for the thread count it was measured on, scaled in between and capped at
// the cores) or, lacking it, the one implied by a
// %peak measurement (go test -bench output of bench/). Result files
// record no memory bandwidth, so the plot shows the compute ceiling of
// the roofline only. It fails with an error wrapping ErrNoData when the
// results have no GFLOP/s or no peak.
func RooflinePlot(files []*File, path string, opt PlotOptions) error {
	png, err := RooflinePNG(files, opt)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o666)
}

// LatencyPNG renders the LatencyPlot image.
func LatencyPNG(files []*File, opt PlotOptions) ([]byte, error) {
	t, err := plotTable(files, opt, "sec/op")
	if err != nil {
		return nil, err
	}
	return latencyPNG(t, opt)
}

// RooflinePNG renders the RooflinePlot image.
func RooflinePNG(files []*File, opt PlotOptions) ([]byte, error) {
	t, err := plotTable(files, opt, "GFLOP/s")
	if err != nil {
		return nil, err
	}
	return rooflinePNG(t, opt)
}

// plotTable is the one-unit table a plot draws. Plots describe the data
// as it is, so the environment checks are not applied.
func plotTable(files []*File, opt PlotOptions, unit string) (*Table, error) {
	rep, err := Analyze(files, CompareOptions{Row: opt.Row, Col: opt.Col, Filter: opt.Filter, Force: true})
	if err != nil {
		return nil, err
	}
	for _, t := range rep.Tables {
		if t.Unit == unit {
			return t, nil
		}
	}
	return nil, fmt.Errorf("%w: the results have no %s measurements", ErrNoData, unit)
}

// quantile is the q-quantile of sorted xs by linear interpolation
// between closest ranks (R's type 7).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	h := q * float64(len(xs)-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-lo)*(xs[i+1]-xs[i])
}

// shortLabels drops the "/"-separated parts that every label shares (and
// that leave the labels distinct), returning the short labels and the
// dropped parts, so the axis shows what differs and the title what does
// not.
func shortLabels(labels []string) (short, common []string) {
	if len(labels) < 2 {
		return labels, nil
	}
	split := make([][]string, len(labels))
	for i, l := range labels {
		split[i] = strings.Split(l, "/")
	}
	for _, part := range split[0] {
		shared := true
		for _, s := range split[1:] {
			if !slices.Contains(s, part) {
				shared = false
				break
			}
		}
		if shared && !slices.Contains(common, part) {
			common = append(common, part)
		}
	}
	short = make([]string, len(labels))
	seen := make(map[string]bool)
	for i, s := range split {
		var keep []string
		for _, p := range s {
			if !slices.Contains(common, p) {
				keep = append(keep, p)
			}
		}
		short[i] = strings.Join(keep, "/")
		if short[i] == "" || seen[short[i]] {
			return labels, nil
		}
		seen[short[i]] = true
	}
	return short, common
}

// palette is the Okabe–Ito color-blind-safe palette.
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255},
	color.RGBA{230, 159, 0, 255},
	color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255},
	color.RGBA{86, 180, 233, 255},
	color.RGBA{213, 94, 0, 255},
	color.RGBA{240, 228, 66, 255},
	color.RGBA{0, 0, 0, 255},
}

func paletteColor(i int) color.Color { return palette[i%len(palette)] }

// failedColor fills the bars of cells with parity failures.
var failedColor = color.RGBA{200, 30, 30, 255}

// bars is a plot.Plotter of horizontal bars with whiskers, placed in data
// coordinates so that grouped bars and their whiskers line up.
type bars struct {
	y, thick         []float64 // center and thickness, in category units
	val, lo, hi      []float64
	color            color.Color
	failed           []bool
	whisker, outline draw.LineStyle
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range b.y {
		y0, y1 := trY(b.y[i]-b.thick[i]/2), trY(b.y[i]+b.thick[i]/2)
		x0, x1 := trX(0), trX(b.val[i])
		pts := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
		fill := b.color
		if b.failed != nil && b.failed[i] {
			fill = failedColor
		}
		c.FillPolygon(fill, c.ClipPolygonXY(pts))
		c.StrokeLines(b.outline, c.ClipLinesXY(append(pts, pts[0]))...)
		if b.hi[i] > b.lo[i] {
			ym := trY(b.y[i])
			cap := (y1 - y0) / 4
			l, h := trX(b.lo[i]), trX(b.hi[i])
			c.StrokeLines(b.whisker, c.ClipLinesXY(
				[]vg.Point{{X: l, Y: ym}, {X: h, Y: ym}},
				[]vg.Point{{X: l, Y: ym - cap}, {X: l, Y: ym + cap}},
				[]vg.Point{{X: h, Y: ym - cap}, {X: h, Y: ym + cap}})...)
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin, ymax = 0, math.Inf(1), math.Inf(-1)
	for i := range b.y {
		xmax = math.Max(xmax, math.Max(b.val[i], b.hi[i]))
		ymin = math.Min(ymin, b.y[i]-b.thick[i]/2)
		ymax = math.Max(ymax, b.y[i]+b.thick[i]/2)
	}
	return
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(b.color, c.ClipPolygonY(pts))
}

// barLayout places table cells as grouped horizontal bars: row i of the
// table is category n-1-i (so the first row is at the top) and column j
// is the j-th bar of the group.
type barLayout struct {
	t      *Table
	labels []string // short row labels, bottom to top
	common []string
	series []*bars // one per column
	// per series, per bar: the cell drawn
	cells [][]*Cell
	// entries counts the legend entries newPlot made.
	entries int
}

func layoutBars(t *Table, scale float64) *barLayout {
	n, m := len(t.Rows), len(t.Cols)
	full := make([]string, n)
	for i, r := range t.Rows {
		full[i] = r.StringValues()
	}
	short, common := shortLabels(full)
	l := &barLayout{t: t, common: common, labels: make([]string, n)}
	for i := range short {
		l.labels[n-1-i] = short[i]
	}
	groupH := 0.8
	barH := groupH / float64(m)
	for j, col := range t.Cols {
		b := &bars{color: paletteColor(j)}
		b.outline = draw.LineStyle{Color: color.Gray{60}, Width: vg.Points(0.5)}
		b.whisker = draw.LineStyle{Color: color.Black, Width: vg.Points(1.2)}
		var cells []*Cell
		for i, row := range t.Rows {
			c, ok := t.Cells[CellKey{row, col}]
			if !ok {
				continue
			}
			y := float64(n-1-i) + groupH/2 - barH*(float64(j)+0.5)
			xs := c.Sample.Values
			b.y = append(b.y, y)
			b.thick = append(b.thick, barH*0.9)
			b.val = append(b.val, c.Summary.Center*scale)
			b.lo = append(b.lo, quantile(xs, 0.10)*scale)
			b.hi = append(b.hi, quantile(xs, 0.90)*scale)
			b.failed = append(b.failed, c.Failed > 0)
			cells = append(cells, c)
		}
		l.series = append(l.series, b)
		l.cells = append(l.cells, cells)
	}
	return l
}

// maxX is the largest value drawn, whiskers included.
func (l *barLayout) maxX() float64 {
	xmax := 0.0
	for _, b := range l.series {
		_, x, _, _ := b.DataRange()
		xmax = math.Max(xmax, x)
	}
	return xmax
}

func (l *barLayout) newPlot(title, xlabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	if len(l.common) > 0 {
		p.Title.Text += "\n" + strings.Join(l.common, "/")
	}
	p.X.Label.Text = xlabel
	p.X.Min = 0
	p.Add(plotter.NewGrid())
	failed := false
	for j, b := range l.series {
		p.Add(b)
		if len(l.series) > 1 {
			p.Legend.Add(l.t.Cols[j].StringValues(), b)
			l.entries++
		}
		failed = failed || slices.Contains(b.failed, true)
	}
	if failed {
		p.Legend.Add("parity FAILED", &bars{color: failedColor})
		l.entries++
	}
	p.NominalY(l.labels...)
	p.Legend.Top = true
	return p
}

// Sizes, in inches.
const (
	rowInches    = 0.15 // per bar group, between groups
	barInches    = 0.3  // per bar
	legendInches = 0.22 // per legend entry
	frameInches  = 1.4  // title, axis and margins
)

// render sizes the plot for its bars and legend and encodes it as PNG.
// The legend gets a band of its own above the bars, so it never hides
// data or the peak lines.
func (l *barLayout) render(p *plot.Plot, entries int, opt PlotOptions) ([]byte, error) {
	perRow := barInches*float64(len(l.t.Cols)) + rowInches
	n := float64(len(l.labels))
	p.Y.Min, p.Y.Max = -0.5, n-0.5
	if entries > 0 {
		p.Y.Max += (float64(entries)*legendInches + 0.1) / perRow
	}
	wIn := opt.Width
	if wIn <= 0 {
		wIn = 9
	}
	hIn := math.Max(frameInches+perRow*n+legendInches*float64(entries), 2.6)
	w, h := vg.Length(wIn)*vg.Inch, vg.Length(hIn)*vg.Inch
	c, err := draw.NewFormattedCanvas(w, h, "png")
	if err != nil {
		return nil, err
	}
	// A margin on every side: gonum measures tick labels tightly and
	// would otherwise clip the first character of long ones.
	m := vg.Points(8)
	p.Draw(draw.Crop(draw.New(c), m, -m, m/2, -m/2))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// timeScale picks seconds, milliseconds or microseconds for values in
// seconds.
func timeScale(max float64) (float64, string) {
	switch {
	case max >= 1:
		return 1, "s"
	case max >= 1e-3:
		return 1e3, "ms"
	case max >= 1e-6:
		return 1e6, "µs"
	}
	return 1e9, "ns"
}

func latencyPNG(t *Table, opt PlotOptions) ([]byte, error) {
	maxV := 0.0
	for _, c := range t.Cells {
		maxV = math.Max(maxV, c.Summary.Center)
	}
	scale, unit := timeScale(maxV)
	l := layoutBars(t, scale)
	title := opt.Title
	if title == "" {
		title = "Latency per inference: median, whiskers p10-p90"
	}
	p := l.newPlot(title, "latency ("+unit+")")
	p.X.Max = l.maxX() * 1.05
	return l.render(p, l.entries, opt)
}

// cellPeak is the compute peak, in GFLOP/s, that applies to a result and
// a label naming it, or ok=false if the result records none.
func cellPeak(r *benchfmt.Result) (peak float64, label string, ok bool) {
	threads, nameISA := 0, ""
	_, parts := r.Name.Parts()
	for _, p := range parts {
		if v, found := strings.CutPrefix(string(p), "/threads="); found {
			threads, _ = strconv.Atoi(v)
		}
		// bench/'s Sgemm names its tier: each tier has its own peak.
		if v, found := strings.CutPrefix(string(p), "/isa="); found {
			nameISA = v
		}
	}
	num := func(key string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(r.GetConfig(key)), 64)
		if err != nil || !(v > 0) {
			return 0
		}
		return v
	}
	p1, pAll, cores := num("peak-gflops"), num("peak-gflops-threads"), int(num("cores"))
	isa := r.GetConfig("isa")
	if isa == "" {
		isa = "FMA"
	}
	if p1 > 0 {
		switch {
		case threads <= 1:
			return p1, isa + " peak, 1 thread", true
		case pAll > 0 && (cores == 0 || threads >= cores):
			return pAll, fmt.Sprintf("%s peak, %d threads", isa, threads), true
		case pAll > 0:
			return math.Min(p1*float64(threads), pAll), fmt.Sprintf("%s peak, %d threads", isa, threads), true
		case cores > 0 && threads > cores:
			// More threads than cores share them: no more than a core each.
			return p1 * float64(cores), fmt.Sprintf("%s peak x %d cores", isa, cores), true
		default:
			return p1 * float64(threads), fmt.Sprintf("%s peak x %d threads", isa, threads), true
		}
	}
	pct, ok1 := r.Value("%peak")
	g, ok2 := r.Value("GFLOP/s")
	if ok1 && ok2 && pct > 0 && g > 0 {
		peak = g / (pct / 100)
		label = "peak implied by %peak"
		if nameISA != "" {
			label = nameISA + " " + label
		}
		if threads > 0 {
			label += fmt.Sprintf(", %d thread(s)", threads)
		}
		return peak, label, true
	}
	return 0, "", false
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantile(s, 0.5)
}

func rooflinePNG(t *Table, opt PlotOptions) ([]byte, error) {
	l := layoutBars(t, 1)
	// Peaks: one per cell (median over its results), and one line per
	// distinct label (median over the cells that share it).
	type line struct {
		label string
		peaks []float64
	}
	var lines []*line
	byLabel := make(map[string]*line)
	var lx, ly []float64
	var ltext []string
	mixed := 0 // bars whose results have different peaks
	for j, cells := range l.cells {
		b := l.series[j]
		for i, c := range cells {
			var peaks []float64
			var label string
			labels := map[string]bool{}
			for _, r := range c.Unfiltered {
				if pk, lb, ok := cellPeak(r); ok {
					peaks = append(peaks, pk)
					label = lb
					labels[lb] = true
				}
			}
			if len(peaks) == 0 {
				continue
			}
			if len(labels) > 1 {
				// A row that merges thread counts or tiers (-row
				// /model over --threads 1,2) has no one ceiling: a
				// median of theirs would be neither.
				mixed++
				continue
			}
			pk := median(peaks)
			ln := byLabel[label]
			if ln == nil {
				ln = &line{label: label}
				byLabel[label] = ln
				lines = append(lines, ln)
			}
			ln.peaks = append(ln.peaks, pk)
			lx = append(lx, math.Max(b.val[i], b.hi[i]))
			ly = append(ly, b.y[i])
			ltext = append(ltext, fmt.Sprintf("%.0f%%", 100*c.Summary.Center/pk))
		}
	}
	if len(lines) == 0 && mixed > 0 {
		return nil, fmt.Errorf("%w: every bar merges results with different compute peaks (thread counts or ISA tiers); split them with -row or -col, e.g. -col /threads", ErrNoData)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: the results record no compute peak (no peak-gflops configuration line and no %%peak measurement)", ErrNoData)
	}
	title := opt.Title
	if title == "" {
		title = "Effective GFLOP/s against the measured FMA peak (median, p10-p90)"
	}
	if mixed > 0 {
		title += fmt.Sprintf(" (%d bars merge different peaks: no share shown)", mixed)
	}
	p := l.newPlot(title, "GFLOP/s")
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xysOf(lx, ly), Labels: ltext})
	if err != nil {
		return nil, err
	}
	labels.Offset = vg.Point{X: vg.Points(4), Y: -vg.Points(4)}
	p.Add(labels)
	xmax := l.maxX()
	for k, ln := range lines {
		pk := median(ln.peaks)
		xmax = math.Max(xmax, pk)
		pl, err := plotter.NewLine(plotter.XYs{{X: pk, Y: -0.5}, {X: pk, Y: float64(len(l.labels)) - 0.5}})
		if err != nil {
			return nil, err
		}
		pl.LineStyle = draw.LineStyle{Color: color.RGBA{180, 0, 0, 255}, Width: vg.Points(1.5),
			Dashes: [][]vg.Length{{vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(1), vg.Points(3)}}[k%3]}
		p.Add(pl)
		p.Legend.Add(fmt.Sprintf("%s: %.1f GFLOP/s", ln.label, pk), pl)
	}
	p.X.Max = xmax * 1.12
	return l.render(p, l.entries+len(lines), opt)
}

func xysOf(x, y []float64) plotter.XYs {
	xys := make(plotter.XYs, len(x))
	for i := range x {
		xys[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return xys
}
