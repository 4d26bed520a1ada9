package gemm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/resbench/resbench/kernels/parallel"
)

func gemmSplit(ctx *Context, tm, tn int, pa *PackedA, b []float32, ldb, n int, c []float32, ldc int) {
	if !ctx.start(pa, 0, pa.m, b, ldb, n, c, ldc, Epilogue{}) {
		return
	}
	j := &ctx.job
	if tm == 0 {
		j.tm, j.tn = split(ctx.pool.Threads(), j.mt, j.nt)
	} else {
		j.tm, j.tn = tm, tn
	}
	ctx.pool.Run(j.tm*j.tn, ctx.run)
	*j = job{}
}

func TestScratchSplit(t *testing.T) {
	grids := [][2]int{{0, 0}, {2, 1}, {1, 2}, {2, 2}, {4, 1}, {1, 4}}
	for _, s := range [][3]int{{256, 784, 512}, {1024, 196, 512}, {512, 784, 256}, {256, 196, 1024}} {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		a := randSlice(rng, m*k)
		bm := randSlice(rng, k*n)
		c := make([]float32, m*n)
		pa := PackA(a, m, k, k)
		p1, p2 := parallel.New(1), parallel.New(2)
		c1, c2 := NewContext(p1), NewContext(p2)
		t1 := make([]float64, 0)
		t2 := make([][]float64, len(grids))
		tm := func(f func()) float64 { f(); t0 := time.Now(); f(); return time.Since(t0).Seconds() * 1e6 }
		for r := 0; r < 40; r++ {
			t1 = append(t1, tm(func() { c1.Gemm(pa, bm, n, n, c, n, Epilogue{}) }))
			for i, g := range grids {
				t2[i] = append(t2[i], tm(func() { gemmSplit(c2, g[0], g[1], pa, bm, n, n, c, n) }))
			}
		}
		med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
		a1 := med(t1)
		mt, nt := (m+7)/8, (n+31)/32
		dm, dn := split(2, mt, nt)
		fmt.Printf("%v 1T %.0f default=%dx%d", s, a1, dm, dn)
		for i, g := range grids {
			fmt.Printf("  %dx%d: x%.2f", g[0], g[1], a1/med(t2[i]))
		}
		fmt.Println()
	}
}
