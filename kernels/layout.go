package kernels

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
			for j := range b {
				c := blk*b + j
				if c >= s.C {
					for p := range plane {
						out[p*b+j] = 0
					}
					continue
				}
				in := src[(n*s.C+c)*plane : (n*s.C+c+1)*plane]
				for p, v := range in {
					out[p*b+j] = v
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
			for p := range out {
				out[p] = in[p*b+j]
			}
		}
	}
}
