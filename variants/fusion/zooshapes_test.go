package fusion

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/variants"
	"github.com/resbench/resbench/variants/graph"
)

// The conformance suite's ZooShapes must also hold the convolutions the
// passes create (variants' TestConformanceCoversZoo checks the unfused
// graphs): the SE block's FC layers as 1x1 convs on 1x1 planes
// (se-fc-conv1x1), branches merged into one wider conv (horizontal), and
// the stride moved off a 1x1 (pool1x1). Every pass is applied, then
// (unless -short) each alone, to every model in every ResNeXt form and
// both bottleneck stride layouts.
func TestConformanceCoversFusedZoo(t *testing.T) {
	have := map[kerneltest.Shape]bool{}
	for _, s := range kerneltest.ZooShapes {
		have[s] = true
	}
	var missing []string
	type build struct {
		form  variants.Form
		on1x1 bool
	}
	for _, spec := range variants.Models() {
		var builds []build
		for _, f := range []variants.Form{variants.FormC, variants.FormA, variants.FormB} {
			if f != variants.FormC && !spec.IsResNeXt() {
				continue
			}
			builds = append(builds, build{f, false})
			if spec.Bottleneck {
				builds = append(builds, build{f, true})
			}
		}
		for _, b := range builds {
			f := b.form
			g, err := variants.BuildSpec(spec, variants.Options{CountOnly: true, Form: f, StrideOn1x1: b.on1x1})
			if err != nil {
				t.Fatal(err)
			}
			selections := [][]string{Names()}
			if !testing.Short() {
				for _, p := range Names() {
					selections = append(selections, []string{p})
				}
			}
			for _, sel := range selections {
				fused, _, err := Apply(g, sel, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range fused.Nodes {
					c, ok := n.Op.(*graph.Conv2D)
					if !ok {
						continue
					}
					if c.KH != c.KW || c.StrideH != c.StrideW || c.PadH != c.PadW || c.DilH > 1 || c.DilW > 1 {
						t.Fatalf("%s form %v %v: %s is not square (%+v); the zoo's shapes are all square, and the conv's shape below assumes it", spec.Name, f, sel, n.Name, c)
					}
					x := n.Inputs[0].Shape
					s := kerneltest.Shape{InC: x.C, H: x.H, W: x.W, OutC: c.OutC, K: c.KH, Stride: c.StrideH, Pad: c.PadH, Groups: c.Groups}
					if !have[s] {
						have[s] = true
						missing = append(missing, fmt.Sprintf("\t{InC: %d, H: %d, W: %d, OutC: %d, K: %d, Stride: %d, Pad: %d, Groups: %d}, // %s %s",
							s.InC, s.H, s.W, s.OutC, s.K, s.Stride, s.Pad, s.Groups, spec.Name, n.Name))
					}
				}
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%d shapes the passes create are missing from kerneltest.ZooShapes:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
