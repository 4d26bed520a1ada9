// Package isa selects the instruction-set tier used by the compute kernels.
//
// A tier is a named set of CPU features that a family of kernels needs. The
// best tier the CPU supports is detected once at start-up; the environment
// variable RESBENCH_ISA=generic|avx2|avx512 forces a lower (or equal) tier.
// Forcing a tier the CPU lacks, or an unknown name, is an error reported by
// Err; Active then falls back to the detected tier so that library users keep
// working, while the CLI can fail at start-up by checking Err.
//
// Tests and benchmarks switch tiers in-process with Set.
package isa

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// EnvVar is the environment variable that forces a tier.
const EnvVar = "RESBENCH_ISA"

// Tier is an instruction-set tier. Higher tiers are faster and need more CPU
// features; every tier's requirements include those of the tiers below it.
type Tier int

const (
	// Generic is portable Go code; always supported.
	Generic Tier = iota
	// AVX2 needs AVX2 and FMA3 (Haswell+, Zen+).
	AVX2
	// AVX512 needs AVX512F on top of AVX2 and FMA3 (Skylake-SP+, Zen 4+).
	// Kernels of this tier use only AVX512F instructions (no VL/BW/DQ).
	AVX512

	numTiers
)

var tierNames = [numTiers]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String returns the lower-case name used by RESBENCH_ISA ("generic", "avx2",
// "avx512").
func (t Tier) String() string {
	if t >= 0 && t < numTiers {
		return tierNames[t]
	}
	return fmt.Sprintf("Tier(%d)", int(t))
}

// All returns every tier, lowest first, whether or not the CPU supports it.
func All() []Tier {
	return []Tier{Generic, AVX2, AVX512}
}

func validNames() string {
	return strings.Join(tierNames[:], ", ")
}

// ParseTier parses a tier name as accepted by RESBENCH_ISA (case-insensitive,
// surrounding blanks ignored).
func ParseTier(s string) (Tier, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	for t, n := range tierNames {
		if name == n {
			return Tier(t), nil
		}
	}
	return Generic, fmt.Errorf("isa: unknown tier %q (valid values: %s)", s, validNames())
}

// feature is a CPU feature a tier may require.
type feature int

const (
	featAVX2 feature = iota
	featFMA3
	featAVX512F
)

func (f feature) String() string {
	switch f {
	case featAVX2:
		return "AVX2"
	case featFMA3:
		return "FMA3"
	case featAVX512F:
		return "AVX512F"
	}
	return fmt.Sprintf("feature(%d)", int(f))
}

// requires lists the features each tier needs, including those of lower tiers.
var requires = [numTiers][]feature{
	Generic: nil,
	AVX2:    {featAVX2, featFMA3},
	AVX512:  {featAVX2, featFMA3, featAVX512F},
}

// missing returns the first feature t needs that has reports absent, and
// whether there is one.
func missing(t Tier, has func(feature) bool) (feature, bool) {
	for _, f := range requires[t] {
		if !has(f) {
			return f, true
		}
	}
	return 0, false
}

// choose is the single dispatch decision: given which features the CPU has and
// the value of RESBENCH_ISA (may be empty), it returns the tier to use. With an
// empty forced value it returns the best supported tier. A forced tier must be
// supported; otherwise choose returns the best tier together with an error
// naming the missing feature.
func choose(has func(feature) bool, forced string) (Tier, error) {
	best := Generic
	for t := Generic; t < numTiers; t++ {
		if _, miss := missing(t, has); !miss {
			best = t
		}
	}
	if strings.TrimSpace(forced) == "" {
		return best, nil
	}
	t, err := ParseTier(forced)
	if err != nil {
		return best, fmt.Errorf("isa: %s=%q: unknown tier (valid values: %s)", EnvVar, forced, validNames())
	}
	if f, miss := missing(t, has); miss {
		return best, fmt.Errorf("isa: %s=%s: this CPU lacks %s (valid values: %s; best supported here: %s)",
			EnvVar, t, f, validNames(), best)
	}
	return t, nil
}

var (
	detected Tier         // best tier the CPU supports
	envErr   error        // error from RESBENCH_ISA, if any
	active   atomic.Int32 // currently selected Tier
)

func init() {
	detected, _ = choose(cpuHas, "")
	t, err := choose(cpuHas, os.Getenv(EnvVar))
	envErr = err
	active.Store(int32(t))
}

// Active returns the tier kernels should use: the one forced by RESBENCH_ISA
// (or by Set), otherwise the best one the CPU supports.
func Active() Tier { return Tier(active.Load()) }

// Detected returns the best tier this CPU (and build) supports, ignoring
// RESBENCH_ISA and Set.
func Detected() Tier { return detected }

// Err returns the error from parsing RESBENCH_ISA at start-up, or nil. When it
// is non-nil, Active fell back to Detected.
func Err() error { return envErr }

// Supported reports whether this CPU and build can run tier t. Under the
// noasm build tag, and on non-amd64 platforms, only Generic is supported.
func Supported(t Tier) bool {
	if t < 0 || t >= numTiers {
		return false
	}
	_, miss := missing(t, cpuHas)
	return !miss
}

// Set makes t the active tier for the whole process. It is meant for tests
// and benchmarks; it returns an error (and changes nothing) if t is not
// supported. Kernels read the tier when they build their plans (packed
// operands, contexts), so call Set before creating them.
func Set(t Tier) error {
	if t < 0 || t >= numTiers {
		return fmt.Errorf("isa: invalid tier %d (valid values: %s)", int(t), validNames())
	}
	if f, miss := missing(t, cpuHas); miss {
		return fmt.Errorf("isa: cannot select %s: this CPU (or build) lacks %s", t, f)
	}
	active.Store(int32(t))
	return nil
}
