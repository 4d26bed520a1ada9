package bench

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resbench/resbench/harness"
	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants"
)

// BenchmarkResNeXtForms compares the paper's three equivalent forms of the
// ResNeXt block — (a) split-branch sum, (b) split/concat, (c) grouped conv —
// stage by stage, on the same weights, unfused (the horizontal pass would
// collapse a and b into c). Each inference is timed step by step and the
// time of each stage's blocks is reported as stageN-ms (torchvision's
// layer1…layer4 are the paper's stages conv2…conv5, so layer1.* is
// stage2-ms), so one run gives the per-stage comparison; the whole-model
// latency is the usual sec/op.
func BenchmarkResNeXtForms(b *testing.B) {
	for _, model := range []string{"resnext50-32x4d", "se-resnext50-32x4d"} {
		for _, kernel := range []string{engine.KernelAuto, engine.KernelDirect, engine.KernelIm2col} {
			for _, form := range []variants.Form{variants.FormA, variants.FormB, variants.FormC} {
				cell := harness.Cell{Model: model, Form: form, Fusion: "none", Kernel: kernel, Size: *modelSize, Batch: 1, Threads: 1}
				b.Run(fmt.Sprintf("model=%s/form=%v/kernel=%s/threads=1", model, form, kernel), func(b *testing.B) {
					g, err := cell.Build(1)
					if err != nil {
						b.Fatal(err)
					}
					plan, err := engine.Compile(g, engine.Config{Kernel: kernel, Threads: 1})
					if err != nil {
						b.Fatal(err)
					}
					defer plan.Close()
					harness.RandomInput(plan.Input(), 1)
					plan.Run()
					for i := range plan.Steps {
						plan.Steps[i].Elapsed = 0
					}
					b.ResetTimer()
					for b.Loop() {
						plan.RunTimed()
					}
					var stage [5]time.Duration
					for _, s := range plan.Steps {
						if name := s.Node.Name; strings.HasPrefix(name, "layer") && len(name) > 5 {
							stage[name[5]-'0'] += s.Elapsed
						}
					}
					for i := 1; i <= 4; i++ {
						b.ReportMetric(float64(stage[i].Microseconds())/1000/float64(b.N), fmt.Sprintf("stage%d-ms", i+1))
					}
				})
			}
		}
	}
}
