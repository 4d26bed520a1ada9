package ci

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var data = filepath.Join("..", "testdata", "reports")

func TestGateCatchesRegression(t *testing.T) {
	var out strings.Builder
	// The "faster30" file is 30% faster than "old": taken the other way
	// round, it is a 43% slowdown.
	_, err := Gate(&out, filepath.Join(data, "synth-faster30.txt"), filepath.Join(data, "synth-old.txt"), Options{MaxSlowdown: 0.05})
	if err == nil || !strings.Contains(out.String(), "REGRESSION") {
		t.Fatalf("a 43%% slowdown passed the gate: %v\n%s", err, out.String())
	}
	// The error names what failed, and gives no advice on run counts
	// when they were enough.
	if !strings.Contains(err.Error(), "regressed") || strings.Contains(err.Error(), "runs per side") {
		t.Errorf("error %q: want the regressions counted and no advice on run counts", err)
	}
}

func TestGatePassesNoise(t *testing.T) {
	var out strings.Builder
	_, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-rerun.txt"), Options{MaxSlowdown: 0.05})
	if err != nil {
		t.Fatalf("a rerun of the same configuration failed the gate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "more than 5% with") {
		t.Errorf("the verdict should name the 5%% threshold:\n%s", out.String())
	}
	out.Reset()
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-rerun.txt"), Options{MaxSlowdown: 0.025}); err != nil || !strings.Contains(out.String(), "more than 2.5% with") {
		t.Errorf("a 2.5%% threshold must print as such: %v\n%s", err, out.String())
	}
	// A big threshold lets even a real slowdown through: the minimum
	// effect is honoured.
	if _, err := Gate(&out, filepath.Join(data, "synth-faster30.txt"), filepath.Join(data, "synth-old.txt"), Options{MaxSlowdown: 0.5}); err != nil {
		t.Fatalf("a 43%% slowdown under a 50%% threshold failed: %v", err)
	}
}

func TestGateParityAndMachines(t *testing.T) {
	var out strings.Builder
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-parity.txt"), Options{MaxSlowdown: 0.05}); err == nil || !strings.Contains(out.String(), "PARITY FAILED") {
		t.Errorf("a parity failure passed the gate: %v\n%s", err, out.String())
	}
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-other-cpu.txt"), Options{}); err == nil {
		t.Error("results from another CPU must be refused")
	}
}

// TestGateMissingBenchmarks: a baseline benchmark that is absent from the
// new results fails the gate, and files with no benchmark in common are an
// error rather than a pass.
func TestGateMissingBenchmarks(t *testing.T) {
	dir := t.TempDir()
	old, err := os.ReadFile(filepath.Join(data, "synth-old.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// Drop one of the baseline's three benchmarks.
	var kept []string
	for _, line := range strings.Split(string(old), "\n") {
		if !strings.Contains(line, "fusion=none") {
			kept = append(kept, line)
		}
	}
	partial := filepath.Join(dir, "partial.txt")
	if err := os.WriteFile(partial, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), partial, Options{MaxSlowdown: 0.05}); err == nil ||
		!strings.Contains(out.String(), "MISSING") || !strings.Contains(out.String(), "fusion=none") {
		t.Errorf("a benchmark missing from the new results passed the gate: %v\n%s", err, out.String())
	}

	// Every benchmark renamed: nothing is compared.
	renamed := filepath.Join(dir, "renamed.txt")
	if err := os.WriteFile(renamed, []byte(strings.ReplaceAll(string(old), "BenchmarkModel/", "BenchmarkOther/")), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), renamed, Options{MaxSlowdown: 0.05}); err == nil ||
		!strings.Contains(err.Error(), "no benchmark appears in both") {
		t.Errorf("files with no benchmark in common passed the gate: %v\n%s", err, out.String())
	}
}

// TestGateTooFewRuns: a 43% slowdown measured once per side cannot be
// significant, and must not pass as "no regression".
func TestGateTooFewRuns(t *testing.T) {
	dir := t.TempDir()
	firstRunOf := func(name string) string {
		b, err := os.ReadFile(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		seen := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "Benchmark") {
				if seen[f[0]] {
					continue
				}
				seen[f[0]] = true
			}
			kept = append(kept, line)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	var out strings.Builder
	_, err := Gate(&out, firstRunOf("synth-faster30.txt"), firstRunOf("synth-old.txt"), Options{MaxSlowdown: 0.05})
	if err == nil || !strings.Contains(out.String(), "TOO FEW RUNS") {
		t.Errorf("a 43%% slowdown on one run per side passed the gate: %v\n%s", err, out.String())
	}
	// One run against many is as untestable (p ≥ 2/11 for 1 against 10),
	// though benchmath only warns when both sides are small.
	for _, pair := range [][2]string{
		{firstRunOf("synth-faster30.txt"), filepath.Join(data, "synth-old.txt")},
		{filepath.Join(data, "synth-faster30.txt"), firstRunOf("synth-old.txt")},
	} {
		out.Reset()
		_, err := Gate(&out, pair[0], pair[1], Options{MaxSlowdown: 0.05})
		if err == nil || !strings.Contains(out.String(), "TOO FEW RUNS") {
			t.Errorf("a 43%% slowdown on one run against many passed the gate: %v\n%s", err, out.String())
		}
	}
	_, err = Gate(&out, firstRunOf("synth-faster30.txt"), firstRunOf("synth-old.txt"), Options{MaxSlowdown: 0.05, Alpha: 0.01})
	if err == nil || !strings.Contains(err.Error(), "at alpha 0.01 use at least 5 runs per side") {
		t.Errorf("the error should say how many runs alpha 0.01 needs: %v", err)
	}
}

func TestMinP(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		want   float64
	}{
		{1, 1, 1}, {1, 10, 2.0 / 11}, {10, 1, 2.0 / 11}, {3, 3, 2.0 / 20}, {4, 4, 2.0 / 70}, {10, 2, 2.0 / 66}, {2, 10, 2.0 / 66},
	} {
		if got := minP(c.n1, c.n2); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("minP(%d, %d) = %v, want %v", c.n1, c.n2, got, c.want)
		}
	}
	for alpha, want := range map[float64]int{0.05: 4, 0.01: 5, 0.1: 3, 0.001: 7} {
		if got := runsPerSide(alpha); got != want {
			t.Errorf("runsPerSide(%v) = %d, want %d", alpha, got, want)
		}
	}
}

// A benchmark at 0 ns/op (benchfmt leaves a zero's unit "ns/op" where it
// rewrites others to sec/op) is still compared with the same benchmark's
// non-zero runs: 0 → 0.3 ns is a regression, 0 → 0 is no change.
func TestGateZeroBaseline(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, vals ...string) string {
		var b strings.Builder
		b.WriteString("goos: linux\ngoarch: amd64\ncpu: TestCPU\nisa: avx2\n")
		for _, v := range vals {
			b.WriteString("BenchmarkNop 1000000000 " + v + " ns/op\n")
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	zeros := write("zeros.txt", "0", "0", "0", "0", "0", "0")
	slower := write("slower.txt", "0.3", "0.31", "0.32", "0.3", "0.33", "0.34")
	var out strings.Builder
	if _, err := Gate(&out, zeros, slower, Options{MaxSlowdown: 0.05}); err == nil || !strings.Contains(out.String(), "REGRESSION") {
		t.Errorf("0 → 0.3 ns/op passed the gate: %v\n%s", err, out.String())
	}
	out.Reset()
	if _, err := Gate(&out, zeros, write("zeros2.txt", "0", "0", "0", "0", "0", "0"), Options{MaxSlowdown: 0.05}); err != nil || strings.Contains(out.String(), "NaN") {
		t.Errorf("0 → 0 ns/op: %v\n%s", err, out.String())
	}
}

func TestGateRefusesNaNOptions(t *testing.T) {
	for _, opt := range []Options{{MaxSlowdown: math.NaN()}, {MaxSlowdown: math.Inf(1)}, {MaxSlowdown: 0.05, Alpha: math.NaN()}, {MaxSlowdown: -1}} {
		var out strings.Builder
		if _, err := Gate(&out, filepath.Join(data, "synth-faster30.txt"), filepath.Join(data, "synth-old.txt"), opt); err == nil {
			t.Errorf("options %+v accepted", opt)
		}
	}
}
