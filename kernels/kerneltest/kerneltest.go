// Package kerneltest is the conformance suite every convolution
// implementation runs through: the same cases, against the same float64
// reference, with guard values around every buffer and every ISA tier
// forced in turn. On Linux the edge cases run twice more with the last
// epilogue, every buffer against an inaccessible page on one side and then
// the other, so that a read past one faults (package fence).
//
// Each implementation has a test in this package's own tests
// (conformance_test.go, im2col_test.go, ...):
//
//	func TestIm2col(t *testing.T) {
//		kerneltest.Run(t, kerneltest.Impl{Name: "im2col", New: ..., Tol: 2e-6})
//	}
//
// Cases cover partial tiles (channel and pixel counts that are not
// multiples of any register tile), strides 1 and 2, paddings 0, 1 and 3,
// 1x1, 3x3 and 7x7 kernels, groups, batch > 1, every epilogue, a few
// shapes whose kernel size, stride or padding differ between the axes
// (1×7, 7×1, 3×1, padding 0×2, stride 1×2), and every convolution shape
// the model zoo uses.
package kerneltest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/internal/fence"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/internal/isa/isatest"
	"github.com/resbench/resbench/kernels/naive"
)

// Shape is a compact conv description for case tables: K, Stride and Pad
// apply to both axes, unless Asym is set and KW, StrideW and PadW give the
// width's.
type Shape struct {
	N, InC, H, W, OutC, K, Stride, Pad, Groups int
	Asym                                       bool
	KW, StrideW, PadW                          int
}

// ConvShape expands s (N 0 means 1).
func (s Shape) ConvShape() kernels.ConvShape {
	cs := kernels.ConvShape{N: max(s.N, 1), InC: s.InC, H: s.H, W: s.W, OutC: s.OutC, KH: s.K, KW: s.K,
		StrideH: s.Stride, StrideW: s.Stride, PadH: s.Pad, PadW: s.Pad, Groups: max(s.Groups, 1)}
	if s.Asym {
		cs.KW, cs.StrideW, cs.PadW = s.KW, s.StrideW, s.PadW
	}
	if err := cs.Validate(); err != nil {
		panic(fmt.Sprintf("kerneltest: bad case %+v: %v", s, err))
	}
	return cs
}

// ErrUnsupported is what an Impl's New returns (wrapped or not) for a shape
// it does not handle; the suite then skips the case for that Impl. The
// engine falls back to another kernel for such layers.
var ErrUnsupported = errors.New("shape not supported by this kernel")

// Impl is one convolution implementation under test.
type Impl struct {
	Name string
	// New plans a conv; it returns an error wrapping ErrUnsupported for
	// shapes the implementation does not cover.
	New func(spec kernels.ConvSpec) (kernels.Conv, error)
	// Tol bounds the error: |got − ref| ≤ Tol·(Σ|w·x| + |bias| + |res|) at
	// every output, the float64 "condition" of that output, plus 1e-30.
	Tol float64
	// MinCoverage is the least number of cases New must accept, so that a
	// kernel cannot pass by refusing everything.
	MinCoverage int
	// TierIndependent marks pure-Go kernels that do not dispatch on the
	// ISA tier; they run once instead of once per tier.
	TierIndependent bool
}

// Edge cases: partial tiles and every stride/padding/kernel/group combination
// the kernels must get right, at sizes small enough to run fast.
var EdgeShapes = func() []Shape {
	var s []Shape
	for _, k := range []int{1, 3, 7} {
		for _, stride := range []int{1, 2} {
			for _, pad := range []int{0, 1, 3} {
				if 2*pad > k+1 && k == 1 {
					continue // 1x1 with padding 3 is legal but pointless; pad 1 covers padding
				}
				s = append(s,
					Shape{InC: 5, H: 13, W: 11, OutC: 7, K: k, Stride: stride, Pad: pad},
					Shape{N: 2, InC: 17, H: 9, W: 15, OutC: 33, K: k, Stride: stride, Pad: pad},
				)
			}
		}
	}
	s = append(s,
		// Tiles: channel counts around 8/16/32 and pixel counts around
		// 6/12/14/16 rows and columns.
		Shape{InC: 16, H: 8, W: 8, OutC: 16, K: 3, Stride: 1, Pad: 1},
		// One output pixel (the last stage at a small input size), deep
		// enough that im2col's block would be under four pixels.
		Shape{InC: 256, H: 2, W: 2, OutC: 16, K: 3, Stride: 2, Pad: 1},
		Shape{InC: 32, H: 7, W: 7, OutC: 64, K: 1, Stride: 1},
		Shape{InC: 31, H: 6, W: 17, OutC: 65, K: 1, Stride: 1},
		Shape{InC: 24, H: 14, W: 14, OutC: 40, K: 3, Stride: 1, Pad: 1},
		Shape{InC: 8, H: 1, W: 1, OutC: 8, K: 1, Stride: 1},
		Shape{InC: 3, H: 23, W: 23, OutC: 64, K: 7, Stride: 2, Pad: 3},
		Shape{InC: 64, H: 5, W: 5, OutC: 12, K: 3, Stride: 1, Pad: 1},
		Shape{InC: 48, H: 16, W: 32, OutC: 48, K: 3, Stride: 1, Pad: 1},
		Shape{N: 3, InC: 20, H: 10, W: 10, OutC: 36, K: 3, Stride: 2, Pad: 1},
		// 1x1 stride 2 with 7-column output rows (res5a's projection),
		// which direct computes as a subsample then a stride-1 conv, on an
		// odd plane with two images and a partial channel block.
		Shape{N: 2, InC: 20, H: 13, W: 13, OutC: 40, K: 1, Stride: 2},
		// A projection-like 1x1 stride 2 whose rows are wide enough for
		// vector subsampling (24 output columns) and whose input is deep
		// enough that im2col cuts its 168 output pixels into two blocks
		// of 84 that end mid-row.
		Shape{InC: 2048, H: 14, W: 48, OutC: 8, K: 1, Stride: 2},
		// res4's 3x3 on a few output channels: im2col cuts its 196
		// pixels into two even blocks of 98 (not a multiple of the
		// GEMM's tile).
		Shape{InC: 256, H: 14, W: 14, OutC: 12, K: 3, Stride: 1, Pad: 1},
		// Groups: ResNeXt's 32 groups of 4 and 8, odd group widths, and
		// group counts that do not align with vector blocks.
		Shape{InC: 128, H: 14, W: 14, OutC: 128, K: 3, Stride: 1, Pad: 1, Groups: 32},
		Shape{InC: 256, H: 9, W: 9, OutC: 256, K: 3, Stride: 2, Pad: 1, Groups: 32},
		Shape{InC: 12, H: 7, W: 9, OutC: 18, K: 3, Stride: 1, Pad: 1, Groups: 3},
		Shape{N: 2, InC: 64, H: 11, W: 11, OutC: 64, K: 3, Stride: 1, Pad: 1, Groups: 16},
		Shape{InC: 16, H: 8, W: 8, OutC: 32, K: 1, Stride: 1, Groups: 4},
		Shape{InC: 32, H: 13, W: 13, OutC: 32, K: 3, Stride: 1, Pad: 1, Groups: 2},
		// Different parameters along the two axes (no model uses them; a
		// kernel must refuse them or get them right): 1×7 and 7×1
		// kernels, a 3×1 kernel with stride 2×1 and padding 1×0,
		// padding 0×2, stride 1×2.
		Shape{InC: 6, H: 11, W: 12, OutC: 10, K: 1, Stride: 1, Asym: true, KW: 7, StrideW: 1, PadW: 3},
		Shape{InC: 6, H: 12, W: 11, OutC: 10, K: 7, Stride: 1, Pad: 3, Asym: true, KW: 1, StrideW: 1},
		Shape{N: 2, InC: 9, H: 13, W: 10, OutC: 17, K: 3, Stride: 2, Pad: 1, Asym: true, KW: 1, StrideW: 1},
		Shape{InC: 16, H: 9, W: 14, OutC: 16, K: 3, Stride: 1, Asym: true, KW: 3, StrideW: 1, PadW: 2},
		Shape{InC: 8, H: 10, W: 10, OutC: 8, K: 1, Stride: 1, Asym: true, KW: 1, StrideW: 2},
	)
	return s
}()

// Epilogues every edge case is run with: the plain conv, the conv+BN+ReLU
// of v1 blocks, the bias-free, ReLU-free residual add of pre-activation
// blocks' last conv (preact-conv-add), and last the full one,
// conv+BN+add+ReLU. The zoo shapes run the last two (see Run): the full
// one alone would hide wrong negative outputs behind the ReLU.
var epilogues = []struct {
	name           string
	bias, res, act bool
}{{"plain", false, false, false}, {"bias+relu", true, false, true}, {"residual", false, true, false}, {"bias+residual+relu", true, true, true}}

type reference struct {
	in, w, bias, res []float32
	out, cond        map[int][]float64 // by epilogue index
}

var (
	refMu    sync.Mutex
	refCache = map[Shape]*reference{}
)

// ref returns the case's inputs and its float64 reference outputs, computed
// once per process and shared by every Impl and tier.
func ref(s Shape) *reference {
	refMu.Lock()
	defer refMu.Unlock()
	if r, ok := refCache[s]; ok {
		return r
	}
	cs := s.ConvShape()
	rng := rand.New(rand.NewPCG(uint64(cs.InC*131+cs.OutC), uint64(cs.H*7+cs.KH)))
	fill := func(n int, scale float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * scale)
		}
		return v
	}
	r := &reference{
		in:   fill(cs.In().Elems(), 1),
		w:    fill(cs.WeightLen(), math.Sqrt(3/float64(cs.InCG*cs.KH*cs.KW))),
		bias: fill(cs.OutC, 0.5),
		res:  fill(cs.Out().Elems(), 1),
		out:  map[int][]float64{}, cond: map[int][]float64{},
	}
	// The epilogues are applied on top of the plain convolution.
	conv, absConv := Float64Conv(&cs, r.in, r.w)
	plane := cs.OutH * cs.OutW
	for i, e := range epilogues {
		out, cond := make([]float64, len(conv)), make([]float64, len(conv))
		for j, v := range conv {
			c := absConv[j]
			if e.bias {
				b := float64(r.bias[j/plane%cs.OutC])
				v += b
				c += math.Abs(b)
			}
			if e.res {
				v += float64(r.res[j])
				c += math.Abs(float64(r.res[j]))
			}
			if e.act {
				v = max(v, 0)
			}
			out[j], cond[j] = v, c
		}
		r.out[i], r.cond[i] = out, cond
	}
	refCache[s] = r
	return r
}

// guard is the number of sentinel floats placed before and after every
// buffer; a kernel that writes outside its output, or reads outside its
// input (and so picks up a NaN), fails.
const guard = 64

var sentinel = math.Float32frombits(0x7fc0_dead) // a NaN with a recognizable payload

func guarded(n int) (whole, inner []float32) {
	whole = kernels.Alloc(n + 2*guard)
	for i := range whole {
		whole[i] = sentinel
	}
	return whole, whole[guard : guard+n : guard+n]
}

// placement says where checkOne puts its buffers: guarded (sentinels on
// both sides, checked after the run) or fenced against an inaccessible
// page on one side (package fence), so that a read past them faults.
type placement struct {
	fenced bool
	side   fence.Side
}

// alloc returns a buffer of n floats placed by p, and its whole (with the
// guard values; nil for a fenced one, which checkGuards then skips). A
// fenced buffer is unmapped by done; where fencing is not available,
// alloc falls back to a guarded one.
func (p placement) alloc(n int, done *[]func()) (whole, inner []float32) {
	if p.fenced {
		if buf, free, ok := fence.Alloc(n, p.side); ok {
			*done = append(*done, free)
			return nil, buf
		}
	}
	return guarded(n)
}

func checkGuards(t testing.TB, what string, whole []float32, n int) {
	t.Helper()
	if whole == nil {
		return // fenced
	}
	for i := range guard {
		for _, j := range []int{i, guard + n + i} {
			if math.Float32bits(whole[j]) != math.Float32bits(sentinel) {
				t.Fatalf("%s: guard value at offset %d overwritten with %v", what, j-guard, whole[j])
			}
		}
	}
}

// Float64Conv is the float64 reference of conv s (no bias, residual or
// ReLU) of input in by weights w: out, and cond, the same convolution over
// absolute values, which bounds a float32 result's rounding error
// (|got − out| ≤ tol·cond).
func Float64Conv(s *kernels.ConvShape, in, w []float32) (out, cond []float64) {
	out = make([]float64, s.Out().Elems())
	cond = make([]float64, len(out))
	naive.Conv2D(s, Float64s(in, false), Float64s(w, false), nil, nil, false, out)
	naive.Conv2D(s, Float64s(in, true), Float64s(w, true), nil, nil, false, cond)
	return out, cond
}

// Float64s widens v to float64, taking absolute values if abs (the operands
// of a float64 reference and of its error bound).
func Float64s(v []float32, abs bool) []float64 {
	d := make([]float64, len(v))
	for i, x := range v {
		d[i] = float64(x)
		if abs {
			d[i] = math.Abs(d[i])
		}
	}
	return d
}

// Tiers returns the ISA tiers this CPU supports (always including generic).
func Tiers() []isa.Tier {
	var ts []isa.Tier
	for _, t := range isa.All() {
		if isa.Supported(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// ForEachTier runs f as a subtest with each ISA tier forced (skipped, with
// the reason, where this CPU or build lacks it), and restores the active
// tier afterwards.
func ForEachTier(t *testing.T, f func(t *testing.T, tier isa.Tier)) {
	t.Helper()
	isatest.ForEach(t, f)
}

// Cases returns the shapes the suite runs: the edge cases and, unless
// short, every zoo shape.
func Cases(short bool) []Shape {
	cs := append([]Shape(nil), EdgeShapes...)
	if !short {
		cs = append(cs, ZooShapes...)
	}
	return cs
}

// Run checks impl on every case and ISA tier: edge cases with every
// epilogue, and fenced with the last where the system can fence (see the
// package doc), zoo shapes with the last two (residual without and with
// bias and ReLU). A kernel may refuse a shape (ErrUnsupported) but not,
// having taken it, one of its epilogues.
func Run(t *testing.T, impl Impl) {
	_, free, fenced := fence.Alloc(1, fence.AtEnd)
	if fenced {
		free()
	}
	body := func(t *testing.T) {
		accepted := 0
		for ci, s := range Cases(testing.Short()) {
			cs := s.ConvShape()
			r := ref(s)
			zoo := ci >= len(EdgeShapes)
			first := true
			for ei, e := range epilogues {
				if zoo && ei < len(epilogues)-2 {
					continue
				}
				spec := kernels.ConvSpec{Shape: cs, Weight: r.w, ReLU: e.act}
				if e.bias {
					spec.Bias = r.bias
				}
				conv, err := impl.New(spec)
				if errors.Is(err, ErrUnsupported) && first {
					break
				}
				if err != nil {
					t.Fatalf("%s %+v, epilogue %s: %v", impl.Name, s, e.name, err)
				}
				if first {
					accepted++
					first = false
				}
				checkOne(t, impl, conv, s, cs, r, ei, e.res, placement{})
				if fenced && !zoo && ei == len(epilogues)-1 {
					for _, side := range []fence.Side{fence.AtEnd, fence.AtStart} {
						checkOne(t, impl, conv, s, cs, r, ei, e.res, placement{fenced: true, side: side})
					}
				}
			}
		}
		if accepted < impl.MinCoverage {
			t.Errorf("%s accepted only %d cases, want at least %d", impl.Name, accepted, impl.MinCoverage)
		}
	}
	if impl.TierIndependent {
		body(t)
		return
	}
	ForEachTier(t, func(t *testing.T, _ isa.Tier) { body(t) })
}

func checkOne(t testing.TB, impl Impl, conv kernels.Conv, s Shape, cs kernels.ConvShape, r *reference, ei int, withRes bool, at placement) {
	t.Helper()
	var done []func()
	defer func() {
		for _, free := range done {
			free()
		}
	}()
	if at.fenced {
		// A fault on this goroutine (a single-threaded kernel, or the
		// caller's share of a parallel one) fails the case by name; one
		// on a worker still kills the binary, with the kernel on its stack.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if e := recover(); e != nil {
				t.Fatalf("%s %+v %s: fault or panic with the buffers fenced at the %v: %v", conv.Name(), s, epilogues[ei].name, at.side, e)
			}
		}()
	}
	l := conv.Layout()
	inS, outS := cs.In(), cs.Out()
	inLen, outLen := l.Elems(inS), l.Elems(outS)
	inWhole, in := at.alloc(inLen, &done)
	outWhole, out := at.alloc(outLen, &done)
	wsWhole, ws := at.alloc(conv.WorkspaceLen(), &done)
	kernels.ToBlocked(l, inS, r.in, in)
	var res []float32
	var resWhole []float32
	if withRes {
		resWhole, res = at.alloc(outLen, &done)
		kernels.ToBlocked(l, outS, r.res, res)
	}
	// First a run on another input, so that a kernel that keeps state from
	// one run to the next (in the Conv or the workspace) is caught by the
	// real run below.
	decoy := make([]float32, len(in))
	for i := range decoy {
		decoy[i] = float32(i%13) - 6
	}
	conv.Run(decoy, out, res, ws)
	// Poison the output so a kernel that skips elements is caught, and
	// the workspace again, so one that set it up in its first run only
	// (the engine shares one workspace between layers) is caught too.
	for i := range out {
		out[i] = sentinel
	}
	for i := range ws {
		ws[i] = sentinel
	}
	inCopy, resCopy := slices.Clone(in), slices.Clone(res)
	conv.Run(in, out, res, ws)
	what := fmt.Sprintf("%s %+v %s", conv.Name(), s, epilogues[ei].name)
	// The engine reads a conv's input and residual again later (the
	// shortcut, the other branch): a conv must leave them as they were.
	for _, b := range []struct {
		name      string
		now, then []float32
	}{{"input", in, inCopy}, {"residual", res, resCopy}} {
		for i := range b.now {
			if math.Float32bits(b.now[i]) != math.Float32bits(b.then[i]) {
				t.Fatalf("%s: the run changed its %s at %d: %v, was %v", what, b.name, i, b.now[i], b.then[i])
			}
		}
	}
	// Channels past OutC in the last block of a blocked output are zero,
	// as the next layer's zero weights for them assume (0·NaN is NaN).
	if bl := l.Block(); bl > 1 {
		ocb := (outS.C + bl - 1) / bl
		plane := outS.H * outS.W
		for n := range outS.N {
			for p := range plane {
				for j := outS.C - (ocb-1)*bl; j < bl; j++ {
					if v := out[((n*ocb+ocb-1)*plane+p)*bl+j]; v != 0 {
						t.Fatalf("%s: padding lane %d of image %d pixel %d = %v, want 0", what, j, n, p, v)
					}
				}
			}
		}
	}
	checkGuards(t, what+" input", inWhole, inLen)
	checkGuards(t, what+" output", outWhole, outLen)
	checkGuards(t, what+" workspace", wsWhole, conv.WorkspaceLen())
	if withRes {
		checkGuards(t, what+" residual", resWhole, outLen)
	}
	got := make([]float32, outS.Elems())
	kernels.FromBlocked(l, outS, out, got)
	want, cond := r.out[ei], r.cond[ei]
	worst, worstAt := 0.0, -1
	for i, g := range got {
		e := math.Abs(float64(g) - want[i])
		bound := impl.Tol*cond[i] + 1e-30
		if !(e <= bound) { // also catches NaN
			t.Fatalf("%s: output %d = %v, want %v (|err| %.3g > bound %.3g)", what, i, g, want[i], e, bound)
		}
		if cond[i] > 0 && e/cond[i] > worst {
			worst, worstAt = e/cond[i], i
		}
	}
	_ = worstAt
	if testing.Verbose() {
		t.Logf("%s: worst relative error %.3g", what, worst)
	}
}
