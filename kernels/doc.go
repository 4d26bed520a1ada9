// Package kernels holds the numeric core of resbench: aligned buffers, the
// activation shape and layouts, the convolution shape shared by every
// algorithm, and (in subpackages) the implementations themselves: naive
// reference loops and their float64 twin,
// the packed SGEMM with its assembly microkernels, im2col, Winograd, direct
// blocked convolution (with kernels for ResNeXt's narrow groups), and the
// element-wise and pooling ops.
//
// kernels knows nothing of graphs, statistics, profiles or plots: it is the
// bottom of the dependency chain kernels ← variants ← harness ← reports ← cmd.
package kernels
