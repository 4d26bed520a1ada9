package gemm

import (
	"fmt"
	"github.com/resbench/resbench/kernels/parallel"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

type expCase struct {
	name  string
	flops float64
	op    func()
}

func interleave(t *testing.T, rounds int, cases []expCase) {
	res := make([][]float64, len(cases))
	for r := 0; r < rounds; r++ {
		for i, c := range cases {
			for rep := 0; rep < 3; rep++ {
				t0 := time.Now()
				c.op()
				res[i] = append(res[i], c.flops/time.Since(t0).Seconds()/1e9)
			}
		}
	}
	var sb strings.Builder
	for i, c := range cases {
		slices.Sort(res[i])
		fmt.Fprintf(&sb, "%-40s med %6.1f  p90 %6.1f  max %6.1f\n", c.name, res[i][len(res[i])/2], res[i][len(res[i])*9/10], res[i][len(res[i])-1])
	}
	t.Log("\n" + sb.String())
}

func gemmCase(name string, cfg tierConfig, m, n, k, ldc int, ep Epilogue) expCase {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randSlice(rng, m*k)
	b := randSlice(rng, k*n)
	c := make([]float32, m*ldc)
	ctx := newContext(&cfg, nil)
	pa := packA(&cfg, m, k, func(dst []float32, i0, rows, k0, kcb int) {
		for rr := 0; rr < rows; rr++ {
			for kk := 0; kk < kcb; kk++ {
				dst[kk*cfg.mr+rr] = a[(i0+rr)*k+k0+kk]
			}
		}
	})
	return expCase{name, 2 * float64(m*n*k), func() { ctx.Gemm(pa, b, n, n, c, ldc, ep) }}
}

func TestExp(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	var cases []expCase
	switch os.Getenv("EXP") {
	case "ldc":
		cases = append(cases, gemmCase("1024 ldc=1024", base, 1024, 1024, 1024, 1024, Epilogue{}))
		cases = append(cases, gemmCase("1024 ldc=1040", base, 1024, 1024, 1024, 1040, Epilogue{}))
		c2 := base
		c2.kc = 512
		cases = append(cases, gemmCase("1024 ldc=1040 kc=512", c2, 1024, 1024, 1024, 1040, Epilogue{}))
		cases = append(cases, gemmCase("1020 ldc=1020", base, 1020, 1024, 1024, 1024, Epilogue{}))
	case "conv":
		for _, s := range blockingShapes[1:] {
			cases = append(cases, gemmCase(s.name, base, s.m, s.n, s.k, s.n, Epilogue{}))
		}
	}
	interleave(t, 10, cases)
}

func kernCase(name string, kc, ldc, nb int, flags int) expCase {
	cfg := configs[1]
	tiles := 24
	rng := rand.New(rand.NewPCG(1, 2))
	a := alignedFloats(tiles * cfg.mr * kc)
	copy(a, randSlice(rng, len(a)))
	bp := alignedFloats(nb * kc * cfg.nr)
	copy(bp, randSlice(rng, len(bp)))
	c := alignedFloats(tiles*cfg.mr*ldc + nb*16)
	kern := cfg.kern[6][2]
	j := 0
	return expCase{name, 2 * float64(tiles*cfg.mr*cfg.nr*kc), func() {
		j = (j + 1) % nb
		kern(&a[0], &bp[j*kc*16], &bp[((j+1)%nb)*kc*16], &c[j*16], kc, ldc, tiles, nil, nil, 0, flags)
	}}
}

func TestExpKern(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	var cases []expCase
	cases = append(cases, kernCase("contig", 256, 16, 1, 1))
	cases = append(cases, kernCase("contig noacc", 256, 16, 1, 0))
	cases = append(cases, kernCase("ldc1024", 256, 1024, 1, 1))
	cases = append(cases, kernCase("ldc1040", 256, 1040, 1, 1))
	cases = append(cases, kernCase("ldc1024 nb64", 256, 1024, 64, 1))
	cases = append(cases, kernCase("ldc1040 nb64", 256, 1040, 64, 1))
	cases = append(cases, kernCase("contig nb64", 256, 16, 64, 1))
	interleave(t, 200, cases)
}

func peakCase() expCase {
	return expCase{"fma peak loop", 25000 * 192, func() { fmaLoopRef(25000) }}
}

func TestExp2(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	var cases []expCase
	cases = append(cases, peakCase())
	cases = append(cases, gemmCase("1024", base, 1024, 1024, 1024, 1024, Epilogue{}))
	cases = append(cases, gemmCase("1024 ldc=1040", base, 1024, 1024, 1024, 1040, Epilogue{}))
	for _, s := range blockingShapes[1:] {
		cases = append(cases, gemmCase(s.name, base, s.m, s.n, s.k, s.n, Epilogue{}))
	}
	interleave(t, 40, cases)
}

func kernCase2(rows, nvec int) expCase {
	cfg := configs[1]
	tiles, kc := 22, 256
	rng := rand.New(rand.NewPCG(1, 2))
	a := alignedFloats(tiles * cfg.mr * kc)
	copy(a, randSlice(rng, len(a)))
	bp := alignedFloats(kc * cfg.nr)
	copy(bp, randSlice(rng, len(bp)))
	c := alignedFloats(tiles * cfg.mr * 16)
	kern := cfg.kern[rows][nvec]
	return expCase{fmt.Sprintf("kern %dx%d", rows, nvec*8), 2 * float64(tiles*rows*nvec*8*kc), func() {
		kern(&a[0], &bp[0], &bp[0], &c[0], kc, 16, tiles, nil, nil, 0, 1)
	}}
}

func TestExpKern2(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	cases := []expCase{peakCase()}
	for _, rn := range [][2]int{{6, 2}, {6, 1}, {5, 2}, {4, 2}, {4, 1}, {2, 2}, {2, 1}, {1, 2}} {
		cases = append(cases, kernCase2(rn[0], rn[1]))
	}
	interleave(t, 100, cases)
}

func gemmCaseOff(name string, cfg tierConfig, m, n, k, ldc, coff int) expCase {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randSlice(rng, m*k)
	b := randSlice(rng, k*n)
	cbuf := alignedFloats(m*ldc + 4096)
	c := cbuf[coff:]
	ctx := newContext(&cfg, nil)
	pa := packA(&cfg, m, k, func(dst []float32, i0, rows, k0, kcb int) {
		for rr := 0; rr < rows; rr++ {
			for kk := 0; kk < kcb; kk++ {
				dst[kk*cfg.mr+rr] = a[(i0+rr)*k+k0+kk]
			}
		}
	})
	return expCase{name, 2 * float64(m*n*k), func() { ctx.Gemm(pa, b, n, n, c, ldc, Epilogue{}) }}
}

func TestExp3(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	cases := []expCase{peakCase()}
	for _, off := range []int{0, 16, 256, 512, 1024} {
		cases = append(cases, gemmCaseOff(fmt.Sprintf("1024 coff=%d", off), base, 1024, 1024, 1024, 1024, off))
		cases = append(cases, gemmCaseOff(fmt.Sprintf("1024 ldc=1040 coff=%d", off), base, 1024, 1024, 1024, 1040, off))
	}
	interleave(t, 8, cases)
}

func TestExp4(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	cases := []expCase{peakCase()}
	for _, nc := range []int{256, 4080} {
		c := base
		c.nc = nc
		for _, s := range blockingShapes {
			cases = append(cases, gemmCase(fmt.Sprintf("%s nc=%d", s.name, nc), c, s.m, s.n, s.k, s.n, Epilogue{}))
		}
	}
	interleave(t, 10, cases)
}

func TestExpInstr(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	buf := alignedFloats(1024)
	cases := []expCase{peakCase(),
		{"bcast (Gops)", 25000 * 8, func() { bcastLoop(25000, &buf[0]) }},
		{"ymm load (Gops)", 25000 * 8, func() { loadLoop(25000, &buf[0]) }},
		{"bcast+fma 6x16 (GFLOPs)", 25000 * 12 * 16, func() { bcastFMALoop(25000, &buf[0]) }},
	}
	interleave(t, 100, cases)
}

func kernCase3(name string, tiles, kc, rows, nvec int) expCase {
	cfg := configs[1]
	rng := rand.New(rand.NewPCG(1, 2))
	a := alignedFloats(tiles * cfg.mr * kc)
	copy(a, randSlice(rng, len(a)))
	bp := alignedFloats(kc * cfg.nr)
	copy(bp, randSlice(rng, len(bp)))
	c := alignedFloats(tiles * cfg.mr * 16)
	kern := cfg.kern[rows][nvec]
	reps := max(1, 22/tiles) * 4
	return expCase{name, float64(reps) * 2 * float64(tiles*rows*nvec*8*kc), func() {
		for r := 0; r < reps; r++ {
			kern(&a[0], &bp[0], &bp[0], &c[0], kc, 16, tiles, nil, nil, 0, 1)
		}
	}}
}

func TestExpKern3(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	cases := []expCase{peakCase(),
		kernCase3("6x16 t=1 kc=256 (L1)", 1, 256, 6, 2),
		kernCase3("6x16 t=22 kc=256 (L2)", 22, 256, 6, 2),
		kernCase3("6x16 t=1 kc=64 (L1)", 1, 64, 6, 2),
		kernCase3("6x16 t=22 kc=64", 22, 64, 6, 2),
		kernCase3("6x16 t=22 kc=128", 22, 128, 6, 2),
		kernCase3("6x8 t=1 kc=256 (L1)", 1, 256, 6, 1),
	}
	interleave(t, 100, cases)
}

func TestExp5(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	cases := []expCase{peakCase()}
	for _, s := range blockingShapes[1:4] {
		for _, nc := range []int{128, 256, 512, 1024, 4080} {
			c := base
			c.ncSmall = nc
			cases = append(cases, gemmCase(fmt.Sprintf("%s ncs=%d", s.name, nc), c, s.m, s.n, s.k, s.n, Epilogue{}))
		}
	}
	interleave(t, 40, cases)
}

func TestExpPack(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := randSlice(rng, 256*3136)
	dst := alignedFloats(256*256 + 16*16)
	cases := []expCase{peakCase()}
	// "flops" = bytes copied (read) -> GB/s
	cases = append(cases, expCase{"pack 256x256 of 3136 (GB/s), 12 blocks", 12 * 256 * 256 * 4, func() {
		for jc := 0; jc < 12; jc++ {
			sgemmPackB16AVX2(&dst[0], &b[jc*256], 256, 3136, 16, 256*16+16)
		}
	}})
	cases = append(cases, expCase{"pack same block x12 (L2 hot src)", 12 * 256 * 256 * 4, func() {
		for jc := 0; jc < 12; jc++ {
			sgemmPackB16AVX2(&dst[0], &b[0], 256, 3136, 16, 256*16+16)
		}
	}})
	cases = append(cases, expCase{"copy 3MB memmove", 256 * 3136 * 4, func() {
		copy(b[:len(b)/2], b[len(b)/2:])
		copy(b[len(b)/2:], b[:len(b)/2])
	}})
	interleave(t, 40, cases)
}

func TestExp7(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	vr := base
	cases := []expCase{peakCase()}
	for _, s := range blockingShapes {
		cases = append(cases, gemmCase(s.name+" base", base, s.m, s.n, s.k, s.n, Epilogue{}))
		cases = append(cases, gemmCase(s.name+" variant", vr, s.m, s.n, s.k, s.n, Epilogue{}))
	}
	interleave(t, 30, cases)
}

func TestExpThreads(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	base := configs[1]
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range blockingShapes {
		a := randSlice(rng, s.m*s.k)
		b := randSlice(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		pa := packA(&base, s.m, s.k, func(dst []float32, i0, rows, k0, kcb int) {
			for rr := 0; rr < rows; rr++ {
				for kk := 0; kk < kcb; kk++ {
					dst[kk*base.mr+rr] = a[(i0+rr)*s.k+k0+kk]
				}
			}
		})
		var line string
		for _, th := range []int{1, 2} {
			pool := parallel.New(th)
			ctx := newContext(&base, pool)
			var ts []float64
			for i := 0; i < 30; i++ {
				t0 := time.Now()
				ctx.Gemm(pa, b, s.n, s.n, c, s.n, Epilogue{})
				ts = append(ts, time.Since(t0).Seconds())
			}
			slices.Sort(ts)
			j := &ctx.job
			_ = j
			tm, tn := split(th, ceilDiv(s.m, 6), ceilDiv(s.n, 16))
			line += fmt.Sprintf("  t=%d split=%dx%d med %.1f min %.1f", th, tm, tn, 2*float64(s.m*s.n*s.k)/ts[len(ts)/2]/1e9, 2*float64(s.m*s.n*s.k)/ts[0]/1e9)
			pool.Close()
		}
		t.Logf("%s %s", s.name, line)
	}
}

func TestExpThreads2(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	pool := parallel.New(2)
	defer pool.Close()
	var starts, ends [4]time.Time
	var who [4]int
	for rep := 0; rep < 3; rep++ {
		t0 := time.Now()
		pool.Run(2, func(task, worker int) {
			starts[task] = time.Now()
			who[task] = worker
			x := 0.0
			for i := 0; i < 3_000_000; i++ {
				x += float64(i) * 1e-9
			}
			sinkF = x
			ends[task] = time.Now()
		})
		for i := 0; i < 2; i++ {
			t.Logf("task %d worker %d start %v end %v", i, who[i], starts[i].Sub(t0), ends[i].Sub(t0))
		}
	}
}

var sinkF float64

func TestExpThreads3(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	pool := parallel.New(2)
	defer pool.Close()
	for rep := 0; rep < 12; rep++ {
		var tid [2]int
		var st, en [2]time.Duration
		t0 := time.Now()
		pool.Run(2, func(task, worker int) {
			tid[task] = syscall.Gettid()*10 + worker
			st[task] = time.Since(t0)
			x := 0.0
			for i := 0; i < 1_000_000; i++ {
				x += float64(i) * 1e-9
			}
			sinkF = x
			en[task] = time.Since(t0)
		})
		t.Logf("rep %d: task0 tid/w %d %v-%v  task1 tid/w %d %v-%v total %v", rep, tid[0], st[0], en[0], tid[1], st[1], en[1], time.Since(t0))
		if rep == 5 {
			time.Sleep(5 * time.Millisecond)
		}
	}
}
