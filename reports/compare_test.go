package reports

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// compareCases are golden comparisons: the arguments as a user would pass
// them (label=path), the options, and the golden file.
var compareCases = []struct {
	golden string
	args   []string
	opt    CompareOptions
}{
	{"compare-faster30.golden", []string{"old=" + data("synth-old.txt"), "new=" + data("synth-faster30.txt")}, CompareOptions{}},
	{"compare-same.golden", []string{"old=" + data("synth-old.txt"), "rerun=" + data("synth-rerun.txt")}, CompareOptions{}},
	{"compare-force-cpu.golden", []string{"xeon=" + data("synth-old.txt"), "epyc=" + data("synth-other-cpu.txt")},
		CompareOptions{Force: true, Units: []string{"ns/op"}}},
	{"compare-arm64.golden", []string{"amd64=" + data("synth-old.txt"), "arm64=" + data("synth-arm64.txt")},
		CompareOptions{Units: []string{"sec/op"}}},
	{"compare-gotest.golden", []string{"old=" + data("gotest-old.txt"), "new=" + data("gotest-new.txt")},
		CompareOptions{Units: []string{"sec/op", "GFLOP/s"}}},
	{"compare-projection.golden", []string{data("synth-old.txt")},
		CompareOptions{Row: "/model", Col: "/fusion", Units: []string{"sec/op", "activation-B"}}},
	{"compare-filter.golden", []string{"old=" + data("synth-old.txt"), "new=" + data("synth-faster30.txt")},
		CompareOptions{Filter: "/model:resnet50 .unit:(ns/op OR GFLOP/s)", Row: "/fusion"}},
	{"compare-real-fusion.golden", []string{data("real-fusion-all.txt"), data("real-fusion-none.txt")},
		CompareOptions{Col: "/fusion", Row: "/model", Units: []string{"sec/op", "GFLOP/s", "allocs/op"}}},
	{"compare-real-conv.golden", []string{"conv=" + data("real-conv.txt")}, CompareOptions{Units: []string{"sec/op", "%peak"}}},
	{"compare-parity.golden", []string{data("synth-parity.txt")}, CompareOptions{Row: "/model,/fusion", Units: []string{"sec/op"}}},
}

func TestCompareGolden(t *testing.T) {
	for _, c := range compareCases {
		t.Run(strings.TrimSuffix(c.golden, ".golden"), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Compare(&buf, c.args, c.opt); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.golden, buf.String())
		})
	}
}

func analyze(t *testing.T, opt CompareOptions, args ...string) *Report {
	t.Helper()
	files, err := ReadFiles(args)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(files, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func table(t *testing.T, rep *Report, unit string) *Table {
	t.Helper()
	for _, tb := range rep.Tables {
		if tb.Unit == unit {
			return tb
		}
	}
	t.Fatalf("no %s table", unit)
	return nil
}

var deltaRE = regexp.MustCompile(`([+-]\d+\.\d\d)% \(p=(\d\.\d\d\d) n=(\d+)\)`)

// TestCompareFaster30: NEW's latencies are OLD's times 0.7 with ±2%
// noise, 10 runs each, so every sec/op row must show a significant
// change of about -30%, and throughput one of about +43%.
func TestCompareFaster30(t *testing.T) {
	rep := analyze(t, CompareOptions{}, "old="+data("synth-old.txt"), "new="+data("synth-faster30.txt"))
	sec := table(t, rep, "sec/op")
	if len(sec.Rows) != len(synthCells) || len(sec.Cols) != 2 {
		t.Fatalf("sec/op table is %dx%d, want %dx2", len(sec.Rows), len(sec.Cols), len(synthCells))
	}
	for _, row := range sec.Rows {
		c := sec.Cells[CellKey{row, sec.Cols[1]}]
		if !c.Significant() {
			t.Errorf("%s: not significant (p=%v)", row.StringValues(), c.Comparison.P)
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(c.Delta(), "%"), 64)
		if err != nil || pct < -32 || pct > -28 {
			t.Errorf("%s: delta %q, want about -30%%", row.StringValues(), c.Delta())
		}
		if n := len(c.Sample.Values); n < 8 {
			t.Errorf("%s: n=%d, want >= 8", row.StringValues(), n)
		}
	}
	g := sec.Geomeans[1]
	if !g.HasRatio || g.Ratio < 0.68 || g.Ratio > 0.72 {
		t.Errorf("geomean ratio %v, want about 0.70", g.Ratio)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	secText := strings.Split(buf.String(), "\n\n")[1] // after the environment block
	if !strings.Contains(secText, "sec/op") {
		t.Fatalf("second block is not the sec/op table:\n%s", secText)
	}
	m := deltaRE.FindAllStringSubmatch(secText, -1)
	if len(m) != len(synthCells) {
		t.Fatalf("found %d deltas in the sec/op table, want %d:\n%s", len(m), len(synthCells), secText)
	}
	for _, x := range m {
		if !strings.HasPrefix(x[1], "-") || x[2] != "0.000" || x[3] != "10" {
			t.Errorf("delta %q: want a negative change with p=0.000 n=10", x[0])
		}
	}
	ips := table(t, rep, "images/s")
	for _, row := range ips.Rows {
		c := ips.Cells[CellKey{row, ips.Cols[1]}]
		pct, err := strconv.ParseFloat(strings.TrimSuffix(c.Delta(), "%"), 64)
		if err != nil || !c.Significant() || pct < 37 || pct > 49 {
			t.Errorf("images/s %s: delta %q, want about +43%% (1/0.7)", row.StringValues(), c.Delta())
		}
	}
}

// TestCompareSameDistribution: a rerun drawn from the same distribution
// shows no significant change in latency.
func TestCompareSameDistribution(t *testing.T) {
	rep := analyze(t, CompareOptions{}, "old="+data("synth-old.txt"), "rerun="+data("synth-rerun.txt"))
	sec := table(t, rep, "sec/op")
	for _, row := range sec.Rows {
		c := sec.Cells[CellKey{row, sec.Cols[1]}]
		if c.Significant() || c.Delta() != "~" {
			t.Errorf("%s: delta %q p=%v, want ~", row.StringValues(), c.Delta(), c.Comparison.P)
		}
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	if n := strings.Count(strings.Split(buf.String(), "\n\n")[1], "~ (p="); n != len(synthCells) {
		t.Errorf("sec/op table shows %d '~' cells, want %d:\n%s", n, len(synthCells), buf.String())
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("unexpected warnings %q", rep.Warnings)
	}
}

func TestCompareRefusesDifferentCPU(t *testing.T) {
	var buf bytes.Buffer
	err := Compare(&buf, []string{"xeon=" + data("synth-old.txt"), "epyc=" + data("synth-other-cpu.txt")}, CompareOptions{})
	var env *EnvError
	if !errors.As(err, &env) || env.Key != "cpu" {
		t.Fatalf("err = %v, want an EnvError on cpu", err)
	}
	for _, s := range []string{"refusing", "Xeon", "EPYC 9B14", "in xeon", "in epyc", "--force"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("refused comparison wrote output:\n%s", buf.String())
	}
}

func TestCompareRefusesDifferentISA(t *testing.T) {
	err := Compare(new(bytes.Buffer), []string{data("synth-old.txt"), data("synth-other-isa.txt")}, CompareOptions{})
	var env *EnvError
	if !errors.As(err, &env) || env.Key != "isa" {
		t.Fatalf("err = %v, want an EnvError on isa", err)
	}
	if len(env.Values) != 2 || env.Values[0].Value != "avx512" || env.Values[1].Value != "avx2" {
		t.Errorf("values %+v", env.Values)
	}
	// Filtering to one file's results leaves nothing to refuse.
	if err := Compare(new(bytes.Buffer), []string{data("synth-old.txt"), data("synth-other-isa.txt")},
		CompareOptions{Filter: "isa:avx512"}); err != nil {
		t.Errorf("filtered to one ISA: %v", err)
	}
}

func TestCompareForceWarns(t *testing.T) {
	var out, warn bytes.Buffer
	files, err := ReadFiles([]string{"xeon=" + data("synth-old.txt"), "epyc=" + data("synth-other-cpu.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if err := CompareFiles(&out, &warn, files, CompareOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(warn.String(), "WARNING: FORCED COMPARISON ACROSS DIFFERENT CPUs (config key cpu)") {
		t.Errorf("warning stream = %q", warn.String())
	}
	if strings.Contains(out.String(), "WARNING") {
		t.Errorf("warning leaked into the table stream")
	}
	if !strings.Contains(out.String(), "sec/op") {
		t.Errorf("forced comparison printed no table")
	}
}

func TestCompareUnknownEnvironment(t *testing.T) {
	rep := analyze(t, CompareOptions{}, data("gotest-old.txt"), data("gotest-new.txt"))
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "environment unknown") || !strings.Contains(rep.Warnings[0], "no isa") {
		t.Errorf("warnings = %q, want one about the unknown ISA tier", rep.Warnings)
	}
	// One file alone compares nothing across machines: no warning.
	rep = analyze(t, CompareOptions{}, data("gotest-old.txt"))
	if len(rep.Warnings) != 0 {
		t.Errorf("single file warnings = %q", rep.Warnings)
	}
}

func TestCompareGoarchWarns(t *testing.T) {
	rep := analyze(t, CompareOptions{}, data("synth-old.txt"), data("synth-arm64.txt"))
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "goarch") || strings.HasPrefix(rep.Warnings[0], "WARNING") {
		t.Errorf("warnings = %q, want one quiet goarch warning", rep.Warnings)
	}
}

// Builds at different amd64 levels: a quiet warning (only the generic
// tier's code differs).
func TestCompareGoamd64Warns(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, level := range []string{"v1", "v3"} {
		b, err := os.ReadFile(data("synth-old.txt"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, level+".txt")
		text := strings.Replace(string(b), "goarch: amd64\n", "goarch: amd64\ngoamd64: "+level+"\n", 1)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	rep := analyze(t, CompareOptions{}, paths...)
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "goamd64") || strings.HasPrefix(rep.Warnings[0], "WARNING") {
		t.Errorf("warnings = %q, want one quiet goamd64 warning", rep.Warnings)
	}
}

func TestCompareUnitsOrder(t *testing.T) {
	rep := analyze(t, CompareOptions{Units: []string{"GFLOP/s", "ns/op", "sec/op"}}, data("synth-old.txt"))
	if len(rep.Tables) != 2 || rep.Tables[0].Unit != "GFLOP/s" || rep.Tables[1].Unit != "sec/op" {
		var units []string
		for _, tb := range rep.Tables {
			units = append(units, tb.Unit)
		}
		t.Errorf("units %q, want [GFLOP/s sec/op]", units)
	}
	rep = analyze(t, CompareOptions{}, data("synth-old.txt"))
	want := []string{"sec/op", "images/s", "GFLOP/s", "activation-B", "weight-B", "allocs/op"}
	for i, tb := range rep.Tables {
		if i >= len(want) || tb.Unit != want[i] {
			t.Fatalf("table %d is %s, want order %q", i, tb.Unit, want)
		}
	}
}

func TestCompareOptionErrors(t *testing.T) {
	args := []string{data("synth-old.txt")}
	for _, c := range []struct {
		opt  CompareOptions
		want string
	}{
		{CompareOptions{Filter: "/model:("}, "parsing filter"},
		{CompareOptions{Row: "/model@nosuchorder"}, "row projection"},
		{CompareOptions{Col: "/x@("}, "column projection"},
		{CompareOptions{Units: []string{"furlongs/op"}}, `no results in unit "furlongs/op"`},
		{CompareOptions{Alpha: 2}, "alpha"},
		{CompareOptions{Confidence: -1}, "confidence"},
		{CompareOptions{Filter: "/model:vgg16"}, "no results match"},
	} {
		err := Compare(new(bytes.Buffer), args, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.opt, err, c.want)
		}
	}
}

// TestCompareResidueWarning: grouping rows by model alone merges the
// fusion variants of a model into one cell, which must be footnoted.
func TestCompareResidueWarning(t *testing.T) {
	var buf bytes.Buffer
	if err := Compare(&buf, []string{data("synth-old.txt")}, CompareOptions{Row: "/model", Units: []string{"sec/op"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "¹ benchmarks vary in .fullname") {
		t.Errorf("no residue warning:\n%s", buf.String())
	}
	// date and the measured peaks differ between runs, and are not
	// reported as variation.
	buf.Reset()
	if err := Compare(&buf, []string{data("synth-old.txt"), data("synth-rerun.txt")}, CompareOptions{Col: "/fusion", Units: []string{"sec/op"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "date") {
		t.Errorf("date reported as variation:\n%s", buf.String())
	}
}

// A malformed filter or projection is one line naming the query and the
// character where parsing failed (benchproc draws a caret on two more).
func TestCompareSyntaxErrorIsOneLine(t *testing.T) {
	files, err := ReadFiles([]string{data("synth-old.txt")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opt  CompareOptions
		want string
	}{
		{CompareOptions{Filter: "("}, `parsing filter "(": syntax error: expected key:value or subexpression at character 2`},
		{CompareOptions{Col: "/a@x"}, `parsing column projection "/a@x": syntax error: unknown order "x" at character 4`},
	} {
		_, err := Analyze(files, c.opt)
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: error %q, want %q", c.opt, err, c.want)
		}
	}
}
