// Package variants builds the residual family as graphs: ResNet v1 (basic and
// bottleneck blocks, identity and projection shortcuts), ResNet-v2
// (pre-activation), ResNeXt (cardinality × width, in the paper's three
// equivalent forms a, b and c), and SE-ResNet / SE-ResNeXt.
//
// Weights are deterministic: every logical tensor (a conv's filter, a BN's
// statistics) is drawn from its own PCG stream seeded by the model seed and
// the tensor's canonical name, so the same model always gets the same
// weights, and ResNeXt forms a and b slice exactly the tensors form c uses:
// the three forms compute the same function.
package variants

import (
	"fmt"
	"slices"
	"strings"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/variants/graph"
)

// Spec describes one architecture of the zoo.
type Spec struct {
	Name    string   // canonical name, e.g. "se-resnext50-32x4d"
	Aliases []string // short names, e.g. "se-resnext50"
	Family  string   // resnet, resnet-v2, resnext, se-resnet, se-resnext
	Depth   int      // 18, 34, 50, 101, 152
	Blocks  [4]int   // blocks per stage
	// Bottleneck selects 1x1-3x3-1x1 blocks (expansion 4); otherwise basic
	// 3x3-3x3 blocks (expansion 1).
	Bottleneck bool
	Groups     int  // cardinality C (1 for plain ResNet)
	Width      int  // width per group d (64 for plain ResNet)
	PreAct     bool // ResNet-v2
	SE         bool // squeeze-and-excitation on the residual branch
}

// IsResNeXt reports whether the model has grouped 3x3 convolutions, the
// only models for which Form matters.
func (s Spec) IsResNeXt() bool { return s.Groups > 1 }

var zoo = []Spec{
	{Name: "resnet18", Family: "resnet", Depth: 18, Blocks: [4]int{2, 2, 2, 2}, Groups: 1, Width: 64},
	{Name: "resnet34", Family: "resnet", Depth: 34, Blocks: [4]int{3, 4, 6, 3}, Groups: 1, Width: 64},
	{Name: "resnet50", Family: "resnet", Depth: 50, Blocks: [4]int{3, 4, 6, 3}, Bottleneck: true, Groups: 1, Width: 64},
	{Name: "resnet101", Family: "resnet", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 1, Width: 64},
	{Name: "resnet152", Family: "resnet", Depth: 152, Blocks: [4]int{3, 8, 36, 3}, Bottleneck: true, Groups: 1, Width: 64},
	{Name: "resnet50-v2", Family: "resnet-v2", Depth: 50, Blocks: [4]int{3, 4, 6, 3}, Bottleneck: true, Groups: 1, Width: 64, PreAct: true},
	{Name: "resnet101-v2", Family: "resnet-v2", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 1, Width: 64, PreAct: true},
	{Name: "resnet152-v2", Family: "resnet-v2", Depth: 152, Blocks: [4]int{3, 8, 36, 3}, Bottleneck: true, Groups: 1, Width: 64, PreAct: true},
	{Name: "resnext50-32x4d", Aliases: []string{"resnext50"}, Family: "resnext", Depth: 50, Blocks: [4]int{3, 4, 6, 3}, Bottleneck: true, Groups: 32, Width: 4},
	// resnext101-32x4d is not in torchvision, but it is SE-ResNeXt-101's
	// plain counterpart and the target of the "resnext101" alias.
	{Name: "resnext101-32x4d", Aliases: []string{"resnext101"}, Family: "resnext", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 32, Width: 4},
	{Name: "resnext101-32x8d", Family: "resnext", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 32, Width: 8},
	{Name: "resnext101-64x4d", Family: "resnext", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 64, Width: 4},
	{Name: "se-resnet50", Family: "se-resnet", Depth: 50, Blocks: [4]int{3, 4, 6, 3}, Bottleneck: true, Groups: 1, Width: 64, SE: true},
	{Name: "se-resnet101", Family: "se-resnet", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 1, Width: 64, SE: true},
	{Name: "se-resnet152", Family: "se-resnet", Depth: 152, Blocks: [4]int{3, 8, 36, 3}, Bottleneck: true, Groups: 1, Width: 64, SE: true},
	{Name: "se-resnext50-32x4d", Aliases: []string{"se-resnext50"}, Family: "se-resnext", Depth: 50, Blocks: [4]int{3, 4, 6, 3}, Bottleneck: true, Groups: 32, Width: 4, SE: true},
	{Name: "se-resnext101-32x4d", Aliases: []string{"se-resnext101"}, Family: "se-resnext", Depth: 101, Blocks: [4]int{3, 4, 23, 3}, Bottleneck: true, Groups: 32, Width: 4, SE: true},
}

// Models returns every architecture of the zoo in a stable order.
func Models() []Spec { return slices.Clone(zoo) }

// Names returns the canonical names followed by the aliases.
func Names() []string {
	var names, aliases []string
	for _, s := range zoo {
		names = append(names, s.Name)
		aliases = append(aliases, s.Aliases...)
	}
	return append(names, aliases...)
}

// Lookup resolves a canonical name or alias.
func Lookup(name string) (Spec, error) {
	for _, s := range zoo {
		if s.Name == name || slices.Contains(s.Aliases, name) {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("unknown model %q; valid models: %s", name, strings.Join(Names(), ", "))
}

// Form selects how a ResNeXt block's aggregated transform is expressed; the
// three forms of the ResNeXt paper (its Fig. 3) compute the same function.
type Form byte

const (
	// FormC is the grouped-convolution form: 1x1, grouped 3x3, 1x1.
	FormC Form = 'c'
	// FormB is the Inception-like form: 1x1, split into C paths of d
	// channels, a 3x3 per path, concat, 1x1.
	FormB Form = 'b'
	// FormA is the split-branch form: C separate 1x1-3x3-1x1 paths of width
	// d whose outputs are summed.
	FormA Form = 'a'
)

// ParseForm parses "a", "b" or "c".
func ParseForm(s string) (Form, error) {
	switch s {
	case "a", "b", "c":
		return Form(s[0]), nil
	}
	return 0, fmt.Errorf("unknown ResNeXt form %q; valid forms: a (split-branch sum), b (split, concat), c (grouped conv)", s)
}

func (f Form) String() string { return string(rune(f)) }

// StrideName is a layout's spelling in flags and settings: "1x1" for the
// stride on a bottleneck's first 1x1, "3x3" for the default.
func StrideName(on1x1 bool) string {
	if on1x1 {
		return "1x1"
	}
	return "3x3"
}

// ParseStride parses "3x3" or "1x1" (see StrideName).
func ParseStride(s string) (on1x1 bool, err error) {
	switch s {
	case "3x3", "1x1":
		return s == "1x1", nil
	}
	return false, fmt.Errorf("unknown stride layout %q; valid: 3x3 (stride on a bottleneck's 3x3, the default), 1x1 (on its first 1x1, the original ResNet)", s)
}

// Options are the knobs of Build. The zero value builds the 224x224, batch
// 1, form c, stride-on-3x3 model with seed 1.
type Options struct {
	Size  int    // input height and width; 0 means 224
	Batch int    // 0 means 1
	Seed  uint64 // 0 means 1
	Form  Form   // ResNeXt form; 0 means FormC
	// StrideOn1x1 puts a bottleneck's stride on its first 1x1 conv, as the
	// original ResNet paper did, instead of on the 3x3 (torchvision's
	// "v1.5", the default).
	StrideOn1x1 bool
	Classes     int // 0 means 1000
	// CountOnly leaves every weight zero instead of drawing it: the graph
	// has the right shapes and counts but computes nothing meaningful. It
	// makes listing the zoo instant.
	CountOnly bool
}

func (o *Options) defaults() {
	if o.Size == 0 {
		o.Size = 224
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Form == 0 {
		o.Form = FormC
	}
	if o.Classes == 0 {
		o.Classes = 1000
	}
}

// Build constructs the named model with deterministic weights.
func Build(name string, opt Options) (*graph.Graph, error) {
	spec, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return BuildSpec(spec, opt)
}

// MinSize is the smallest input size every model accepts: five halvings
// must leave at least one pixel.
const MinSize = 32

// BuildSpec constructs the model described by spec.
func BuildSpec(spec Spec, opt Options) (g *graph.Graph, err error) {
	opt.defaults()
	switch {
	case opt.Size < MinSize:
		return nil, fmt.Errorf("input size %d is too small; the models need at least %d", opt.Size, MinSize)
	case opt.Batch < 1:
		return nil, fmt.Errorf("batch %d must be positive", opt.Batch)
	case opt.Form != FormA && opt.Form != FormB && opt.Form != FormC:
		return nil, fmt.Errorf("unknown ResNeXt form %q", opt.Form)
	case opt.Form != FormC && !spec.IsResNeXt():
		return nil, fmt.Errorf("--resnext-form applies to ResNeXt models only; %s has no grouped convolution", spec.Name)
	case opt.StrideOn1x1 && !spec.Bottleneck:
		return nil, fmt.Errorf("the stride-on-1x1 layout applies to bottleneck models (depth 50 and up); %s has basic blocks", spec.Name)
	}
	b := &builder{spec: spec, opt: opt, lastBN: map[string]bool{}, g: graph.New(spec.Name, kernels.Shape{N: opt.Batch, C: 3, H: opt.Size, W: opt.Size})}
	defer func() {
		// Graph.Add panics on builder bugs; report them as errors with the
		// node that failed.
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("building %s: %v", spec.Name, r)
		}
	}()
	b.build()
	return b.g, nil
}

// MarshalText writes the form as its letter (for JSON).
func (f Form) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
