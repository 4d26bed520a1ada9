package kernels

import "github.com/resbench/resbench/kernels/internal/isa"

// vectorReorder reports whether the 8x8 transpose routine may run: blocked
// reorders then move 8 channels × 8 pixels per block instead of one float
// per strided scalar access (3x faster on the reorders the auto kernel's
// mixed plans insert). nChw16c blocks are two 8-channel halves.
func vectorReorder(b int) bool { return b%8 == 0 && haveAsm && isa.Active() >= isa.AVX2 }

// reorderChunk is how many pixels a partial channel block stages at a time:
// its channels' rows, zero rows for the padding channels, 8 × 64 floats on
// the stack (2 KiB, in L1).
const reorderChunk = 64

// ToBlocked reorders an NCHW tensor of shape s into the channel-blocked
// layout l (nChw8c or nChw16c); channels past s.C in the last block are
// zero. For NCHW it is a copy.
func ToBlocked(l Layout, s Shape, src, dst []float32) {
	b := l.Block()
	if b == 1 {
		copy(dst[:s.Elems()], src)
		return
	}
	plane := s.H * s.W
	cb := (s.C + b - 1) / b
	for n := range s.N {
		for blk := range cb {
			out := dst[(n*cb+blk)*plane*b : (n*cb+blk+1)*plane*b]
			chans := min(b, s.C-blk*b) // real channels in this block
			in := src[(n*s.C+blk*b)*plane : (n*s.C+blk*b+chans)*plane]
			done := 0 // pixels already reordered
			if vectorReorder(b) && plane >= 8 {
				done = plane &^ 7
				if chans == b {
					// out[p*b+j0+j] = in_{j0+j}[p]: 8x8 blocks of
					// (channel, pixel), per 8-channel half.
					for j0 := 0; j0 < b; j0 += 8 {
						transpose8Asm(&in[j0*plane], &out[j0], plane, 8, b, 8*b, done/8)
					}
				} else {
					toBlockedPartial(in, out, chans, b, plane, done)
				}
			}
			for j := range b {
				if j >= chans {
					for p := done; p < plane; p++ {
						out[p*b+j] = 0
					}
					continue
				}
				for p := done; p < plane; p++ {
					out[p*b+j] = in[j*plane+p]
				}
			}
		}
	}
}

// toBlockedPartial reorders the first done pixels (a multiple of 8) of a
// channel block with only chans < b real channels (the network input's 3
// channels): reorderChunk pixels at a time, the real channels are copied
// into an 8-row stage whose other rows are zero and transposed from there.
// One strided pass per lane over the whole block instead (the output, 3.2
// MB for 224×224 in nChw16c, more than L2) cost 4.3 ms per ResNet input on
// an AVX-512 Xeon.
func toBlockedPartial(in, out []float32, chans, b, plane, done int) {
	var stage [8 * reorderChunk]float32
	for j0 := 0; j0 < b; j0 += 8 {
		rows := max(0, min(8, chans-j0)) // real channels in this half
		if rows < 8 {
			clear(stage[rows*reorderChunk:])
		}
		for p0 := 0; p0 < done; p0 += reorderChunk {
			px := min(reorderChunk, done-p0)
			for j := range rows {
				copy(stage[j*reorderChunk:j*reorderChunk+px], in[(j0+j)*plane+p0:])
			}
			transpose8Asm(&stage[0], &out[p0*b+j0], reorderChunk, 8, b, 8*b, px/8)
		}
	}
}

// FromBlocked is the inverse of ToBlocked: it drops the padding channels.
func FromBlocked(l Layout, s Shape, src, dst []float32) {
	b := l.Block()
	if b == 1 {
		copy(dst[:s.Elems()], src)
		return
	}
	plane := s.H * s.W
	cb := (s.C + b - 1) / b
	for n := range s.N {
		for c := range s.C {
			blk, j := c/b, c%b
			in := src[(n*cb+blk)*plane*b:]
			out := dst[(n*s.C+c)*plane : (n*s.C+c+1)*plane]
			done := 0
			if vectorReorder(b) && blk*b+j/8*8+8 <= s.C && plane >= 8 {
				done = plane &^ 7
				if j%8 == 0 {
					// All 8 channels of the half block at once (the
					// inverse 8x8 transposes); the next 7 channels then
					// only do the tail.
					transpose8Asm(&in[j], &out[0], b, 8*b, plane, 8, done/8)
				}
			}
			for p := done; p < plane; p++ {
				out[p] = in[p*b+j]
			}
		}
	}
}
