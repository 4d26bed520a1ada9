package engine

import (
	"flag"
	"strings"
	"testing"

	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/fusion"
)

var fullPowerSet = flag.Bool("fusion-powerset", false, "run every subset of the applicable fusion passes, not just none/each/all/all-but-one")

// Every sampled fusion combination, on every model and kernel, must agree
// with the float64 oracle of the unfused graph within the kernel's
// tolerance; a failure names the combination that broke.
func TestFusionCombosMatchUnfusedOracle(t *testing.T) {
	for _, spec := range variants.Models() {
		t.Run(spec.Name, func(t *testing.T) {
			if testing.Short() && spec.Depth > 50 {
				t.Skip("deep model skipped in -short mode")
			}
			t.Parallel()
			// 32x32 keeps every layer type (the last feature map is 1x1)
			// while the combinations multiply the work.
			g := build(t, spec.Name, variants.Options{Size: 32})
			x, want := reference(t, g, 5)
			applicable, err := fusion.Applicable(g)
			if err != nil {
				t.Fatal(err)
			}
			for _, combo := range fusion.Combos(applicable, *fullPowerSet) {
				fused, _, err := fusion.Apply(g, combo, nil)
				if err != nil {
					t.Fatalf("fusion %s: %v", strings.Join(combo, ","), err)
				}
				for _, kernel := range Kernels() {
					// Every combination on the two main layouts (im2col in
					// NCHW, direct blocked); none and all on the others, to
					// bound the test time.
					if kernel != KernelIm2col && kernel != KernelDirect && len(combo) > 0 && len(combo) < len(applicable) {
						continue
					}
					got := runPlan(t, fused, Config{Kernel: kernel, Threads: 1}, x)
					d := Compare(got, want)
					if d.RelL2 > Tolerance(kernel) || TopK(got, 1)[0] != TopK(want, 1)[0] {
						t.Errorf("fusion=%s kernel=%s: rel L2 %.3g (tol %.g), top-1 %d vs oracle %d",
							fusion.Canonical(combo), kernel, d.RelL2, Tolerance(kernel), TopK(got, 1)[0], TopK(want, 1)[0])
					}
				}
			}
		})
	}
}

// Fused graphs at batch 2 on two threads (the combination test above runs
// batch 1 on one thread): every fusion on, every kernel, against the
// oracle of the unfused graph, on one model of each block family.
func TestFusedBatchTwoThreads(t *testing.T) {
	for _, name := range []string{"resnet18", "resnet50-v2", "se-resnext50"} {
		t.Run(name, func(t *testing.T) {
			g := build(t, name, variants.Options{Size: 32, Batch: 2})
			x, want := reference(t, g, 7)
			fused := fuseApplicable(t, g)
			for _, kernel := range Kernels() {
				got := runPlan(t, fused, Config{Kernel: kernel, Threads: 2}, x)
				if d := Compare(got, want); d.RelL2 > Tolerance(kernel) {
					t.Errorf("kernel=%s: rel L2 %.3g (tol %.g)", kernel, d.RelL2, Tolerance(kernel))
				}
			}
		})
	}
}
