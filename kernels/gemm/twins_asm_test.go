//go:build !noasm && amd64

package gemm

// goTwins: the routines are assembly, runnable only on tiers the CPU has.
const goTwins = false
