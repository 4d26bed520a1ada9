package kernels

import "github.com/resbench/resbench/kernels/internal/isa"

// vectorReorder reports whether the 8x8 transpose routine may run: nChw8c
// reorders then move 8 channels × 8 pixels per block instead of one float
// per strided scalar access (3x faster on the reorders the auto kernel's
// mixed plans insert).
func vectorReorder(b int) bool { return b == 8 && haveAsm && isa.Active() >= isa.AVX2 }

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
			done := 0 // pixels already reordered
			if vectorReorder(b) && (blk+1)*b <= s.C && plane >= 8 {
				// out[p*8+j] = in_j[p]: 8x8 blocks of (channel, pixel).
				in := src[(n*s.C+blk*b)*plane : (n*s.C+blk*b+b)*plane]
				done = plane &^ 7
				transpose8Asm(&in[0], &out[0], plane, 8, 8, 64, done/8)
			}
			for j := range b {
				c := blk*b + j
				if c >= s.C {
					for p := range plane {
						out[p*b+j] = 0
					}
					continue
				}
				in := src[(n*s.C+c)*plane : (n*s.C+c+1)*plane]
				for p := done; p < plane; p++ {
					out[p*b+j] = in[p]
				}
			}
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
			if vectorReorder(b) && (blk+1)*b <= s.C && plane >= 8 {
				done = plane &^ 7
				if j == 0 {
					// All 8 channels of the block at once (the inverse
					// 8x8 transposes); j = 1..7 then only do the tail.
					transpose8Asm(&in[0], &out[0], 8, 64, plane, 8, done/8)
				}
			}
			for p := done; p < plane; p++ {
				out[p] = in[p*b+j]
			}
		}
	}
}
