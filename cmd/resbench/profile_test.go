package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
	"github.com/resbench/resbench/reports"
)

// profileRow is a row of the per-layer table: the step number and the
// TIME ms column.
var profileRow = regexp.MustCompile(`^(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+\.\d{3})\s+\d+\.\d%`)

func TestProfileCommand(t *testing.T) {
	dir := t.TempDir()
	trace, cpu := filepath.Join(dir, "trace.json"), filepath.Join(dir, "cpu.pprof")
	out, stderr, err := runCLI("profile", "--model", "resnet18", "--size", "32", "--count", "20", "--trace", trace, "--cpuprofile", cpu)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, col := range []string{"STEP", "LAYER", "OP", "KERNEL", "LAYOUT", "OUTPUT", "MMACs", "TIME ms", "%TOTAL", "GFLOP/s", "%PEAK", "%PPROF"} {
		if !strings.Contains(out, col) {
			t.Errorf("table lacks the column %q", col)
		}
	}
	for _, want := range []string{"Model/model=resnet18/fusion=all/kernel=auto/size=32", "sum of layers", "end-to-end", "sum/end-to-end",
		"pprof samples", "carries a layer label", "total variation distance", "layer4.1.conv2", "conv3x3/1",
		"whose total is in the middle 50%", "mean of the middle 50% of "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Every step has a row, and the rows add up to the TOTAL row.
	var steps int
	var sum float64
	seen := map[int]bool{}
	for _, line := range strings.Split(out, "\n") {
		if m := profileRow.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			ms, _ := strconv.ParseFloat(m[2], 64)
			if seen[n] {
				t.Errorf("step %d twice", n)
			}
			seen[n] = true
			sum += ms
			steps++
		}
	}
	total := regexp.MustCompile(`TOTAL \((\d+) steps\)\s+\S+\s+(\d+\.\d{3})\s+100\.0%`).FindStringSubmatch(out)
	if total == nil {
		t.Fatalf("no TOTAL row:\n%s", out)
	}
	n, _ := strconv.Atoi(total[1])
	totalMS, _ := strconv.ParseFloat(total[2], 64)
	if steps != n || n < 20 {
		t.Errorf("%d rows for %d steps", steps, n)
	}
	if d := sum - totalMS; d > 0.0005*float64(n) || d < -0.0005*float64(n) {
		t.Errorf("rows sum to %.3f ms, TOTAL says %.3f", sum, totalMS)
	}
	ratio := regexp.MustCompile(`sum/end-to-end\s+(\d+\.\d+)`).FindStringSubmatch(out)
	if ratio == nil {
		t.Fatalf("no ratio:\n%s", out)
	}
	// The issue asks 5% of the real model (see the reply's sample run); the
	// sum and the end-to-end time come from different inferences, so on a
	// test machine running other tests only a doubled or missing stage is
	// caught (the harness's own test saw 0.699 under load).
	if r, _ := strconv.ParseFloat(ratio[1], 64); r < 0.5 || r > 2 {
		t.Errorf("per-layer sum / end-to-end = %v", r)
	}

	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events, err := reports.ValidateTrace(f)
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	if events < n+1 {
		t.Errorf("%d complete events for %d steps", events, n)
	}

	b, err := os.ReadFile(cpu)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := reports.ParseCPUProfile(b)
	if err != nil {
		t.Fatal(err)
	}
	if ls := cp.ByLabel("layer"); ls.LabelledSamples == 0 || len(ls.Values) < 3 {
		t.Errorf("the written profile has %d layer-labelled samples over %d layers", ls.LabelledSamples, len(ls.Values))
	}
}

// --sort order keeps plan order; --top N shows N steps and sums the rest.
func TestProfileSortTop(t *testing.T) {
	out, stderr, err := runCLI("profile", "--model", "resnet18", "--size", "32", "--kernel", "im2col", "--threads", "1",
		"--count", "3", "--min-time", "0", "--sort", "order", "--top", "5")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var order []int
	for _, line := range strings.Split(out, "\n") {
		if m := profileRow.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			order = append(order, n)
		}
	}
	if len(order) != 5 {
		t.Errorf("--top 5 shows %d steps:\n%s", len(order), out)
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Errorf("--sort order: steps %v", order)
		}
	}
	if !regexp.MustCompile(`\(\d+ other steps\)`).MatchString(out) {
		t.Errorf("no row for the other steps:\n%s", out)
	}
	if !strings.Contains(out, "only ") || !strings.Contains(out, "raise --min-time") {
		t.Errorf("a short profile must say its sample count is low:\n%s", out)
	}
	// Three runs are too few to cut a middle 50%: the text must say all.
	if strings.Contains(out, "middle 50%") || !strings.Contains(out, "over all 3 timed inferences") || !strings.Contains(out, "mean of all 3 timed") {
		t.Errorf("a 3-run profile must say it averages all runs:\n%s", out)
	}
}

func TestProfileBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"profile"}, "--model is required"},
		{[]string{"profile", "--model", "resnet9000"}, `unknown model "resnet9000"`},
		{[]string{"profile", "--model", "resnet18", "--sort", "name"}, `--sort "name": want time`},
		{[]string{"profile", "--model", "resnet18", "--count", "0"}, "not a positive integer"},
		{[]string{"profile", "--model", "resnet18", "--min-time", "-1s"}, "--min-time must not be negative"},
		{[]string{"profile", "--model", "resnet18", "--top", "-1"}, "not a non-negative integer"},
		{[]string{"profile", "--model", "resnet18", "--kernel", "fft"}, `unknown kernel "fft"`},
		{[]string{"profile", "--model", "resnet18", "--resnext-form", "a"}, "ResNeXt models only"},
		{[]string{"profile", "--model", "resnet18", "--size", "8"}, "too small"},
		{[]string{"profile", "--model", "resnet18", "--trace", "/nonexistent/dir/t.json"}, "cannot write the trace"},
		{[]string{"profile", "--model", "resnet18", "--cpuprofile", "/nonexistent/dir/cpu.pprof"}, "cannot write the CPU profile"},
		{[]string{"profile", "--model", "resnet18", "extra"}, `unexpected argument "extra"`},
		{[]string{"run", "--model", "resnet18", "--cpuprofile", "/nonexistent/dir/cpu.pprof"}, "cannot write the CPU profile"},
		{[]string{"run", "--model", "resnet18", "--memprofile", "/nonexistent/dir/mem.pprof"}, "cannot write the heap profile"},
		{[]string{"matrix", "-o", filepath.Join(t.TempDir(), "m.txt"), "--models", "resnet18", "--cpuprofile", "/nonexistent/dir/cpu.pprof"}, "cannot write the CPU profile"},
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

// run and matrix write a CPU profile and a heap profile that pprof reads.
func TestRunMatrixProfiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"run", []string{"run", "--model", "resnet18", "--size", "32", "--kernel", "im2col", "--threads", "1", "--count", "3", "--warmup", "1", "--parity", "0"}},
		{"run-nowarmup", []string{"run", "--model", "resnet18", "--size", "32", "--kernel", "im2col", "--threads", "1", "--count", "3", "--warmup", "0", "--parity", "0"}},
		{"matrix", []string{"matrix", "-o", filepath.Join(dir, "m.txt"), "--models", "resnet18", "--size", "32", "--kernels", "im2col",
			"--fusions", "none", "--count", "2", "--warmup", "0", "--parity", "0"}},
	} {
		cpu, mem := filepath.Join(dir, c.name+".cpu"), filepath.Join(dir, c.name+".mem")
		_, stderr, err := runCLI(append(c.args, "--cpuprofile", cpu, "--memprofile", mem)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, stderr)
		}
		if !strings.Contains(stderr, "wrote the CPU profile to "+cpu) || !strings.Contains(stderr, "wrote the heap profile to "+mem) {
			t.Errorf("%s: stderr does not say where the profiles went: %q", c.name, stderr)
		}
		for _, path := range []string{cpu, mem} {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, err := profile.ParseData(b)
			if err != nil {
				t.Errorf("%s: %s does not parse: %v", c.name, path, err)
				continue
			}
			want := "cpu"
			if path == mem {
				want = "inuse_space"
			}
			found := false
			for _, st := range p.SampleType {
				found = found || st.Type == want
			}
			if !found {
				t.Errorf("%s: %s has no %s samples (%v)", c.name, path, want, p.SampleType)
			}
		}
	}
}

// TestUnstartedCPUProfileRemoved: a run that ends before its timed part
// leaves no empty profile (which go tool pprof rejects) and says so.
func TestUnstartedCPUProfileRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	p := &profiling{cpuPath: path}
	if err := p.open(); err != nil {
		t.Fatal(err)
	}
	var msg strings.Builder
	if err := p.finish(&msg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) || !strings.Contains(msg.String(), "no CPU profile written") {
		t.Errorf("unstarted profile: stat %v, message %q", err, msg.String())
	}
	// An earlier profile at the path is left as it was, not emptied or
	// removed; a heap profile the run never got to, too.
	mem := filepath.Join(t.TempDir(), "mem.pprof")
	for _, f := range []string{path, mem} {
		if err := os.WriteFile(f, []byte("earlier profile"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p = &profiling{cpuPath: path, memPath: mem}
	if err := p.open(); err != nil {
		t.Fatal(err)
	}
	p.close() // the error path
	for _, f := range []string{path, mem} {
		if b, err := os.ReadFile(f); err != nil || string(b) != "earlier profile" {
			t.Errorf("a run that ended early changed %s: %q, %v", f, b, err)
		}
	}
	// finish before the measured part began: no heap profile either.
	p = &profiling{cpuPath: path, memPath: mem}
	if err := p.open(); err != nil {
		t.Fatal(err)
	}
	msg.Reset()
	if err := p.finish(&msg); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, mem} {
		if b, err := os.ReadFile(f); err != nil || string(b) != "earlier profile" {
			t.Errorf("finish before the timed part changed %s: %q, %v", f, b, err)
		}
	}
	if !strings.Contains(msg.String(), "no heap profile written") {
		t.Errorf("finish before the timed part: %q", msg.String())
	}
	// A matrix refused before its first cell (here: -o is not a results
	// file) leaves an earlier CPU profile alone.
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte("my notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI("matrix", "-o", notes, "--models", "resnet18", "--size", "32", "--cpuprofile", path); err == nil {
		t.Fatal("a matrix on a notes file was accepted")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "earlier profile" {
		t.Errorf("a refused matrix changed the CPU profile: %q, %v", b, err)
	}
}

// TestProfileFailureLeavesNoEmptyFiles: when profile fails after creating
// its outputs (here the CPU profile's path is unwritable, after the trace
// was created), the empty trace file is removed.
func TestProfileFailureLeavesNoEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.json")
	_, _, err := runCLI("profile", "--model", "resnet18", "--size", "32", "--trace", trace, "--cpuprofile", filepath.Join(dir, "no", "cpu.pprof"))
	if err == nil {
		t.Fatal("an unwritable --cpuprofile was accepted")
	}
	if _, err := os.Stat(trace); !os.IsNotExist(err) {
		t.Errorf("a failed profile left %s behind: %v", trace, err)
	}
	// An earlier trace survives a failed profile.
	if err := os.WriteFile(trace, []byte("earlier trace"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI("profile", "--model", "resnet18", "--size", "32", "--trace", trace, "--cpuprofile", filepath.Join(dir, "no", "cpu.pprof")); err == nil {
		t.Fatal("an unwritable --cpuprofile was accepted")
	}
	if b, err := os.ReadFile(trace); err != nil || string(b) != "earlier trace" {
		t.Errorf("a failed profile changed the earlier trace: %q, %v", b, err)
	}
}

// run --cpuprofile covers the timed inferences only, with or without a
// warm-up: with --warmup 0 it started before the model was built, so the
// weights' random draws and the plan's packing filled the profile.
func TestRunCPUProfileSkipsBuild(t *testing.T) {
	dir := t.TempDir()
	cpu := filepath.Join(dir, "cpu.pprof")
	if _, stderr, err := runCLI("run", "--model", "resnet18", "--size", "32", "--count", "30", "--kernel", "im2col", "--parity", "0", "--warmup", "0", "--cpuprofile", cpu); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	f, err := os.Open(cpu)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Sample {
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if n := l.Function.Name; strings.Contains(n, "/variants.") || strings.Contains(n, "engine.Compile") || strings.Contains(n, "gemm.PackA") {
					t.Fatalf("the profile has a sample in %s, outside the timed inferences", n)
				}
			}
		}
	}
}
