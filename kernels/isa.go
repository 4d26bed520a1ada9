package kernels

import "github.com/resbench/resbench/kernels/internal/isa"

// Tier is an instruction-set tier the kernels dispatch on. Detection and
// the one dispatch function live in kernels/internal/isa; these are the
// names the rest of resbench uses.
type Tier = isa.Tier

// The tiers, lowest first.
const (
	Generic = isa.Generic
	AVX2    = isa.AVX2
	AVX512  = isa.AVX512
)

// ISAEnvVar forces a tier: RESBENCH_ISA=generic|avx2|avx512.
const ISAEnvVar = isa.EnvVar

// ActiveTier is the tier new kernels are planned for.
func ActiveTier() Tier { return isa.Active() }

// DetectedTier is the best tier this CPU supports.
func DetectedTier() Tier { return isa.Detected() }

// SetTier forces a tier in-process; it fails if the CPU lacks it.
func SetTier(t Tier) error { return isa.Set(t) }

// TierSupported reports whether this CPU (and build) can run tier t.
func TierSupported(t Tier) bool { return isa.Supported(t) }

// ParseTier parses a tier name, listing the valid ones on error.
func ParseTier(s string) (Tier, error) { return isa.ParseTier(s) }

// Tiers lists every tier, lowest first.
func Tiers() []Tier { return isa.All() }

// TierErr is the start-up error of an invalid RESBENCH_ISA, or nil. The CLI
// reports it before doing anything else.
func TierErr() error { return isa.Err() }
