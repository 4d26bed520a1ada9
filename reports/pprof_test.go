package reports

import (
	"bytes"
	"context"
	"math"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

// synthProfile is a Go-style CPU profile (samples/count, cpu/nanoseconds,
// 10ms period) with the given samples: each a layer and kernel label ("" for
// none) and a sample count.
func synthProfile(samples []struct {
	layer, kernel string
	n             int64
}) *profile.Profile {
	fn := &profile.Function{ID: 1, Name: "main.work", SystemName: "main.work", Filename: "work.go"}
	loc := &profile.Location{ID: 1, Address: 0x1000, Line: []profile.Line{{Function: fn, Line: 10}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000, DurationNanos: int64(2 * time.Second),
		Function: []*profile.Function{fn}, Location: []*profile.Location{loc},
	}
	for _, s := range samples {
		labels := map[string][]string{}
		if s.layer != "" {
			labels["layer"] = []string{s.layer}
		}
		if s.kernel != "" {
			labels["kernel"] = []string{s.kernel}
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{s.n, s.n * 10_000_000}, Label: labels})
	}
	return p
}

func TestLabelShares(t *testing.T) {
	p := synthProfile([]struct {
		layer, kernel string
		n             int64
	}{
		{"conv1", "direct", 30}, {"layer1.0.conv1", "im2col", 50}, {"conv1", "direct", 10},
		{"fc", "vector", 10}, {"", "", 100}, // unlabelled: the runtime, the harness
	})
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil { // gzipped, as runtime/pprof writes
		t.Fatal(err)
	}
	cp, err := ReadCPUProfile(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if cp.ValueType != "cpu/nanoseconds" || cp.Samples != 200 || cp.Total != 200*10_000_000 || cp.Period != 10*time.Millisecond || cp.Duration != 2*time.Second {
		t.Fatalf("profile summary %+v", cp)
	}
	ls := cp.ByLabel("layer")
	if ls.LabelledSamples != 100 || ls.Samples != 200 || ls.Counts["conv1"] != 40 || ls.Values["layer1.0.conv1"] != 50*10_000_000 {
		t.Errorf("layer shares %+v", ls)
	}
	if s := ls.Share("conv1"); s != 0.4 {
		t.Errorf("conv1 share %v, want 0.4", s)
	}
	if s := ls.Share("nope"); s != 0 {
		t.Errorf("absent label share %v", s)
	}
	if f := ls.LabelledFraction(); f != 0.5 {
		t.Errorf("labelled fraction %v, want 0.5", f)
	}
	if got := strings.Join(ls.Sorted(), " "); got != "layer1.0.conv1 conv1 fc" {
		t.Errorf("sorted %q", got)
	}
	ks := cp.ByLabel("kernel")
	if ks.Share("direct") != 0.4 || ks.Share("im2col") != 0.5 || ks.Share("vector") != 0.1 {
		t.Errorf("kernel shares %v", ks.Values)
	}

	// The timers put conv1 at 40%, layer1.0.conv1 at 40%, fc at 20%:
	// 10% of the time is on different layers.
	a := CompareShares(map[string]float64{"conv1": 4, "layer1.0.conv1": 4, "fc": 2}, ls)
	if math.Abs(a.Distance-0.1) > 1e-12 || a.Samples != 100 || a.Labels != 3 {
		t.Errorf("agreement %+v, want distance 0.1 over 3 labels and 100 samples", a)
	}
	if a.Noise <= 0 || a.Noise > 0.2 {
		t.Errorf("sampling noise %v for 100 samples", a.Noise)
	}
	// Labels on one side only count in full.
	if a := CompareShares(map[string]float64{"other": 1}, ls); math.Abs(a.Distance-1) > 1e-12 || a.Labels != 4 {
		t.Errorf("disjoint attributions: %+v, want distance 1 over 4 labels", a)
	}
	if a := CompareShares(map[string]float64{"conv1": 40, "layer1.0.conv1": 50, "fc": 10}, ls); a.Distance > 1e-12 {
		t.Errorf("identical attributions: distance %v", a.Distance)
	}
}

// binomialMAD against a brute-force sum over every outcome.
func TestBinomialMAD(t *testing.T) {
	for _, c := range []struct {
		n int64
		p float64
	}{{1, 0.5}, {10, 0.1}, {37, 0.3}, {500, 0.02}, {500, 0.001}, {2000, 0.5}} {
		var want float64
		for k := int64(0); k <= c.n; k++ {
			lc, _ := math.Lgamma(float64(c.n + 1))
			lk, _ := math.Lgamma(float64(k + 1))
			lnk, _ := math.Lgamma(float64(c.n - k + 1))
			pmf := math.Exp(lc - lk - lnk + float64(k)*math.Log(c.p) + float64(c.n-k)*math.Log1p(-c.p))
			want += pmf * math.Abs(float64(k)/float64(c.n)-c.p)
		}
		if got := binomialMAD(c.n, c.p); math.Abs(got-want) > 1e-9 {
			t.Errorf("n=%d p=%v: %v, want %v", c.n, c.p, got, want)
		}
	}
	if binomialMAD(0, 0.5) != 0 || binomialMAD(10, 0) != 0 || binomialMAD(10, 1) != 0 {
		t.Error("degenerate cases must be 0")
	}
}

// A real profile from runtime/pprof: work done under a label shows up
// under it.
func TestLabelSharesRealProfile(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("cannot profile here: %v", err)
	}
	var sink float64
	pprof.Do(context.Background(), pprof.Labels("layer", "spin"), func(context.Context) {
		for start := time.Now(); time.Since(start) < 400*time.Millisecond; {
			for i := range 100000 {
				sink += math.Sqrt(float64(i))
			}
		}
	})
	pprof.StopCPUProfile()
	_ = sink
	cp, err := ParseCPUProfile(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ls := cp.ByLabel("layer")
	if ls.Counts["spin"] < 5 || ls.LabelledFraction() < 0.8 || len(ls.Values) != 1 {
		t.Errorf("%d samples, %d under layer=spin (%.0f%% of the CPU time), labels %v", cp.Samples, ls.Counts["spin"], 100*ls.LabelledFraction(), ls.Values)
	}
	if cp.Period != 10*time.Millisecond {
		t.Errorf("period %v, want Go's 100 Hz", cp.Period)
	}
}

func TestReadCPUProfileErrors(t *testing.T) {
	for _, c := range []struct {
		name, data, want string
	}{
		{"empty", "", "empty profile"},
		{"text", "BenchmarkModel 1 100 ns/op\n", "not a pprof profile"},
		{"binary", "\x1f\x8b\x08\x00garbage", "not a pprof profile"},
	} {
		_, err := ParseCPUProfile([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	p := synthProfile(nil)
	p.SampleType = nil
	if _, err := NewCPUProfile(p); err == nil {
		t.Error("a profile without sample types must be refused")
	}
}
