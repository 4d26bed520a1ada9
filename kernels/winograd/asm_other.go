//go:build noasm || !amd64

package winograd

// haveAsm reports whether the dispatch tables hold the AVX2 transforms: not
// with the noasm tag or off amd64, where they hold the pure-Go twins and
// the Conv uses the per-tile pure-Go path (isa.Supported reports the
// Generic tier only).
const haveAsm = false
