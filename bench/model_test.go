package bench

import (
	"flag"
	"strings"
	"testing"

	"github.com/resbench/resbench/harness"
	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants"
)

var modelSize = flag.Int("size", 224, "input size of BenchmarkModel")

// BenchmarkModel times one whole inference per model × fusion (none, all) ×
// kernel at batch 1, with the engine's plan built once outside the timer,
// and reports allocations (which must be 0), GFLOP/s and %peak. Select with
// -bench, e.g. 'Model/model=resnet50/fusion=all/kernel=im2col'.
func BenchmarkModel(b *testing.B) {
	tier := kernels.ActiveTier()
	for _, spec := range variants.Models() {
		for _, fusion := range []string{"none", "all"} {
			for _, kernel := range engine.Kernels() {
				for _, threads := range []int{1, 2} {
					cell := harness.Cell{Model: spec.Name, Form: variants.FormC, Fusion: fusion, Kernel: kernel, Size: *modelSize, Batch: 1, Threads: threads}
					name := strings.TrimPrefix(cell.Name(), "Model/")
					b.Run(name, func(b *testing.B) {
						g, err := cell.Build(1)
						if err != nil {
							b.Fatal(err)
						}
						if g, _, err = cell.Fuse(g, nil); err != nil {
							b.Fatal(err)
						}
						plan, err := engine.Compile(g, engine.Config{Kernel: kernel, Threads: threads})
						if err != nil {
							b.Fatal(err)
						}
						defer plan.Close()
						harness.RandomInput(plan.Input(), 1)
						plan.Run() // warm-up
						b.ResetTimer()
						measure(b, 2*float64(g.MACs()), tier, plan.Pool(), plan.Run)
						b.ReportMetric(float64(plan.ActivationBytes+plan.WorkspaceBytes), "activation-B")
					})
				}
			}
		}
	}
}
