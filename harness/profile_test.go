package harness

import (
	"bytes"
	"context"
	"errors"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// A small model profiled for real: one row per step, in plan order, whose
// times add up; a CPU profile whose samples carry the step labels; one
// traced inference.
func TestProfileLayers(t *testing.T) {
	c := Cell{Model: "resnet18", Fusion: "all", Kernel: "im2col", Size: 32, Batch: 1, Threads: 1}
	pk := Peak{Tier: "test", GFLOPS1: 50, GFLOPSAll: 50}
	var phases []string
	lp, err := ProfileLayers(context.Background(), c, ProfileOptions{Warmup: 1, Count: 20, MinTime: 400 * time.Millisecond,
		Seed: 1, CPUProfile: true, Peak: &pk, Progress: func(phase string, done, total int) {
			if len(phases) == 0 || phases[len(phases)-1] != phase {
				phases = append(phases, phase)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(phases, []string{"warmup", "timed"}) {
		t.Errorf("progress phases %q", phases)
	}
	steps := lp.Plan.Steps
	if len(lp.Rows) != len(steps) || len(steps) < 20 {
		t.Fatalf("%d rows for %d plan steps", len(lp.Rows), len(steps))
	}
	if lp.Timed < 20 || lp.EndToEnd.N != lp.Timed {
		t.Errorf("%d timed and %d untimed inferences, want ≥ 20 of each, as many untimed as timed", lp.Timed, lp.EndToEnd.N)
	}
	if lp.Middle < lp.Timed/2-1 || lp.Middle > lp.Timed {
		t.Errorf("middle %d of %d timed inferences", lp.Middle, lp.Timed)
	}
	var sum time.Duration
	var share float64
	var macs int64
	for i, r := range lp.Rows {
		s := steps[i]
		if r.Step != i || r.Layer != s.Node.Name || r.Kernel != s.Kernel || r.Shape != s.Node.Shape.String() || r.Layout != s.Layout.String() {
			t.Errorf("row %d %+v does not describe step %d (%s, %s)", i, r, i, s.Node.Name, s.Kernel)
		}
		if r.Time < 0 || r.AllTime < r.Time {
			t.Errorf("%s: time %v, all %v", r.Layer, r.Time, r.AllTime)
		}
		if r.MACs > 0 && r.Time > 0 {
			if g := 2 * float64(r.MACs) / r.Time.Seconds() / 1e9; r.GFLOPS < g*0.999 || r.GFLOPS > g*1.001 || r.PeakFrac != r.GFLOPS/pk.GFLOPSAll {
				t.Errorf("%s: %v GFLOP/s (%v of peak), want %v", r.Layer, r.GFLOPS, r.PeakFrac, g)
			}
		} else if r.GFLOPS != 0 {
			t.Errorf("%s: %v GFLOP/s without MACs", r.Layer, r.GFLOPS)
		}
		sum += r.Time
		share += r.Share
		macs += r.MACs
	}
	if sum != lp.LayerSum {
		t.Errorf("rows sum to %v, LayerSum %v", sum, lp.LayerSum)
	}
	if share < 0.999 || share > 1.001 {
		t.Errorf("shares sum to %v", share)
	}
	if macs != lp.MACs {
		t.Errorf("rows hold %d MACs, the model %d", macs, lp.MACs)
	}
	if i := slices.IndexFunc(lp.Rows, func(r LayerRow) bool { return r.Layer == "conv1" }); i < 0 || lp.Rows[i].Op != "conv7x7/2" {
		t.Errorf("no stem conv1 with op conv7x7/2 in %+v", lp.Rows[:2])
	}
	// The per-layer sum is one inference: within the timed inferences'
	// own wall time (below: the check that holds on a loaded machine,
	// since both come from the same inferences), and roughly that of the
	// untimed ones measured at other moments (the 5% is checked on
	// the real model by the CLI). A CI machine running other tests beside
	// this one gave 0.699, so the bounds only catch a doubled or missing
	// stage, not noise.
	if r := lp.Ratio(); r < 0.5 || r > 2 {
		t.Errorf("per-layer sum %v vs end-to-end %v: ratio %.3f", lp.LayerSum, lp.EndToEndMid, r)
	}
	if lp.TimerOverhead < 0 || lp.TimerOverhead > lp.LayerSum/4 {
		t.Errorf("timer overhead %v per inference of %v", lp.TimerOverhead, lp.LayerSum)
	}
	if lp.LayerSum < lp.TimedWall.Min-lp.TimerOverhead*4 || lp.LayerSum > lp.TimedWall.Max {
		t.Errorf("per-layer sum %v outside the timed inferences' wall times [%v, %v]", lp.LayerSum, lp.TimedWall.Min, lp.TimedWall.Max)
	}

	// The traced inference.
	if len(lp.Trace) != len(steps) {
		t.Fatalf("trace has %d steps, plan %d", len(lp.Trace), len(steps))
	}
	for i, s := range lp.Trace {
		if s.End < s.Start || (i > 0 && s.Start < lp.Trace[i-1].End) {
			t.Fatalf("trace step %d: %v–%v", i, s.Start, s.End)
		}
	}

	// The CPU profile, read back with the pprof library: its samples
	// carry the plan's labels.
	if lp.ProfileTime < 400*time.Millisecond {
		t.Errorf("profiled for %v", lp.ProfileTime)
	}
	p, err := profile.ParseData(lp.CPUProfile)
	if err != nil {
		t.Fatalf("the CPU profile does not parse: %v", err)
	}
	names := map[string]bool{}
	kernels := map[string]bool{}
	for _, r := range lp.Rows {
		names[r.Layer] = true
		kernels[r.Kernel] = true
	}
	labelled, total := 0, 0
	for _, s := range p.Sample {
		total++
		l := s.Label["layer"]
		if len(l) == 0 {
			continue
		}
		labelled++
		if !names[l[0]] {
			t.Errorf("sample labelled layer=%q, not a step", l[0])
		}
		if m := s.Label["model"]; len(m) != 1 || m[0] != lp.Plan.Graph.Name {
			t.Errorf("sample labelled model=%q", m)
		}
		if k := s.Label["kernel"]; len(k) != 1 || !kernels[k[0]] {
			t.Errorf("sample labelled kernel=%q", k)
		}
	}
	if labelled < 5 || float64(labelled) < 0.8*float64(total) {
		t.Errorf("%d of %d samples carry a layer label", labelled, total)
	}
}

func TestProfileLayersErrors(t *testing.T) {
	pk := &Peak{GFLOPSAll: 1}
	c := Cell{Model: "resnet18", Fusion: "none", Kernel: "im2col", Size: 32, Batch: 1, Threads: 1}
	if _, err := ProfileLayers(context.Background(), c, ProfileOptions{Count: 0, Peak: pk}); err == nil {
		t.Error("count 0 must fail")
	}
	bad := c
	bad.Model = "resnet9000"
	if _, err := ProfileLayers(context.Background(), bad, ProfileOptions{Count: 1, Peak: pk}); err == nil {
		t.Error("an unknown model must fail")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ProfileLayers(ctx, c, ProfileOptions{Count: 1, Peak: pk, CPUProfile: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// The profile was stopped on the way out, so another can start.
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Fatalf("the cancelled profile was left running: %v", err)
	}
	_, err := ProfileLayers(context.Background(), c, ProfileOptions{Count: 1, Peak: pk, CPUProfile: true})
	pprof.StopCPUProfile()
	if err == nil || !strings.Contains(err.Error(), "cannot start the CPU profile") {
		t.Errorf("with a CPU profile already running: %v", err)
	}
}

func TestMiddleRuns(t *testing.T) {
	got := middleRuns(ms(10, 1, 2, 3, 100, 4, 5, 6))
	// Sorted 1 2 3 4 5 6 10 100: Q1 = 2, Q3 = 6 (nearest rank).
	if want := []int{2, 3, 5, 6, 7}; !slices.Equal(got, want) {
		t.Errorf("middle runs %v, want %v", got, want)
	}
	if got := middleRuns(ms(5, 1, 9)); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("fewer than 4 runs: %v, want all", got)
	}
}
