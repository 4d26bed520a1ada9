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
