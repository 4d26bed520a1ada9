package variants

import (
	"fmt"
	"strings"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/kerneltest"
	"github.com/resbench/resbench/variants/graph"
)

// published is the table: torchvision's parameter counts, and MACs
// (conv + FC) at 224x224, batch 1, to the 0.001 G the table gives.
var published = []struct {
	name   string
	params int64
	gmacs  string
}{
	{"resnet18", 11_689_512, "1.814"},
	{"resnet34", 21_797_672, "3.664"},
	{"resnet50", 25_557_032, "4.089"},
	{"resnet101", 44_549_160, "7.801"},
	{"resnet152", 60_192_808, "11.514"},
	{"resnext50-32x4d", 25_028_904, "4.230"},
	{"resnext101-32x8d", 88_791_336, "16.414"},
	{"resnext101-64x4d", 83_455_272, "15.460"},
	{"se-resnet50", 28_088_024, "4.092"},
	{"se-resnet101", 49_326_872, "7.806"},
	{"se-resnet152", 66_821_848, "11.520"},
	{"se-resnext50-32x4d", 27_559_896, "4.233"},
	{"se-resnext101-32x4d", 48_955_416, "7.975"},
	// Not in the table; ours, documented in the README: v2 drops the
	// BN after each block's last conv and on the projection shortcut, adds
	// one BN before each block and one at the end.
	{"resnet50-v2", 25_549_480, "4.089"},
	{"resnet101-v2", 44_541_608, "7.801"},
	{"resnet152-v2", 60_185_256, "11.514"},
	{"resnext101-32x4d", 44_177_704, "7.970"},
}

func TestPublishedCounts(t *testing.T) {
	for _, p := range published {
		t.Run(p.name, func(t *testing.T) {
			g, err := Build(p.name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Params(); got != p.params {
				t.Errorf("params = %d, want %d", got, p.params)
			}
			if got := fmt.Sprintf("%.3f", float64(g.MACs())/1e9); got != p.gmacs {
				t.Errorf("MACs = %s G, want %s G", got, p.gmacs)
			}
			if out := g.Output.Shape; out != (kernels.Shape{N: 1, C: 1000, H: 1, W: 1}) {
				t.Errorf("output shape %v", out)
			}
		})
	}
	if len(published) != len(Models()) {
		t.Errorf("table covers %d models, zoo has %d", len(published), len(Models()))
	}
}

// Forms a and b change the graph, not the counts.
func TestFormsKeepCounts(t *testing.T) {
	c, _ := Build("resnext50", Options{Size: 64})
	for _, f := range []Form{FormA, FormB} {
		g, err := Build("resnext50", Options{Size: 64, Form: f})
		if err != nil {
			t.Fatal(err)
		}
		if g.Params() != c.Params() || g.MACs() != c.MACs() {
			t.Errorf("form %v: params %d MACs %d, form c: %d %d", f, g.Params(), g.MACs(), c.Params(), c.MACs())
		}
		if len(g.Nodes) <= len(c.Nodes) {
			t.Errorf("form %v has %d nodes, no more than form c's %d", f, len(g.Nodes), len(c.Nodes))
		}
	}
}

func TestShapes(t *testing.T) {
	g, _ := Build("resnet50", Options{Batch: 2})
	want := map[string]kernels.Shape{
		"conv1":                 {N: 2, C: 64, H: 112, W: 112},
		"maxpool":               {N: 2, C: 64, H: 56, W: 56},
		"layer1.0.conv1":        {N: 2, C: 64, H: 56, W: 56},
		"layer1.0.add":          {N: 2, C: 256, H: 56, W: 56},
		"layer2.0.conv1":        {N: 2, C: 128, H: 56, W: 56},
		"layer2.0.conv2":        {N: 2, C: 128, H: 28, W: 28},
		"layer2.0.downsample.0": {N: 2, C: 512, H: 28, W: 28},
		"layer4.2.relu":         {N: 2, C: 2048, H: 7, W: 7},
		"avgpool":               {N: 2, C: 2048, H: 1, W: 1},
		"fc":                    {N: 2, C: 1000, H: 1, W: 1},
	}
	for name, s := range want {
		if n := g.Node(name); n == nil || n.Shape != s {
			t.Errorf("%s: got %v, want %v", name, n, s)
		}
	}
	// The original paper's variant strides the first 1x1.
	g, _ = Build("resnet50", Options{StrideOn1x1: true})
	if s := g.Node("layer2.0.conv1").Shape; s.H != 28 {
		t.Errorf("StrideOn1x1: layer2.0.conv1 is %v, want 28x28", s)
	}
	if err := g.InferShapes(kernels.Shape{N: 4, C: 3, H: 96, W: 96}); err != nil {
		t.Fatal(err)
	}
	if s := g.Output.Shape; s.N != 4 || s.C != 1000 {
		t.Errorf("after InferShapes: %v", s)
	}
}

func TestSEPlacement(t *testing.T) {
	g, _ := Build("se-resnext50", Options{Size: 64})
	add := g.Node("layer1.0.add")
	if add.Inputs[0].Name != "layer1.0.se.scale" {
		t.Errorf("SE must feed the residual add, got %s", add.Inputs[0].Name)
	}
	fc1 := g.Node("layer1.0.se.fc1").Op.(*graph.FullyConnected)
	if fc1.In != 256 || fc1.Out != 16 || fc1.Bias == nil {
		t.Errorf("se fc1 %d→%d bias=%v, want 256→16 with bias", fc1.In, fc1.Out, fc1.Bias != nil)
	}
}

func TestPreActLayout(t *testing.T) {
	g, _ := Build("resnet50-v2", Options{Size: 64})
	add := g.Node("layer1.1.add")
	// Identity shortcut: the add reads the previous block's add directly,
	// with no ReLU after it.
	if add.Inputs[1].Name != "layer1.0.add" {
		t.Errorf("identity shortcut reads %s", add.Inputs[1].Name)
	}
	if g.Node("layer1.0.relu") != nil {
		t.Error("v2 block must not end in a ReLU")
	}
	if g.Node("layer1.0.downsample.0").Inputs[0].Name != "layer1.0.relu0" {
		t.Error("v2 projection must read the pre-activated input")
	}
}

func TestDeterministicWeights(t *testing.T) {
	a, _ := Build("resnet18", Options{Size: 64, Seed: 7})
	b, _ := Build("resnet18", Options{Size: 64, Seed: 7})
	c, _ := Build("resnet18", Options{Size: 64, Seed: 8})
	wa := a.Node("layer2.0.conv1").Op.(*graph.Conv2D).Weight
	wb := b.Node("layer2.0.conv1").Op.(*graph.Conv2D).Weight
	wc := c.Node("layer2.0.conv1").Op.(*graph.Conv2D).Weight
	for i := range wa {
		if wa[i] != wb[i] {
			t.Fatal("same seed gave different weights")
		}
	}
	same := 0
	for i := range wa {
		if wa[i] == wc[i] {
			same++
		}
	}
	if same > len(wa)/100 {
		t.Errorf("different seeds share %d of %d weights", same, len(wa))
	}
	bn := a.Node("bn1").Op.(*graph.BatchNorm)
	for i := range bn.C {
		if bn.Gamma[i] == 1 && bn.Beta[i] == 0 && bn.Mean[i] == 0 && bn.Var[i] == 1 {
			t.Fatal("BN statistics must not be identity")
		}
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"resnet9000", Options{}, "valid models: resnet18"},
		{"resnet50", Options{Size: 8}, "too small"},
		{"resnet50", Options{Batch: -1}, "batch"},
		{"resnet50", Options{Form: FormA}, "ResNeXt models only"},
	}
	for _, c := range cases {
		if _, err := Build(c.name, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%s, %+v) error = %v, want it to mention %q", c.name, c.opt, err, c.want)
		}
	}
	if _, err := ParseForm("d"); err == nil {
		t.Error("ParseForm(d) must fail")
	}
}

func TestAliases(t *testing.T) {
	for alias, want := range map[string]string{
		"resnext50": "resnext50-32x4d", "resnext101": "resnext101-32x4d",
		"se-resnext50": "se-resnext50-32x4d", "se-resnext101": "se-resnext101-32x4d",
	} {
		s, err := Lookup(alias)
		if err != nil || s.Name != want {
			t.Errorf("Lookup(%s) = %s, %v; want %s", alias, s.Name, err, want)
		}
	}
}

// The conformance suite's ZooShapes must hold every conv the zoo builds, in
// every ResNeXt form and both bottleneck stride layouts, so that "every shape the zoo uses" stays true as the
// zoo grows.
func TestConformanceCoversZoo(t *testing.T) {
	have := map[kerneltest.Shape]bool{}
	for _, s := range kerneltest.ZooShapes {
		have[s] = true
	}
	for _, spec := range Models() {
		for _, on1x1 := range []bool{false, true} {
			if on1x1 && !spec.Bottleneck {
				continue
			}
			for _, f := range []Form{FormC, FormA, FormB} {
				if f != FormC && !spec.IsResNeXt() {
					continue
				}
				g, err := BuildSpec(spec, Options{CountOnly: true, Form: f, StrideOn1x1: on1x1})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range g.Nodes {
					c, ok := n.Op.(*graph.Conv2D)
					if !ok {
						continue
					}
					x := n.Inputs[0].Shape
					s := kerneltest.Shape{InC: x.C, H: x.H, W: x.W, OutC: c.OutC, K: c.KH, Stride: c.StrideH, Pad: c.PadH, Groups: c.Groups}
					if !have[s] {
						have[s] = true
						t.Errorf("%s form %v stride-on-1x1 %v: %s has shape %+v, missing from kerneltest.ZooShapes", spec.Name, f, on1x1, n.Name, s)
					}
				}
			}
		}
	}
}
