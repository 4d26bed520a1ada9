// Package winograd implements 3x3 stride-1 convolutions with Winograd's
// minimal filtering algorithm F(m×m, 3×3) for output tiles of m = 2, 4 and
// 6 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks"):
// each m×m output tile is Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A of its α×α input
// patch d (α = m+2), which costs α² multiplications per input/output
// channel pair instead of 9m² — 2.25x fewer for F2, 4x for F4, 5.06x for
// F6 — at the price of the transforms and of a rounding error that grows
// with the tile.
//
// # Points
//
// F2 interpolates at 0, ±1, ∞; F4 at 0, ±1, ±2, ∞; F6 at 0, ±1, ±2, ±1/2,
// ∞ — the points of wincnn, NNPACK and oneDNN, whose small magnitudes keep
// the transform coefficients (and so the error) as small as α allows. The
// matrices are in matrices.go; a test checks the identity against direct
// correlation in float64. Measured error relative to each output's
// condition Σ|w·x|+|bias|+|res| over the whole conformance suite: F2
// 1.9e-7, F4 3.1e-6, F6 1.4e-5 (see kernels/kerneltest/winograd_test.go).
//
// # Data flow
//
// At plan time the weights are transformed once, U = G g Gᵀ in float64
// rounded to float32, and packed as α² GEMM left operands U_ξ (OutC × InC,
// ξ = i·α+j) for the context's ISA tier.
//
// Run first copies the input into a zero-padded buffer (in the workspace)
// in which patch (ty, tx) starts at row ty·m, column tx·m: every patch is in
// bounds, the right and bottom partial tiles read zeros, and all tiles
// share one row stride. Tiles are numbered over the whole batch, full tiles
// first (raster order), then the clipped tiles of the right column and
// bottom row, so that the groups of 8 tiles the transforms work on are
// either all full or all clipped. Then, block by block of nb tiles:
//
//  1. input transform: V[ξ][c][j] = (Bᵀ d_{c,j} B)[ξ] for the block's tiles
//     j and all input channels c — α² row-major InC × nb matrices;
//  2. α² GEMMs on the packed SGEMM of package gemm: M_ξ = U_ξ · V_ξ
//     (OutC × nb);
//  3. output transform: Y = Aᵀ M A per tile and output channel, with bias,
//     residual and ReLU applied in the store, straight into the NCHW
//     output; clipped tiles go through a small per-worker scratch and are
//     stored clipped by Go.
//
// The α² planes of V and M are one cache line more than their rows apart,
// so that the transforms' α² store (and load) streams do not all fall in
// the same L1 sets: with InC·nb a multiple of 1024 floats, 4 KiB aliasing
// made the pure-Go transforms 3x slower.
//
// Outputs whose 3x3 window lies entirely in the padding (padding > 2) are
// not tiled: their convolution is exactly 0, so they get the epilogue
// alone. A tile's rounding error scales with its whole patch, which would
// leak into such outputs, whose condition is 0.
//
// # Transforms
//
// On the AVX2 and AVX-512 tiers the transforms are AVX2 assembly generated
// by the avo program in internal/asmgen (one code path for the three tile
// sizes; AVX-512 machines run the same AVX2 code, the GEMM is theirs): 8
// tiles per ymm register, one tile per lane. The input transform loads row r
// of 8 patches as 16-byte halves (tiles t and t+4 share a register),
// transposes them in-lane so that each vector holds one patch column of all
// 8 tiles, applies Bᵀ along the row (spilled to the stack), then Bᵀ down the
// columns, and stores each V[ξ] of the 8 tiles as 32 contiguous bytes of
// the GEMM operand. The output transform does the reverse, transposes the
// m results of each row back to one m-float row per tile and stores them
// with the epilogue (ReLU propagates NaN, like the GEMM's). The Generic tier
// (and noasm builds) use the pure-Go transforms in transform.go, the same
// factored formulas one tile at a time. The assembly routines' pure-Go
// twins (transform_generic.go, generated with them) loop over those
// per-tile transforms; the tests check them, but the Conv never calls
// them: noasm builds take the per-tile path.
//
// Pure Go was measured and is not good enough: on the development machine
// (AMD EPYC Zen 3, 1 thread, median of 3-5 runs; BenchmarkConvGo against
// BenchmarkConv) F4 on ResNet-50's res2 3x3 (64 channels, 56x56) runs at
// 31 GFLOP/s effective (7.4 ms) with the pure-Go transforms and 156 GFLOP/s
// (1.5 ms) with the assembly ones, against 48 GFLOP/s for im2col + the same
// GEMM: the Go transforms cost about 5x the GEMMs, the assembly ones about
// 40% of them (CPU profile: GEMM ~60%, transforms ~25%, input padding ~7%).
//
// # Blocking
//
// A block's V and M take α²·(InC+OutC)·4 bytes per tile; the default block
// is as many tiles as fit blockBudget (1 MiB), a multiple of the GEMM's
// 16-column panel (32 on AVX-512), at least one panel, at most the whole
// batch. BenchmarkBlockTiles measured 16 to 256 tiles per block within ±5%
// of each other on every ResNet-50 layer and tile size (best-of-rounds
// times; V and M stream through L2 once each, which the hardware prefetcher
// hides); the budget keeps blocks large enough to amortize the α² GEMM
// calls and the re-reading of U per block.
//
// # Threads
//
// With a pool of more than one thread the input transform is split over
// input channels, the output transform over output channels, and each GEMM
// over rows and columns by the gemm context: results are bitwise identical
// for any thread count (the GEMM never splits K, the transforms are per
// element). That is α²+2 synchronizations per block (WithSplitBlocks).
// Layers with fewer blocks than workers (res4 and res5 3x3, 16 tiles): each
// worker pads and transforms the whole input into its own buffers, then
// multiplies its own rows of all α² products and transforms those output
// channels back: one synchronization per call (res4 3x3 F(4×4), two
// threads: 394 µs, against 463 µs with the input transform split over
// channels and 649 µs on one thread). With at least one block
// per worker, Run instead gives each worker a contiguous run of whole
// blocks (about equal numbers of tiles), which it pads (only the band of
// input rows its tiles read, into its own buffer, so that no core reads
// padding the other wrote), transforms, multiplies on its own
// single-threaded context (gemm.Context.Worker) and writes back: one
// synchronization per call (ResNet-50's res2 3x3, F(4×4), two threads:
// 508 µs against 1306 µs with a shared padded input, 444 µs with private
// ones; in the network 0.49 → 0.40 ms with fixed runs and bands instead
// of the next free block and the whole input). The blocks are those of
// one thread, so every path gives the same bits.
package winograd
