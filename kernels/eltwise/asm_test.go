package eltwise

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resbench/resbench/kernels/internal/isa"
)

// TestAsmEntryPoints calls every *Asm routine directly, against the
// reference loop of its doc comment: the assembly in a normal build, the
// pure-Go twin under noasm (which the exported functions never call, since
// they take the plain Go loops when vector() is false). Each output sits
// between guard values. Sum keeps its documented order, so it must match
// bit for bit; the multiply-adds may be fused in one and not the other, so
// they get a few ulps of the terms' magnitudes; copies and adds are exact.
func TestAsmEntryPoints(t *testing.T) {
	if haveAsm && !isa.Supported(isa.AVX2) {
		t.Skip("the assembly needs AVX2, which this CPU lacks")
	}
	r := rand.New(rand.NewPCG(5, 6))
	near := func(what string, i int, got, want, scale float32) {
		t.Helper()
		if math.Abs(float64(got-want)) > 4e-7*float64(scale) {
			t.Fatalf("%s: [%d] = %v, want %v", what, i, got, want)
		}
	}
	for _, n := range []int{8, 16, 24, 64, 136, 3136} {
		for _, relu := range []bool{false, true} {
			what := fmt.Sprintf("n=%d relu=%v", n, relu)
			_, x := buf(r, n)
			_, res := buf(r, n)
			yw, y := buf(r, n)
			a, b := float32(r.NormFloat64()), float32(r.NormFloat64())
			act := func(v float32) float32 {
				if relu {
					return max(v, 0)
				}
				return v
			}

			scaleShiftAsm(&x[0], &y[0], n, a, b, relu)
			for i := range y {
				near("scaleShiftAsm "+what, i, y[i], act(a*x[i]+b), abs(a*x[i])+abs(b))
			}
			guardsIntact(t, yw, n)

			scaleAddAsm(&x[0], &res[0], &y[0], n, a, relu)
			for i := range y {
				near("scaleAddAsm "+what, i, y[i], act(a*x[i]+res[i]), abs(a*x[i])+abs(res[i]))
			}
			guardsIntact(t, yw, n)

			addAsm(&x[0], &res[0], &y[0], n, relu)
			for i := range y {
				if want := act(x[i] + res[i]); y[i] != want {
					t.Fatalf("addAsm %s: [%d] = %v, want %v", what, i, y[i], want)
				}
			}
			guardsIntact(t, yw, n)

			_, c := buf(r, n)
			max3Asm(&x[0], &res[0], &c[0], &y[0], n)
			for i := range y {
				if want := max(x[i], res[i], c[i]); y[i] != want {
					t.Fatalf("max3Asm n=%d: [%d] = %v, want %v", n, i, y[i], want)
				}
			}
			guardsIntact(t, yw, n)

			for _, bl := range []int{8, 16} {
				if n%bl != 0 {
					continue
				}
				_, scale := buf(r, bl)
				_, shift := buf(r, bl)
				scaleShiftBlockedAsm(&x[0], &y[0], n, &scale[0], &shift[0], bl, relu)
				for i := range y {
					near(fmt.Sprintf("scaleShiftBlockedAsm b=%d %s", bl, what), i, y[i], act(scale[i%bl]*x[i]+shift[i%bl]), abs(scale[i%bl]*x[i])+abs(shift[i%bl]))
				}
				guardsIntact(t, yw, n)
				scaleAddBlockedAsm(&x[0], &res[0], &y[0], n, &scale[0], bl, relu)
				for i := range y {
					near(fmt.Sprintf("scaleAddBlockedAsm b=%d %s", bl, what), i, y[i], act(scale[i%bl]*x[i]+res[i]), abs(scale[i%bl]*x[i])+abs(res[i]))
				}
				guardsIntact(t, yw, n)
				if relu {
					continue
				}
				sw, sum := buf(r, bl)
				sumBlockedAsm(&x[0], n, &sum[0], bl)
				want := make([]float32, bl)
				for i, v := range x {
					want[i%bl] += v
				}
				for i := range sum {
					if sum[i] != want[i] {
						t.Fatalf("sumBlockedAsm b=%d n=%d: [%d] = %v, want %v (the documented order)", bl, n, i, sum[i], want[i])
					}
				}
				guardsIntact(t, sw, bl)
			}
		}

		_, x := buf(r, n)
		var s [8]float32
		for i, v := range x {
			s[i%8] += v
		}
		if got, want := sumAsm(&x[0], n), ((s[0]+s[4])+(s[2]+s[6]))+((s[1]+s[5])+(s[3]+s[7])); got != want {
			t.Fatalf("sumAsm n=%d = %v, want %v (the documented order)", n, got, want)
		}

		if n%32 == 0 {
			_, yv := buf(r, n)
			var want, mag float64
			for i := range x {
				want += float64(x[i]) * float64(yv[i])
				mag += math.Abs(float64(x[i]) * float64(yv[i]))
			}
			// 32 running sums of n/32 terms, then 5 levels of pairs.
			if got := dotAsm(&x[0], &yv[0], n); math.Abs(float64(got)-want) > float64(n/32+6)*0x1p-24*mag {
				t.Fatalf("dotAsm n=%d = %v, want %v", n, got, want)
			}
		}
	}

	// Subsample: rows of a plane 2·cols+3 wide, read every other float,
	// written with a destination stride past the row (guards between).
	for _, cols := range []int{1, 7, 8, 9, 28, 56} {
		const rows, lead = 3, 4
		ld, ldd := 2*cols+3, cols+5
		_, src := buf(r, (rows-1)*ld+2*cols)
		dst := make([]float32, lead+(rows-1)*ldd+cols+lead)
		for i := range dst {
			dst[i] = sentinel
		}
		vcols := cols &^ 7
		subsample2Asm(&src[0], &dst[lead], rows, cols, vcols, ld, ldd, 16*ld)
		for i, v := range dst {
			want := sentinel
			if j := i - lead; j >= 0 && j%ldd < cols && j/ldd < rows {
				want = src[(j/ldd)*ld+2*(j%ldd)]
			}
			if math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("subsample2Asm cols=%d: dst[%d] = %v, want %v", cols, i, v, want)
			}
		}
	}
	for _, bl := range []int{8, 16} {
		const rows, cols, step = 3, 5, 2
		ld := (cols*step + 1) * bl
		_, src := buf(r, (rows-1)*ld+(cols-1)*step*bl+bl)
		dw, dst := buf(r, rows*cols*bl)
		subsamplePixelsAsm(&src[0], &dst[0], rows, cols, bl, step*bl, ld, 2*ld)
		for rr := range rows {
			for c := range cols {
				for i := range bl {
					if got, want := dst[(rr*cols+c)*bl+i], src[rr*ld+c*step*bl+i]; got != want {
						t.Fatalf("subsamplePixelsAsm b=%d: r=%d c=%d i=%d = %v, want %v", bl, rr, c, i, got, want)
					}
				}
			}
		}
		guardsIntact(t, dw, rows*cols*bl)
	}
}

func abs(v float32) float32 { return float32(math.Abs(float64(v))) }
