package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/internal/isa/isatest"
	"github.com/resbench/resbench/kernels/parallel"
)

// forEachTier runs f in a subtest per ISA tier with that tier active
// (isatest.ForEach: tiers the CPU or the noasm build lacks are skipped
// with the reason; Generic always runs).
func forEachTier(t *testing.T, f func(t *testing.T, tier isa.Tier)) {
	t.Helper()
	isatest.ForEach(t, f)
}

// forEachTable runs f in a subtest per ISA tier on that tier's kernel
// table, for the tests that call the microkernels directly: the assembly
// where the CPU has the tier, and under noasm the pure-Go twins of every
// tier (the driver never calls those, so only these tests check them).
// The twins call the reference loops with their tile's constants, so
// there it is those constants (rows, columns, panel strides) that are
// checked, not new arithmetic.
func forEachTable(t *testing.T, f func(t *testing.T, tier isa.Tier, cfg *tierConfig)) {
	t.Helper()
	for _, tier := range isa.All() {
		t.Run("isa="+tier.String(), func(t *testing.T) {
			switch {
			case isa.Supported(tier):
				f(t, tier, configFor(tier))
			case goTwins:
				f(t, tier, &configs[tier])
			default:
				t.Skipf("this CPU lacks %v; the best tier here is %v", tier, isa.Detected())
			}
		})
	}
}

// guardBits is the bit pattern of a quiet NaN that no computation produces:
// it fills all padding around and between the rows of every buffer, so any
// write outside the logical window is detected, and any read of padding
// turns the affected results into NaN.
const guardBits = 0x7fc0dead

var guard = math.Float32frombits(guardBits)

// matrix is a rows×cols window with row stride ld inside buf, which also
// holds `pad` guard elements before the first and after the last row.
type matrix struct {
	buf            []float32
	off            int
	rows, cols, ld int
	pad            int
	window         []float32 // buf[off : off+(rows-1)*ld+cols]
	rowsOK, colsOK int
}

func newMatrix(rng *rand.Rand, rows, cols, ld int) *matrix {
	const pad = 37
	size := 0
	if rows > 0 && cols > 0 {
		size = (rows-1)*ld + cols
	}
	m := &matrix{buf: make([]float32, pad+size+pad), off: pad, rows: rows, cols: cols, ld: ld, pad: pad}
	for i := range m.buf {
		m.buf[i] = guard
	}
	m.window = m.buf[pad : pad+size : pad+size]
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			m.window[i*ld+j] = rng.Float32()*2 - 1
		}
	}
	return m
}

func (m *matrix) at(i, j int) float32 { return m.window[i*m.ld+j] }

func (m *matrix) inWindow(idx int) bool {
	idx -= m.off
	if idx < 0 || idx >= len(m.window) {
		return false
	}
	return idx%m.ld < m.cols
}

// checkGuards reports any element outside the window that is no longer the
// guard pattern.
func (m *matrix) checkGuards(t *testing.T, name string) {
	t.Helper()
	bad := 0
	for i, v := range m.buf {
		if !m.inWindow(i) && math.Float32bits(v) != guardBits {
			if bad < 5 {
				t.Errorf("%s: guard at buffer index %d overwritten with %v", name, i, v)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d guard elements overwritten", name, bad)
	}
}

func (m *matrix) clone() []float32 { return append([]float32(nil), m.buf...) }

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

type shape struct{ m, n, k int }

func (s shape) String() string { return fmt.Sprintf("m=%d/n=%d/k=%d", s.m, s.n, s.k) }

// testShapes crosses the brief's sizes sensibly: all small combinations
// (below, at and above the tile sizes), then larger ones that cross the
// tier's kc, mc and nc block boundaries, none of which are multiples of the
// tile.
func testShapes(cfg *tierConfig, short bool) []shape {
	var out []shape
	small := []int{1, 2, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32, 33}
	for _, m := range small {
		for _, n := range small {
			for _, k := range []int{1, 5, 17} {
				out = append(out, shape{m, n, k})
			}
		}
	}
	mid := []int{63, 64, 65, 100, 129, 257}
	for _, m := range mid {
		for _, n := range mid {
			out = append(out, shape{m, n, 33 + m%7})
		}
		out = append(out, shape{m, 7, m}, shape{5, m, m}, shape{m, m, m})
	}
	kc, mc, nc, mr, nr := cfg.kc, cfg.mc, cfg.nc, cfg.mr, cfg.nr
	for _, k := range []int{kc - 1, kc, kc + 1, 2*kc + 3} {
		out = append(out, shape{2*mr + 1, 2*nr + 3, k}, shape{mr, nr, k})
	}
	for _, m := range []int{mc - 1, mc, mc + 1, 2*mc + mr + 1} {
		out = append(out, shape{m, nr + 1, 9}, shape{m, 3 * nr, kc + 5})
	}
	// N edges that the wide kernels take (rows in whole tiles): the last
	// full panel plus 1–4, 16 or 16+1–2 columns.
	for _, r := range []int{1, 2, 3, 4, 16, 17, 18} {
		out = append(out, shape{2 * mr, nr + r, kc + 3}, shape{3 * mr, 3*nr + r, 9})
	}
	if d := cfg.kcDeep; d > 0 {
		// Few rows, deep K: packed with kcDeep blocks, the last partial;
		// and the rows/depth just outside the rule.
		out = append(out, shape{2*mr + 3, nr + 5, 2*d + 7}, shape{deepRows, 2, 2 * d},
			shape{deepRows + 1, 2, 2 * d}, shape{mr, nr, 2*d - 1})
	}
	if !short {
		for _, n := range []int{nc - 1, nc, nc + 1, nc + nr + 5} {
			out = append(out, shape{mr + 1, n, 7}, shape{2, n, kc + 1})
		}
		out = append(out, shape{mc + 7, nc + 9, kc + 11})
	} else {
		out = append(out, shape{mr + 1, nc + 1, 3})
	}
	return out
}

// reference returns A·B in float64 and, per element, the bound
// Σ_k |a_ik·b_kj| used for the tolerance.
func reference(a, b *matrix, m, n, k int) (ref, mag []float64) {
	ref = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			av := float64(a.at(i, p))
			for j := 0; j < n; j++ {
				prod := av * float64(b.at(p, j))
				ref[i*n+j] += prod
				mag[i*n+j] += math.Abs(prod)
			}
		}
	}
	return ref, mag
}

// tolerance: any float32 evaluation of a sum of K products followed by up
// to two additions (bias, residual), in any order and with or without FMA,
// is within γ·(Σ|a·b| + |bias| + |res|) of the exact value, with
// γ = (K+2)·u/(1-(K+2)·u) and u = 2⁻²⁴ (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1). ReLU is exact. The bound is rigorous for
// correct code, so the test cannot fail on rounding; a wrong, missing or
// duplicated term is normally far larger.
func tolerance(k int, mag float64) float64 {
	const u = 1.0 / (1 << 24)
	g := float64(k+2) * u
	return g/(1-g)*mag + 1e-30
}

type epCase struct {
	name            string
	bias, res, relu bool
}

var epCases = []epCase{
	{"none", false, false, false},
	{"bias", true, false, false},
	{"res", false, true, false},
	{"relu", false, false, true},
	{"bias+relu", true, false, true},
	{"res+relu", false, true, true},
	{"bias+res+relu", true, true, true},
}

// runCase packs A, runs Gemm on ctx and checks results, guards and inputs.
func runCase(t *testing.T, rng *rand.Rand, ctx *Context, s shape, ec epCase, transA bool) {
	t.Helper()
	m, n, k := s.m, s.n, s.k
	a := newMatrix(rng, m, k, k+3)
	at := newMatrix(rng, k, m, m+5)
	for i := 0; i < m; i++ {
		for p := 0; p < k; p++ {
			at.window[p*at.ld+i] = a.at(i, p)
		}
	}
	b := newMatrix(rng, k, n, n+2)
	c := newMatrix(rng, m, n, n+1) // initial C contents must be overwritten
	var ep Epilogue
	var bias, res *matrix
	if ec.bias {
		bias = newMatrix(rng, 1, m, m)
		ep.Bias = bias.window
	}
	if ec.res {
		res = newMatrix(rng, m, n, n+4)
		ep.Residual, ep.LDR = res.window, res.ld
	}
	ep.ReLU = ec.relu
	aCopy, bCopy, atCopy := a.clone(), b.clone(), at.clone()
	var pa *PackedA
	if transA {
		pa = PackAT(at.window, m, k, at.ld)
	} else {
		pa = PackA(a.window, m, k, a.ld)
	}
	ctx.Gemm(pa, b.window, b.ld, n, c.window, c.ld, ep)

	ref, mag := reference(a, b, m, n, k)
	bad := 0
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			want, bound := ref[i*n+j], mag[i*n+j]
			if bias != nil {
				want += float64(bias.window[i])
				bound += math.Abs(float64(bias.window[i]))
			}
			if res != nil {
				r := float64(res.at(i, j))
				want += r
				bound += math.Abs(r)
			}
			if ec.relu {
				want = math.Max(want, 0)
			}
			got := float64(c.at(i, j))
			if !(math.Abs(got-want) <= tolerance(k, bound)) {
				if bad < 5 {
					t.Errorf("%v ep=%s: C[%d,%d] = %v, want %v (tol %.3g)", s, ec.name, i, j, got, want, tolerance(k, bound))
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%v ep=%s: %d wrong elements", s, ec.name, bad)
	}
	c.checkGuards(t, "C")
	if !sameBits(a.buf, aCopy) || !sameBits(b.buf, bCopy) || !sameBits(at.buf, atCopy) {
		t.Fatalf("%v: inputs modified", s)
	}
	if bias != nil {
		bias.checkGuards(t, "bias")
	}
	if res != nil {
		res.checkGuards(t, "residual")
	}
}

func TestGemm(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		rng := rand.New(rand.NewPCG(1, uint64(tier)))
		cfg := configFor(tier)
		pool := parallel.New(2)
		defer pool.Close()
		ctxs := []*Context{NewContext(nil), NewContext(pool)}
		for i, s := range testShapes(cfg, testing.Short()) {
			// Rotate epilogues, A layouts and thread counts over the
			// shapes independently (every combination within
			// 4·len(epCases) shapes); every shape is checked with some
			// epilogue.
			ne := len(epCases)
			runCase(t, rng, ctxs[i/(2*ne)%2], s, epCases[i%ne], i/ne%2 == 1)
		}
	})
}

// TestEpilogues runs every epilogue on shapes with partial tiles on both
// edges and several k blocks, single- and multi-threaded.
func TestEpilogues(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		rng := rand.New(rand.NewPCG(2, uint64(tier)))
		cfg := configFor(tier)
		pool := parallel.New(3)
		defer pool.Close()
		shapes := []shape{
			{1, 1, 1}, {cfg.mr, cfg.nr, 3},
			{2*cfg.mr + 1, 3*cfg.nr + 5, cfg.kc + 3},
			{cfg.mc + cfg.mr + 1, cfg.nr - 1, 2*cfg.kc + 1},
			{2 * cfg.mr, 2*cfg.nr + 3, cfg.kc + 3}, {cfg.mc + cfg.mr, cfg.nr + 17, 2*cfg.kc + 1},
		}
		for _, ec := range epCases {
			for _, s := range shapes {
				runCase(t, rng, NewContext(nil), s, ec, false)
				runCase(t, rng, NewContext(pool), s, ec, true)
			}
		}
	})
}

func TestZeroSizes(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		rng := rand.New(rand.NewPCG(3, 3))
		ctx := NewContext(nil)
		for _, s := range []shape{{0, 5, 3}, {5, 0, 3}, {5, 4, 0}, {0, 0, 0}} {
			for _, ec := range epCases {
				runCase(t, rng, ctx, s, ec, false)
			}
		}
	})
}

// TestDeterministicThreads checks that results are bitwise identical for
// every thread count (the K dimension is never split, and a column's sums
// take the same order whichever path computes it).
func TestDeterministicThreads(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		rng := rand.New(rand.NewPCG(4, 4))
		shapes := []shape{
			{cfg.mc*2 + 5, 3*cfg.nr + 7, 2*cfg.kc + 9},
			{64, 200, 64},
			{256, 49, 512},
			{7, cfg.nc + 33, 40},
			// N edges of the wide kernels, with partial row tiles and
			// splits whose last N part holds only the edge's remainder.
			{20, 49, 37}, {8, 196, 300}, {13, 36, 70}, {16, 100, 9}, {24, 81, 513}, {9, 35, 11}, {1024, 49, 67},
		}
		for _, s := range shapes {
			a, b, ep := withEpilogue(rng, s)
			pa := PackA(a.window, s.m, s.k, s.k)
			var want []float32
			for _, threads := range []int{1, 2, 3, 4, 7} {
				pool := parallel.New(threads)
				c := make([]float32, s.m*s.n)
				NewContext(pool).Gemm(pa, b.window, s.n, s.n, c, s.n, ep)
				pool.Close()
				if want == nil {
					want = c
					continue
				}
				if !sameBits(c, want) {
					t.Fatalf("%v: threads=%d differs from threads=1", s, threads)
				}
			}
		}
	})
}

// withEpilogue makes random A (s.m×s.k) and B (s.k×s.n) and an epilogue with
// random bias and residual and ReLU, the operands of the row-part tests.
func withEpilogue(rng *rand.Rand, s shape) (a, b *matrix, ep Epilogue) {
	a = newMatrix(rng, s.m, s.k, s.k)
	b = newMatrix(rng, s.k, s.n, s.n)
	bias := newMatrix(rng, 1, s.m, s.m)
	res := newMatrix(rng, s.m, s.n, s.n)
	return a, b, Epilogue{Bias: bias.window, Residual: res.window, LDR: s.n, ReLU: true}
}

// checkParts cuts C's rows (or, with cols, its columns) into each count of
// parts with cut, has compute write each part into a C of guard values,
// and checks that the part has want's bits and every other element, and
// the guards around C, are untouched.
func checkParts(t *testing.T, rng *rand.Rand, s shape, want []float32, partCounts []int, cols bool, cut func(i, parts int) (lo, hi int), compute func(lo, hi int, c []float32)) {
	t.Helper()
	what := map[bool]string{false: "rows", true: "columns"}[cols]
	for _, parts := range partCounts {
		for i := range parts {
			lo, hi := cut(i, parts)
			c := newMatrix(rng, s.m, s.n, s.n)
			for x := range c.window {
				c.window[x] = guard
			}
			compute(lo, hi, c.window)
			c.checkGuards(t, "C")
			for x, v := range c.window {
				at := x / s.n
				if cols {
					at = x % s.n
				}
				inPart := at >= lo && at < hi
				if inPart && math.Float32bits(v) != math.Float32bits(want[x]) || !inPart && math.Float32bits(v) != math.Float32bits(guard) {
					t.Fatalf("%v: part %d of %d (%s %d..%d): c[%d] = %v, Gemm gave %v", s, i, parts, what, lo, hi, x, v, want[x])
				}
			}
		}
	}
}

// TestGemmRows checks that computing C in row parts with GemmRows (the
// way im2col's row-split workers do) gives Gemm's bits in every part and
// leaves the other rows, and the guards around C, alone.
func TestGemmRows(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		rng := rand.New(rand.NewPCG(5, 5))
		for _, s := range []shape{
			{cfg.mc*2 + 5, 3*cfg.nr + 7, 2*cfg.kc + 9},
			{1024, 49, 64},
			{3, 17, 5},
			{13, 40, 0},
		} {
			a, b, ep := withEpilogue(rng, s)
			pa := PackA(a.window, s.m, s.k, max(s.k, 1))
			want := make([]float32, s.m*s.n)
			NewContext(nil).Gemm(pa, b.window, s.n, s.n, want, s.n, ep)
			checkParts(t, rng, s, want, []int{1, 2, 3, 5}, false, pa.RowPart, func(m0, m1 int, c []float32) {
				NewContext(nil).GemmRows(pa, m0, m1, b.window, s.n, s.n, c, s.n, ep)
			})
		}
	})
}

// TestColPart checks that Gemm over the columns of each ColPart alone (as
// im2col's column-split workers run it) gives the whole product's bits in
// those columns and leaves the others, and the guards around C, alone.
func TestColPart(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		rng := rand.New(rand.NewPCG(6, 6))
		for _, s := range []shape{
			{cfg.mc*2 + 5, 3*cfg.nr + 7, 2*cfg.kc + 9},
			{40, 784, 40}, {20, 49, 37}, {9, 35, 11}, {8, 196, 300}, {13, 3, 5},
		} {
			a, b, ep := withEpilogue(rng, s)
			pa := PackA(a.window, s.m, s.k, s.k)
			want := make([]float32, s.m*s.n)
			NewContext(nil).Gemm(pa, b.window, s.n, s.n, want, s.n, ep)
			cut := func(i, parts int) (int, int) { return pa.ColPart(i, parts, s.n) }
			checkParts(t, rng, s, want, []int{1, 2, 3, 5}, true, cut, func(n0, n1 int, c []float32) {
				if n0%cfg.nr != 0 && n0 != s.n || n1 < n0 {
					t.Fatalf("%v: columns [%d, %d) (nr=%d)", s, n0, n1, cfg.nr)
				}
				pep := ep
				pep.Residual = ep.Residual[n0:]
				NewContext(nil).Gemm(pa, b.window[n0:], s.n, n1-n0, c[n0:], s.n, pep)
			})
		}
	})
}

func TestGemmAllocatesNothing(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		rng := rand.New(rand.NewPCG(5, 5))
		m, n, k := 70, 150, 300
		a := newMatrix(rng, m, k, k)
		b := newMatrix(rng, k, n, n)
		res := newMatrix(rng, m, n, n)
		bias := newMatrix(rng, 1, m, m)
		c := make([]float32, m*n)
		pa := PackA(a.window, m, k, k)
		for _, threads := range []int{1, 2} {
			pool := parallel.New(threads)
			ctx := NewContext(pool)
			ep := Epilogue{Bias: bias.window, Residual: res.window, LDR: n, ReLU: true}
			allocs := testing.AllocsPerRun(20, func() {
				ctx.Gemm(pa, b.window, n, n, c, n, ep)
			})
			pool.Close()
			if allocs != 0 {
				t.Errorf("threads=%d: Gemm allocates %v times per call", threads, allocs)
			}
		}
	})
}

func TestPackATMatchesPackA(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		rng := rand.New(rand.NewPCG(6, 6))
		for _, s := range []shape{{1, 0, 1}, {13, 0, 300}, {100, 0, 7}} {
			a := newMatrix(rng, s.m, s.k, s.k+1)
			at := make([]float32, s.k*s.m)
			for i := 0; i < s.m; i++ {
				for p := 0; p < s.k; p++ {
					at[p*s.m+i] = a.at(i, p)
				}
			}
			p1 := PackA(a.window, s.m, s.k, a.ld)
			p2 := PackAT(at, s.m, s.k, s.m)
			if !sameBits(p1.data, p2.data) || p1.M() != s.m || p1.K() != s.k || p1.Tier() != tier {
				t.Fatalf("m=%d k=%d: PackAT differs from PackA", s.m, s.k)
			}
		}
	})
}

func TestTierMismatchPanics(t *testing.T) {
	if !isa.Supported(isa.AVX2) {
		t.Skip("needs two supported tiers; CPU/build lacks AVX2")
	}
	orig := isa.Active()
	defer isa.Set(orig)
	isa.Set(isa.Generic)
	pa := PackA(make([]float32, 4), 2, 2, 2)
	isa.Set(isa.AVX2)
	ctx := NewContext(nil)
	defer func() {
		if recover() == nil {
			t.Fatal("Gemm with mismatched tiers did not panic")
		}
	}()
	ctx.Gemm(pa, make([]float32, 4), 2, 2, make([]float32, 4), 2, Epilogue{})
}

// TestGemmRowsK checks that GemmRowsK over consecutive K ranges (im2col's
// staggered gather) gives GemmRows' bits, uses no row of B outside the
// current range (they hold NaN during the call) and leaves the guards
// around C alone; and that a range off the K blocks panics.
func TestGemmRowsK(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		rng := rand.New(rand.NewPCG(6, 6))
		for _, s := range []shape{
			{cfg.mc*2 + 5, 3*cfg.nr + 7, 2*cfg.kc + 9},
			{256, 784, cfg.kc + cfg.kc/2}, // like res3a-proj's row part on two threads: B read in place, the wide edge
			{40, 49, 3*cfg.kc + 1},
			{8, 196, 5 * cfg.kc},
		} {
			a, b, ep := withEpilogue(rng, s)
			pa := PackA(a.window, s.m, s.k, s.k)
			want := make([]float32, s.m*s.n)
			NewContext(nil).Gemm(pa, b.window, s.n, s.n, want, s.n, ep)
			if ceilDiv(s.k, pa.KBlock()) < 2 {
				t.Fatalf("%v: one K block of %d; the test needs several", s, pa.KBlock())
			}
			checkParts(t, rng, s, want, []int{1, 2}, false, pa.RowPart, func(m0, m1 int, c []float32) {
				hidden := make([]float32, len(b.window))
				ctx := NewContext(nil)
				for k0 := 0; k0 < s.k; k0 += pa.KBlock() {
					k1 := min(k0+pa.KBlock(), s.k)
					for x := range hidden {
						hidden[x] = float32(math.NaN())
					}
					copy(hidden[k0*s.n:k1*s.n], b.window[k0*s.n:k1*s.n])
					ctx.GemmRowsK(pa, m0, m1, k0, k1, hidden, s.n, s.n, c, s.n, ep)
				}
			})
			kb := pa.KBlock()
			for _, r := range [][2]int{{0, 0}, {1, kb}, {0, kb + 1}, {kb, kb - 1}, {0, s.k + 1}, {-kb, kb}} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%v: GemmRowsK over K [%d, %d): no panic", s, r[0], r[1])
						}
					}()
					NewContext(nil).GemmRowsK(pa, 0, s.m, r[0], r[1], b.window, s.n, s.n, make([]float32, s.m*s.n), s.n, ep)
				}()
			}
		}
	})
}

func TestShapeChecks(t *testing.T) {
	pa := PackA(make([]float32, 6), 2, 3, 3)
	ctx := NewContext(nil)
	for name, f := range map[string]func(){
		"short b":   func() { ctx.Gemm(pa, make([]float32, 8), 3, 3, make([]float32, 6), 3, Epilogue{}) },
		"short c":   func() { ctx.Gemm(pa, make([]float32, 9), 3, 3, make([]float32, 5), 3, Epilogue{}) },
		"small ldc": func() { ctx.Gemm(pa, make([]float32, 9), 3, 3, make([]float32, 6), 2, Epilogue{}) },
		"bias":      func() { ctx.Gemm(pa, make([]float32, 9), 3, 3, make([]float32, 6), 3, Epilogue{Bias: []float32{1}}) },
		"res ldr": func() {
			ctx.Gemm(pa, make([]float32, 9), 3, 3, make([]float32, 6), 3, Epilogue{Residual: make([]float32, 6), LDR: 2})
		},
		"short a": func() { PackA(make([]float32, 5), 2, 3, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestMicroKernels checks every microkernel of each tier (all row counts
// and vector counts) and the B packer directly against the reference loops,
// for every epilogue flag combination and k counts that exercise the
// unrolled loop and its remainder, with guard values on both sides of C.
func TestMicroKernels(t *testing.T) {
	forEachTable(t, func(t *testing.T, tier isa.Tier, cfg *tierConfig) {
		mr, nr := cfg.mr, cfg.nr
		rng := rand.New(rand.NewPCG(7, 7))
		nk := 0
		for rows := 1; rows <= mr; rows++ {
			for nvec := 1; nvec <= cfg.nv(); nvec++ {
				kern := cfg.kern[rows][nvec]
				if kern == nil {
					continue
				}
				nk++
				cols := nvec * cfg.vl
				for _, kc := range []int{1, 2, 3, 4, 5, 8, 13, 64} {
					for _, ntiles := range []int{1, 3} {
						for flags := 0; flags < 16; flags++ {
							ldc, ldr := nr+3, nr+5
							a := randSlice(rng, ntiles*mr*kc)
							b := randSlice(rng, kc*nr)
							bias := randSlice(rng, ntiles*rows)
							res := randSlice(rng, ntiles*rows*ldr)
							c0 := randSlice(rng, ntiles*rows*ldc)
							gotBuf, got := guarded(c0)
							want := append([]float32(nil), c0...)
							bnext := randSlice(rng, kc*nr) // only prefetched
							kern(&a[0], &b[0], &bnext[0], &got[0], kc, ldc, ntiles, &bias[0], &res[0], ldr, flags)
							refKernel(rows, cols, mr, nr, &a[0], &b[0], &want[0], kc, ldc, ntiles, &bias[0], &res[0], ldr, flags)
							what := fmt.Sprintf("%dx%d kc=%d ntiles=%d flags=%04b", rows, cols, kc, ntiles, flags)
							checkTiles(t, what, got, want, c0, ldc, cols, kc)
							checkEnds(t, what, gotBuf)
						}
					}
				}
			}
		}
		if nk < mr || cfg.kern[mr][cfg.nv()] == nil {
			t.Fatalf("only %d kernels in the table", nk)
		}
		for _, kc := range []int{1, 3, 8, 13} {
			ldb := 3*nr + 7
			src := randSlice(rng, kc*ldb)
			pstride := kc*nr + 16
			got := make([]float32, 3*pstride+8)
			want := make([]float32, 3*pstride+8)
			cfg.packB(&got[0], &src[0], kc, ldb, 3, pstride)
			refPackB(nr, &want[0], &src[0], kc, ldb, 3, pstride)
			if !sameBits(got, want) {
				t.Fatalf("packB nr=%d kc=%d differs from reference", nr, kc)
			}
		}
	})
}

// checkTiles compares a microkernel's C (ldc floats per row, cols computed
// per row) with the reference's, and checks the columns past cols still
// hold c0.
func checkTiles(t *testing.T, what string, got, want, c0 []float32, ldc, cols, kc int) {
	t.Helper()
	for i := range got {
		// Σ|a·b| ≤ kc (inputs in [-1,1]) plus C, bias, residual.
		if math.Abs(float64(got[i]-want[i])) > 2*tolerance(kc, float64(kc+3)) {
			t.Fatalf("%s: c[%d]=%v want %v", what, i, got[i], want[i])
		}
		if i%ldc >= cols && got[i] != c0[i] {
			t.Fatalf("%s: wrote outside the tile, c[%d]", what, i)
		}
	}
}

// edgeGuard is the number of guard floats (a cache line) before and after
// a microkernel's C in the kernel tests.
const edgeGuard = 16

// guarded returns a copy of c0 inside a buffer with edgeGuard guard values
// on each side, and that copy's window.
func guarded(c0 []float32) (buf, window []float32) {
	buf = make([]float32, edgeGuard+len(c0)+edgeGuard)
	for i := range buf {
		buf[i] = guard
	}
	copy(buf[edgeGuard:], c0)
	return buf, buf[edgeGuard : edgeGuard+len(c0)]
}

// checkEnds checks the guard values on both sides of a guarded buffer.
func checkEnds(t *testing.T, what string, buf []float32) {
	t.Helper()
	n := len(buf) - 2*edgeGuard
	for i, v := range buf {
		if math.Float32bits(v) == guardBits {
			continue
		}
		if i < edgeGuard {
			t.Fatalf("%s: wrote %d floats before C", what, edgeGuard-i)
		}
		if i >= edgeGuard+n {
			t.Fatalf("%s: wrote %d floats past C's end", what, i-edgeGuard-n+1)
		}
	}
}

// TestStridedKernels checks the kernels that read B from its rows against
// the reference loop, every row count, odd and even kc, every epilogue,
// with a B row stride that is not the panel width, guard columns in C and
// guard values on both sides of it.
func TestStridedKernels(t *testing.T) {
	forEachTable(t, func(t *testing.T, tier isa.Tier, cfg *tierConfig) {
		mr, nr := cfg.mr, cfg.nr
		if cfg.kernS[mr] == nil {
			t.Skipf("%v has no strided kernels", tier)
		}
		rng := rand.New(rand.NewPCG(8, 8))
		for rows := 1; rows <= mr; rows++ {
			for _, kc := range []int{1, 2, 3, 4, 5, 13, 64} {
				for flags := 0; flags < 16; flags++ {
					const ntiles = 2
					ldb, ldc, ldr := nr+7, nr+3, nr+5
					a := randSlice(rng, ntiles*mr*kc)
					b := randSlice(rng, kc*ldb)
					bias := randSlice(rng, ntiles*rows)
					res := randSlice(rng, ntiles*rows*ldr)
					c0 := randSlice(rng, ntiles*rows*ldc)
					gotBuf, got := guarded(c0)
					want := append([]float32(nil), c0...)
					cfg.kernS[rows](&a[0], &b[0], ldb, &got[0], kc, ldc, ntiles, &bias[0], &res[0], ldr, flags)
					refKernel(rows, nr, mr, ldb, &a[0], &b[0], &want[0], kc, ldc, ntiles, &bias[0], &res[0], ldr, flags)
					what := fmt.Sprintf("strided %d rows kc=%d flags=%04b", rows, kc, flags)
					checkTiles(t, what, got, want, c0, ldc, nr, kc)
					checkEnds(t, what, gotBuf)
				}
			}
		}
	})
}

// TestStridedMatchesPacked: on shapes that take the unpacked-B path (M in
// one mc block, line-aligned rows), the result is bitwise that of the
// packed path (same products, same order), with every epilogue.
func TestStridedMatchesPacked(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := *configFor(tier)
		if cfg.kernS[cfg.mr] == nil {
			t.Skipf("%v has no strided kernels", tier)
		}
		packedCfg := cfg
		packedCfg.kernS = [maxMR + 1]stridedKernel{}
		rng := rand.New(rand.NewPCG(4, 4))
		// m, n, k, ldb: the last one ends in a partial panel (packed)
		// after strided full ones.
		for _, sh := range [][4]int{{64, 3136, 64, 3136}, {128, 784, 512, 784}, {7, 16 * 9, 3, 16 * 9}, {cfg.mc, 16*5 + 3, cfg.kc + 5, 96}} {
			m, n, k, ldb := sh[0], sh[1], sh[2], sh[3]
			if !stridedFits(ldb, min(k, cfg.kc)) {
				t.Fatalf("shape %v does not take the strided path", sh)
			}
			a := randSlice(rng, m*k)
			b := randSlice(rng, k*ldb)
			bias := randSlice(rng, m)
			res := randSlice(rng, m*n)
			pa := packA(&cfg, m, k, func(dst []float32, i0, rows, k0, kcb int) {
				for r := 0; r < rows; r++ {
					for kk := 0; kk < kcb; kk++ {
						dst[kk*cfg.mr+r] = a[(i0+r)*k+k0+kk]
					}
				}
			})
			for _, ep := range []Epilogue{{}, {Bias: bias, ReLU: true}, {Bias: bias, Residual: res, LDR: n, ReLU: true}} {
				got, want := make([]float32, m*n), make([]float32, m*n)
				newContext(&cfg, nil).Gemm(pa, b, ldb, n, got, n, ep)
				newContext(&packedCfg, nil).Gemm(pa, b, ldb, n, want, n, ep)
				if !sameBits(got, want) {
					t.Fatalf("m=%d n=%d k=%d ldb=%d: strided and packed B differ", m, n, k, ldb)
				}
			}
		}
	})
}

// TestColumnKernels checks both column kernels (6- and 8-row panels; both
// are AVX2 code, so the AVX-512 tier's one runs here too) against refCol:
// every group/single split of the panels, odd and even kc, and the 8-float
// output of each panel, lanes past the panel's rows included (zero), with
// guard values on both sides of the output.
func TestColumnKernels(t *testing.T) {
	if !isa.Supported(isa.AVX2) && !goTwins {
		t.Skip("CPU lacks AVX2")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, k := range []struct {
		astride int
		f       colKernel
	}{{6, sgemmCol6AVX2}, {8, sgemmCol8AVX2}} {
		for _, npanels := range []int{1, 2, 3, 4, 5, 8, 9, 24} {
			for _, kc := range []int{1, 2, 3, 7, 64, 255} {
				const bstride = 16
				a := randSlice(rng, npanels*k.astride*kc)
				b := randSlice(rng, kc*bstride)
				gotBuf, got := guarded(make([]float32, npanels*8))
				want := make([]float32, npanels*8)
				k.f(&a[0], &b[3], &got[0], kc, npanels, bstride)
				refCol(k.astride, &a[0], &b[3], &want[0], kc, npanels, bstride)
				for i, w := range want {
					if math.Abs(float64(got[i]-w)) > tolerance(kc, float64(kc)) {
						t.Fatalf("sgemmCol%d npanels=%d kc=%d: out[%d]=%v want %v", k.astride, npanels, kc, i, got[i], w)
					}
				}
				checkEnds(t, fmt.Sprintf("sgemmCol%d npanels=%d kc=%d", k.astride, npanels, kc), gotBuf)
			}
		}
	}
}

// TestWideKernels checks every wide kernel against refWide: odd and even
// kc, one and several tiles, every epilogue, guard columns in C past the
// vector columns (the tail goes to its own buffer, never to C), guard
// values on both sides of C and after the tail buffer.
func TestWideKernels(t *testing.T) {
	forEachTable(t, func(t *testing.T, tier isa.Tier, cfg *tierConfig) {
		rng := rand.New(rand.NewPCG(10, 10))
		nk := 0
		for nvec := range cfg.wide {
			for tail, kern := range cfg.wide[nvec] {
				if kern == nil {
					continue
				}
				nk++
				cols, stride := nvec*cfg.vl, wideStride(nvec, tail)
				for _, kc := range []int{1, 2, 3, 4, 5, 8, 13, 64} {
					for _, ntiles := range []int{1, 3} {
						for flags := 0; flags < 16; flags++ {
							const guard = 8
							what := fmt.Sprintf("8x%d kc=%d ntiles=%d flags=%04b", cols+tail, kc, ntiles, flags)
							ldc, ldr := cols+tail+3, cols+5
							a := randSlice(rng, ntiles*8*kc)
							b := randSlice(rng, kc*stride)
							bias := randSlice(rng, ntiles*8)
							res := randSlice(rng, ntiles*8*ldr)
							c0 := randSlice(rng, ntiles*8*ldc)
							gotBuf, got := guarded(c0)
							want := append([]float32(nil), c0...)
							gotTail := make([]float32, ntiles*tail*8+guard)
							for i := range gotTail {
								gotTail[i] = 12345
							}
							wantTail := make([]float32, ntiles*tail*8+1)
							kern(&a[0], &b[0], &got[0], kc, ldc, ntiles, &bias[0], &res[0], ldr, flags, &gotTail[0])
							refWide(cols, tail, &a[0], &b[0], &want[0], kc, ldc, ntiles, &bias[0], &res[0], ldr, flags, &wantTail[0])
							checkTiles(t, what, got, want, c0, ldc, cols, kc)
							checkEnds(t, what, gotBuf)
							for i := range gotTail {
								if i >= ntiles*tail*8 {
									if gotTail[i] != 12345 {
										t.Fatalf("%s: wrote past the tail buffer at %d", what, i)
									}
								} else if math.Abs(float64(gotTail[i]-wantTail[i])) > tolerance(kc, float64(kc)) {
									t.Fatalf("%s: tail[%d]=%v want %v", what, i, gotTail[i], wantTail[i])
								}
							}
						}
					}
				}
			}
		}
		if tier == isa.AVX512 && nk == 0 {
			t.Fatal("no wide kernels in the AVX-512 table")
		}
	})
}

// TestCopyRows checks the wide strip's row copier against its reference
// loop for every remainder of the vector width, with guard values around
// and between the rows: it must copy exactly ncols floats per row, reading
// and writing nothing past them.
func TestCopyRows(t *testing.T) {
	forEachTable(t, func(t *testing.T, tier isa.Tier, cfg *tierConfig) {
		if cfg.copyRows == nil {
			if cfg.hasWide() {
				t.Fatal("wide kernels without a row copier")
			}
			t.Skip("no wide kernels on this tier")
		}
		rng := rand.New(rand.NewPCG(11, 11))
		guard := math.Float32frombits(guardBits)
		for ncols := 1; ncols <= 70; ncols++ {
			for _, rows := range []int{1, 2, 7} {
				ldb, stride := ncols+5, ncols+3
				// src ends right after its last row's ncols floats (an
				// over-read would still go unseen: it does not fault).
				src := randSlice(rng, (rows-1)*ldb+ncols)
				got := make([]float32, rows*stride+8)
				want := make([]float32, rows*stride+8)
				for i := range got {
					got[i], want[i] = guard, guard
				}
				copyRows(cfg, got[1:], src, rows, ldb, ncols, stride)
				refCopyRows(&want[1], &src[0], rows, ldb, ncols, stride)
				if !sameBits(got, want) {
					t.Fatalf("ncols=%d rows=%d: copy differs from the reference (or wrote a guard)", ncols, rows)
				}
			}
		}
	})
}

func TestAlignedFloats(t *testing.T) {
	for n := 0; n < 40; n++ {
		s := alignedFloats(n + 1)
		if uintptr(unsafe.Pointer(&s[0]))%64 != 0 || len(s) != n+1 {
			t.Fatalf("alignedFloats(%d) misaligned", n+1)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ threads, mt, nt, tm, tn int }{
		{1, 10, 10, 1, 1},
		{2, 11, 196, 1, 2}, // res2a: N split
		{2, 22, 49, 1, 2},  // res3a: N split (an M split would pack B twice)
		{2, 171, 13, 2, 1}, // res4b: M split
		{2, 86, 4, 2, 1},   // res5a: M split (N parts would each stream all of A)
		{2, 342, 4, 2, 1},  // res5b
		{2, 342, 1, 2, 1},  // one column of tiles
		{2, 1, 1, 1, 1},    // one tile
		{4, 20, 2, 4, 1},   // 4 threads, few columns
		{3, 30, 30, 1, 3},  // three N parts
	} {
		tm, tn := split(tc.threads, tc.mt, tc.nt)
		if tm != tc.tm || tn != tc.tn {
			t.Errorf("split(%d, %d, %d) = %d×%d, want %d×%d", tc.threads, tc.mt, tc.nt, tm, tn, tc.tm, tc.tn)
		}
	}
}

// TestAVX512DriverWithReferenceKernels runs the Go driver with the AVX-512
// tier's tile shape and blocking (mr=8, nr=32, vl=16, kc=192, …) on every
// machine, with all its assembly (microkernels, wide and column kernels,
// packers) replaced by the reference loops (same signature and contract). Together with the AVX2 runs of the shared
// generator's output, this covers everything of that tier except executing
// its instructions.
func TestAVX512DriverWithReferenceKernels(t *testing.T) {
	cfg := configs[isa.AVX512]
	for rows := 1; rows <= cfg.mr; rows++ {
		for nvec := 1; nvec <= cfg.nv(); nvec++ {
			cols := nvec * cfg.vl
			cfg.kern[rows][nvec] = func(a, b, _, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int) {
				refKernel(rows, cols, cfg.mr, cfg.nr, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags)
			}
		}
	}
	cfg.packB = func(dst, src *float32, kc, ldb, npanels, pstride int) {
		refPackB(cfg.nr, dst, src, kc, ldb, npanels, pstride)
	}
	cfg.copyRows = refCopyRows
	cfg.col = func(a, b, out *float32, kc, npanels, bstride int) { refCol(cfg.mr, a, b, out, kc, npanels, bstride) }
	cfg.kernS = [maxMR + 1]stridedKernel{} // packed B only: no strided assembly either
	for nvec := range cfg.wide {
		for tail := range cfg.wide[nvec] {
			if cfg.wide[nvec][tail] != nil {
				cfg.wide[nvec][tail] = func(a, b, c *float32, kc, ldc, ntiles int, bias, res *float32, ldr, flags int, out *float32) {
					refWide(nvec*cfg.vl, tail, a, b, c, kc, ldc, ntiles, bias, res, ldr, flags, out)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(8, 8))
	pool := parallel.New(2)
	defer pool.Close()
	shapes := []shape{
		{1, 1, 1}, {7, 15, 3}, {8, 32, 192}, {9, 33, 193}, {17, 49, 200},
		{cfg.mc + 9, 3*cfg.nr + 17, 2*cfg.kc + 5}, {64, 196, 40},
		{16, 49, 200}, {24, 48, 7}, {cfg.mc + 8, 3*cfg.nr + 18, 2*cfg.kc + 5},
	}
	for i, s := range shapes {
		for _, threads := range []int{1, 2} {
			p := pool
			if threads == 1 {
				p = nil
			}
			ctx := newContext(&cfg, p)
			a := newMatrix(rng, s.m, s.k, s.k+1)
			pa := packA(&cfg, s.m, s.k, func(dst []float32, i0, rows, k0, kcb int) {
				for r := 0; r < rows; r++ {
					for kk := 0; kk < kcb; kk++ {
						dst[kk*cfg.mr+r] = a.at(i0+r, k0+kk)
					}
				}
			})
			b := newMatrix(rng, s.k, s.n, s.n+3)
			c := newMatrix(rng, s.m, s.n, s.n+2)
			bias := newMatrix(rng, 1, s.m, s.m)
			res := newMatrix(rng, s.m, s.n, s.n+1)
			ep := Epilogue{Bias: bias.window, Residual: res.window, LDR: res.ld, ReLU: i%2 == 0}
			ctx.Gemm(pa, b.window, b.ld, s.n, c.window, c.ld, ep)
			ref, mag := reference(a, b, s.m, s.n, s.k)
			for r := 0; r < s.m; r++ {
				for j := 0; j < s.n; j++ {
					want := ref[r*s.n+j] + float64(bias.window[r]) + float64(res.at(r, j))
					bound := mag[r*s.n+j] + math.Abs(float64(bias.window[r])) + math.Abs(float64(res.at(r, j)))
					if ep.ReLU {
						want = math.Max(want, 0)
					}
					if got := float64(c.at(r, j)); !(math.Abs(got-want) <= tolerance(s.k, bound)) {
						t.Fatalf("%v threads=%d: C[%d,%d] = %v, want %v", s, threads, r, j, got, want)
					}
				}
			}
			c.checkGuards(t, "C")
		}
	}
}

func TestSgemmConvenience(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		rng := rand.New(rand.NewPCG(9, 9))
		m, n, k := 13, 37, 300
		a := newMatrix(rng, m, k, k+2)
		b := newMatrix(rng, k, n, n+1)
		c := newMatrix(rng, m, n, n+3)
		Sgemm(m, n, k, a.window, a.ld, b.window, b.ld, c.window, c.ld)
		ref, mag := reference(a, b, m, n, k)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if got := float64(c.at(i, j)); !(math.Abs(got-ref[i*n+j]) <= tolerance(k, mag[i*n+j])) {
					t.Fatalf("C[%d,%d] = %v, want %v", i, j, got, ref[i*n+j])
				}
			}
		}
		c.checkGuards(t, "C")
	})
}

// TestDeepKC checks which A the deeper K block applies to.
func TestDeepKC(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		if cfg.kcDeep == 0 {
			t.Skipf("%v has no kcDeep", tier)
		}
		for _, c := range []struct{ m, k, kc int }{
			{deepRows, 2 * cfg.kcDeep, cfg.kcDeep},
			{1, 4096, cfg.kcDeep},
			{deepRows + 1, 2 * cfg.kcDeep, (2*cfg.kcDeep/ceilDiv(2*cfg.kcDeep, cfg.kc) + 3) &^ 3},
			{deepRows + 1, 3 * cfg.kc, cfg.kc},
		} {
			pa := PackA(make([]float32, c.m*c.k), c.m, c.k, c.k)
			if pa.cfg.kc != c.kc {
				t.Errorf("PackA m=%d k=%d: kc %d, want %d", c.m, c.k, pa.cfg.kc, c.kc)
			}
		}
	})
}

// TestBalancedKC checks the K blocks of PackA: kc blocks, except that a
// last block shorter than kc/2 makes all blocks about equal (multiples of
// 4 but the last).
func TestBalancedKC(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		kc := configFor(tier).kc
		for _, c := range []struct{ k, kc int }{
			{kc, kc},                                // one block
			{kc + kc/2, kc},                         // a last block of half: kept
			{3 * kc, kc},                            // whole blocks
			{kc + kc/2 - 1, (kc/2 + kc/4 + 3) &^ 3}, // two blocks of about 3kc/4
			{kc + 1, (kc/2 + 1 + 3) &^ 3},
			{4*kc + 1, ((4*kc+1+4)/5 + 3) &^ 3},
		} {
			pa := PackA(make([]float32, 8*c.k), 8, c.k, c.k)
			if pa.cfg.kc != c.kc {
				t.Errorf("PackA m=8 k=%d: kc %d, want %d", c.k, pa.cfg.kc, c.kc)
			}
			for k0 := 0; k0 < c.k; k0 += pa.cfg.kc {
				if last := c.k - k0; last <= pa.cfg.kc && c.k > pa.cfg.kc && last < pa.cfg.kc/2 {
					t.Errorf("PackA m=8 k=%d: last K block %d of kc %d", c.k, last, pa.cfg.kc)
				}
			}
		}
	})
}
