// Package naive holds the reference implementation of every operator resbench
// runs: direct loops with no blocking, no vectorization and no tricks, written
// once as generics so that the float32 kernels and their float64 twin (the
// oracle every fast path is checked against) are the same code.
//
// The loops are meant to be read. They are not tuned, but they are not
// wasteful either: no allocation per element, bounds hoisted out of the
// inner loop, the innermost loop walks contiguous memory.
package naive

// Float is the element type of a reference kernel: float32 for the naive
// executor, float64 for the oracle.
type Float interface{ ~float32 | ~float64 }
