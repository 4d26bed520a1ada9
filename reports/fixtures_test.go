package reports

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the synthetic fixtures and golden files in testdata/reports")

// dataDir holds the fixtures and goldens of this package.
const dataDir = "../testdata/reports"

func data(name string) string { return filepath.Join(dataDir, name) }

// synthCell is one benchmark cell of a synthetic result file.
type synthCell struct {
	name            string
	latencyMS       float64
	params, macs    int64
	act, weight     int64
	parityFailEvery int  // > 0: every k-th run reports 1 parity-fail
	parityConfig    bool // preceded by a "parity: FAILED" line
}

var synthCells = []synthCell{
	{name: "Model/model=resnet50/fusion=all/kernel=im2col/size=224/batch=1/threads=1", latencyMS: 141.39,
		params: 25557032, macs: 4089184256, act: 7864320, weight: 102228128},
	{name: "Model/model=resnet50/fusion=none/kernel=im2col/size=224/batch=1/threads=1", latencyMS: 168.20,
		params: 25557032, macs: 4089184256, act: 9633792, weight: 102440960},
	{name: "Model/model=se-resnext50-32x4d/form=c/fusion=all/kernel=im2col/size=224/batch=1/threads=1", latencyMS: 212.75,
		params: 27559896, macs: 4254010880, act: 9437184, weight: 110239584},
}

// synthSpec describes a synthetic result file: the machine it claims
// and how its latencies are drawn. Latency of a run is the cell's
// latency times scale times a uniform noise factor in [1-noise, 1+noise]
// from a PCG stream seeded with seed, so every file is reproducible.
type synthSpec struct {
	cpu, isa, goarch string
	peak1, peakAll   float64
	commit           string
	scale, noise     float64
	seed             uint64
	runs             int
	cells            []synthCell
}

func baseSpec() synthSpec {
	return synthSpec{cpu: "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", isa: "avx512", goarch: "amd64",
		peak1: 166.6, peakAll: 331.9, commit: "0123456789ab", scale: 1, noise: 0.02, runs: 10, cells: synthCells}
}

// synth renders spec in the layout harness.ResultWriter produces.
func synth(s synthSpec) string {
	rng := rand.New(rand.NewPCG(s.seed, 0x5eed))
	var b strings.Builder
	fmt.Fprintf(&b, "goos: linux\ngoarch: %s\ncpu: %s\ncores: 2\ngo: go1.26.8\ncommit: %s\ndate: 2026-11-20T10:%02d:00Z\n",
		s.goarch, s.cpu, s.commit, s.seed%60)
	fmt.Fprintf(&b, "isa: %s\npeak-gflops: %.1f\npeak-gflops-threads: %.1f\n", s.isa, s.peak1, s.peakAll)
	for _, c := range s.cells {
		fmt.Fprintf(&b, "params: %d\nmacs: %d\n", c.params, c.macs)
		if c.parityConfig {
			b.WriteString("parity: FAILED\n")
		}
		b.WriteString("\n")
		for i := 0; i < s.runs; i++ {
			f := 1 + s.noise*(2*rng.Float64()-1)
			ns := int64(c.latencyMS * 1e6 * s.scale * f)
			sec := float64(ns) / 1e9
			fmt.Fprintf(&b, "Benchmark%s 1 %d ns/op %.4g images/s %.4g GFLOP/s %d activation-B %d weight-B 0 allocs/op",
				c.name, ns, 1/sec, 2*float64(c.macs)/sec/1e9, c.act, c.weight)
			if c.parityFailEvery > 0 {
				fail := 0
				if i%c.parityFailEvery == 0 {
					fail = 1
				}
				fmt.Fprintf(&b, " %d parity-fail", fail)
			}
			b.WriteString("\n")
		}
		if c.parityConfig {
			b.WriteString("parity:\n")
		}
	}
	return b.String()
}

// synthGoTest renders a plain "go test -bench" file of bench/'s conv
// benchmarks: cpu but no isa or peak configuration, %peak instead.
func synthGoTest(seed uint64, scale float64) string {
	rng := rand.New(rand.NewPCG(seed, 0x7e57))
	var b strings.Builder
	b.WriteString("goos: linux\ngoarch: amd64\npkg: github.com/resbench/resbench/bench\ncpu: AMD EPYC\n")
	layers := []struct {
		name string
		ns   float64
		flop float64
	}{{"res2a-1x1a", 590e3, 25.7e6}, {"res2-3x3", 1.6e6, 231e6}, {"res3-1x1b", 480e3, 51.4e6}}
	for _, l := range layers {
		for i := 0; i < 8; i++ {
			ns := l.ns * scale * (1 + 0.03*(2*rng.Float64()-1))
			g := l.flop / ns
			fmt.Fprintf(&b, "BenchmarkConv/kernel=im2col/layer=%s/batch=1/threads=1-2 \t %d\t %.0f ns/op\t %.4g %%peak\t %.4g GFLOP/s\t 0 B/op\t 0 allocs/op\n",
				l.name, 1000, ns, 100*g/78.4, g)
		}
	}
	b.WriteString("PASS\nok  \tgithub.com/resbench/resbench/bench\t12.345s\n")
	return b.String()
}

// fixtures are the synthetic input files, by name in testdata/reports.
func fixtures() map[string]string {
	faster := baseSpec()
	faster.scale, faster.seed, faster.commit = 0.70, 2, "fedcba987654"
	old := baseSpec()
	old.seed = 1
	rerun := baseSpec()
	rerun.seed, rerun.commit = 3, "fedcba987654"
	otherCPU := baseSpec()
	otherCPU.seed, otherCPU.scale, otherCPU.cpu = 4, 0.70, "AMD EPYC 9B14 96-Core Processor"
	otherISA := baseSpec()
	otherISA.seed, otherISA.isa, otherISA.peak1, otherISA.peakAll = 5, "avx2", 89.0, 177.5
	arm := baseSpec()
	arm.seed, arm.goarch = 6, "arm64"
	parity := baseSpec()
	parity.seed = 7
	parity.cells = append([]synthCell(nil), synthCells...)
	parity.cells[1].parityFailEvery = 4
	parity.cells[2].parityConfig = true
	return map[string]string{
		"synth-old.txt":       synth(old),
		"synth-faster30.txt":  synth(faster),
		"synth-rerun.txt":     synth(rerun),
		"synth-other-cpu.txt": synth(otherCPU),
		"synth-other-isa.txt": synth(otherISA),
		"synth-arm64.txt":     synth(arm),
		"synth-parity.txt":    synth(parity),
		"gotest-old.txt":      synthGoTest(1, 1),
		"gotest-new.txt":      synthGoTest(2, 0.9),
	}
}

// TestMain rewrites the fixtures under -update before any test reads
// them.
func TestMain(m *testing.M) {
	flag.Parse()
	if *update {
		for name, text := range fixtures() {
			if err := os.WriteFile(data(name), []byte(text), 0o666); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
	os.Exit(m.Run())
}

// TestFixtures keeps the synthetic files in testdata identical to their
// generator, so what the goldens show is what the generator says.
func TestFixtures(t *testing.T) {
	for name, want := range fixtures() {
		path := data(name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./reports -update)", err)
		}
		if string(got) != want {
			t.Errorf("%s differs from its generator; run go test ./reports -update", path)
		}
	}
}

// checkGolden compares got with testdata/reports/name, or rewrites it
// under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := data(name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from golden (run go test ./reports -update and review the diff)\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}
