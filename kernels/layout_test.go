package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/resbench/resbench/kernels/internal/isa"
	"github.com/resbench/resbench/kernels/internal/isa/isatest"
)

// ToBlocked and FromBlocked against the index formula, on every tier
// (the AVX2 one transposes whole 8-channel blocks 8 pixels at a time):
// partial channel blocks, planes with and without a pixel tail, batches,
// and guard values after both outputs.
func TestBlockedReorders(t *testing.T) {
	isatest.ForEach(t, func(t *testing.T, tier isa.Tier) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, l := range []Layout{NCHW8c, NCHW16c} {
			b := l.Block()
			for _, s := range []Shape{{1, 8, 7, 7}, {2, 13, 3, 5}, {1, 16, 56, 56}, {2, 24, 4, 4}, {1, 3, 1, 1}, {1, 64, 14, 14}, {1, 9, 2, 9}, {1, 3, 23, 29}, {2, 12, 9, 15}, {1, 20, 16, 16}} {
				cb := (s.C + b - 1) / b
				blockedLen := s.N * cb * s.H * s.W * b
				const guard = 16
				src := make([]float32, s.Elems())
				for i := range src {
					src[i] = float32(r.NormFloat64())
				}
				blocked := make([]float32, blockedLen+guard)
				for i := range blocked {
					blocked[i] = float32(math.NaN())
				}
				ToBlocked(l, s, src, blocked[:blockedLen])
				plane := s.H * s.W
				for n := range s.N {
					for c := range cb * b {
						for p := range plane {
							want := float32(0)
							if c < s.C {
								want = src[(n*s.C+c)*plane+p]
							}
							if got := blocked[((n*cb+c/b)*plane+p)*b+c%b]; got != want {
								t.Fatalf("%v %v %+v: blocked n=%d c=%d p=%d = %v, want %v", tier, l, s, n, c, p, got, want)
							}
						}
					}
				}
				back := make([]float32, s.Elems()+guard)
				for i := range back {
					back[i] = 12345
				}
				FromBlocked(l, s, blocked[:blockedLen], back[:s.Elems()])
				for i, v := range src {
					if back[i] != v {
						t.Fatalf("%v %v %+v: round trip [%d] = %v, want %v", tier, l, s, i, back[i], v)
					}
				}
				for i := 0; i < guard; i++ {
					if !math.IsNaN(float64(blocked[blockedLen+i])) || back[s.Elems()+i] != 12345 {
						t.Fatalf("%v %v %+v: wrote past the output", tier, l, s)
					}
				}
			}
		}
	})
}

// transpose8Asm (the assembly, or its Go twin under noasm) against its
// reference loop, called directly so that the twin is tested too: several
// blocks, row and step strides wider than the block, guard values (NaN)
// before, between and after the destination's blocks.
func TestTranspose8(t *testing.T) {
	if haveAsm && !isa.Supported(isa.AVX2) {
		t.Skip("the assembly needs AVX2, which this CPU lacks")
	}
	const srcRow, srcStep, dstRow, dstStep, blocks, lead = 11, 9, 10, 83, 3, 5
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, blocks*srcStep+8*srcRow)
	for i := range src {
		src[i] = float32(r.NormFloat64())
	}
	dst := make([]float32, lead+blocks*dstStep+8*dstRow+lead)
	for i := range dst {
		dst[i] = float32(math.NaN())
	}
	transpose8Asm(&src[0], &dst[lead], srcRow, srcStep, dstRow, dstStep, blocks)
	want := make([]float32, len(dst))
	for i := range want {
		want[i] = float32(math.NaN())
	}
	for k := range blocks {
		for i := range 8 {
			for j := range 8 {
				want[lead+k*dstStep+j*dstRow+i] = src[k*srcStep+i*srcRow+j]
			}
		}
	}
	for i := range dst {
		if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
			t.Fatalf("dst[%d] = %v, want %v", i, dst[i], want[i])
		}
	}
}

// Elems pads channels per image: N·⌈C/b⌉·b·H·W (an earlier version divided
// N·(C+b−1) by b, over-counting batches and failing buffer checks).
func TestLayoutElems(t *testing.T) {
	for _, c := range []struct {
		l    Layout
		s    Shape
		want int
	}{
		{NCHW8c, Shape{2, 2048, 1, 1}, 4096},
		{NCHW8c, Shape{3, 13, 2, 2}, 3 * 16 * 4},
		{NCHW16c, Shape{2, 3, 5, 5}, 2 * 16 * 25},
		{NCHW, Shape{2, 3, 5, 5}, 150},
	} {
		if got := c.l.Elems(c.s); got != c.want {
			t.Errorf("%v.Elems(%+v) = %d, want %d", c.l, c.s, got, c.want)
		}
	}
}

// BenchmarkReorder times the reorders a mixed plan inserts: the network
// input (3 channels, a partial block) and a 64-channel activation, into
// and out of each blocked layout.
func BenchmarkReorder(b *testing.B) {
	for _, l := range []Layout{NCHW8c, NCHW16c} {
		for _, s := range []Shape{{1, 3, 224, 224}, {1, 64, 56, 56}} {
			src := make([]float32, s.Elems())
			blocked := make([]float32, l.Elems(s))
			name := fmt.Sprintf("layout=%v/shape=%dx%dx%d", l, s.C, s.H, s.W)
			b.Run("dir=to/"+name, func(b *testing.B) {
				for b.Loop() {
					ToBlocked(l, s, src, blocked)
				}
			})
			b.Run("dir=from/"+name, func(b *testing.B) {
				for b.Loop() {
					FromBlocked(l, s, blocked, src)
				}
			})
		}
	}
}
