package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
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
		fmt.Fprintf(&sb, "%-40s med %6.1f  p90 %6.1f\n", c.name, res[i][len(res[i])/2], res[i][len(res[i])*9/10])
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
