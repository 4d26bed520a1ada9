package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
	"github.com/resbench/resbench/variants/graph"
	"github.com/resbench/resbench/variants/oracle"
)

// Hand-built graphs for patterns the zoo does not contain but the graph,
// the fusion passes and the planner accept: each plan, on every kernel and
// on one and two threads, must match the float64 oracle of the unfused
// graph.

func randWeights(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 9))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.Float64() - 0.5)
	}
	return v
}

func testConv(g *graph.Graph, name string, x *graph.Node, out, k, stride, pad int, seed uint64) *graph.Node {
	in := x.Shape.C
	return g.Add(name, &graph.Conv2D{InC: in, OutC: out, KH: k, KW: k, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad,
		DilH: 1, DilW: 1, Groups: 1, Weight: randWeights(out*in*k*k, seed), Bias: randWeights(out, seed+100)}, x)
}

// reference is a random input for g (from seed) and g's float64 oracle
// output on it.
func reference(t *testing.T, g *graph.Graph, seed uint64) ([]float32, []float64) {
	t.Helper()
	x := randomInput(g.Input.Shape.Elems(), seed)
	o, err := oracle.New(g)
	if err != nil {
		t.Fatal(err)
	}
	return x, slices.Clone(o.Run(x))
}

// fuseApplicable applies every fusion pass that applies to g.
func fuseApplicable(t *testing.T, g *graph.Graph) *graph.Graph {
	t.Helper()
	applicable, err := fusion.Applicable(g)
	if err != nil {
		t.Fatal(err)
	}
	fused, _, err := fusion.Apply(g, applicable, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fused
}

// checkAgainstOracle compiles g (after the given fusion passes) for every
// kernel on one and two threads and compares each output with the oracle
// of g unfused.
func checkAgainstOracle(t *testing.T, g *graph.Graph, passes ...string) {
	t.Helper()
	x, want := reference(t, g, 3)
	fused := g
	var err error
	if len(passes) > 0 {
		if fused, _, err = fusion.Apply(g, passes, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, kernel := range Kernels() {
		for _, threads := range []int{1, 2} {
			got := runPlan(t, fused, Config{Kernel: kernel, Threads: threads}, x)
			if d := Compare(got, want); d.RelL2 > Tolerance(kernel) {
				t.Errorf("%s, %d threads: rel L2 %.3g against the oracle (tolerance %.g)", kernel, threads, d.RelL2, Tolerance(kernel))
			}
		}
	}
}

// A conv with a fused 2×2 max pool (conv-relu-pool takes any pool size).
func TestFusedConvPoolOtherSizes(t *testing.T) {
	for _, pool := range []graph.MaxPool{{K: 2, Stride: 2}, {K: 3, Stride: 2, Pad: 1}, {K: 5, Stride: 1, Pad: 2}} {
		g := graph.New("convpool", kernels.Shape{N: 2, C: 3, H: 17, W: 17})
		c := testConv(g, "conv", g.Input, 16, 3, 1, 1, 1)
		r := g.Add("relu", &graph.ReLU{}, c)
		p := pool
		g.Output = g.Add("pool", &p, r)
		checkAgainstOracle(t, g, "conv-relu", "conv-relu-pool")
	}
}

// An Add that reads one input twice, where that input dies at the Add: it
// must not be overwritten before its second read.
func TestAddRepeatedInput(t *testing.T) {
	g := graph.New("addrep", kernels.Shape{N: 1, C: 8, H: 9, W: 9})
	a := testConv(g, "a", g.Input, 16, 1, 1, 0, 1)
	b := testConv(g, "b", g.Input, 16, 1, 1, 0, 2)
	g.Output = g.Add("add", &graph.Add{}, a, b, a)
	checkAgainstOracle(t, g)
}

// An element-wise op on a flattened channel slice: its output must not be
// written over the sliced tensor, whose data it reads at an offset.
func TestElementwiseOnSliceView(t *testing.T) {
	g := graph.New("sliceview", kernels.Shape{N: 1, C: 8, H: 6, W: 6})
	c := testConv(g, "conv", g.Input, 32, 3, 1, 1, 1)
	s := g.Add("slice", &graph.Slice{Start: 8, End: 24}, c)
	f := g.Add("flat", &graph.Flatten{}, s)
	g.Output = g.Add("relu", &graph.ReLU{}, f)
	checkAgainstOracle(t, g)
}

// TestAutoWithoutCache: when the calibration cache cannot be created (here
// its directory would be under a regular file), auto still plans, for this
// run only.
func TestAutoWithoutCache(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RESBENCH_CACHE_DIR", filepath.Join(file, "cache"))
	g := graph.New("nocache", kernels.Shape{N: 1, C: 8, H: 12, W: 12})
	g.Output = testConv(g, "conv", g.Input, 16, 3, 1, 1, 1)
	p, err := Compile(g, Config{Kernel: KernelAuto, Threads: 1})
	if err != nil {
		t.Fatalf("auto without a cache: %v", err)
	}
	p.Close()
}

// Ctrl-C during auto's calibration stops it with the context's error
// instead of finishing minutes of timing first.
func TestAutoCalibrationCanceled(t *testing.T) {
	t.Setenv("RESBENCH_CACHE_DIR", t.TempDir())
	g := graph.New("canceled", kernels.Shape{N: 1, C: 8, H: 12, W: 12})
	g.Output = testConv(g, "conv", g.Input, 16, 3, 1, 1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if p, err := Compile(g, Config{Kernel: KernelAuto, Threads: 1, Context: ctx}); !errors.Is(err, context.Canceled) {
		if p != nil {
			p.Close()
		}
		t.Fatalf("auto with a canceled context: %v", err)
	}
	// Other kernels do not calibrate and ignore it.
	p, err := Compile(g, Config{Kernel: KernelIm2col, Threads: 1, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

// TestThreadLimitAndClosedPlan: an absurd thread count is an error, not
// gigabytes of scratch; running a closed plan panics with a clear message.
func TestThreadLimitAndClosedPlan(t *testing.T) {
	g := graph.New("small", kernels.Shape{N: 1, C: 8, H: 8, W: 8})
	g.Output = testConv(g, "conv", g.Input, 8, 3, 1, 1, 1)
	if _, err := Compile(g, Config{Kernel: KernelIm2col, Threads: MaxThreads() + 1}); err == nil || !strings.Contains(err.Error(), "use at most") {
		t.Errorf("%d threads: %v", MaxThreads()+1, err)
	}
	p, err := Compile(g, Config{Kernel: KernelIm2col, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "closed Plan") {
			t.Errorf("Run after Close: %v", r)
		}
	}()
	p.Run()
}

// TestTiersFormsAndStrideMatchOracle forces every ISA tier the CPU has in
// turn (the direct kernel's blocked layout is 16 lanes at AVX-512 and 8
// below, Winograd's transforms and the element-wise ops follow the tier),
// and builds the model options no other engine test compiles: ResNeXt forms
// a and b (split branches summed or concatenated) and the stride on the
// first 1x1. Unfused and with every applicable fusion, batch 2 on two
// threads, against the float64 oracle of the unfused graph (-short: the
// active tier only). It sets the
// process-wide tier, so it must not run in parallel with other tests.
func TestTiersFormsAndStrideMatchOracle(t *testing.T) {
	prev := kernels.ActiveTier()
	defer kernels.SetTier(prev)
	type model struct {
		name string
		opt  variants.Options
	}
	models := []model{
		{"se-resnext50", variants.Options{Size: 32, Batch: 2}},
		{"resnet50-v2", variants.Options{Size: 32, Batch: 2}},
		{"resnext50", variants.Options{Size: 32, Batch: 2, Form: variants.FormA}},
		{"se-resnext50", variants.Options{Size: 32, Batch: 2, Form: variants.FormB}},
		{"resnet50", variants.Options{Size: 32, Batch: 2, StrideOn1x1: true}},
	}
	type graphs struct {
		plain, fused *graph.Graph
		x            []float32
		want         []float64
	}
	built := make([]graphs, len(models))
	for i, m := range models {
		g := build(t, m.name, m.opt)
		x, want := reference(t, g, uint64(10+i))
		built[i] = graphs{g, fuseApplicable(t, g), x, want}
	}
	for _, tier := range kernels.Tiers() {
		if !kernels.TierSupported(tier) {
			t.Logf("isa=%v: not on this CPU, skipped", tier)
			continue
		}
		if testing.Short() && tier != prev {
			t.Logf("isa=%v: -short runs only the active tier, %v", tier, prev)
			continue
		}
		if err := kernels.SetTier(tier); err != nil {
			t.Fatal(err)
		}
		for i, m := range models {
			b := built[i]
			for _, kernel := range []string{KernelIm2col, KernelDirect, KernelWinogradF4} {
				for _, g := range []*graph.Graph{b.plain, b.fused} {
					p, err := Compile(g, Config{Kernel: kernel, Threads: 2})
					if err != nil {
						t.Fatal(err)
					}
					copy(p.Input(), b.x)
					p.Run()
					got := slices.Clone(p.Output())
					p.Close()
					form := "c"
					if m.opt.Form != 0 {
						form = string(rune(m.opt.Form))
					}
					name := fmt.Sprintf("isa=%v %s form=%s stride-on-1x1=%v kernel=%s fused=%v", tier, m.name, form, m.opt.StrideOn1x1, kernel, g == b.fused)
					if p.Tier != tier.String() {
						t.Errorf("%s: plan built for %s", name, p.Tier)
					}
					if d := Compare(got, b.want); d.RelL2 > Tolerance(kernel) {
						t.Errorf("%s: rel L2 %.3g against the oracle (tolerance %.g)", name, d.RelL2, Tolerance(kernel))
					}
					if g, w := TopK(got[:1000], 1)[0], TopK(b.want[:1000], 1)[0]; g != w {
						t.Errorf("%s: top-1 class %d, the oracle's %d", name, g, w)
					}
				}
			}
		}
	}
}
