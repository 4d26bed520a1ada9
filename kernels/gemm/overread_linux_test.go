//go:build linux

package gemm

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"

	"github.com/resbench/resbench/kernels/internal/isa"
)

// fenced returns a slice of n floats that ends where a PROT_NONE page
// starts (atEnd) or starts where one ends, so that an access one float past
// that side of it faults and kills the test: the guard values of the other
// tests catch stray writes, this catches stray reads (a masked vector
// tail that loads a whole vector, a row loop that reads one row too many).
func fenced(t *testing.T, n int, atEnd bool) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	data := (n*4 + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, data+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	var b []byte
	if atEnd {
		err = syscall.Mprotect(mem[data:], syscall.PROT_NONE)
		b = mem[data-n*4 : data]
	} else {
		err = syscall.Mprotect(mem[:page], syscall.PROT_NONE)
		b = mem[page : page+n*4]
	}
	if err != nil {
		t.Skipf("mprotect: %v", err)
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// TestNoAccessOutsideOperands runs whole GEMMs, every tier, with each
// operand (packed A, B, C, bias, residual) against a PROT_NONE page on
// one side and then the other, on shapes that take every edge path (partial
// row tiles, the column kernel, the wide strip, B read in place), and
// checks the result against the same product on ordinary memory.
func TestNoAccessOutsideOperands(t *testing.T) {
	forEachTier(t, func(t *testing.T, tier isa.Tier) {
		cfg := configFor(tier)
		rng := rand.New(rand.NewPCG(11, 11))
		for _, s := range []shape{
			{13, 49, 37}, {256, 784, cfg.kc + cfg.kc/2}, {20, 35, 11}, {64, 196, 300},
			{9, 17, 5}, {cfg.mr, cfg.nr, 1}, {cfg.mc + 3, 2*cfg.nr + 1, 2 * cfg.kc},
		} {
			a := randSlice(rng, s.m*s.k)
			b := randSlice(rng, s.k*s.n)
			bias := randSlice(rng, s.m)
			res := randSlice(rng, s.m*s.n)
			pa := PackA(a, s.m, s.k, s.k)
			want := make([]float32, s.m*s.n)
			ep := Epilogue{Bias: bias, Residual: res, LDR: s.n, ReLU: true}
			NewContext(nil).Gemm(pa, b, s.n, s.n, want, s.n, ep)
			for _, atEnd := range []bool{true, false} {
				place := func(v []float32) []float32 {
					f := fenced(t, len(v), atEnd)
					copy(f, v)
					return f
				}
				fa := *pa
				fa.data = place(pa.data)
				got := place(make([]float32, s.m*s.n))
				fep := Epilogue{Bias: place(bias), Residual: place(res), LDR: s.n, ReLU: true}
				NewContext(nil).Gemm(&fa, place(b), s.n, s.n, got, s.n, fep)
				if !sameBits(got, want) {
					t.Fatalf("%v, fenced at the %s: differs from the same product on ordinary memory", s, map[bool]string{true: "end", false: "start"}[atEnd])
				}
			}
		}
	})
}
