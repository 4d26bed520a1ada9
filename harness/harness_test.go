package harness

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resbench/resbench/harness/internal/filelock"
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "resbench-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("RESBENCH_CACHE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Millisecond
	}
	return d
}

func TestStats(t *testing.T) {
	s := Stats(ms(5, 1, 4, 2, 3, 10, 6, 7, 8, 9))
	if s.Min != ms(1)[0] || s.Max != ms(10)[0] || s.Median != 5500*time.Microsecond || s.P90 != ms(9)[0] || s.N != 10 {
		t.Errorf("stats %+v", s)
	}
	if !(s.CILow <= s.Median && s.Median <= s.CIHigh) || s.CILow == s.CIHigh {
		t.Errorf("median CI [%v, %v] must bracket %v", s.CILow, s.CIHigh, s.Median)
	}
	// The exact binomial 95% interval: ranks 2 and 9 of 10.
	if s.CILow != ms(2)[0] || s.CIHigh != ms(9)[0] {
		t.Errorf("n=10: median CI [%v, %v], want [2ms, 9ms]", s.CILow, s.CIHigh)
	}
	// Ranks 18 and 33 of 50.
	var fifty []int
	for i := 1; i <= 50; i++ {
		fifty = append(fifty, i)
	}
	if s := Stats(ms(fifty...)); s.CILow != ms(18)[0] || s.CIHigh != ms(33)[0] {
		t.Errorf("n=50: median CI [%v, %v], want [18ms, 33ms]", s.CILow, s.CIHigh)
	}
	// Coverage: the interval holds the true median (0.5 of a uniform) in
	// at least 95% of samples (96.7% exactly for n = 50; one rank
	// narrower on each side would give 93.5%).
	r := rand.New(rand.NewPCG(1, 2))
	hits, trials := 0, 4000
	for range trials {
		d := make([]time.Duration, 50)
		for i := range d {
			d[i] = time.Duration(r.Float64() * 1e9)
		}
		if s := Stats(d); s.CILow <= 5e8 && 5e8 <= s.CIHigh {
			hits++
		}
	}
	if cover := float64(hits) / float64(trials); cover < 0.95 {
		t.Errorf("median CI covers the median in %.1f%% of samples, want ≥ 95%%", 100*cover)
	}
}

// --min-time and --target-ci without --max-count keep timing past --count:
// a fixed count is the default only when nothing asks for more.
func TestMaxCountDefaults(t *testing.T) {
	for _, tc := range []struct {
		opt  RunOptions
		want int
	}{
		{RunOptions{MinCount: 3}, 3},
		{RunOptions{MinCount: 3, MinTime: time.Second}, math.MaxInt},
		{RunOptions{MinCount: 3, TargetCI: 0.02}, CIMaxCount},
		{RunOptions{MinCount: 3, TargetCI: 0.02, MaxTime: time.Second}, math.MaxInt},
		{RunOptions{MinCount: 3, MaxCount: 5, MinTime: time.Second}, 5},
		{RunOptions{MinCount: 30, MaxCount: 5}, 30},
	} {
		if got := effectiveMaxCount(tc.opt); got != tc.want {
			t.Errorf("%+v: max count %d, want %d", tc.opt, got, tc.want)
		}
	}
	c := Cell{Model: "resnet18", Form: variants.FormC, Fusion: "all", Kernel: "im2col", Size: 32, Batch: 1, Threads: 1}
	res, err := Measure(context.Background(), c, RunOptions{MinCount: 2, MinTime: 200 * time.Millisecond, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The timed inferences themselves add up to nearly the 200 ms (the
	// loop's own work between them is small), however loaded the machine.
	var sum time.Duration
	for _, d := range res.Latencies {
		sum += d
	}
	if n := len(res.Latencies); n <= 2 || sum < 150*time.Millisecond {
		t.Errorf("--count 2 --min-time 200ms stopped after %d inferences, %v in all", n, sum)
	}
}

func TestStoppingRule(t *testing.T) {
	steady := ms(10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10)
	noisy := ms(10, 30, 5, 22, 9, 40, 3, 18, 27, 11, 2, 35)
	opt := RunOptions{MinCount: 5, MaxCount: 100, TargetCI: 0.02}
	if !done(steady, time.Second, opt) {
		t.Error("a steady series with n ≥ MinCount should stop")
	}
	if done(noisy, time.Second, opt) {
		t.Error("a noisy series should keep going towards the CI target")
	}
	if done(steady[:3], time.Second, opt) {
		t.Error("must reach MinCount")
	}
	if done(steady, time.Millisecond, RunOptions{MinCount: 5, MaxCount: 100, MinTime: time.Second}) {
		t.Error("must reach MinTime")
	}
	// Five equal runs have a zero-width [min, max], but that brackets the
	// median with 94% only: no 95% interval yet, so keep timing.
	if s := Stats(steady[:5]); s.CI95 || !Stats(steady[:6]).CI95 {
		t.Errorf("CI95 at n=5 %v, n=6 %v: want false, true", s.CI95, Stats(steady[:6]).CI95)
	}
	if done(steady[:5], time.Second, opt) {
		t.Error("the CI target needs at least 6 runs")
	}
	// At n = 6 the interval is [min, max]: here [1000, 1059] around a
	// median of 1000, a half-width under 3% but an upper end 5.9% out.
	if done(ms(1000, 1000, 1000, 1000, 1000, 1059), time.Second, RunOptions{MinCount: 5, MaxCount: 100, TargetCI: 0.03}) {
		t.Error("a lopsided interval with one end beyond ±F must not stop")
	}
	if !done(ms(1000, 1000, 1000, 1000, 1000, 1029), time.Second, RunOptions{MinCount: 5, MaxCount: 100, TargetCI: 0.03}) {
		t.Error("an interval within ±F on both sides should stop")
	}
	if !done(noisy, time.Second, RunOptions{MinCount: 5, MaxCount: 12, TargetCI: 0.001}) {
		t.Error("must stop at MaxCount")
	}
	if !done(noisy, time.Hour, RunOptions{MinCount: 5, MaxCount: 1000, TargetCI: 0.001, MaxTime: time.Minute}) {
		t.Error("must stop at MaxTime")
	}
}

// A deliberately wrong kernel (one conv's output nudged by 1%) must be
// reported as a FAILED cell, never as a fast one.
func TestWrongKernelFailsParity(t *testing.T) {
	c := Cell{Model: "resnet18", Form: variants.FormC, Fusion: "all", Kernel: "im2col", Size: 32, Batch: 1, Threads: 1}
	opt := RunOptions{MinCount: 2, Parity: 2, Seed: 1, WrapConv: func(node string, conv kernels.Conv) kernels.Conv {
		if node == "layer3.0.conv1" {
			return wrong{conv}
		}
		return conv
	}}
	res, err := Measure(context.Background(), c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parity == nil || !res.Parity.Failed {
		t.Fatalf("a wrong kernel passed parity: %+v", res.Parity)
	}
	// The same cell without the fault passes.
	opt.WrapConv = nil
	if res, err = Measure(context.Background(), c, opt); err != nil || res.Parity.Failed {
		t.Fatalf("the correct kernel failed: %v %+v", err, res.Parity)
	}
	// And the failure reaches the result file.
	var b strings.Builder
	w := NewResultWriter(&b, CurrentEnv())
	res.Parity.Failed = true
	if err := w.Write(res); err != nil || !strings.Contains(b.String(), "1 parity-fail") {
		t.Errorf("FAILED cell not marked in the results: %v\n%s", err, b.String())
	}
}

// TestNaNKernelResultsReadBack: a kernel that writes NaN fails parity, and
// its results file holds only finite numbers, so compare and gate can read
// it and report the failure.
func TestNaNKernelResultsReadBack(t *testing.T) {
	c := Cell{Model: "resnet18", Form: variants.FormC, Fusion: "all", Kernel: "im2col", Size: 32, Batch: 1, Threads: 1}
	opt := RunOptions{MinCount: 2, Parity: 1, Seed: 1, WrapConv: func(node string, conv kernels.Conv) kernels.Conv {
		if node == "layer3.0.conv1" {
			return nanConv{conv}
		}
		return conv
	}}
	res, err := Measure(context.Background(), c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parity == nil || !res.Parity.Failed {
		t.Fatalf("a NaN kernel passed parity: %+v", res.Parity)
	}
	var b strings.Builder
	if err := NewResultWriter(&b, CurrentEnv()).Write(res); err != nil {
		t.Fatal(err)
	}
	if text := b.String(); strings.Contains(text, "Inf") || strings.Contains(text, "NaN") || !strings.Contains(text, "1 parity-fail") {
		t.Errorf("results of a NaN kernel:\n%s", text)
	}
}

type nanConv struct{ kernels.Conv }

func (w nanConv) Run(in, out, res, ws []float32) {
	w.Conv.Run(in, out, res, ws)
	out[0] = float32(math.NaN())
}

type wrong struct{ kernels.Conv }

func (w wrong) Run(in, out, res, ws []float32) {
	w.Conv.Run(in, out, res, ws)
	for i := range out {
		out[i] *= 1.01
	}
}

func TestCellsAndShards(t *testing.T) {
	m := Matrix{Models: []string{"resnet50", "se-resnext50"}, Forms: []variants.Form{variants.FormC, variants.FormA},
		Fusions: "none,each,all,all-but-one", Kernels: []string{"auto", "im2col"}, Batches: []int{1, 8}, Threads: []int{1, 2}, Size: 224}
	cells, err := m.Cells()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range cells {
		if names[c.Name()] {
			t.Fatalf("duplicate cell %s", c.Name())
		}
		names[c.Name()] = true
	}
	if !names["Model/model=se-resnext50-32x4d/form=a/fusion=all/kernel=auto/size=224/batch=8/threads=2"] ||
		!names["Model/model=resnet50/fusion=all-but-bn-fold/kernel=im2col/size=224/batch=1/threads=1"] ||
		!names["Model/model=resnet50/fusion=none/kernel=auto/size=224/batch=1/threads=1"] {
		t.Errorf("expected cells missing from %d cells", len(cells))
	}
	// Shards are disjoint, cover everything, and are the same every time.
	var union []string
	for i := range 3 {
		for _, c := range Shard(cells, i, 3) {
			union = append(union, c.Name())
		}
	}
	if len(union) != len(cells) {
		t.Errorf("shards cover %d of %d cells", len(union), len(cells))
	}
	again, _ := m.Cells()
	if !slices.EqualFunc(cells, again, func(a, b Cell) bool { return a == b }) {
		t.Error("cell order is not deterministic")
	}
	if slices.ContainsFunc(m.Settings(RunOptions{}), func(kv [2]string) bool { return kv[0] == "matrix-strides" }) {
		t.Error("a default-layout matrix writes matrix-strides: files from before the axis would not resume")
	}
	for _, bad := range []string{"3/3", "-1/2", "1", "a/b", "0/0"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

// TestStrideLayoutCells checks the stride-layout axis: bottleneck models
// take every layout, basic-block models only the default, the original
// layout's cells are named stride=1x1 and build with the stride on the
// first 1x1, and the settings record the axis.
func TestStrideLayoutCells(t *testing.T) {
	m := Matrix{Models: []string{"resnet18", "resnet50"}, StrideOn1x1: []bool{false, true}, Forms: []variants.Form{variants.FormC},
		Fusions: "none,all", Kernels: []string{"auto"}, Batches: []int{1}, Threads: []int{1}, Size: 64}
	cells, err := m.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cells {
		names = append(names, c.Name())
	}
	want := []string{
		"Model/model=resnet18/fusion=none/kernel=auto/size=64/batch=1/threads=1",
		"Model/model=resnet18/fusion=all/kernel=auto/size=64/batch=1/threads=1",
		"Model/model=resnet50/fusion=none/kernel=auto/size=64/batch=1/threads=1",
		"Model/model=resnet50/fusion=all/kernel=auto/size=64/batch=1/threads=1",
		"Model/model=resnet50/stride=1x1/fusion=none/kernel=auto/size=64/batch=1/threads=1",
		"Model/model=resnet50/stride=1x1/fusion=all/kernel=auto/size=64/batch=1/threads=1",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("cells\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	g, err := cells[4].Build(1)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.Node("layer2.0.conv1"); n == nil || n.Shape.H != 8 {
		t.Errorf("stride=1x1 cell: layer2.0.conv1 is %v, want 8x8 (stride 2 on the 1x1 at size 64)", n)
	}
	found := false
	for _, kv := range m.Settings(RunOptions{}) {
		if kv[0] == "matrix-strides" {
			found = kv[1] == "3x3,1x1"
		}
	}
	if !found {
		t.Error("settings lack matrix-strides = 3x3,1x1")
	}
}

func TestReadConfig(t *testing.T) {
	cfg, err := ReadConfig("m.conf", strings.NewReader("# sweep\nmodels = resnet50, se-resnext50\n\nthreads=1,2\nstride-on = 3x3, 1x1\n"))
	if err != nil || cfg["models"] != "resnet50,se-resnext50" || cfg["threads"] != "1,2" || cfg["stride-on"] != "3x3,1x1" {
		t.Fatalf("%v %v", cfg, err)
	}
	for text, want := range map[string]string{
		"models = resnet50\nbogus line\n": "m.conf:2: want key = value",
		"models = a\nflavour = b\n":       "m.conf:2: unknown key \"flavour\"",
		"kernels =\n":                     "m.conf:1: kernels has no value",
		"size = 64\n# c\nsize = 32\n":     "m.conf:3: size is set twice",
	} {
		if _, err := ReadConfig("m.conf", strings.NewReader(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want %q", text, err, want)
		}
	}
}

// TestMatrixValidate: list words are trimmed as the other list flags are,
// and an empty axis names its flag.
func TestMatrixValidate(t *testing.T) {
	m := DefaultMatrix()
	m.Models, m.Fusions = []string{"resnet18"}, "none, all"
	if err := m.Validate(); err != nil || m.Fusions != "none,all" {
		t.Errorf("--fusions \"none, all\": %v, fusions %q", err, m.Fusions)
	}
	m.Models, m.Batches = []string{"resnet18", "resnet18"}, []int{1, 1}
	if err := m.Validate(); err != nil || len(m.Models) != 1 || len(m.Batches) != 1 {
		t.Errorf("repeated values: %v, models %v, batches %v", err, m.Models, m.Batches)
	}
	m.StrideOn1x1 = []bool{true}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "bottleneck") {
		t.Errorf("--stride-on 1x1 over basic-block models only: %v", err)
	}
	m.Models = []string{"resnet18", "resnet50"}
	if err := m.Validate(); err != nil {
		t.Errorf("--stride-on 1x1 with a bottleneck model in the list: %v", err)
	}
	m.StrideOn1x1 = nil
	m.Models, m.Forms = []string{"resnet18"}, []variants.Form{variants.FormA}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "--forms applies to ResNeXt models") {
		t.Errorf("--forms a over non-ResNeXt models only: %v", err)
	}
	m.Models = []string{"resnet18", "resnext50"}
	if err := m.Validate(); err != nil {
		t.Errorf("--forms a with a ResNeXt model in the list: %v", err)
	}
	m.Forms = []variants.Form{variants.FormC}
	m.Kernels = nil
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "--kernels has no value") {
		t.Errorf("empty kernels axis: %v", err)
	}
}

// A results file cut mid-line after a kill keeps its whole cells, drops the
// partial one, and refuses a resume with other settings, naming them.
func TestScanResultsTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.txt")
	whole := "matrix-size: 64\nBenchmarkModel/model=a 1 5 ns/op 2 runs\nBenchmarkModel/model=a 1 6 ns/op 2 runs\n"
	partial := "BenchmarkModel/model=b 1 5 ns/op 3 runs\nBenchmarkModel/model=b 1 5 ns/o"
	if err := os.WriteFile(path, []byte(whole+partial), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ScanResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Cells["Model/model=a"] || d.Cells["Model/model=b"] || d.Kept != int64(len(whole)) {
		t.Errorf("cells %v kept %d (want %d)", d.Cells, d.Kept, len(whole))
	}
	err = d.CheckSettings([][2]string{{"matrix-size", "224"}})
	if err == nil || !strings.Contains(err.Error(), `matrix-size: file has "64", this run "224"`) {
		t.Errorf("settings check: %v", err)
	}
	if err := d.CheckSettings([][2]string{{"matrix-size", "64"}}); err != nil {
		t.Error(err)
	}
	// A setting the file has and the new run lacks (a sweep over both
	// stride layouts resumed without --stride-on) is a difference too.
	d.Settings["matrix-strides"] = "3x3,1x1"
	if err := d.CheckSettings([][2]string{{"matrix-size", "64"}}); err == nil || !strings.Contains(err.Error(), `matrix-strides: file has "3x3,1x1", this run 3x3 (the default)`) {
		t.Errorf("dropped stride axis: %v", err)
	}
	d.Settings["matrix-strides"] = "3x3"
	if err := d.CheckSettings([][2]string{{"matrix-size", "64"}}); err != nil {
		t.Errorf("the default stride layout, written explicitly: %v", err)
	}
	// Results with no matrix settings at all (resbench run -o) say so
	// rather than list every setting as different.
	clear(d.Settings)
	if err := d.CheckSettings([][2]string{{"matrix-size", "64"}}); err == nil || !strings.Contains(err.Error(), "no matrix settings") {
		t.Errorf("a run file: %v", err)
	}
	// benchfmt writes a million runs as 1e+06.
	big := "BenchmarkModel/model=c 1 5 ns/op 1e+06 runs\n"
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScanResults(path); err != nil {
		t.Errorf("a cell of 1e+06 runs: %v", err)
	}
	if err := os.WriteFile(path, []byte("BenchmarkFoo 10 5 ns/op\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScanResults(path); err == nil || !strings.Contains(err.Error(), "not written by resbench matrix") {
		t.Errorf("foreign file: %v", err)
	}
	// Notes or JSON given as -o by mistake: refused, not cut to nothing.
	for _, text := range []string{"my notes\nmore notes\n", `{"cell": "x"}` + "\n", "goos: linux\nTODO: measure\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ScanResults(path); err == nil || !strings.Contains(err.Error(), "not a resbench results file") {
			t.Errorf("%q scanned as results: %v", text, err)
		}
	}
	// A header alone (a run killed before its first cell), with a blank
	// line and a partial last line, is a results file with nothing done.
	if err := os.WriteFile(path, []byte("goos: linux\nmatrix-size: 32\n\nBenchmarkModel/mo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := ScanResults(path); err != nil || len(d.Cells) != 0 || d.Kept != 0 {
		t.Errorf("header only: %+v, %v", d, err)
	}
}

// With rounds, a matrix visits every cell once per round, in cell order
// within a round, writes each visit as its own block, and resuming after a
// cut mid-visit re-measures only the visits missing.
func TestMatrixRoundsInterleaveAndResume(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.txt")
	m := Matrix{Models: []string{"resnet18"}, Forms: []variants.Form{variants.FormC}, Fusions: "none,all",
		Kernels: []string{"im2col"}, Batches: []int{1}, Threads: []int{1}, Size: 32}
	var order []string
	mr := &MatrixRun{Matrix: m, Out: out, Rounds: 3, Opt: RunOptions{MinCount: 5, Parity: 1, Seed: 1},
		CellDone: func(r *Result) { order = append(order, r.Cell.Fusion) }}
	sum, err := mr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, " "); got != "none all none all none all" {
		t.Errorf("visit order %q, want the rounds interleaved", got)
	}
	if sum.Measured != 2 || len(sum.Results) != 2 || sum.Results[0].Stats.N != 6 {
		t.Fatalf("summary: %d measured, %d results, first with %d runs (want 2 cells, 3 visits × ceil(5/3)=2 runs)",
			sum.Measured, len(sum.Results), sum.Results[0].Stats.N)
	}
	if sum.Results[0].Parity == nil {
		t.Error("merged result lost the first visit's parity")
	}
	d, err := ScanResults(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range d.Visits {
		if v != 3 {
			t.Errorf("%s: %d visits in the file, want 3", name, v)
		}
	}
	// Cut the file inside the last visit: it resumes that visit only.
	data, _ := os.ReadFile(out)
	lines := strings.SplitAfter(string(data), "\n")
	cut := strings.Join(lines[:len(lines)-2], "") + lines[len(lines)-2][:10]
	if err := os.WriteFile(out, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	order = nil
	if _, err := mr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, " "); got != "all" {
		t.Errorf("resume measured %q, want only the cut visit of fusion=all", got)
	}
	if d, err = ScanResults(out); err != nil || d.Visits[Cell{Model: "resnet18", Form: variants.FormC, Fusion: "all",
		Kernel: "im2col", Size: 32, Batch: 1, Threads: 1}.Name()] != 3 || d.Kept != d.Size {
		t.Errorf("after resume: %v %v", d, err)
	}
	// A parity failure the file already holds is still reported when every
	// cell is resumed.
	data, _ = os.ReadFile(out)
	lines = strings.SplitAfter(string(data), "\n")
	marked := 0
	for i, l := range lines {
		if strings.Contains(l, "fusion=none") && strings.Contains(l, " 0 parity-fail") {
			lines[i] = strings.Replace(l, " 0 parity-fail", " 1 parity-fail", 1)
			marked++
		}
	}
	if marked == 0 {
		t.Fatalf("no parity-fail unit on the fusion=none lines:\n%s", data)
	}
	if err := os.WriteFile(out, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err = mr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != 2 || sum.Failed != 1 || len(sum.FailedCells) != 1 || !strings.Contains(sum.FailedCells[0], "fusion=none") {
		t.Errorf("resumed run: %d resumed, %d failed %v; want 2 resumed and the fusion=none cell failed", sum.Resumed, sum.Failed, sum.FailedCells)
	}
	// Another number of rounds is refused.
	mr.Rounds = 2
	if _, err := mr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "matrix-rounds") {
		t.Errorf("resuming with other rounds: %v", err)
	}
	// So is a second run on a file another process is writing (a lock on
	// another open file of the same path contends as another process's).
	mr.Rounds = 3
	held, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := filelock.TryLock(held); err != nil {
		t.Fatal(err)
	}
	if _, err := mr.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "another resbench process is writing") {
		t.Errorf("a run on a locked results file: %v", err)
	}
}

// A JSON results file whose last record was cut by a kill is trimmed to
// its whole lines before the resumed run appends.
func TestMatrixJSONPartialLine(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "m.jsonl")
	if err := os.WriteFile(js, []byte("{\"a\":1}\n{\"b\":"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := Matrix{Models: []string{"resnet18"}, Forms: []variants.Form{variants.FormC}, Fusions: "none",
		Kernels: []string{"im2col"}, Batches: []int{1}, Threads: []int{1}, Size: 32}
	mr := &MatrixRun{Matrix: m, Out: filepath.Join(dir, "m.txt"), JSON: js, Opt: RunOptions{MinCount: 2, Seed: 1, Parity: 1}}
	if _, err := mr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || lines[0] != `{"a":1}` {
		t.Fatalf("JSON file after resume:\n%s", data)
	}
	var rec struct {
		Cell   map[string]any `json:"cell"`
		Parity map[string]any `json:"parity"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Errorf("the new record does not parse: %v\n%s", err, lines[1])
	}
	// snake_case keys throughout, not Go field names.
	if rec.Cell["model"] == nil || rec.Cell["kernel"] == nil || rec.Parity["rel_l2"] == nil {
		t.Errorf("cell or parity keys are not snake_case:\n%s", lines[1])
	}
}

// A matrix stopped before its first cell leaves no empty results file.
func TestMatrixInterruptedBeforeFirstCell(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.txt")
	m := Matrix{Models: []string{"resnet18"}, Forms: []variants.Form{variants.FormC}, Fusions: "all",
		Kernels: []string{"im2col"}, Batches: []int{1}, Threads: []int{1}, Size: 32}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	mr := &MatrixRun{Matrix: m, Out: out, Opt: RunOptions{MinCount: 2, Seed: 1}}
	if _, err := mr.Run(ctx); err == nil {
		t.Fatal("a cancelled matrix reported no error")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted matrix with no cell left %s: %v", out, err)
	}
}

// FusionName gives run's selections the names matrix gives the same
// graphs ("all", "all-but-PASS"), whichever way they were spelled, and
// keeps an explicit list that names passes the model lacks.
func TestFusionNameMatchesMatrix(t *testing.T) {
	c := Cell{Model: "resnet18", Form: variants.FormC, Kernel: "naive", Size: 32, Batch: 1, Threads: 1}
	cells, err := (Matrix{Models: []string{"resnet18"}, Kernels: []string{"naive"}, Fusions: "all,all-but-one", Size: 32, Batches: []int{1}, Threads: []int{1}, Forms: []variants.Form{variants.FormC}}).Cells()
	if err != nil {
		t.Fatal(err)
	}
	matrixNames := map[string]bool{}
	for _, mc := range cells {
		matrixNames[mc.Fusion] = true
	}
	all, _ := fusion.Parse("all")
	butBN, _ := fusion.Parse("all-but-bn-fold")
	for _, tc := range []struct {
		passes []string
		byName bool
		want   string
	}{
		{all, false, "all"},
		{butBN, false, "all-but-bn-fold"},
		{nil, true, "none"},
		{[]string{"bn-fold", "se-scale-add"}, true, "bn-fold+se-scale-add"},
	} {
		got, err := FusionName(c, tc.passes, tc.byName)
		if err != nil || got != tc.want {
			t.Errorf("FusionName(%v) = %q, %v; want %q", tc.passes, got, err, tc.want)
		}
		if tc.want != "none" && !tc.byName && !matrixNames[got] {
			t.Errorf("FusionName(%v) = %q, a name the matrix does not use (%v)", tc.passes, got, matrixNames)
		}
	}
	// The applicable passes listed one by one (as "fusions --combos"
	// prints them) are "all" too.
	g, err := variants.Build("resnet18", variants.Options{Size: 32, CountOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	applicable, err := fusion.Applicable(g)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := FusionName(c, applicable, true); got != "all" {
		t.Errorf("the applicable passes %v listed: %q, want all", applicable, got)
	}
}

// The commit line: 12 digits, "-dirty" for uncommitted changes, and from
// this checkout (the tests run in it) a real hash rather than "unknown".
func TestCommit(t *testing.T) {
	if got := shortRev("0123456789abcdef0123", true); got != "0123456789ab-dirty" {
		t.Errorf("shortRev = %q", got)
	}
	if got := shortRev("0123456789abcdef0123", false); got != "0123456789ab" {
		t.Errorf("shortRev = %q", got)
	}
	if moduleOf([]byte("// comment\r\nmodule github.com/resbench/resbench\r\n\ngo 1.26\n")) != modulePath {
		t.Error("moduleOf misreads a go.mod with a comment and CRLF line ends")
	}
	// In this checkout (when git can read it: it may be missing, or
	// refuse a checkout owned by another user), the hash git gives.
	head, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("git cannot read this checkout: %v", err)
	}
	if got := commit(); !strings.HasPrefix(string(head), strings.TrimSuffix(got, "-dirty")) || len(got) < 12 {
		t.Errorf("commit() in the resbench checkout = %q, HEAD is %s", got, head)
	}
}
