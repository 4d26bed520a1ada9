package ci

import (
	"path/filepath"
	"strings"
	"testing"
)

var data = filepath.Join("..", "testdata", "reports")

func TestGateCatchesRegression(t *testing.T) {
	var out strings.Builder
	// The "faster30" file is 30% faster than "old": taken the other way
	// round, it is a 43% slowdown.
	_, err := Gate(&out, filepath.Join(data, "synth-faster30.txt"), filepath.Join(data, "synth-old.txt"), Options{MaxSlowdown: 0.05})
	if err == nil || !strings.Contains(out.String(), "REGRESSION") {
		t.Fatalf("a 43%% slowdown passed the gate: %v\n%s", err, out.String())
	}
}

func TestGatePassesNoise(t *testing.T) {
	var out strings.Builder
	_, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-rerun.txt"), Options{MaxSlowdown: 0.05})
	if err != nil {
		t.Fatalf("a rerun of the same configuration failed the gate: %v\n%s", err, out.String())
	}
	// A big threshold lets even a real slowdown through: the minimum
	// effect is honoured.
	if _, err := Gate(&out, filepath.Join(data, "synth-faster30.txt"), filepath.Join(data, "synth-old.txt"), Options{MaxSlowdown: 0.5}); err != nil {
		t.Fatalf("a 43%% slowdown under a 50%% threshold failed: %v", err)
	}
}

func TestGateParityAndMachines(t *testing.T) {
	var out strings.Builder
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-parity.txt"), Options{MaxSlowdown: 0.05}); err == nil || !strings.Contains(out.String(), "PARITY FAILED") {
		t.Errorf("a parity failure passed the gate: %v\n%s", err, out.String())
	}
	if _, err := Gate(&out, filepath.Join(data, "synth-old.txt"), filepath.Join(data, "synth-other-cpu.txt"), Options{}); err == nil {
		t.Error("results from another CPU must be refused")
	}
}
