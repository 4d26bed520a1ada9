package reports

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/google/pprof/profile"
)

// CPUProfile is a pprof profile read for its labels: the sample value it
// sums (CPU nanoseconds for a Go CPU profile) and how many samples there
// are. Profiles written by runtime/pprof while the engine runs a plan
// compiled with labels carry the labels model, layer, op and kernel.
type CPUProfile struct {
	Prof *profile.Profile
	// ValueType is the sample value summed, e.g. "cpu/nanoseconds".
	ValueType string
	// Samples is the number of samples (each of Period); Total the summed
	// value of them all.
	Samples, Total int64
	// Period is the sampling period (10ms for Go's 100 Hz), 0 if the
	// profile does not say or is not in time units; Duration how long the
	// profiler ran.
	Period, Duration time.Duration
	value, count     int // sample value indices; count -1: one per sample
}

// ReadCPUProfile parses a pprof profile (gzipped or not, as runtime/pprof
// and go tool pprof write them) with github.com/google/pprof/profile.
func ReadCPUProfile(r io.Reader) (*CPUProfile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseCPUProfile(data)
}

// ParseCPUProfile is ReadCPUProfile on bytes.
func ParseCPUProfile(data []byte) (*CPUProfile, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("empty profile")
	}
	p, err := profile.ParseData(data)
	if err != nil {
		return nil, fmt.Errorf("not a pprof profile: %v", err)
	}
	return NewCPUProfile(p)
}

// NewCPUProfile summarizes a parsed profile. The value summed is the
// sample type "cpu" (or, failing that, the profile's default sample type,
// or its last one); the sample count is the "samples"/"count" type if
// there is one, else every sample counts once.
func NewCPUProfile(p *profile.Profile) (*CPUProfile, error) {
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("invalid pprof profile: %v", err)
	}
	if len(p.SampleType) == 0 {
		return nil, fmt.Errorf("pprof profile has no sample types")
	}
	cp := &CPUProfile{Prof: p, value: -1, count: -1, Duration: time.Duration(p.DurationNanos)}
	for i, st := range p.SampleType {
		switch st.Type {
		case "cpu":
			cp.value = i
		case "samples", "count":
			cp.count = i
		}
	}
	if cp.value < 0 && p.DefaultSampleType != "" {
		for i, st := range p.SampleType {
			if st.Type == p.DefaultSampleType {
				cp.value = i
			}
		}
	}
	if cp.value < 0 {
		cp.value = len(p.SampleType) - 1
	}
	vt := p.SampleType[cp.value]
	cp.ValueType = vt.Type + "/" + vt.Unit
	if p.PeriodType != nil && p.PeriodType.Unit == "nanoseconds" {
		cp.Period = time.Duration(p.Period)
	}
	for _, s := range p.Sample {
		cp.Samples += cp.countOf(s)
		cp.Total += s.Value[cp.value]
	}
	return cp, nil
}

func (cp *CPUProfile) countOf(s *profile.Sample) int64 {
	if cp.count < 0 {
		return 1
	}
	return s.Value[cp.count]
}

// LabelShares is a profile's samples summed by the value of one label.
type LabelShares struct {
	Key string
	// Values and Counts are the summed sample value and the sample count
	// per label value; samples without the label are in neither.
	Values, Counts map[string]int64
	// Labelled and LabelledSamples sum the samples that carry the label;
	// Total and Samples all of them.
	Labelled, LabelledSamples int64
	Total, Samples            int64
}

// ByLabel sums the profile's samples by the value of the label key. A
// sample with several values for the key (not something runtime/pprof
// writes) counts for its first.
func (cp *CPUProfile) ByLabel(key string) *LabelShares {
	ls := &LabelShares{Key: key, Values: map[string]int64{}, Counts: map[string]int64{}, Total: cp.Total, Samples: cp.Samples}
	for _, s := range cp.Prof.Sample {
		vs := s.Label[key]
		if len(vs) == 0 {
			continue
		}
		v, n := s.Value[cp.value], cp.countOf(s)
		ls.Values[vs[0]] += v
		ls.Counts[vs[0]] += n
		ls.Labelled += v
		ls.LabelledSamples += n
	}
	return ls
}

// Share is the fraction of the labelled samples' value that carries the
// label value v.
func (ls *LabelShares) Share(v string) float64 {
	if ls.Labelled == 0 {
		return 0
	}
	return float64(ls.Values[v]) / float64(ls.Labelled)
}

// LabelledFraction is the fraction of the profile's value whose samples
// carry the label at all.
func (ls *LabelShares) LabelledFraction() float64 {
	if ls.Total == 0 {
		return 0
	}
	return float64(ls.Labelled) / float64(ls.Total)
}

// Sorted returns the label values, largest value first (ties by name).
func (ls *LabelShares) Sorted() []string {
	keys := make([]string, 0, len(ls.Values))
	for k := range ls.Values {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if ls.Values[a] != ls.Values[b] {
			if ls.Values[a] > ls.Values[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return keys
}

// Agreement compares two attributions of the same time to the same labels
// (layers, kernels): the executor's timers and the profiler's samples.
type Agreement struct {
	// Distance is the total variation distance between the two share
	// distributions, half the sum over labels of |timer share − pprof
	// share|: the fraction of the time the two put on different labels
	// (0: identical, 1: disjoint).
	Distance float64
	// Noise is the distance expected from sampling alone: what Samples
	// independent samples drawn from the timer shares would be off by on
	// average (binomial mean absolute deviation per label, halved and
	// summed). A Distance near Noise means the two agree as well as the
	// sample count allows.
	Noise float64
	// Samples is the number of labelled samples compared.
	Samples int64
	// Labels is the number of labels in either attribution.
	Labels int
}

// CompareShares measures how far the profile's shares for ls are from timer,
// a time (or any non-negative weight) per label value. The timer weights
// are normalized to shares; labels missing from either side count with
// share 0.
func CompareShares(timer map[string]float64, ls *LabelShares) Agreement {
	var sum float64
	for _, v := range timer {
		sum += v
	}
	a := Agreement{Samples: ls.LabelledSamples}
	seen := map[string]bool{}
	for k, v := range timer {
		seen[k] = true
		p := 0.0
		if sum > 0 {
			p = v / sum
		}
		a.Distance += math.Abs(p - ls.Share(k))
		a.Noise += binomialMAD(ls.LabelledSamples, p)
	}
	for k := range ls.Values {
		if !seen[k] {
			seen[k] = true
			a.Distance += ls.Share(k)
		}
	}
	a.Labels = len(seen)
	a.Distance /= 2
	a.Noise /= 2
	return a
}

// binomialMAD is E|X/n − p| for X ~ Binomial(n, p), computed as
// 2·E[(p − X/n)⁺] (the deviations above and below the mean balance),
// summing the pmf up to ⌊np⌋ in logs. Exact for small np, where the normal
// approximation √(2p(1−p)/πn) overstates it.
func binomialMAD(n int64, p float64) float64 {
	if n <= 0 || p <= 0 || p >= 1 {
		return 0
	}
	nf := float64(n)
	m := int64(math.Floor(nf * p))
	lgN, _ := math.Lgamma(nf + 1)
	lp, lq := math.Log(p), math.Log1p(-p)
	var s float64
	for k := int64(0); k <= m; k++ {
		kf := float64(k)
		lk, _ := math.Lgamma(kf + 1)
		lnk, _ := math.Lgamma(nf - kf + 1)
		pmf := math.Exp(lgN - lk - lnk + kf*lp + (nf-kf)*lq)
		s += (p - kf/nf) * pmf
	}
	return 2 * s
}
