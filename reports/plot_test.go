package reports

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkPNG decodes a PNG and requires a real picture: a sensible size
// and more than a handful of colors (bars, text, axes, anti-aliasing).
func checkPNG(t *testing.T, what string, data []byte) image.Image {
	t.Helper()
	if len(data) < 5000 {
		t.Errorf("%s: PNG is only %d bytes", what, len(data))
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 200 {
		t.Errorf("%s: image is %dx%d", what, b.Dx(), b.Dy())
	}
	colors := make(map[[4]uint32]bool)
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colors) < 8 {
		t.Errorf("%s: only %d distinct colors; is anything drawn?", what, len(colors))
	}
	return img
}

// hasColor reports whether the image has a pixel close to the color.
func hasColor(img image.Image, r0, g0, b0 uint8) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(r>>8, uint32(r0)) < 8 && absDiff(g>>8, uint32(g0)) < 8 && absDiff(bl>>8, uint32(b0)) < 8 {
				return true
			}
		}
	}
	return false
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func readAll(t *testing.T, args ...string) []*File {
	t.Helper()
	files, err := ReadFiles(args)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestLatencyPlot(t *testing.T) {
	dir := t.TempDir()
	files := readAll(t, "old="+data("synth-old.txt"), "new="+data("synth-faster30.txt"))
	path := filepath.Join(dir, "latency.png")
	if err := LatencyPlot(files, path, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, "latency", raw)
	// Two columns: the first two palette colors fill bars.
	if !hasColor(img, 0, 114, 178) || !hasColor(img, 230, 159, 0) {
		t.Errorf("latency plot lacks the bar colors of its two columns")
	}
	// Grouped by a projection, from a single file.
	png, err := LatencyPNG(readAll(t, data("synth-old.txt")), PlotOptions{Row: "/model", Col: "/fusion"})
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, "latency by /model and /fusion", png)
}

func TestRooflinePlot(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"config peak", []string{data("synth-old.txt"), data("synth-rerun.txt")}},
		{"%peak unit", []string{data("real-conv.txt")}},
		{"real run", []string{data("real-fusion-all.txt"), data("real-fusion-none.txt")}},
		// The filter keeps GFLOP/s only; the peak still comes from the
		// results' %peak.
		{"%peak unit filtered", []string{data("real-conv.txt")}},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".png")
		opt := PlotOptions{}
		if strings.HasSuffix(c.name, "filtered") {
			opt.Filter = ".unit:GFLOP/s"
		}
		if err := RooflinePlot(readAll(t, c.args...), path, opt); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img := checkPNG(t, c.name, raw)
		if !hasColor(img, 180, 0, 0) {
			t.Errorf("%s: no peak line drawn", c.name)
		}
	}
}

func TestParityFailureIsRed(t *testing.T) {
	png, err := LatencyPNG(readAll(t, data("synth-parity.txt")), PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasColor(checkPNG(t, "parity", png), 200, 30, 30) {
		t.Errorf("failed cells are not drawn red")
	}
	png, err = LatencyPNG(readAll(t, data("synth-old.txt")), PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hasColor(checkPNG(t, "no parity failures", png), 200, 30, 30) {
		t.Errorf("red bars without parity failures")
	}
}

func TestPlotsNeedData(t *testing.T) {
	noGFLOPS, err := Read("latency-only.txt", strings.NewReader("cpu: X\nBenchmarkA 1 100 ns/op\nBenchmarkA 1 110 ns/op\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RooflinePNG([]*File{noGFLOPS}, PlotOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("roofline without GFLOP/s: err = %v, want ErrNoData", err)
	}
	noPeak, err := Read("no-peak.txt", strings.NewReader("cpu: X\nBenchmarkA/threads=1 1 100 ns/op 20 GFLOP/s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RooflinePNG([]*File{noPeak}, PlotOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("roofline without a peak: err = %v, want ErrNoData", err)
	}
	onlyGFLOPS, err := Read("gflops.txt", strings.NewReader("BenchmarkA 1 20 GFLOP/s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LatencyPNG([]*File{onlyGFLOPS}, PlotOptions{}); !errors.Is(err, ErrNoData) {
		t.Errorf("latency without sec/op: err = %v, want ErrNoData", err)
	}
	if err := LatencyPlot([]*File{noGFLOPS}, filepath.Join(t.TempDir(), "no", "such", "dir.png"), PlotOptions{}); err == nil {
		t.Errorf("writing into a missing directory succeeded")
	}
}

func TestCellPeak(t *testing.T) {
	f, err := Read("p.txt", strings.NewReader(`cores: 4
isa: avx512
peak-gflops: 100
peak-gflops-threads: 380
BenchmarkModel/model=m/threads=1 1 10 ns/op
BenchmarkModel/model=m/threads=2 1 10 ns/op
BenchmarkModel/model=m/threads=4 1 10 ns/op
peak-gflops:
peak-gflops-threads:
BenchmarkConv/threads=2-2 1 10 ns/op 25 %peak 40 GFLOP/s
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		peak  float64
		label string
	}{
		{100, "avx512 peak, 1 thread"},
		{200, "avx512 peak, 2 threads"},
		{380, "avx512 peak, 4 threads"},
		{160, "peak implied by %peak, 2 thread(s)"},
	}
	for i, r := range f.Results {
		pk, label, ok := cellPeak(r)
		if !ok || math.Abs(pk-want[i].peak) > 1e-9 || label != want[i].label {
			t.Errorf("result %d: %v %q %v, want %v %q", i, pk, label, ok, want[i].peak, want[i].label)
		}
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.1, 2}, {0.5, 6}, {0.9, 10}, {1, 11}, {0.25, 3.5}} {
		if got := quantile(xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := quantile([]float64{4, 8}, 0.9); math.Abs(got-7.6) > 1e-12 {
		t.Errorf("quantile of two = %v", got)
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Errorf("quantile of nothing is not NaN")
	}
}

func TestShortLabels(t *testing.T) {
	short, common := shortLabels([]string{
		"Model/model=resnet50/fusion=all/kernel=im2col/batch=1",
		"Model/model=resnet50/fusion=none/kernel=im2col/batch=1",
		"Model/model=se-resnext50-32x4d/form=c/fusion=all/kernel=im2col/batch=1",
	})
	if strings.Join(short, "|") != "model=resnet50/fusion=all|model=resnet50/fusion=none|model=se-resnext50-32x4d/form=c/fusion=all" {
		t.Errorf("short = %q", short)
	}
	if strings.Join(common, "/") != "Model/kernel=im2col/batch=1" {
		t.Errorf("common = %q", common)
	}
	// Nothing to drop, or dropping would merge labels: unchanged.
	for _, in := range [][]string{{"a/b", "c/d"}, {"x", "x/y"}, {"only/one"}} {
		if s, c := shortLabels(in); strings.Join(s, "|") != strings.Join(in, "|") || c != nil {
			t.Errorf("shortLabels(%q) = %q, %q", in, s, c)
		}
	}
}

// bench/'s Sgemm names its ISA tier; the %peak-implied peaks of two tiers
// are different lines, not one median across them.
func TestCellPeakPerNamedISA(t *testing.T) {
	f, err := Read("in.txt", strings.NewReader(
		"BenchmarkSgemm/isa=avx2/m=8/n=8/k=8/threads=1 1 100 ns/op 90 %peak 90 GFLOP/s\n"+
			"BenchmarkSgemm/isa=avx512/m=8/n=8/k=8/threads=1 1 100 ns/op 90 %peak 180 GFLOP/s\n"))
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range f.Results {
		pk, label, ok := cellPeak(r)
		if !ok || pk <= 0 {
			t.Fatalf("no peak for %s", r.Name)
		}
		labels = append(labels, label)
	}
	if labels[0] == labels[1] || !strings.HasPrefix(labels[0], "avx2 ") || !strings.HasPrefix(labels[1], "avx512 ") {
		t.Errorf("labels %q: want one per named tier", labels)
	}
}

// A row that merges thread counts has no one ceiling: the plot says to
// split it rather than draw a median of the 1- and 2-thread peaks.
func TestRooflineMixedPeaks(t *testing.T) {
	f, err := Read("in.txt", strings.NewReader("isa: avx2\ncores: 2\npeak-gflops: 100\npeak-gflops-threads: 180\n"+
		"BenchmarkModel/model=a/threads=1 1 100 ns/op 50 GFLOP/s\n"+
		"BenchmarkModel/model=a/threads=2 1 100 ns/op 90 GFLOP/s\n"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "r.png")
	if err := RooflinePlot([]*File{f}, path, PlotOptions{Row: "/model"}); err == nil || !strings.Contains(err.Error(), "split them") {
		t.Errorf("merged thread counts: %v", err)
	}
	if err := RooflinePlot([]*File{f}, path, PlotOptions{Row: "/model", Col: "/threads"}); err != nil {
		t.Errorf("split by threads: %v", err)
	}
}
