package harness

import (
	"testing"

	"github.com/resbench/resbench/harness/engine"
	"github.com/resbench/resbench/variants"
)

// Per layer, on every model at 32x32, every kernel stays within its
// end-to-end tolerance at every conv/FC/add/scale output (drift included),
// and the logged table shows where error enters. Errors grow with depth
// but stay orders of magnitude below the tolerance; a wrong kernel is O(1).
func TestLayerAccuracyEveryModel(t *testing.T) {
	for _, spec := range variants.Models() {
		if testing.Short() && spec.Depth > 50 {
			continue
		}
		for _, k := range []string{engine.KernelIm2col, engine.KernelWinogradF2, engine.KernelWinogradF4, engine.KernelWinogradF6, engine.KernelDirect} {
			c := Cell{Model: spec.Name, Form: variants.FormC, Fusion: "none", Kernel: k, Size: 32, Batch: 1, Threads: 1}
			layers, err := LayerAccuracy(c, 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			worst := LayerError{}
			for _, l := range layers {
				if l.RelL2 > worst.RelL2 {
					worst = l
				}
				if l.RelL2 > engine.Tolerance(k) {
					t.Errorf("%s %s: layer %s (%s) rel L2 %.3g > %.g", spec.Name, k, l.Layer, l.Kernel, l.RelL2, engine.Tolerance(k))
				}
			}
			t.Logf("%-20s %-12s %3d layers, worst rel L2 %.2g at %s (%s), last %.2g", spec.Name, k, len(layers), worst.RelL2, worst.Layer, worst.Kernel, layers[len(layers)-1].RelL2)
		}
	}
}
