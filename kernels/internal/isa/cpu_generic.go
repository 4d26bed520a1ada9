//go:build noasm || !amd64

package isa

// cpuHas reports no optional features: without assembly (build tag noasm, or
// a non-amd64 platform) only the Generic tier exists.
func cpuHas(feature) bool { return false }
