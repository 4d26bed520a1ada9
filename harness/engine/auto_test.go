package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestChoosePlan(t *testing.T) {
	// Rounds where the whole machine slows down fall on every candidate.
	drift := []float64{1, 1.3, 0.9, 1.1, 1.2}
	scaled := func(f float64, spike int) []float64 {
		v := make([]float64, len(drift))
		for r, d := range drift {
			v[r] = d * f
			if r == spike {
				v[r] *= 2 // one round slowed for this candidate only
			}
		}
		return v
	}
	for _, tc := range []struct {
		name  string
		times [][]float64
		want  int
	}{
		{"alone", [][]float64{scaled(1, -1)}, 0},
		{"tie keeps the first", [][]float64{scaled(1, -1), scaled(1, -1)}, 0},
		{"1% faster is within the margin", [][]float64{scaled(1, -1), scaled(0.99, -1)}, 0},
		{"3% faster replaces it", [][]float64{scaled(1, -1), scaled(0.97, -1)}, 1},
		{"the fastest of several", [][]float64{scaled(1, -1), scaled(0.97, -1), scaled(0.9, -1), scaled(1.2, -1)}, 2},
		{"a slow round does not decide", [][]float64{scaled(1, 2), scaled(0.99, -1)}, 0},
		{"nor does one lucky round", [][]float64{scaled(1, -1), scaled(1.01, -1), func() []float64 { v := scaled(1.01, -1); v[0] *= 0.5; return v }()}, 0},
	} {
		if got := choosePlan(tc.times); got != tc.want {
			t.Errorf("%s: choosePlan = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestCalibrationSaveConcurrent: saves racing on one cache (as two
// processes calibrating at once would, were it not for the lock) each
// write a temporary file of their own, so the cache is always one whole
// save and no temporary file is left.
func TestCalibrationSaveConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "calibration-test.json")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				c := &calibration{Layers: map[string]map[string]float64{}, Plans: map[string]map[string]string{}}
				for j := range 50 + 10*w {
					c.Plans[fmt.Sprintf("plan%d-%d", w, j)] = map[string]string{"conv": strconv.Itoa(i)}
				}
				if err := c.save(path); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c calibration
	if err := json.Unmarshal(data, &c); err != nil || len(c.Plans) == 0 {
		t.Errorf("cache after concurrent saves: %v (%d plans)", err, len(c.Plans))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
