package eltwise

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/internal/isa/isatest"
)

// tiers runs f with every tier forced (isatest.ForEach: tiers this CPU or
// build lacks are skipped with the reason).
func tiers(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	isatest.ForEach(t, func(t *testing.T, _ isa.Tier) { f(t) })
}

const guard = 16

var sentinel = math.Float32frombits(0x7fc0_beef)

// buf returns a random buffer of n values with sentinel guards around it.
func buf(r *rand.Rand, n int) (whole, inner []float32) {
	whole = kernels.Alloc(n + 2*guard)
	for i := range whole {
		whole[i] = sentinel
	}
	inner = whole[guard : guard+n : guard+n]
	for i := range inner {
		inner[i] = float32(r.NormFloat64())
	}
	return whole, inner
}

func guardsIntact(t *testing.T, whole []float32, n int) {
	t.Helper()
	for i := range guard {
		if math.Float32bits(whole[i]) != math.Float32bits(sentinel) || math.Float32bits(whole[guard+n+i]) != math.Float32bits(sentinel) {
			t.Fatalf("guard overwritten around a buffer of %d", n)
		}
	}
}

// Every routine against a float64 reference. The vector forms fuse a·x+b
// into one FMA and the Go loop may not, so the scale ops are compared
// within a few ulps; Add and Max3 are exact.
func TestMatchesReference(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000, 3136} {
			for _, relu := range []bool{false, true} {
				xw, x := buf(r, n)
				rw, res := buf(r, n)
				yw, y := buf(r, n)
				a, b := float32(r.NormFloat64()), float32(r.NormFloat64())

				ScaleShift(x, y, a, b, relu)
				for i := range y {
					want := float32(math.FMA(float64(a), float64(x[i]), float64(b)))
					if relu {
						want = max(want, 0)
					}
					if math.Abs(float64(y[i]-want)) > 1e-6*math.Abs(float64(want))+1e-7 {
						t.Fatalf("ScaleShift n=%d relu=%v: y[%d]=%v want %v", n, relu, i, y[i], want)
					}
				}
				guardsIntact(t, yw, n)

				ScaleAdd(x, res, y, a, relu)
				for i := range y {
					want := float32(math.FMA(float64(a), float64(x[i]), float64(res[i])))
					if relu {
						want = max(want, 0)
					}
					if math.Abs(float64(y[i]-want)) > 1e-6*math.Abs(float64(want))+1e-7 {
						t.Fatalf("ScaleAdd n=%d: y[%d]=%v want %v", n, i, y[i], want)
					}
				}
				guardsIntact(t, yw, n)

				Add(x, res, y, relu)
				for i := range y {
					want := x[i] + res[i]
					if relu {
						want = max(want, 0)
					}
					if y[i] != want {
						t.Fatalf("Add n=%d: y[%d]=%v want %v", n, i, y[i], want)
					}
				}
				guardsIntact(t, yw, n)

				Max3(x, res, y, y)
				guardsIntact(t, yw, n)
				guardsIntact(t, xw, n)
				guardsIntact(t, rw, n)
			}
			_, x := buf(r, n)
			var want float64
			for _, v := range x {
				want += float64(v)
			}
			if got := Sum(x); math.Abs(float64(got)-want) > 1e-5*float64(n+1) {
				t.Fatalf("Sum n=%d = %v, want %v", n, got, want)
			}
		}
	})
}

func TestMax3(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		_, a := buf(r, 37)
		_, b := buf(r, 37)
		_, c := buf(r, 37)
		m := make([]float32, 37)
		Max3(a, b, c, m)
		for i := range m {
			if want := max(a[i], b[i], c[i]); m[i] != want {
				t.Fatalf("Max3[%d] = %v, want %v", i, m[i], want)
			}
		}
	})
}

// TestMax3KeepsNaN: a NaN in any of the three inputs is NaN in the
// maximum, as Go's max gives, so a broken conv before a max pool stays
// visible. MAXPS alone returns its second operand when either is NaN.
func TestMax3KeepsNaN(t *testing.T) {
	tiers(t, func(t *testing.T) {
		nan := float32(math.NaN())
		for which := range 3 {
			for _, other := range []float32{-1, 0, 2, float32(math.Inf(1)), float32(math.Inf(-1))} {
				var in [3][]float32
				for j := range in {
					in[j] = make([]float32, 27)
					for i := range in[j] {
						in[j][i] = other
					}
				}
				for _, i := range []int{0, 9, 26} { // vector lanes and the scalar tail
					in[which][i] = nan
				}
				m := make([]float32, 27)
				Max3(in[0], in[1], in[2], m)
				for i, v := range m {
					if isNaN := math.IsNaN(float64(v)); isNaN != (i == 0 || i == 9 || i == 26) {
						t.Fatalf("NaN in input %d, others %v: Max3[%d] = %v", which, other, i, v)
					}
				}
			}
		}
	})
}

func TestReLUKeepsNaN(t *testing.T) {
	tiers(t, func(t *testing.T) {
		x := make([]float32, 16)
		x[3] = float32(math.NaN())
		x[11] = float32(math.NaN())
		x[5] = -1
		ReLU(x, x)
		if !math.IsNaN(float64(x[3])) || !math.IsNaN(float64(x[11])) || x[5] != 0 {
			t.Fatalf("ReLU must keep NaN (so broken kernels stay visible) and zero negatives: %v", x)
		}
	})
}

func TestBlockedMatchesReference(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, b := range []int{8, 16} {
			for _, n := range []int{b, 2 * b, 49 * b, 196 * b} {
				for _, relu := range []bool{false, true} {
					_, x := buf(r, n)
					_, res := buf(r, n)
					yw, y := buf(r, n)
					_, scale := buf(r, b)
					_, shift := buf(r, b)
					ScaleShiftBlocked(x, y, scale, shift, relu)
					for i := range y {
						want := float32(math.FMA(float64(scale[i%b]), float64(x[i]), float64(shift[i%b])))
						if relu {
							want = max(want, 0)
						}
						if math.Abs(float64(y[i]-want)) > 1e-6*math.Abs(float64(want))+1e-7 {
							t.Fatalf("ScaleShiftBlocked b=%d n=%d: y[%d]=%v want %v", b, n, i, y[i], want)
						}
					}
					guardsIntact(t, yw, n)
					ScaleAddBlocked(x, res, y, scale, relu)
					for i := range y {
						want := float32(math.FMA(float64(scale[i%b]), float64(x[i]), float64(res[i])))
						if relu {
							want = max(want, 0)
						}
						if math.Abs(float64(y[i]-want)) > 1e-6*math.Abs(float64(want))+1e-7 {
							t.Fatalf("ScaleAddBlocked b=%d n=%d: y[%d]=%v want %v", b, n, i, y[i], want)
						}
					}
					guardsIntact(t, yw, n)
				}
				_, x := buf(r, n)
				sw, sum := buf(r, b)
				SumBlocked(x, sum)
				for j := range b {
					var want float64
					for i := j; i < n; i += b {
						want += float64(x[i])
					}
					if math.Abs(float64(sum[j])-want) > 1e-5*float64(n/b+1) {
						t.Fatalf("SumBlocked b=%d n=%d lane %d = %v, want %v", b, n, j, sum[j], want)
					}
				}
				guardsIntact(t, sw, b)
			}
		}
	})
}

func TestDot(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{0, 1, 31, 32, 33, 100, 2048, 2049} {
			xw, x := buf(r, n)
			_, y := buf(r, n)
			var want, cond float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
				cond += math.Abs(float64(x[i]) * float64(y[i]))
			}
			if got := Dot(x, y); math.Abs(float64(got)-want) > 1e-6*cond+1e-7 {
				t.Fatalf("Dot n=%d = %v, want %v", n, got, want)
			}
			guardsIntact(t, xw, n)
		}
	})
}

// Subsample2 on plane shapes with and without a vector tail, odd widths,
// a source that ends right after the last needed element (so the vector
// part must stop early), and guards around both buffers; exact.
func TestSubsample2(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, c := range []struct{ h, w int }{{56, 56}, {28, 28}, {14, 14}, {7, 7}, {2, 33}, {9, 16}, {3, 1}, {4, 48}} {
			rows, cols, ld := (c.h+1)/2, (c.w+1)/2, 2*c.w
			// The source stops at the last element read: (rows-1)·ld + 2(cols-1).
			n := (rows-1)*ld + 2*cols - 1
			sw, src := buf(r, n)
			dw, dst := buf(r, rows*cols)
			Subsample2(src, dst, rows, cols, ld)
			for y := range rows {
				for x := range cols {
					if got, want := dst[y*cols+x], src[y*ld+2*x]; got != want {
						t.Fatalf("%dx%d: dst[%d][%d] = %v, want %v", c.h, c.w, y, x, got, want)
					}
				}
			}
			guardsIntact(t, sw, n)
			guardsIntact(t, dw, rows*cols)
		}
	})
}

func TestSubsamplePixels(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, b := range []int{8, 16} {
			for _, c := range []struct{ h, w, stride int }{{56, 56, 2}, {14, 14, 2}, {7, 7, 2}, {13, 11, 2}, {9, 10, 3}, {1, 1, 2}, {2, 33, 2}} {
				rows, cols := (c.h-1)/c.stride+1, (c.w-1)/c.stride+1
				ld := c.stride * c.w * b
				// The source stops at the last float read.
				n := (rows-1)*ld + (cols-1)*c.stride*b + b
				sw, src := buf(r, n)
				dw, dst := buf(r, rows*cols*b)
				SubsamplePixels(src, dst, rows, cols, b, c.stride, ld)
				for y := range rows {
					for x := range cols {
						for i := range b {
							if got, want := dst[(y*cols+x)*b+i], src[y*ld+x*c.stride*b+i]; got != want {
								t.Fatalf("b=%d %dx%d/%d: pixel (%d,%d) lane %d = %v, want %v", b, c.h, c.w, c.stride, y, x, i, got, want)
							}
						}
					}
				}
				guardsIntact(t, sw, n)
				guardsIntact(t, dw, rows*cols*b)
			}
		}
	})
}

// TestInPlace: the engine writes element-wise ops over a dying input
// (memplan's in-place rule), so each op called with its output aliasing
// an input must give the bits of the same call into a fresh buffer.
func TestInPlace(t *testing.T) {
	tiers(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		const n = 8*16 + 5 // vector blocks and a scalar tail
		fill := func() []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
			return v
		}
		scale, shift := fill()[:16], fill()[:16]
		for _, c := range []struct {
			name string
			op   func(x, r, y []float32)
			// alias picks which input the output overwrites: 0 = x, 1 = r
			aliases []int
		}{
			{"ScaleShift", func(x, _, y []float32) { ScaleShift(x, y, 1.5, -0.25, true) }, []int{0}},
			{"ScaleAdd", func(x, r, y []float32) { ScaleAdd(x, r, y, 0.75, true) }, []int{0, 1}},
			{"Add", func(x, r, y []float32) { Add(x, r, y, true) }, []int{0, 1}},
			{"ScaleShiftBlocked", func(x, _, y []float32) { ScaleShiftBlocked(x[:128], y[:128], scale, shift, true) }, []int{0}},
			{"ScaleAddBlocked", func(x, r, y []float32) { ScaleAddBlocked(x[:128], r[:128], y[:128], scale, true) }, []int{0, 1}},
		} {
			x, res := fill(), fill()
			want := make([]float32, n)
			c.op(x, res, want)
			for _, a := range c.aliases {
				x2, res2 := slices.Clone(x), slices.Clone(res)
				out := x2
				if a == 1 {
					out = res2
				}
				c.op(x2, res2, out)
				for i := range want {
					if strings.HasSuffix(c.name, "Blocked") && i >= 128 {
						break
					}
					if math.Float32bits(out[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s with its output over input %d: [%d] = %v, a fresh output gave %v", c.name, a, i, out[i], want[i])
					}
				}
			}
		}
	})
}
