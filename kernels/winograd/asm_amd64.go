//go:build !noasm

package winograd

// haveAsm reports whether the dispatch tables hold the AVX2 transforms
// (the Conv uses them on the AVX2 and AVX-512 tiers).
const haveAsm = true
