package fusion

import (
	"testing"

	"github.com/resbench/resbench/variants"
)

func TestPassesApplyWhereTheSeedSays(t *testing.T) {
	for _, c := range []struct {
		model string
		want  map[string]bool
	}{
		{"resnet50", map[string]bool{"bn-fold": true, "conv-relu": true, "conv-add-relu": true, "preact-bn-relu": false, "preact-conv-add": false, "se-scale-add": false}},
		{"resnet50-v2", map[string]bool{"bn-fold": true, "conv-relu": true, "preact-bn-relu": true, "preact-conv-add": true, "conv-add-relu": false, "se-scale-add": false}},
		{"se-resnext50", map[string]bool{"bn-fold": true, "conv-relu": true, "se-scale-add": true, "preact-bn-relu": false}},
	} {
		g, err := variants.Build(c.model, variants.Options{Size: 64, CountOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		app, err := Applicable(g)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, p := range app {
			got[p] = true
		}
		for p, want := range c.want {
			if got[p] != want {
				t.Errorf("%s: pass %s applies = %v, want %v", c.model, p, got[p], want)
			}
		}
	}
}

// TestFullyFusedOpsLeft counts what every pass leaves of the ops they
// fold away, on one model per block family, so that a pass that stopped
// firing on some blocks shows here and not only as a changed golden dump.
func TestFullyFusedOpsLeft(t *testing.T) {
	// -1: not checked (pre-activation BNs on a block's input and the SE
	// blocks' inner ReLUs stay ops of their own).
	for _, c := range []struct {
		model string
		left  map[string]int
	}{
		// One ReLU stays: layer1.0's first, on the slice the horizontal
		// pass cuts from the conv it shares with the projection (which
		// takes no ReLU).
		{"resnet50", map[string]int{"bn": 0, "relu": 1, "add": 0}},
		{"resnet50-v2", map[string]int{"bn": -1, "relu": 0, "add": 0}},
		{"se-resnext50", map[string]int{"bn": 0, "relu": -1, "add": 0}},
	} {
		g, err := variants.Build(c.model, variants.Options{Size: 64, CountOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := Apply(g, Names(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for typ, want := range c.left {
			t.Logf("%s: %d %s of %d", c.model, count(h, typ), typ, count(g, typ))
			if got := count(h, typ); want >= 0 && got != want {
				t.Errorf("%s fully fused: %d %s nodes left of %d, want %d", c.model, got, typ, count(g, typ), want)
			}
		}
	}
}
