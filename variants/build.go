package variants

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/resbench/resbench/variants/graph"
)

type builder struct {
	spec Spec
	opt  Options
	g    *graph.Graph
	// lastBN names the BNs that end a residual branch (see bnParams).
	lastBN map[string]bool
}

// stream returns the random stream of one logical tensor. Seeding by name
// (not by draw order) is what lets forms a and b reuse form c's weights.
func (b *builder) stream(name string) *rand.PCG {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.NewPCG(b.opt.Seed, h.Sum64())
}

// unit fills v with U[0,1) values, two 24-bit draws per 64-bit PCG output:
// the big models have up to 89M weights, and going through rand.Rand's
// Float64 made building the zoo several times slower.
func unit(r *rand.PCG, v []float32) {
	const scale = 1.0 / (1 << 24)
	for i := 0; i < len(v); i += 2 {
		x := r.Uint64()
		v[i] = float32(x>>40) * scale
		if i+1 < len(v) {
			v[i+1] = float32(x>>8&(1<<24-1)) * scale
		}
	}
}

// uniform fills n values from U(-bound, bound).
func (b *builder) uniform(r *rand.PCG, n int, bound float64) []float32 {
	return b.between(r, n, -bound, bound)
}

// between fills n values from U(lo, hi).
func (b *builder) between(r *rand.PCG, n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	if b.opt.CountOnly {
		return v
	}
	unit(r, v)
	l, w := float32(lo), float32(hi-lo)
	for i, u := range v {
		v[i] = l + w*u
	}
	return v
}

// kaiming draws a conv filter with Kaiming-uniform init (gain √2 for ReLU
// networks): U(±√(6/fan_in)), which keeps activation variance roughly
// constant through conv+ReLU.
func (b *builder) kaiming(name string, n, fanIn int) []float32 {
	return b.uniform(b.stream(name), n, math.Sqrt(6/float64(fanIn)))
}

// bnParams draws non-identity BatchNorm statistics, so that BN folding is
// really exercised: gamma in [0.5,1.5], beta and mean in [-0.2,0.2], var in
// [0.5,1.5].
//
// The last BN of a residual branch gets gamma in [0.1,0.3] instead. Running
// statistics do not renormalize at inference, so a branch's output scales
// with its input, and with gamma near 1 every block would double the
// residual stream's variance: 2^50 for ResNet-152, far outside what trained
// networks produce and enough to saturate the SE sigmoids. A small final
// gamma (the same idea as zero-init-residual and Fixup) keeps activations
// O(1..100) at any depth.
func (b *builder) bnParams(name string, c int) *graph.BatchNorm {
	lo, hi := 0.5, 1.5
	if b.lastBN[name] {
		lo, hi = 0.1, 0.3
	}
	r := b.stream(name)
	return &graph.BatchNorm{C: c, Eps: 1e-5,
		Gamma: b.between(r, c, lo, hi), Beta: b.between(r, c, -0.2, 0.2),
		Mean: b.between(r, c, -0.2, 0.2), Var: b.between(r, c, 0.5, 1.5)}
}

// convWeights draws the canonical filter of a (possibly grouped) conv.
func (b *builder) convWeights(name string, in, out, k, groups int) []float32 {
	fanIn := in / groups * k * k
	return b.kaiming(name, out*fanIn, fanIn)
}

func (b *builder) conv(name string, x *graph.Node, out, k, stride, groups int) *graph.Node {
	in := x.Shape.C
	return b.convW(name, x, in, out, k, stride, groups, b.convWeights(name, in, out, k, groups))
}

func (b *builder) convW(name string, x *graph.Node, in, out, k, stride, groups int, w []float32) *graph.Node {
	return b.g.Add(name, &graph.Conv2D{InC: in, OutC: out, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadH: k / 2, PadW: k / 2, DilH: 1, DilW: 1, Groups: groups, Weight: w}, x)
}

func (b *builder) bn(name string, x *graph.Node) *graph.Node {
	return b.g.Add(name, b.bnParams(name, x.Shape.C), x)
}

func (b *builder) relu(name string, x *graph.Node) *graph.Node {
	return b.g.Add(name, &graph.ReLU{}, x)
}

func (b *builder) build() {
	s := b.spec
	x := b.g.Input
	x = b.conv("conv1", x, 64, 7, 2, 1)
	x = b.bn("bn1", x)
	x = b.relu("relu", x)
	x = b.g.Add("maxpool", &graph.MaxPool{K: 3, Stride: 2, Pad: 1}, x)
	for stage, blocks := range s.Blocks {
		planes := 64 << stage
		for i := range blocks {
			stride := 1
			if stage > 0 && i == 0 {
				stride = 2
			}
			name := fmt.Sprintf("layer%d.%d", stage+1, i)
			switch {
			case s.PreAct:
				x = b.preactBottleneck(name, x, planes, stride)
			case s.Bottleneck:
				x = b.bottleneck(name, x, planes, stride)
			default:
				x = b.basic(name, x, planes, stride)
			}
		}
	}
	if s.PreAct {
		// v2 ends with the BN+ReLU that the last block's output never got.
		x = b.bn("postnorm.bn", x)
		x = b.relu("postnorm.relu", x)
	}
	x = b.g.Add("avgpool", &graph.GlobalAvgPool{}, x)
	x = b.g.Add("flatten", &graph.Flatten{}, x)
	in := x.Shape.C
	r := b.stream("fc")
	bound := 1 / math.Sqrt(float64(in)) // torch.nn.Linear's default init
	b.g.Add("fc", &graph.FullyConnected{In: in, Out: b.opt.Classes,
		Weight: b.uniform(r, in*b.opt.Classes, bound), Bias: b.uniform(r, b.opt.Classes, bound)}, x)
}

// shortcut returns x itself, or the projection (1x1 conv, stride, BN) when
// the block changes shape.
func (b *builder) shortcut(name string, x *graph.Node, out, stride int) *graph.Node {
	if stride == 1 && x.Shape.C == out {
		return x
	}
	p := b.conv(name+".downsample.0", x, out, 1, stride, 1)
	return b.bn(name+".downsample.1", p)
}

// basic is ResNet-18/34's block: 3x3 (stride), BN, ReLU, 3x3, BN, (+SE),
// add the shortcut, ReLU.
func (b *builder) basic(name string, x *graph.Node, planes, stride int) *graph.Node {
	y := b.conv(name+".conv1", x, planes, 3, stride, 1)
	y = b.relu(name+".relu1", b.bn(name+".bn1", y))
	b.lastBN[name+".bn2"] = true
	y = b.bn(name+".bn2", b.conv(name+".conv2", y, planes, 3, 1, 1))
	if b.spec.SE {
		y = b.se(name+".se", y)
	}
	sc := b.shortcut(name, x, planes, stride)
	return b.relu(name+".relu", b.g.Add(name+".add", &graph.Add{}, y, sc))
}

// bottleneck is the 1x1-3x3-1x1 block of ResNet-50+ and ResNeXt. The 3x3 is
// grouped for ResNeXt (form c) or expanded into form a or b.
func (b *builder) bottleneck(name string, x *graph.Node, planes, stride int) *graph.Node {
	s := b.spec
	width := planes * s.Width / 64 * s.Groups
	out := planes * 4
	s1, s3 := 1, stride
	if b.opt.StrideOn1x1 {
		s1, s3 = stride, 1
	}
	var y *graph.Node
	switch b.opt.Form {
	case FormA:
		y = b.formA(name, x, width, out, s1, s3)
	case FormB:
		y = b.formB(name, x, width, out, s1, s3)
	default:
		y = b.relu(name+".relu1", b.bn(name+".bn1", b.conv(name+".conv1", x, width, 1, s1, 1)))
		y = b.relu(name+".relu2", b.bn(name+".bn2", b.conv(name+".conv2", y, width, 3, s3, s.Groups)))
		y = b.conv(name+".conv3", y, out, 1, 1, 1)
	}
	b.lastBN[name+".bn3"] = true
	y = b.bn(name+".bn3", y)
	if s.SE {
		y = b.se(name+".se", y)
	}
	sc := b.shortcut(name, x, out, stride)
	return b.relu(name+".relu", b.g.Add(name+".add", &graph.Add{}, y, sc))
}

// rows cuts rows [lo, hi) out of a row-major tensor: path p's share of a
// form-c filter laid out [out][...].
func rows(w []float32, lo, hi, rowLen int) []float32 { return w[lo*rowLen : hi*rowLen] }

// bnSlice is channels [lo, hi) of a BN: BN is per channel, so a path's BN
// is a slice of form c's.
func bnSlice(bn *graph.BatchNorm, lo, hi int) *graph.BatchNorm {
	return &graph.BatchNorm{C: hi - lo, Eps: bn.Eps, Gamma: bn.Gamma[lo:hi], Beta: bn.Beta[lo:hi], Mean: bn.Mean[lo:hi], Var: bn.Var[lo:hi]}
}

// formB: one 1x1 to the full width, then per path a slice, a dense 3x3 of
// d channels, BN and ReLU, then concat and the 1x1. The per-path 3x3 and BN
// are form c's group p and channels [p·d, (p+1)·d).
func (b *builder) formB(name string, x *graph.Node, width, out, s1, s3 int) *graph.Node {
	groups := b.spec.Groups
	d := width / groups
	y := b.relu(name+".relu1", b.bn(name+".bn1", b.conv(name+".conv1", x, width, 1, s1, 1)))
	w2 := b.convWeights(name+".conv2", width, width, 3, groups)
	bn2 := b.bnParams(name+".bn2", width)
	paths := make([]*graph.Node, groups)
	for p := range groups {
		pn := fmt.Sprintf("%s.path%d", name, p)
		z := b.g.Add(pn+".split", &graph.Slice{Start: p * d, End: (p + 1) * d}, y)
		z = b.convW(pn+".conv2", z, d, d, 3, s3, 1, rows(w2, p*d, (p+1)*d, d*9))
		z = b.g.Add(pn+".bn2", bnSlice(bn2, p*d, (p+1)*d), z)
		paths[p] = b.relu(pn+".relu2", z)
	}
	y = b.g.Add(name+".concat", &graph.Concat{}, paths...)
	return b.conv(name+".conv3", y, out, 1, 1, 1)
}

// formA: C independent paths, each 1x1 (in→d), BN, ReLU, 3x3 (d→d), BN,
// ReLU, 1x1 (d→out), summed. Path p's first 1x1 is rows p·d.. of form c's
// conv1; its last 1x1 is columns p·d.. of form c's conv3, so the sum of the
// paths is form c's conv3 applied to the concatenation.
func (b *builder) formA(name string, x *graph.Node, width, out, s1, s3 int) *graph.Node {
	groups := b.spec.Groups
	d := width / groups
	in := x.Shape.C
	w1 := b.convWeights(name+".conv1", in, width, 1, 1)
	bn1 := b.bnParams(name+".bn1", width)
	w2 := b.convWeights(name+".conv2", width, width, 3, groups)
	bn2 := b.bnParams(name+".bn2", width)
	w3 := b.convWeights(name+".conv3", width, out, 1, 1)
	paths := make([]*graph.Node, groups)
	for p := range groups {
		pn := fmt.Sprintf("%s.path%d", name, p)
		z := b.convW(pn+".conv1", x, in, d, 1, s1, 1, rows(w1, p*d, (p+1)*d, in))
		z = b.relu(pn+".relu1", b.g.Add(pn+".bn1", bnSlice(bn1, p*d, (p+1)*d), z))
		z = b.convW(pn+".conv2", z, d, d, 3, s3, 1, rows(w2, p*d, (p+1)*d, d*9))
		z = b.relu(pn+".relu2", b.g.Add(pn+".bn2", bnSlice(bn2, p*d, (p+1)*d), z))
		w3p := make([]float32, out*d)
		for o := range out {
			copy(w3p[o*d:(o+1)*d], w3[o*width+p*d:o*width+(p+1)*d])
		}
		paths[p] = b.convW(pn+".conv3", z, d, out, 1, 1, 1, w3p)
	}
	return b.g.Add(name+".sum", &graph.Add{}, paths...)
}

// se is the squeeze-and-excitation block of the SENet paper on the residual
// branch: global average pool, FC (C→C/16) with bias, ReLU, FC (C/16→C)
// with bias, sigmoid, channel-wise scale.
func (b *builder) se(name string, x *graph.Node) *graph.Node {
	c := x.Shape.C
	r := c / 16
	s := b.g.Add(name+".pool", &graph.GlobalAvgPool{}, x)
	r1, r2 := b.stream(name+".fc1"), b.stream(name+".fc2")
	s = b.g.Add(name+".fc1", &graph.FullyConnected{In: c, Out: r,
		Weight: b.uniform(r1, c*r, math.Sqrt(6/float64(c))), Bias: b.uniform(r1, r, 0.1)}, s)
	s = b.relu(name+".relu", s)
	s = b.g.Add(name+".fc2", &graph.FullyConnected{In: r, Out: c,
		Weight: b.uniform(r2, r*c, math.Sqrt(3/float64(r))), Bias: b.uniform(r2, c, 0.1)}, s)
	s = b.g.Add(name+".sigmoid", &graph.Sigmoid{}, s)
	return b.g.Add(name+".scale", &graph.ChannelMul{}, x, s)
}

// preactBottleneck is ResNet-v2's block (He et al., "Identity Mappings in
// Deep Residual Networks"): BN, ReLU, then 1x1, BN, ReLU, 3x3 (stride), BN,
// ReLU, 1x1, added to a clean shortcut with no ReLU after. A projection
// shortcut (1x1 conv, no BN) reads the pre-activated input, as in the
// paper's code; an identity shortcut reads x itself.
func (b *builder) preactBottleneck(name string, x *graph.Node, planes, stride int) *graph.Node {
	out := planes * 4
	pre := b.relu(name+".relu0", b.bn(name+".bn0", x))
	s1, s3 := 1, stride
	if b.opt.StrideOn1x1 {
		s1, s3 = stride, 1
	}
	y := b.relu(name+".relu1", b.bn(name+".bn1", b.conv(name+".conv1", pre, planes, 1, s1, 1)))
	b.lastBN[name+".bn2"] = true // v2's branch ends in a conv: damp the BN before it
	y = b.relu(name+".relu2", b.bn(name+".bn2", b.conv(name+".conv2", y, planes, 3, s3, 1)))
	y = b.conv(name+".conv3", y, out, 1, 1, 1)
	sc := x
	if stride != 1 || x.Shape.C != out {
		sc = b.conv(name+".downsample.0", pre, out, 1, stride, 1)
	}
	return b.g.Add(name+".add", &graph.Add{}, y, sc)
}
