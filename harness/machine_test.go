package harness

import "testing"

func TestPeakFor(t *testing.T) {
	p := Peak{GFLOPS1: 100, GFLOPSAll: 350}
	for _, c := range []struct {
		threads, all int
		want         float64
	}{
		{1, 4, 100}, {2, 4, 200}, {3, 4, 300}, {4, 4, 350}, {2, 2, 350}, {0, 4, 100},
	} {
		if got := p.For(c.threads, c.all); got != c.want {
			t.Errorf("For(%d, %d) = %v, want %v", c.threads, c.all, got, c.want)
		}
	}
	// Three threads of four at 150 each would exceed the measured 4-thread peak.
	if got := (Peak{GFLOPS1: 150, GFLOPSAll: 400}).For(3, 4); got != 400 {
		t.Errorf("capped For(3, 4) = %v, want 400", got)
	}
}
