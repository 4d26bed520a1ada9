package peak

import (
	"runtime"
	"testing"
	"time"

	"github.com/resbench/resbench/kernels/internal/isa"
)

func TestFMAPeak(t *testing.T) {
	generic := FMAPeak(isa.Generic, 60*time.Millisecond)
	t.Logf("generic: %.1f GFLOP/s", generic)
	if !(generic > 0.1) {
		t.Fatalf("generic peak %.3f GFLOP/s is implausible", generic)
	}
	for _, tier := range isa.All()[1:] {
		t.Run("isa="+tier.String(), func(t *testing.T) {
			if !isa.Supported(tier) {
				t.Skipf("CPU/build lacks %v", tier)
			}
			// A vector FMA loop must beat the scalar loop by a wide
			// margin (8 lanes × fused ops); 4× leaves room for noise.
			// A shared host can stall a whole 60 ms window (seen: the
			// AVX2 loop at 20 GFLOP/s once in a first run, 77–85 in the
			// next five), so the loop gets up to five windows.
			var p float64
			for try := 0; try < 5 && p < 4*generic; try++ {
				p = max(p, FMAPeak(tier, 60*time.Millisecond))
			}
			t.Logf("%v: %.1f GFLOP/s", tier, p)
			if p < 4*generic {
				t.Errorf("%v peak %.1f GFLOP/s is not ≥ 4× the scalar %.1f", tier, p, generic)
			}
		})
	}
}

func TestFMAPeakThreads(t *testing.T) {
	one := FMAPeak(isa.Detected(), 60*time.Millisecond)
	two := FMAPeakThreads(isa.Detected(), 2, 60*time.Millisecond)
	t.Logf("%v: 1 thread %.1f, 2 threads %.1f GFLOP/s", isa.Detected(), one, two)
	if !(two > one*0.9) {
		t.Errorf("2-thread peak %.1f below 1-thread %.1f", two, one)
	}
}

// TestFMAPeakThreadsOversubscribed: four threads that can only take turns
// (GOMAXPROCS 1) have the peak of one, not four. Each thread's best round
// added up, as before, gave about four times the single-thread peak.
func TestFMAPeakThreadsOversubscribed(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	one := FMAPeak(isa.Detected(), 100*time.Millisecond)
	four := FMAPeakThreads(isa.Detected(), 4, 100*time.Millisecond)
	t.Logf("GOMAXPROCS 1: 1 thread %.1f, 4 threads %.1f GFLOP/s", one, four)
	if four > 1.6*one {
		t.Errorf("4 threads taking turns: peak %.1f GFLOP/s, over 1.6× one thread's %.1f", four, one)
	}
}

func TestFMAPeakUnsupportedPanics(t *testing.T) {
	if isa.Supported(isa.AVX512) {
		t.Skip("CPU supports every tier")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for unsupported tier")
		}
	}()
	FMAPeak(isa.AVX512, time.Millisecond)
}

func TestTriad(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 192 MiB")
	}
	bw := Triad(10 * time.Millisecond) // at least one full pass; checks the result
	t.Logf("triad: %.1f GB/s", bw)
	if !(bw > 0.1) {
		t.Fatalf("triad bandwidth %.3f GB/s is implausible", bw)
	}
}

func TestTriadKernels(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 1000, 16<<10 + 65} {
		b, c := make([]float32, n), make([]float32, n)
		for i := range b {
			b[i], c[i] = float32(i), float32(i%7)-3
		}
		got, want := make([]float32, n+1), make([]float32, n)
		got[n] = -1 // guard
		if isa.Supported(isa.AVX2) || goTwins {
			triadAsm(got[:n], b, c, 0.5)
		} else {
			triadGo(got[:n], b, c, 0.5)
		}
		for i := range want {
			want[i] = b[i] + 0.5*c[i]
			if got[i] != want[i] {
				t.Fatalf("n=%d: a[%d]=%v want %v", n, i, got[i], want[i])
			}
		}
		if got[n] != -1 {
			t.Fatalf("n=%d: guard overwritten", n)
		}
	}
}

// TestPaired: the FMA loop itself, paired with its own peak rounds, is at
// about 100% of peak; the same loop run twice per call while claiming the
// flops of one is at about 50%.
func TestPaired(t *testing.T) {
	tier := isa.Detected()
	run, chunk, fpi := fmaLoop(tier)
	flops := float64(4*chunk) * fpi // ~0.2 ms per call
	once := Paired(tier, nil, flops, 30, 0, func() { run(4 * chunk) })
	twice := Paired(tier, nil, flops, 30, 0, func() { run(4 * chunk); run(4 * chunk) })
	t.Logf("%v: once %.1f%% (%.1f GFLOP/s, %d pairs), twice %.1f%%", tier, once.PctPeak, once.GFLOPS, once.Pairs, twice.PctPeak)
	if once.Pairs != 30 || twice.Pairs != 30 {
		t.Errorf("pairs %d, %d; want 30", once.Pairs, twice.Pairs)
	}
	if once.PctPeak < 85 || once.PctPeak > 115 {
		t.Errorf("the peak loop measured at %.1f%% of its own peak, want 85–115%%", once.PctPeak)
	}
	if r := once.PctPeak / twice.PctPeak; r < 1.6 || r > 2.5 {
		t.Errorf("double work measured %.2f× slower, want about 2", r)
	}
}

// A round's tasks add up only across workers: tasks one worker ran one
// after another (a late helper's, taken over) count once.
func TestJointRate(t *testing.T) {
	if got := jointRate([]float64{100, 98}, []int{0, 1}); got != 198 {
		t.Errorf("two workers: %v, want 198", got)
	}
	if got := jointRate([]float64{100, 98}, []int{0, 0}); got != 100 {
		t.Errorf("one worker ran both: %v, want 100", got)
	}
	if got := jointRate([]float64{100, 98, 97, 99}, []int{0, 1, 2, 0}); got != 100+98+97 {
		t.Errorf("three of four workers: %v, want 295", got)
	}
}
