//go:build noasm || !amd64

package peak

// goTwins: the assembly routines' names are bound to their pure-Go twins,
// which any CPU can run, so tests call them for every tier.
const goTwins = true
