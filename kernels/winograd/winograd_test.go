package winograd

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/gemm"
	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/naive"
	"github.com/resbench/resbench/kernels/parallel"
)

// matMul returns a·b for row-major float64 matrices.
func matMul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for j := range b[0] {
			for k := range b {
				out[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return out
}

func transpose(a [][]float64) [][]float64 {
	out := make([][]float64, len(a[0]))
	for j := range out {
		out[j] = make([]float64, len(a))
		for i := range a {
			out[j][i] = a[i][j]
		}
	}
	return out
}

func randMat(rng *rand.Rand, r, c int) [][]float64 {
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
		for j := range m[i] {
			m[i][j] = 2*rng.Float64() - 1
		}
	}
	return m
}

// TestMatricesComputeCorrelation checks the Winograd identity itself in
// float64: Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is the 3x3 correlation of the α×α
// patch d with g, for every tile size.
func TestMatricesComputeCorrelation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, m := range Tiles {
		mt := matsFor(m)
		a := mt.alpha
		for trial := 0; trial < 20; trial++ {
			d, g := randMat(rng, a, a), randMat(rng, 3, 3)
			gf := make([]float32, 9)
			for i := range gf {
				gf[i] = float32(g[i/3][i%3])
				g[i/3][i%3] = float64(gf[i])
			}
			u := make([]float64, a*a)
			mt.transformFilter(mt.filterMat(), gf, u)
			v := matMul(matMul(mt.bt, d), transpose(mt.bt))
			prod := make([][]float64, a)
			for i := range prod {
				prod[i] = make([]float64, a)
				for j := range prod[i] {
					prod[i][j] = u[i*a+j] * v[i][j]
				}
			}
			y := matMul(matMul(mt.at, prod), transpose(mt.at))
			for r := 0; r < m; r++ {
				for s := 0; s < m; s++ {
					var want float64
					for p := 0; p < 3; p++ {
						for q := 0; q < 3; q++ {
							want += d[r+p][s+q] * g[p][q]
						}
					}
					if math.Abs(y[r][s]-want) > 1e-12 {
						t.Fatalf("F(%d): y[%d][%d] = %v, want %v", m, r, s, y[r][s], want)
					}
				}
			}
		}
	}
}

// refInput is V = Bᵀ d B in float64 for an α×α patch (row-major).
func refInput(m int, d []float32) []float64 {
	mt := matsFor(m)
	a := mt.alpha
	dm := make([][]float64, a)
	for i := range dm {
		dm[i] = make([]float64, a)
		for j := range dm[i] {
			dm[i][j] = float64(d[i*a+j])
		}
	}
	v := matMul(matMul(mt.bt, dm), transpose(mt.bt))
	out := make([]float64, a*a)
	for i := range v {
		copy(out[i*a:], v[i])
	}
	return out
}

// refOutput is Y = Aᵀ M A in float64 (M α×α row-major; Y m×m).
func refOutput(m int, mm []float32) []float64 {
	mt := matsFor(m)
	a := mt.alpha
	x := make([][]float64, a)
	for i := range x {
		x[i] = make([]float64, a)
		for j := range x[i] {
			x[i][j] = float64(mm[i*a+j])
		}
	}
	y := matMul(matMul(mt.at, x), transpose(mt.at))
	out := make([]float64, m*m)
	for i := range y {
		copy(out[i*m:], y[i])
	}
	return out
}

// checkClose compares got with want, relative to the sum of the absolute
// values of the inputs (the scale of a transform's rounding error).
func checkClose(t *testing.T, what string, got []float32, want []float64, scale, tol float64) {
	t.Helper()
	for i := range want {
		if e := math.Abs(float64(got[i]) - want[i]); !(e <= tol*scale) {
			t.Fatalf("%s: element %d = %v, want %v (err %.3g > %.3g)", what, i, got[i], want[i], e, tol*scale)
		}
	}
}

func absSum(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += math.Abs(float64(x))
	}
	return s
}

// TestGoTransforms checks the pure-Go input and output transforms against
// the float64 matrices.
func TestGoTransforms(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, m := range Tiles {
		a := m + 2
		for trial := 0; trial < 50; trial++ {
			d := make([]float32, a*a)
			for i := range d {
				d[i] = rng.Float32()*2 - 1
			}
			v := make([]float32, a*a)
			switch m {
			case 2:
				inputTile2(unsafe.Pointer(&d[0]), uintptr(a*4), unsafe.Pointer(&v[0]), 4)
			case 4:
				inputTile4(unsafe.Pointer(&d[0]), uintptr(a*4), unsafe.Pointer(&v[0]), 4)
			case 6:
				inputTile6(unsafe.Pointer(&d[0]), uintptr(a*4), unsafe.Pointer(&v[0]), 4)
			}
			checkClose(t, fmt.Sprintf("inputTile%d", m), v, refInput(m, d), absSum(d), 1e-6)
			var y [36]float32
			switch m {
			case 2:
				outputTile2(unsafe.Pointer(&d[0]), 4, &y)
			case 4:
				outputTile4(unsafe.Pointer(&d[0]), 4, &y)
			case 6:
				outputTile6(unsafe.Pointer(&d[0]), 4, &y)
			}
			checkClose(t, fmt.Sprintf("outputTile%d", m), y[:m*m], refOutput(m, d), 32*absSum(d), 1e-6)
		}
	}
}

func skipNoAsm(t *testing.T) {
	if !haveAsm || !isa.Supported(isa.AVX2) {
		t.Skip("no AVX2 transforms in this build or on this CPU")
	}
}

// groupImpl is one implementation of the group transforms.
type groupImpl struct {
	name   string
	exact  bool // pure Go: the same bits as the per-tile transforms
	input  [7]inputFunc
	output [7][4]outputFunc
	raw    [7]outputRawFunc
}

// groupImpls are the group loops of transform.go that the pure-Go twins
// (transform_generic.go) call, in every build, and the dispatch tables:
// the AVX2 assembly if this build and CPU have it, with noasm or off
// amd64 the twins themselves.
func groupImpls() []groupImpl {
	ref := groupImpl{name: "go", exact: true}
	for _, m := range Tiles {
		ref.input[m] = func(src *float32, offs *int, ngroups, rs int, dst *float32, ds int) {
			inputGroups(m, src, offs, ngroups, rs, dst, ds)
		}
		ref.raw[m] = func(src *float32, ss, ngroups int, dst *float32) {
			outputRawGroups(m, src, ss, ngroups, dst)
		}
		for v := range 4 {
			ref.output[m][v] = func(src *float32, ss, ngroups int, out *float32, offs *int, rs int, res *float32, bias float32) {
				outputGroups(m, v&2 != 0, v&1 != 0, src, ss, ngroups, out, offs, rs, res, bias)
			}
		}
	}
	impls := []groupImpl{ref}
	switch {
	case !haveAsm:
		impls = append(impls, groupImpl{"twin", true, inputAVX2, outputAVX2, outputRawAVX2})
	case isa.Supported(isa.AVX2):
		impls = append(impls, groupImpl{"asm", false, inputAVX2, outputAVX2, outputRawAVX2})
	}
	return impls
}

// TestAsmInput checks the group input transforms (AVX2 or the pure-Go
// twins, and the twins' group loops) against the float64 matrices on
// groups of 8 tiles scattered over a buffer, rows wider than the patches,
// several groups per call; the pure-Go ones also bit for bit against the
// per-tile transforms.
func TestAsmInput(t *testing.T) {
	for _, impl := range groupImpls() {
		t.Run(impl.name, func(t *testing.T) { testGroupInput(t, impl) })
	}
}

func testGroupInput(t *testing.T, impl groupImpl) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, m := range Tiles {
		a := m + 2
		const w, groups = 37, 3
		buf := make([]float32, 40*w+8)
		for i := range buf {
			buf[i] = rng.Float32()*2 - 1
		}
		offs := make([]int, groups*group)
		for i := range offs {
			y, x := rng.IntN(40-a+1), rng.IntN(w-a+1)
			offs[i] = (y*w + x) * 4
		}
		const ds = 3*groups*group + 5 // floats between positions
		dst := make([]float32, a*a*ds)
		impl.input[m](&buf[0], &offs[0], groups, w*4, &dst[0], ds*4)
		for i, off := range offs {
			d := make([]float32, a*a)
			for r := 0; r < a; r++ {
				copy(d[r*a:(r+1)*a], buf[off/4+r*w:])
			}
			got := make([]float32, a*a)
			for xi := range got {
				got[xi] = dst[xi*ds+i]
			}
			checkClose(t, fmt.Sprintf("winoInputF%dAVX2 tile %d", m, i), got, refInput(m, d), absSum(d), 1e-6)
			if impl.exact {
				want := make([]float32, a*a)
				inputTile(m, unsafe.Pointer(&d[0]), uintptr(a*4), unsafe.Pointer(&want[0]), 4)
				checkBits(t, fmt.Sprintf("winoInputF%dAVX2 tile %d", m, i), got, want)
			}
		}
	}
}

// checkBits requires got and want to be the same bits.
func checkBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v bit for bit", what, i, got[i], want[i])
		}
	}
}

// TestAsmOutput checks the group output transforms (as TestAsmInput), raw
// and with every epilogue, against the float64 matrices; the pure-Go ones
// also bit for bit against the per-tile transforms and storeTile.
func TestAsmOutput(t *testing.T) {
	for _, impl := range groupImpls() {
		t.Run(impl.name, func(t *testing.T) { testGroupOutput(t, impl) })
	}
}

func testGroupOutput(t *testing.T, impl groupImpl) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, m := range Tiles {
		a := m + 2
		const groups = 3
		const ss = groups*group + 3 // floats between positions
		src := make([]float32, a*a*ss)
		for i := range src {
			src[i] = rng.Float32()*2 - 1
		}
		tileIn := func(i int) []float32 {
			x := make([]float32, a*a)
			for xi := range x {
				x[xi] = src[xi*ss+i]
			}
			return x
		}
		raw := make([]float32, groups*group*m*m)
		impl.raw[m](&src[0], ss*4, groups, &raw[0])
		for i := 0; i < groups*group; i++ {
			x := tileIn(i)
			checkClose(t, fmt.Sprintf("winoOutputRawF%dAVX2 tile %d", m, i), raw[i*m*m:(i+1)*m*m], refOutput(m, x), 32*absSum(x), 1e-6)
			if impl.exact {
				var y [36]float32
				outputTile(m, unsafe.Pointer(&x[0]), 4, &y)
				checkBits(t, fmt.Sprintf("winoOutputRawF%dAVX2 tile %d", m, i), raw[i*m*m:(i+1)*m*m], y[:m*m])
			}
		}
		// Output image: tiles at distinct random positions of a 2-D grid.
		const gw = 7 // tiles per row of the image
		ow := gw * m
		oh := (groups*group + gw - 1) / gw * m
		perm := rng.Perm(groups * group)
		offs := make([]int, groups*group)
		for i, p := range perm {
			offs[i] = ((p/gw)*m*ow + (p%gw)*m) * 4
		}
		res := make([]float32, oh*ow)
		for i := range res {
			res[i] = rng.Float32()*2 - 1
		}
		const bias = float32(0.25)
		for v := 0; v < 4; v++ {
			withRes, relu := v&2 != 0, v&1 != 0
			out := make([]float32, oh*ow)
			var rp *float32
			if withRes {
				rp = &res[0]
			}
			impl.output[m][v](&src[0], ss*4, groups, &out[0], &offs[0], ow*4, rp, bias)
			for i, off := range offs {
				x := tileIn(i)
				want := refOutput(m, x)
				got := make([]float32, m*m)
				for r := 0; r < m; r++ {
					for s := 0; s < m; s++ {
						p := off/4 + r*ow + s
						got[r*m+s] = out[p]
						want[r*m+s] += float64(bias)
						if withRes {
							want[r*m+s] += float64(res[p])
						}
						if relu {
							want[r*m+s] = max(want[r*m+s], 0)
						}
					}
				}
				checkClose(t, fmt.Sprintf("winoOutputF%d variant %d tile %d", m, v, i), got, want, 32*absSum(x)+2, 1e-6)
			}
			if impl.exact {
				// The Conv's pure-Go path: each tile through outputTile
				// and storeTile.
				exp := make([]float32, oh*ow)
				for i, off := range offs {
					x := tileIn(i)
					var y [36]float32
					outputTile(m, unsafe.Pointer(&x[0]), 4, &y)
					var r []float32
					if withRes {
						r = res[off/4:]
					}
					storeTile(&y, m, m, m, exp[off/4:], r, ow, bias, relu)
				}
				checkBits(t, fmt.Sprintf("winoOutputF%d variant %d", m, v), out, exp)
			}
		}
	}
}

// TestAsmReLUKeepsNaN checks that the group transforms' ReLU (AVX2 or
// the pure-Go twins, and the twins' group loops) propagates NaN, as the
// GEMM's and the reference's do.
func TestAsmReLUKeepsNaN(t *testing.T) {
	for _, impl := range groupImpls() {
		t.Run(impl.name, func(t *testing.T) { testGroupReLUKeepsNaN(t, impl) })
	}
}

func testGroupReLUKeepsNaN(t *testing.T, impl groupImpl) {
	for _, m := range Tiles {
		a := m + 2
		src := make([]float32, a*a*group)
		for xi := 0; xi < a*a; xi++ {
			src[xi*group+3] = float32(math.NaN()) // all of tile 3
		}
		offs := make([]int, group)
		for i := range offs {
			offs[i] = i * m * 4
		}
		out := make([]float32, m*m*group)
		impl.output[m][1](&src[0], group*4, 1, &out[0], &offs[0], group*m*4, nil, -1)
		for i, v := range out {
			tile := i % (group * m) / m
			if isNaN := v != v; isNaN != (tile == 3) {
				t.Fatalf("F%d: output %d (tile %d) = %v", m, i, tile, v)
			}
			if tile != 3 && v != 0 {
				t.Fatalf("F%d: output %d = %v, want relu(-1) = 0", m, i, v)
			}
		}
	}
}

func randSpec(rng *rand.Rand, s kernels.ConvShape, bias, relu bool) kernels.ConvSpec {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	spec := kernels.ConvSpec{Shape: s, Weight: make([]float32, s.WeightLen()), ReLU: relu}
	for i := range spec.Weight {
		spec.Weight[i] = (rng.Float32()*2 - 1) * 0.2
	}
	if bias {
		spec.Bias = make([]float32, s.OutC)
		for i := range spec.Bias {
			spec.Bias[i] = rng.Float32() - 0.5
		}
	}
	return spec
}

func shape(n, inC, h, w, outC, pad int) kernels.ConvShape {
	return kernels.ConvShape{N: n, InC: inC, H: h, W: w, OutC: outC, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: pad, PadW: pad}
}

// runConv plans and runs one conv with fresh buffers (workspace poisoned
// with NaN) and returns the output.
func runConv(t *testing.T, spec kernels.ConvSpec, tile, threads int, in, res []float32, opts ...Option) []float32 {
	t.Helper()
	pool := parallel.New(threads)
	defer pool.Close()
	c, err := New(spec, tile, gemm.NewContext(pool), pool, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ws := make([]float32, c.WorkspaceLen())
	for i := range ws {
		ws[i] = float32(math.NaN())
	}
	out := make([]float32, spec.Shape.Out().Elems())
	// A first call on other data: the second must not reuse anything of
	// it (the per-worker padded inputs are refilled every call).
	decoy := make([]float32, len(in))
	for i := range decoy {
		decoy[i] = 3 - in[len(in)-1-i]
	}
	c.Run(decoy, out, res, ws)
	c.Run(in, out, res, ws)
	return out
}

// TestThreadsAndBlocksBitwise checks that the result does not depend on
// the thread count, bitwise, and that it matches the naive conv for
// several block sizes (partial last block, blocks spanning images).
func TestThreadsAndBlocksBitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, s := range []kernels.ConvShape{shape(3, 19, 17, 23, 21, 1), shape(2, 8, 9, 9, 40, 0), shape(1, 33, 30, 30, 17, 2)} {
		spec := randSpec(rng, s, true, true)
		s = spec.Shape
		in := make([]float32, s.In().Elems())
		for i := range in {
			in[i] = rng.Float32()*2 - 1
		}
		res := make([]float32, s.Out().Elems())
		for i := range res {
			res[i] = rng.Float32()*2 - 1
		}
		want := make([]float32, len(res))
		naive.Conv2D(&spec.Shape, in, spec.Weight, spec.Bias, res, true, want)
		for _, tile := range Tiles {
			// Small blocks, so that there are several per worker.
			base := runConv(t, spec, tile, 1, in, res, WithBlockTiles(16))
			for _, threads := range []int{2, 3} {
				for _, workers := range []bool{false, true} {
					opts := []Option{WithBlockTiles(16)}
					if !workers {
						opts = append(opts, WithSplitBlocks())
					}
					got := runConv(t, spec, tile, threads, in, res, opts...)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(base[i]) {
							t.Fatalf("%v F%d: threads=%d workers=%v: output %d = %v, threads=1 gave %v",
								&spec.Shape, tile, threads, workers, i, got[i], base[i])
						}
					}
				}
			}
			for _, nb := range []int{8, 24, 1000} {
				got := runConv(t, spec, tile, 2, in, res, WithBlockTiles(nb))
				for i := range got {
					if e := math.Abs(float64(got[i] - want[i])); e > 1e-3 {
						t.Fatalf("%v F%d nb=%d: output %d = %v, want %v", &spec.Shape, tile, nb, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestGoAndAsmAgree runs the same conv with the pure-Go and the assembly
// transforms.
func TestGoAndAsmAgree(t *testing.T) {
	skipNoAsm(t)
	rng := rand.New(rand.NewPCG(6, 6))
	s := shape(2, 24, 14, 13, 16, 1)
	spec := randSpec(rng, s, true, false)
	s = spec.Shape
	in := make([]float32, s.In().Elems())
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	for _, tile := range Tiles {
		a := runConv(t, spec, tile, 1, in, nil)
		b := runConv(t, spec, tile, 1, in, nil, withGoTransforms())
		for i := range a {
			if e := math.Abs(float64(a[i] - b[i])); e > 1e-4 {
				t.Fatalf("F%d: output %d: asm %v, Go %v", tile, i, a[i], b[i])
			}
		}
	}
}

// TestRunAllocatesNothing checks steady-state Run, one and two threads.
func TestRunAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := shape(2, 16, 20, 20, 16, 1)
	spec := randSpec(rng, s, true, true)
	s = spec.Shape
	in := make([]float32, s.In().Elems())
	res := make([]float32, s.Out().Elems())
	out := make([]float32, s.Out().Elems())
	for _, tile := range Tiles {
		for _, mode := range []struct {
			threads int
			workers bool
		}{{1, false}, {2, false}, {2, true}} {
			pool := parallel.New(mode.threads)
			opts := []Option{WithBlockTiles(16)}
			if !mode.workers {
				opts = append(opts, WithSplitBlocks())
			}
			c, err := New(spec, tile, gemm.NewContext(pool), pool, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if c.blockParallel != (mode.workers && mode.threads > 1) {
				t.Fatalf("F%d %+v: %d tiles in blocks of %d: blockParallel = %v", tile, mode, c.total, c.nb, c.blockParallel)
			}
			ws := make([]float32, c.WorkspaceLen())
			c.Run(in, out, res, ws)
			if n := testing.AllocsPerRun(10, func() { c.Run(in, out, res, ws) }); n != 0 {
				t.Errorf("F%d %+v: Run allocates %v times", tile, mode, n)
			}
			pool.Close()
		}
	}
}

// TestUnsupported checks the shapes New refuses and the errors it gives.
func TestUnsupported(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	ctx := gemm.NewContext(nil)
	for _, s := range []kernels.ConvShape{
		{N: 1, InC: 4, H: 8, W: 8, OutC: 4, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
		{N: 1, InC: 4, H: 8, W: 8, OutC: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{N: 1, InC: 4, H: 8, W: 8, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2, DilH: 2, DilW: 2},
		{N: 1, InC: 4, H: 8, W: 8, OutC: 4, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 2},
		{N: 1, InC: 4, H: 8, W: 8, OutC: 4, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2},
	} {
		spec := randSpec(rng, s, false, false)
		if _, err := New(spec, 4, ctx, nil); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%v: err = %v, want ErrUnsupported", &spec.Shape, err)
		}
	}
	spec := randSpec(rng, shape(1, 4, 8, 8, 4, 1), false, false)
	if _, err := New(spec, 3, ctx, nil); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("tile 3: err = %v, want a tile-size error", err)
	}
	spec.Weight = spec.Weight[1:]
	if _, err := New(spec, 4, ctx, nil); err == nil {
		t.Error("short weights accepted")
	}
}
