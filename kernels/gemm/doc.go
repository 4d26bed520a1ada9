// Package gemm is a BLIS/GotoBLAS-style packed SGEMM for row-major float32
// matrices with a fused epilogue, tuned for convolutions as GEMMs:
//
//	C[M×N] = A[M×K] · B[K×N], then c += bias[m], c += residual[m,n], c = max(c, 0)
//
// with A = weights (packed once at plan time by PackA / PackAT), B =
// activations (packed per call into per-worker scratch of a Context) and C
// the output.
//
// # Structure
//
// Context.Gemm splits C into a grid of parts (split: M and/or N, never K),
// one task per part on a parallel.Pool; each part runs the loop nest
//
//	for jc in N by nc:              B block kc×nc packed into worker scratch
//	  for pc in K by kc:            (panels of nr columns, pstride apart)
//	    for ic in M by mc:          A block mc×kc (pre-packed, mr-row panels)
//	      for jr in nc by nr:       B micro-panel kc×nr
//	        microkernel strip over ic..ic+mc by mr (one assembly call)
//
// The microkernel keeps an mr×nr tile of C in registers: per k it loads
// nr/vl vectors of the B micro-panel, broadcasts mr values of the A
// micro-panel and issues mr·nr/vl FMAs. It applies the epilogue in registers
// on the last k block, accumulates into C on the others, and writes C
// directly. The last M tile (M mod mr rows) uses a kernel with fewer rows on
// the same zero-padded panel, still writing C directly; an N remainder that
// is not a whole number of vectors goes through a small per-worker tile
// buffer and is copied out (with the epilogue) in Go, except remainders of
// 1–3 columns (n = 49 on the 7×7 stage), which a column kernel computes
// vectorized along A's rows, reading them from B's rows unpacked (packing
// them zero-padded was 2% of res5-1x1a); a last panel of whole vectors
// plus 1–3 columns (49 = 32 + 17 on AVX-512) writes the vectors directly
// and gives the columns to the column kernel (m=2048/n=49/k=512 1.89 →
// 1.46 ms on a Sapphire Rapids guest). Nothing outside the M×N window of
// C is ever written.
//
// On AVX-512, when the edge is 1–4, 16 or 17 columns past a full panel
// (49 = 32 + 17, 196 = 6·32 + 4, 784 = 24·32 + 16), the last full panel
// and the edge are one wide strip instead (Context.wideStrip), packed into
// a panel of their own (by one AVX-512 loop, sgemmCopyRowsAVX512, whose
// masked tail copies no byte past a row): an 8-row kernel of 2 or 3 vectors plus 0–4 single
// columns summed along A's rows in ymm registers, so that each A panel is
// read once for the strip rather than by the 32- and 16-column kernels and
// once more per column (the 16-column kernel, 8 FMAs per 9 loads, ran at
// 78 % of peak). Single thread, Zen 5 guest, 4 alternated rounds:
// 512×49×2048 70.7 → 89.2 %peak, 2048×49×512 80.1 → 89.3, 256×49×1024
// 78.5 → 89.4, 2048×196×512 82.6 → 89.1. Row tiles below mr rows keep the
// per-panel path. The tail columns are summed as the per-panel path sums
// them (even and odd k apart for 1–3 columns, like the column kernel), so a
// part of another thread count that holds only the edge gives the same bits.
//
// When all of a part's rows fit one mc block (M ≤ 144 on AVX2: ResNet's
// 64- and 128-channel 1×1 layers), each packed B panel would be used by a
// single strip, so packing it cost 6–13% of the call; full-width tiles then
// read B from its rows with strided variants of the microkernels, if the
// rows are cache-line aligned and spread over enough L1 sets (stridedFits).
// Interleaved, 1 thread: 64×3136×64 77.0 → 82.2 GFLOP/s, 64×3136×256
// 78.1 → 84.8, 128×784×512 82.5 → 86.0. The products and their order are
// the same, so results are bitwise those of the packed path. A strided
// tile reads one line from each of kc rows a row apart, more streams than
// the hardware prefetchers follow, so it prefetches the same rows' next
// 16 columns (the next strip) into L2: ResNet-50 res2a-1x1a 45 → 62 %peak
// and res2-1x1a 52 → 65, alternated 10× on a busy host.
//
// Because every element of C is computed by the same sequence of operations
// whatever the split (K is never split, block boundaries are multiples of
// the tile and the edge kernels are chosen by global position), results are
// bitwise identical for any number of threads.
//
// # Tiers and microkernels
//
// One dispatch point, configFor(tier), picks the kernels of an isa.Tier:
//
//	generic  sgemmKernel4x16Generic   pure Go
//	avx2     sgemmKernel6x16AVX2      12 ymm accumulators (+ 1..6 × 8/16 edge kernels)
//	avx512   sgemmKernel8x32AVX512    16 zmm accumulators (+ 1..8 × 16/32 edge kernels)
//
// All assembly is emitted by one avo generator (internal/asmgen, its own
// module) from the same Go function for both vector ISAs; only the register
// file, the vector length and the zeroing instruction (VXORPS / VPXORD)
// differ. The AVX-512 kernels therefore have the structure of the AVX2 ones
// that the tests execute; they use only AVX512F instructions. Edge kernels
// with fewer than 8 accumulators keep two partial sums (even/odd k) to hide
// FMA latency. The main kernel prefetches the next B micro-panel during its
// first tile and the A stream 2 KiB ahead.
//
// # Cache blocking (measured)
//
// The AVX2 blocking was chosen with BenchmarkBlocking, which interleaves all
// candidates round by round (the development machine, a 2-vCPU Zen 3 KVM
// guest, is shared and noisy, so only within-run comparisons mean anything)
// and reports the median GFLOP/s per candidate over 1024³ and ResNet-50 1×1
// shapes, single-threaded. Findings (Zen 3, 32 KiB L1d, 512 KiB L2):
//
//   - kc: 128…512 all within noise of each other; 256 keeps the B
//     micro-panel (256×16×4 = 16 KiB) in half of L1 and is kept.
//   - mc: 48…576 within noise; 144 (A block 144×256×4 = 144 KiB in L2).
//   - nc: when M spans several mc blocks, the packed B block is reused by
//     each of them and a large nc (4080, B block 4 MiB in L3, as in BLIS) is
//     as good as or better than small ones for 1024³.
//   - ncSmall: when all rows fit one mc block (res2a: M=64, res3a: M=128),
//     the packed B block is consumed once right after packing; keeping it
//     in L2 (256 columns: 256 KiB) made res2a 64 → 44 GFLOP/s median when
//     it was 4080 instead (interleaved run, 40 rounds).
//   - Padding the packed B panels by one cache line (pstride = kc·nr + 16)
//     doubled the packing speed (17 → 30-37 GB/s from L2): with kc·nr·4 a
//     multiple of 4 KiB, the packer's stores of one source row to all panels
//     fell into one L1 set.
//
// The AVX-512 values (kc=192, mc=512, nc=3072) follow the design note for
// 48 KiB-L1 / 2 MiB-L2 Xeons (best kc 128–192). Measured since on a 2-vCPU
// Sapphire Rapids KVM guest (BenchmarkBlocking, 10 rounds): every
// candidate (kc 128–512, mc 64–768, nc 512–16384, ncSmall 128–2048) within
// 61.8–71.6 GFLOP/s mean over the shapes, the current one 68.4–70.8, so
// within that host's noise; unchanged. Reading B in place (strided) or
// packing it for parts of up to 512 rows: no significant difference either
// (8 alternated runs, p ≥ 0.1 on all seven 784/3136-wide shapes). On a
// 2-vCPU AMD Zen 5 guest (48 KiB L1d, 1 MiB L2, full-width AVX-512 FMA;
// 10 rounds): every candidate within 174–185 GFLOP/s mean over the shapes
// (75–80 % of a 231 GFLOP/s peak), the current one 183.8; 1024³ 194–202
// for all; unchanged. With a 64 MiB streaming loop on the other vCPU (a
// stand-in for a busy host), every candidate lost about as much (1024³
// 208–211 → 192–202 GFLOP/s), so none is more robust to neighbors. There
// the 8×32 kernel runs at 97–99 % of peak on
// L1-resident panels (BenchmarkMicroKernel) and 1024³ at a median 90.7 %
// (10 runs); prefetching the next B panel only in the first tile's loop
// (the others skip the no-op prefetches) and packing B once for all M
// parts of a two-thread call both measured within noise and were dropped.
// Two exceptions, both properties of the packed A (PackedA records its
// block depth), never of the thread count, so results stay bitwise equal
// for any count. First, kcDeep: an A of at most 512 rows and K ≥ 1024
// (ResNet-50's late 1×1 convolutions, the 3×3 ones through im2col) is
// packed with K blocks of 512. On two threads those 1×1 GEMMs ran 4–6 %
// faster with it (median of 7 alternated rounds; the same on one thread),
// presumably from the fewer passes over C and B each thread makes while
// the other one loads the shared memory system; 1024³ was 1.4 % slower on
// one thread, so it keeps 192; im2col's 3×3 layers (K = 1152…4608) were
// within noise either way (6 alternated runs, 1 and 2 threads). Second,
// when the last K block would be shorter than half a block, the blocks are
// cut about equal (multiples of 4): K = 256 as 128 + 128 rather than
// 192 + 64, whose second pass over C did a third of the first's work. On
// the Zen 5 guest, BenchmarkConv at one thread, 6 alternated runs, median
// %peak: res2-1x1a (K = 256, M = 64) 80.1 → 84.4, res3a-1x1a (M = 128)
// 81.6 → 85.7; res3a-proj (M = 512) 84.1 → 83.7, res5a-proj (K = 1024 as
// 6 × 172, M = 2048) 79.7 → 79.8 and 1024³ (8 runs, 90.6 → 90.8) within
// noise.
//
// # Extending
//
// A caller that already holds B packed (e.g. Winograd-domain tiles) can be
// served by a variant of Context.compute that skips the packB call: the
// microkernels only see one packed kc×nr micro-panel at a time (not
// implemented). Independent GEMMs run one per worker: a task of the
// context's Pool calls Context.Worker(worker).Gemm, a single-threaded
// Context on that worker's scratch (im2col's per-worker blocks). A caller
// that gives every worker its own copy of B splits M itself: worker w runs
// Context.Worker(w).GemmRows over PackedA.RowPart(w, workers) (im2col's
// strided gather for 1×1 stride-2 convolutions). One that gathers only
// some columns of B per worker calls Gemm on the columns of
// PackedA.ColPart(w, workers, n), cut on panel boundaries so that the bits
// are the whole product's (im2col's gather when the weights are small).
// GemmRowsK runs only some of A's K blocks (PackedA.KBlock deep), in
// order, so that a caller can fill B a K block at a time, each just before
// the pass that reads it.
package gemm
