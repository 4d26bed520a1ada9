package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	// The auto kernel's calibration cache goes to a temporary directory,
	// not the user's.
	dir, err := os.MkdirTemp("", "resbench-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("RESBENCH_CACHE_DIR", dir)
	flag.Parse()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// golden compares got with testdata/cli/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "cli", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func runCLI(args ...string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run(args, &o, &e)
	return o.String(), e.String(), err
}

func TestModelsGolden(t *testing.T) {
	out, _, err := runCLI("models")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "models.golden", out)
}

// "help run" prints run's part of the manual, as "run --help" does; an
// unknown command is an error.
func TestHelpCommand(t *testing.T) {
	out, _, err := runCLI("help", "run")
	want, _, _ := runCLI("run", "--help")
	if err != nil || out != want || !strings.HasPrefix(out, "Usage: resbench run") || strings.Contains(out, "Commands:") {
		t.Errorf("help run: %v\n%s", err, out)
	}
	if _, _, err := runCLI("help", "bogus"); err == nil || !strings.Contains(err.Error(), "commands: help, machine") {
		t.Errorf("help bogus: %v", err)
	}
	if out, _, err := runCLI("help", "--help"); err != nil || !strings.HasPrefix(out, "Usage: resbench help") {
		t.Errorf("help --help: %v\n%s", err, out)
	}
}

// A matrix config's errors name the file, the line or key, and what the
// key wants.
func TestMatrixConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"size = abc\n", "size = abc: not a valid value for --size"},
		{"\xa4\x11\x8d\x04\xd8z\n", ":1: not a text file"},
	} {
		path := filepath.Join(dir, "m.conf")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := runCLI("matrix", "-o", filepath.Join(dir, "m.txt"), "--config", path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %q: %v, want %q", c.text, err, c.want)
		}
	}
}

func TestHelpGolden(t *testing.T) {
	out, _, err := runCLI("help")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "help.golden", out)
}

// Every command's --help prints its own part of the manual (synopsis and
// flags, not the next command's) and succeeds.
func TestCommandHelp(t *testing.T) {
	for cmd := range commands {
		if cmd == "help" {
			continue
		}
		for _, flag := range []string{"-h", "--help"} {
			out, _, err := runCLI(cmd, flag)
			if err != nil {
				t.Fatalf("%s %s: %v", cmd, flag, err)
			}
			if !strings.HasPrefix(out, "Usage: resbench "+cmd) || strings.Count(out, "\n") < 4 {
				t.Errorf("%s %s printed:\n%s", cmd, flag, out)
			}
			for other := range commands {
				if other != cmd && strings.Contains(out, "\n"+other+" ") {
					t.Errorf("%s %s also printed the section of %s:\n%s", cmd, flag, other, out)
				}
			}
		}
	}
	if out, _, _ := runCLI("run", "--help"); !strings.Contains(out, "--model NAME") || !strings.Contains(out, "Ctrl-C (or SIGTERM) stops a run") {
		t.Errorf("run --help lacks its flags or its last paragraph:\n%s", out)
	}
}

// The table, checked through the CLI's JSON.
func TestModelsJSON(t *testing.T) {
	out, _, err := runCLI("models", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var models []struct {
		Name   string `json:"name"`
		Params int64  `json:"params"`
		MACs   int64  `json:"macs"`
	}
	if err := json.Unmarshal([]byte(out), &models); err != nil {
		t.Fatal(err)
	}
	// Every object has the keys the manual lists.
	var objects []map[string]any
	if err := json.Unmarshal([]byte(out), &objects); err != nil {
		t.Fatal(err)
	}
	for _, o := range objects {
		for _, key := range []string{"name", "aliases", "family", "depth", "params", "macs"} {
			if _, ok := o[key]; !ok {
				t.Errorf("%v: no key %q", o["name"], key)
			}
		}
	}
	want := map[string][2]float64{
		"resnet18": {11689512, 1.814}, "resnet34": {21797672, 3.664}, "resnet50": {25557032, 4.089},
		"resnet101": {44549160, 7.801}, "resnet152": {60192808, 11.514}, "resnext50-32x4d": {25028904, 4.230},
		"resnext101-32x8d": {88791336, 16.414}, "resnext101-64x4d": {83455272, 15.460}, "se-resnet50": {28088024, 4.092},
		"se-resnet101": {49326872, 7.806}, "se-resnet152": {66821848, 11.520}, "se-resnext50-32x4d": {27559896, 4.233},
		"se-resnext101-32x4d": {48955416, 7.975},
	}
	seen := 0
	for _, m := range models {
		w, ok := want[m.Name]
		if !ok {
			continue
		}
		seen++
		if float64(m.Params) != w[0] {
			t.Errorf("%s: params %d, want %.0f", m.Name, m.Params, w[0])
		}
		if g := float64(m.MACs) / 1e9; g < w[1]-0.0005 || g >= w[1]+0.0005 {
			t.Errorf("%s: %.4f GMACs, want %.3f", m.Name, g, w[1])
		}
	}
	if seen != len(want) {
		t.Errorf("JSON lists %d of the %d published models", seen, len(want))
	}
}

func TestRunWritesBenchfmt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	out, stderr, err := runCLI("run", "--model", "se-resnext50", "--size", "32", "--count", "3", "--warmup", "1", "--threads", "1", "-o", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"median", "p90", "p99", "images/s", "allocs/inference", "Model/model=se-resnext50-32x4d/form=c/fusion=all/kernel=auto/size=32/batch=1/threads=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr, "3/3") || !strings.Contains(stderr, "timed") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := benchfmt.NewReader(f, path)
	n := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatalf("benchfmt: %v", rec)
		case *benchfmt.Result:
			n++
			if v, ok := rec.Value("sec/op"); !ok || v <= 0 {
				t.Errorf("result without a latency: %v", rec.Values)
			}
			if rec.GetConfig("cpu") == "" {
				t.Error("no cpu config line")
			}
			if got := string(rec.Name.Full()); strings.Contains(got, "-") && got[len(got)-1] >= '0' && got[len(got)-1] <= '9' && strings.LastIndex(got, "-") > strings.LastIndex(got, "=") {
				t.Errorf("name %q ends in -<digits>, which benchfmt reads as GOMAXPROCS", got)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d result lines, want one per timed run (3)", n)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run"}, "--model is required"},
		{[]string{"run", "--model", "resnet9000"}, "unknown model \"resnet9000\"; valid models: resnet18"},
		{[]string{"run", "--model", "resnet50", "--batch", "0"}, `"0" is not a positive integer`},
		{[]string{"run", "--model", "resnet50", "--batch", "x"}, `"x" is not a positive integer`},
		{[]string{"run", "--model", "resnet50", "--size", "-3"}, `"-3" is not a positive integer`},
		{[]string{"run", "--model", "resnet50", "--size", "8"}, "too small"},
		{[]string{"run", "--model", "resnet50", "--count", "0"}, "not a positive integer"},
		{[]string{"run", "--model", "resnet50", "--threads", "0"}, "not a positive integer"},
		{[]string{"run", "--model", "resnet50", "--warmup", "-1"}, "not a non-negative integer"},
		{[]string{"run", "--model", "resnet50", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"run", "--model", "resnet50", "--kernel", "fft"}, `unknown kernel "fft"; valid kernels: naive, im2col, winograd-f2`},
		{[]string{"run", "--model", "resnet50", "--fusion", "magic"}, `unknown fusion pass "magic"; valid: none, all`},
		{[]string{"run", "--model", "resnet50", "--resnext-form", "a"}, "ResNeXt models only"},
		{[]string{"run", "--model", "resnext50", "--resnext-form", "z"}, "valid forms: a"},
		{[]string{"run", "--model", "resnet34", "--stride-on", "1x1"}, "bottleneck models"},
		{[]string{"run", "--model", "resnet50", "--stride-on", "2x2"}, "valid: 3x3"},
		{[]string{"matrix", "-o", "/dev/null", "--stride-on", "7x7"}, "valid: 3x3"},
		{[]string{"run", "--model", "resnet50", "-o", "/nonexistent/dir/out.txt"}, "cannot write results"},
		{[]string{"run", "--model", "resnet50", "extra"}, `unexpected argument "extra"`},
		{[]string{"models", "--yaml"}, "flag provided but not defined"},
		{[]string{"compare", "a.txt", "--html", "out.html"}, "put flags before the files"},
		{[]string{"run", "--model", "resnet50", "--count", "20", "--max-count", "5"}, "--max-count 5 is below --count 20"},
		{[]string{"run", "--model", "resnet50", "--target-ci", "NaN"}, "--target-ci NaN must be a fraction"},
		{[]string{"run", "--model", "resnet50", "--min-time", "2s", "--max-time", "1s"}, "--min-time 2s exceeds --max-time 1s"},
		{[]string{"matrix", "-o", "/dev/null", "--count", "20", "--max-count", "5"}, "--max-count 5 is below --count 20"},
		{[]string{"run", "--model", "resnet50", "--fusion", "none,bn-fold"}, "none stands alone"},
		{[]string{"help", "bogus"}, `no command "bogus"`},
		{[]string{"run", "--model", "resnet18", "--threads", "100000"}, "--threads 100000 is more than"},
		{[]string{"profile", "--model", "resnet18", "--threads", "100000"}, "--threads 100000 is more than"},
		{[]string{"run", "--model", "resnet18", "--size", "1000000"}, "lower the size or the batch"},
		{[]string{"run", "--model", "resnet18", "--batch", "100000000"}, "lower the size or the batch"},
		{[]string{"matrix", "-o", "/dev/null", "--models", "resnet18", "--size", "1000000"}, "lower the size or the batch"},
		{[]string{"gate", "--max-slowdown", "NaN", "a.txt", "b.txt"}, "--max-slowdown NaN: want a finite fraction"},
		{[]string{"gate", "--max-slowdown", "Inf", "a.txt", "b.txt"}, "--max-slowdown +Inf: want a finite fraction"},
		{[]string{"gate", "--alpha", "NaN", "a.txt", "b.txt"}, "--alpha NaN: want a level between 0 and 1"},
		{[]string{"compare", "--alpha", "NaN", "a.txt"}, "--alpha NaN: want a level between 0 and 1"},
		{[]string{"run", "--model", "resnet18", "-o", "same.txt", "--plan", "./same.txt"}, "-o and --plan both name ./same.txt"},
		{[]string{"run", "--model", "resnet18", "-o", "r.txt", "--cpuprofile", "p.out", "--memprofile", "p.out"}, "--cpuprofile and --memprofile both name"},
		{[]string{"profile", "--model", "resnet18", "--trace", "t.out", "--cpuprofile", "t.out"}, "--trace and --cpuprofile both name"},
		{[]string{"matrix", "-o", "m.txt", "--json", "m.txt", "--models", "resnet18"}, "-o and --json both name"},
		{[]string{"fusions", "--full"}, "--full applies to --combos"},
	}
	for _, c := range cases {
		_, _, err := runCLI(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resbench %s: error %v, want it to contain %q", strings.Join(c.args, " "), err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("resbench %s: error spans lines: %q", strings.Join(c.args, " "), err)
		}
	}
}

// TestRunKeepsResultsFile: a run refused or failing before it has results
// leaves an existing -o file as it was and creates no empty one.
func TestRunKeepsResultsFile(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.txt")
	if err := os.WriteFile(old, []byte("earlier results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI("run", "--model", "resnet18", "-o", old, "--parity", "-1"); err == nil {
		t.Fatal("--parity -1 was accepted")
	}
	if _, _, err := runCLI("run", "--model", "resnet18", "-o", old, "--cpuprofile", filepath.Join(dir, "no", "cpu.prof")); err == nil {
		t.Fatal("an unwritable --cpuprofile was accepted")
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "earlier results\n" {
		t.Errorf("failed runs changed the results file: %q, %v", b, err)
	}
	// An unwritable plan path fails before the run, not after it.
	_, stderr, err := runCLI("run", "--model", "resnet18", "--size", "32", "--count", "1", "--parity", "0", "-o", old, "--plan", filepath.Join(dir, "no", "plan.txt"))
	if err == nil || !strings.Contains(err.Error(), "cannot write the plan") || strings.Contains(stderr, "building") {
		t.Fatalf("an unwritable --plan: %v, after:\n%s", err, stderr)
	}
	fresh := filepath.Join(dir, "fresh.txt")
	if _, _, err := runCLI("run", "--model", "resnet18", "-o", fresh, "--cpuprofile", filepath.Join(dir, "no", "cpu.prof")); err == nil {
		t.Fatal("an unwritable --cpuprofile was accepted")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run left %s behind: %v", fresh, err)
	}
}

func TestCompare(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "reports")
	out, _, err := runCLI("compare", "old="+filepath.Join(dir, "synth-old.txt"), "new="+filepath.Join(dir, "synth-faster30.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "-2") || !strings.Contains(out, "geomean") || !strings.Contains(out, "p=0.000") {
		t.Errorf("30%%-faster comparison lacks a significant change:\n%s", out)
	}
	out, _, err = runCLI("compare", "old="+filepath.Join(dir, "synth-old.txt"), "new="+filepath.Join(dir, "synth-rerun.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "~") {
		t.Errorf("same-distribution comparison shows no ~:\n%s", out)
	}
	if _, _, err := runCLI("compare", filepath.Join(dir, "synth-old.txt"), filepath.Join(dir, "synth-other-cpu.txt")); err == nil {
		t.Error("comparing files from different CPUs must be refused without --force")
	}
	if _, stderr, err := runCLI("compare", "--force", filepath.Join(dir, "synth-old.txt"), filepath.Join(dir, "synth-other-cpu.txt")); err != nil || !strings.Contains(stderr, "WARNING") {
		t.Errorf("--force: err %v, stderr %q", err, stderr)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	if _, _, err := runCLI("compare", "--html", html, filepath.Join(dir, "synth-old.txt"), filepath.Join(dir, "synth-faster30.txt")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<table") || !strings.Contains(string(b), "data:image/png;base64,") {
		t.Errorf("HTML report missing tables or plots (%v)", err)
	}
	if _, _, err := runCLI("compare", "main.go"); err == nil || !strings.Contains(err.Error(), "not Go benchmark format") {
		t.Errorf("compare on a Go source file: %v", err)
	}
	// "--html OLD NEW" (the flag taken for a switch) must not write the
	// report over OLD.
	results, err := os.ReadFile(filepath.Join(dir, "synth-old.txt"))
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old.txt")
	if err := os.WriteFile(old, results, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI("compare", "--html", old, filepath.Join(dir, "synth-faster30.txt")); err == nil || !strings.Contains(err.Error(), "is not an HTML page") {
		t.Errorf("--html over a results file: %v", err)
	}
	if b, _ := os.ReadFile(old); !bytes.Equal(b, results) {
		t.Error("--html overwrote a results file")
	}
	// Nor over one the strict reader refuses (cut short mid-write), nor
	// over any other file; an earlier report may be replaced.
	cut := filepath.Join(t.TempDir(), "cut.txt")
	if err := os.WriteFile(cut, results[:len(results)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI("compare", "--html", cut, filepath.Join(dir, "synth-faster30.txt")); err == nil || !strings.Contains(err.Error(), "is not an HTML page") {
		t.Errorf("--html over a cut-short results file: %v", err)
	}
	if b, _ := os.ReadFile(cut); !bytes.Equal(b, results[:len(results)-5]) {
		t.Error("--html overwrote a cut-short results file")
	}
	if _, _, err := runCLI("compare", "--html", html, filepath.Join(dir, "synth-old.txt"), filepath.Join(dir, "synth-faster30.txt")); err != nil {
		t.Errorf("--html over an earlier report: %v", err)
	}
}

// Outputs that are devices rather than files: /dev/null for both -o and
// --plan is not two outputs naming one file, and a device that cannot be
// fsynced is written without error.
func TestRunOutputsToDevNull(t *testing.T) {
	if _, stderr, err := runCLI("run", "--model", "resnet18", "--size", "32", "--count", "2", "--parity", "0", "--kernel", "im2col", "-o", "/dev/null", "--plan", "/dev/null"); err != nil {
		t.Errorf("-o /dev/null --plan /dev/null: %v\n%s", err, stderr)
	}
}
