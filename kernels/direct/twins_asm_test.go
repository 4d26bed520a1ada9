//go:build !noasm && amd64

package direct

// goTwins: the routines are assembly, runnable only on tiers the CPU has.
const goTwins = false
