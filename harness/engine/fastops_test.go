package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/resbench/resbench/kernels"
	"github.com/resbench/resbench/kernels/parallel"
)

// TestMaxPool3 checks the 3x3 max pool of one plane against the textbook
// loop: plain and blocked pixels, strides 1 and 2, padding 0 and 1, planes
// narrower than the window and wide ones (the stem's 112), so that rows
// have border columns on either side, none, or only borders; guard values
// after the output must survive.
func TestMaxPool3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, b := range []int{1, 8, 16} {
		for _, stride := range []int{1, 2} {
			for _, pad := range []int{0, 1} {
				for _, hw := range [][2]int{{1, 1}, {2, 5}, {3, 3}, {4, 7}, {5, 2}, {8, 8}, {9, 13}, {112, 112}} {
					h, w := hw[0], hw[1]
					oh, ow := (h+2*pad-3)/stride+1, (w+2*pad-3)/stride+1
					if h+2*pad < 3 || w+2*pad < 3 {
						continue
					}
					name := fmt.Sprintf("b=%d/stride=%d/pad=%d/h=%d/w=%d", b, stride, pad, h, w)
					src := make([]float32, h*w*b)
					for i := range src {
						src[i] = float32(rng.NormFloat64())
					}
					const guard = 16
					dst := make([]float32, oh*ow*b+guard)
					for i := range dst {
						dst[i] = 777
					}
					maxPool3(src, dst[:oh*ow*b], h, w, oh, ow, stride, pad, b, kernels.Alloc(2*w*b))
					for r := range oh {
						for c := range ow {
							for i := range b {
								want := float32(math.Inf(-1))
								for kh := range 3 {
									for kw := range 3 {
										y, x := r*stride-pad+kh, c*stride-pad+kw
										if y >= 0 && y < h && x >= 0 && x < w {
											want = max(want, src[(y*w+x)*b+i])
										}
									}
								}
								if got := dst[(r*ow+c)*b+i]; got != want {
									t.Fatalf("%s: out[%d][%d][%d] = %v, want %v", name, r, c, i, got, want)
								}
							}
						}
					}
					for i := oh * ow * b; i < len(dst); i++ {
						if dst[i] != 777 {
							t.Fatalf("%s: wrote past the output at %d", name, i)
						}
					}
				}
			}
		}
	}
}

// TestPlaneTasks checks that the element-wise steps' split visits every
// plane exactly once, for plane counts below, at and above the thread
// count and planes small enough to share a range.
func TestPlaneTasks(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		pool := parallel.New(threads)
		p := &Plan{pool: pool}
		for _, n := range []int{1, 2, 3, 7, 64, 1000} {
			for _, planeLen := range []int{1, 49, 3136, 100000} {
				seen := make([]atomic.Int32, n)
				p.planeTasks(n, planeLen, func(i, worker int) {
					if worker < 0 || worker >= threads {
						t.Errorf("worker %d of %d", worker, threads)
					}
					seen[i].Add(1)
				})()
				for i := range seen {
					if got := seen[i].Load(); got != 1 {
						t.Fatalf("threads=%d n=%d planeLen=%d: plane %d visited %d times", threads, n, planeLen, i, got)
					}
				}
			}
		}
		pool.Close()
	}
}
