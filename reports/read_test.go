package reports

import (
	"bytes"
	"errors"
	"go/build"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

func TestReadRejectsNonBenchmarkInput(t *testing.T) {
	// Whole cells, and a last line without a newline that is not a
	// result, read fine.
	if _, err := Read("in.txt", strings.NewReader("BenchmarkA 1 100 ns/op 2 runs\nBenchmarkA 1 100 ns/op 2 runs\nBenchmarkA 1 90 ns/op 1 runs\ncpu: X")); err != nil {
		t.Errorf("whole cells: %v", err)
	}
	for _, c := range []struct {
		name, input string
		line        int
		want        string
	}{
		{"empty", "", 0, "empty file"},
		{"blank", "\n  \n\t\n", 0, "empty file"},
		{"prose", "goos: linux\n\nThis is a shopping list.\nMilk\n", 3, `no Benchmark result lines, and this line is not a configuration line: "This is a shopping list."`},
		{"json", `{"model": "resnet50", "latency_ns": 141390000}` + "\n", 1, "not Go benchmark format"},
		{"config only", "goos: linux\ngoarch: amd64\ncpu: X\n", 0, "configuration lines only"},
		{"bad iterations", "cpu: X\nBenchmarkModel/model=resnet50 lots 100 ns/op\n", 2, "parsing iteration count"},
		{"missing unit", "BenchmarkA 1 100 ns/op\nBenchmarkA 1 100\n", 2, "missing units"},
		{"bad value", "BenchmarkA 1 100 ns/op\n\nBenchmarkA 1 1x0 ns/op\n", 3, "parsing measurement"},
		{"missing measurements", "BenchmarkA 1\n", 1, "missing measurements"},
		{"NaN", "BenchmarkA 1 100 ns/op\nBenchmarkA 1 NaN ns/op\n", 2, "not a finite number"},
		{"Inf", "BenchmarkA 1 +Inf ns/op\n", 1, "not a finite number"},
		{"binary", "goos: linux\n\x00\x01\x02\xff\xfe", 2, "binary data"},
		{"cut line", "BenchmarkA 1 100 ns/op 7 images/s\nBenchmarkA 1 100 ns/op 7 images/", 2, "last line is cut short"},
		{"cut cell", "BenchmarkA 1 100 ns/op 3 runs\nBenchmarkA 1 100 ns/op 3 runs\nBenchmarkA 1 100 ns/op 3 runs\nBenchmarkB 1 100 ns/op 3 runs\n", 4, "BenchmarkB has 1 of its 3 runs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Read("in.txt", strings.NewReader(c.input))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Read = %v, %v; want a *FormatError", f, err)
			}
			if fe.File != "in.txt" || fe.Line != c.line || !strings.Contains(fe.Msg, c.want) {
				t.Errorf("error %q (line %d), want line %d and %q", err, fe.Line, c.line, c.want)
			}
			if c.line > 0 && !strings.HasPrefix(err.Error(), "in.txt:"+strconv.Itoa(c.line)+": ") {
				t.Errorf("error %q does not start with file:line", err)
			}
		})
	}
}

// TestCompareGarbageFile: the errors reach Compare's caller with the path
// and line, and nothing is printed.
func TestCompareGarbageFile(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.txt")
	if err := os.WriteFile(garbage, []byte("cpu: X\nBenchmarkA 1 100 ns/op\nBenchmarkA one 100 ns/op\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{data("synth-old.txt"), garbage}, garbage + ":3: not Go benchmark format: parsing iteration count"},
		{[]string{empty, data("synth-old.txt")}, empty + ": empty file"},
		{[]string{data("synth-old.txt"), filepath.Join(dir, "missing.txt")}, "no such file"},
		{nil, "no result files"},
	} {
		var buf bytes.Buffer
		err := Compare(&buf, c.args, CompareOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compare(%q) = %v, want %q", c.args, err, c.want)
		}
		if buf.Len() > 0 {
			t.Errorf("Compare(%q) wrote %q", c.args, buf.String())
		}
	}
}

func TestReadFile(t *testing.T) {
	f, err := ReadFile("old", data("synth-old.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.Results), 3*10; got != want {
		t.Errorf("%d results, want %d", got, want)
	}
	if f.Value("cpu") != "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz" || f.Value("isa") != "avx512" {
		t.Errorf("cpu %q isa %q", f.Value("cpu"), f.Value("isa"))
	}
	// params changes between cells: both values are kept, in order.
	if got := f.Value("params"); got != "25557032, 27559896" {
		t.Errorf("params = %q", got)
	}
	r := f.Results[0]
	if r.GetConfig(".file") != "old" || r.GetConfig("macs") != "4089184256" {
		t.Errorf("first result config: .file %q macs %q", r.GetConfig(".file"), r.GetConfig("macs"))
	}
	if v, ok := r.Value("sec/op"); !ok || v < 0.13 || v > 0.15 {
		t.Errorf("first latency %v s", v)
	}
	// go test output, with its PASS/ok framing and -N suffix.
	g, err := ReadFile("conv", data("real-conv.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Results) == 0 || g.Value("pkg") != "github.com/resbench/resbench/bench" {
		t.Errorf("go test file: %d results, pkg %q", len(g.Results), g.Value("pkg"))
	}
}

func TestReadFilesLabels(t *testing.T) {
	p := data("synth-old.txt")
	files, err := ReadFiles([]string{p, "base=" + p, p})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, f := range files {
		labels = append(labels, f.Label)
	}
	want := []string{p + "#0", "base", p + "#1"}
	if strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Errorf("labels %q, want %q", labels, want)
	}
}

func TestParityFailed(t *testing.T) {
	parse := func(s string) []*benchfmt.Result {
		f, err := Read("p.txt", strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return f.Results
	}
	for _, c := range []struct {
		in   string
		want []bool
	}{
		{"BenchmarkA/x=1 1 10 ns/op\n", []bool{false}},
		{"parity: FAILED\nBenchmarkA/x=1 1 10 ns/op\nparity: ok\nBenchmarkA/x=1 1 10 ns/op\n", []bool{true, false}},
		{"BenchmarkA/x=1/parity=FAILED 1 10 ns/op\nBenchmarkA/x=1/parity=failed-4 1 10 ns/op\nBenchmarkA/x=1/parity=ok 1 10 ns/op\n", []bool{true, true, false}},
		{"BenchmarkA 1 10 ns/op 0 parity-fail\nBenchmarkA 1 10 ns/op 2 parity-fail\n", []bool{false, true}},
	} {
		rs := parse(c.in)
		if len(rs) != len(c.want) {
			t.Fatalf("%q: %d results", c.in, len(rs))
		}
		for i, r := range rs {
			if got := ParityFailed(r); got != c.want[i] {
				t.Errorf("%q result %d: ParityFailed = %v, want %v", c.in, i, got, c.want[i])
			}
		}
	}
}

// TestLayering: reports reads files and never links the engine.
func TestLayering(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/resbench/resbench/") {
			t.Errorf("reports imports %s; it must only read result files", imp)
		}
	}
}
