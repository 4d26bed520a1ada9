//go:build !noasm

package isa

import "github.com/klauspost/cpuid/v2"

// cpuHas reports whether the CPU, and the OS (saved register state), support f.
// cpuid checks XCR0 for the YMM/ZMM state, so AVX512F is only reported when
// the OS enables it.
func cpuHas(f feature) bool {
	switch f {
	case featAVX2:
		return cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2)
	case featFMA3:
		return cpuid.CPU.Supports(cpuid.FMA3)
	case featAVX512F:
		return cpuid.CPU.Supports(cpuid.AVX512F)
	}
	return false
}
