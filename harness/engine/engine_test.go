package engine

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/graph"
	"github.com/resbench/resbench/variants/oracle"
)

// smallSize keeps the whole-zoo tests fast: 64x64 runs every layer type
// with a 2x2 final feature map.
const smallSize = 64

func randomInput(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 99))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func build(t testing.TB, name string, opt variants.Options) *graph.Graph {
	t.Helper()
	if opt.Size == 0 {
		opt.Size = smallSize
	}
	g, err := variants.Build(name, opt)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func runPlan(t testing.TB, g *graph.Graph, cfg Config, x []float32) []float32 {
	t.Helper()
	p, err := Compile(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	copy(p.Input(), x)
	p.Run()
	return slices.Clone(p.Output())
}

func TestMain(m *testing.M) {
	// Keep the auto kernel's calibration cache out of the user's home.
	dir, err := os.MkdirTemp("", "resbench-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("RESBENCH_CACHE_DIR", dir)
	// The tests calibrate auto for every model and fusion combination;
	// they check its plans' results, not its choice (TestChoosePlan does).
	planTrialRounds = 5
	collectForTrial = false
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Every kernel on every model: logits within the kernel's tolerance of the
// float64 oracle, and the same top-1 class for every image. It runs on the
// active tier, so RESBENCH_ISA=avx2 (as .ci/run sets it) checks that tier
// end to end; a value the CPU cannot honour fails rather than falling back.
func TestKernelsMatchOracleOnEveryModel(t *testing.T) {
	if err := kernels.TierErr(); err != nil {
		t.Fatal(err)
	}
	t.Logf("isa=%v", kernels.ActiveTier())
	for _, spec := range variants.Models() {
		t.Run(spec.Name, func(t *testing.T) {
			if testing.Short() && spec.Depth > 50 {
				t.Skip("deep model skipped in -short mode")
			}
			t.Parallel()
			g := build(t, spec.Name, variants.Options{Size: 32, Batch: 2})
			x := randomInput(g.Input.Shape.Elems(), 1)
			o, err := oracle.New(g)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(o.Run(x))
			for _, kernel := range Kernels() {
				got := runPlan(t, g, Config{Kernel: kernel, Threads: 1}, x) // one thread: the subtests run in parallel instead, and TestThreadCountDoesNotChangeResults covers threads
				d := Compare(got, want)
				t.Logf("%s %s: max|err| %.3g (max|ref| %.3g), rel L2 %.3g", spec.Name, kernel, d.MaxAbs, d.MaxRef, d.RelL2)
				if Tolerance(kernel) == 0 {
					t.Fatalf("no tolerance for kernel %s", kernel)
				}
				if d.RelL2 > Tolerance(kernel) {
					t.Errorf("%s vs oracle: rel L2 %.3g > %.g", kernel, d.RelL2, Tolerance(kernel))
				}
				for b := range 2 {
					w, g := want[b*1000:(b+1)*1000], got[b*1000:(b+1)*1000]
					if TopK(w, 1)[0] != TopK(g, 1)[0] {
						t.Errorf("%s image %d: top-1 differs: oracle %v, got %v", kernel, b, TopK(w, 5), TopK(g, 5))
					}
				}
			}
		})
	}
}

// The plan's result does not depend on the thread count: work is split
// over output blocks, never over a reduction. (auto and winograd choose
// kernels by timing, and the fastest can differ with the thread count, so
// they are held to the oracle tolerance instead.)
func TestThreadCountDoesNotChangeResults(t *testing.T) {
	g := build(t, "se-resnext50", variants.Options{})
	x := randomInput(g.Input.Shape.Elems(), 3)
	for _, kernel := range Kernels() {
		if kernel == KernelAuto || kernel == KernelWinograd {
			continue
		}
		one := runPlan(t, g, Config{Kernel: kernel, Threads: 1}, x)
		for _, threads := range []int{2, 3} {
			if got := runPlan(t, g, Config{Kernel: kernel, Threads: threads}, x); !slices.Equal(got, one) {
				t.Errorf("%s: %d threads differ from 1 thread", kernel, threads)
			}
		}
	}
}

// The three ResNeXt forms are built from the same weights and must compute
// the same function: compare each form's float64 output, so that the only
// differences are float64 rounding of reordered sums.
func TestResNeXtFormsAgree(t *testing.T) {
	for _, spec := range variants.Models() {
		if !spec.IsResNeXt() {
			continue
		}
		t.Run(spec.Name, func(t *testing.T) {
			if testing.Short() && spec.Depth > 50 {
				t.Skip("deep model skipped in -short mode")
			}
			t.Parallel()
			x := randomInput(3*smallSize*smallSize, 2)
			var ref []float64
			for _, form := range []variants.Form{variants.FormC, variants.FormB, variants.FormA} {
				g := build(t, spec.Name, variants.Options{Form: form})
				o, err := oracle.New(g)
				if err != nil {
					t.Fatal(err)
				}
				out := o.Run(x)
				if ref == nil {
					ref = slices.Clone(out)
					continue
				}
				got := make([]float32, len(out))
				for i, v := range out {
					got[i] = float32(v)
				}
				d := Compare(got, ref)
				t.Logf("form %v vs c: rel L2 %.3g", form, d.RelL2)
				// float32 rounding of the compared values is ~6e-8; a form
				// wired wrongly is off by O(1).
				if d.RelL2 > 1e-6 {
					t.Errorf("form %v differs from form c: rel L2 %.3g", form, d.RelL2)
				}
			}
		})
	}
}

func TestTopK(t *testing.T) {
	v := []float32{0.1, 5, -2, 7, 3, 7.5}
	if got := TopK(v, 3); !slices.Equal(got, []int{5, 3, 1}) {
		t.Fatalf("TopK = %v", got)
	}
}

func TestUnknownKernel(t *testing.T) {
	g := build(t, "resnet18", variants.Options{})
	_, err := Compile(g, Config{Kernel: "fft"})
	if err == nil || !strings.Contains(err.Error(), "naive") {
		t.Fatalf("want an error listing the valid kernels, got %v", err)
	}
}

// Labelled runs allocate nothing either, and traced runs cover every step.
func TestLabelsAndTrace(t *testing.T) {
	g := build(t, "se-resnext50", variants.Options{Size: 32})
	p, err := Compile(g, Config{Kernel: KernelIm2col, Threads: 2, Labels: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Run()
	if a := testing.AllocsPerRun(5, p.Run); a != 0 {
		t.Errorf("a labelled inference allocates %v times", a)
	}
	ts := p.RunTraced()
	for i, s := range ts {
		if s.End < s.Start || (i > 0 && s.Start < ts[i-1].End) {
			t.Fatalf("step %d: %v–%v overlaps or runs backwards", i, s.Start, s.End)
		}
	}
}

// Every kernel's steady-state inference allocates nothing: unfused and
// with every pass (fused stem, SE as 1x1 convs, merged branches), ResNeXt
// forms a and b (split branches) as well as c, one and two threads (the
// im2col and direct kernels take other paths on two), batch 1 and 2.
func TestNoAllocsAnyKernel(t *testing.T) {
	cases := []struct {
		model   string
		opt     variants.Options
		fused   bool
		threads int
	}{
		{"se-resnext50", variants.Options{Size: 32}, false, 2},
		{"se-resnext50", variants.Options{Size: 32}, true, 2},
		{"se-resnext50", variants.Options{Size: 32, Batch: 2}, true, 1},
		{"resnext50", variants.Options{Size: 32, Form: variants.FormA}, true, 2},
		{"resnext50", variants.Options{Size: 32, Form: variants.FormB}, false, 1},
		{"resnet50-v2", variants.Options{Size: 32}, true, 1},
	}
	if testing.Short() {
		cases = cases[:2]
	}
	for i, c := range cases {
		g := build(t, c.model, c.opt)
		if c.fused {
			g = fuseApplicable(t, g)
		}
		for _, k := range Kernels() {
			if k == "auto" && i >= 2 {
				continue // its plans are the other kernels', timed first: slow to build
			}
			p, err := Compile(g, Config{Kernel: k, Threads: c.threads})
			if err != nil {
				t.Fatal(err)
			}
			p.Run()
			if a := testing.AllocsPerRun(3, p.Run); a != 0 {
				t.Errorf("%s %+v fused=%v threads=%d kernel %s: %v allocations per inference", c.model, c.opt, c.fused, c.threads, k, a)
			}
			p.Close()
		}
	}
}
