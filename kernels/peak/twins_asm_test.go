//go:build !noasm && amd64

package peak

// goTwins: the routines are assembly, runnable only on tiers the CPU has.
const goTwins = false
