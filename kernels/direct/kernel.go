package direct

import (
	"strings"
	"unsafe"

	"github.com/resbench/resbench/kernels/internal/isa"
)

// Epilogue flag bits of the microkernels; keep in sync with
// internal/asmgen/main.go.
const (
	flagAccumulate = 1 << 0 // add the current dst values (earlier partial sums)
	flagBias       = 1 << 1 // add bias[j]
	flagResidual   = 1 << 2 // add res, laid out like dst
	flagReLU       = 1 << 3 // max(x, 0), NaN-propagating
	// Sliding kernels: skip the first pixel's kernel column 0 (src then
	// points at its column 1) or the last pixel's column nkw−1, which lie
	// in the zero padding (a border pixel computed in an interior strip).
	flagClipLeft  = 1 << 4
	flagClipRight = 1 << 5
	// A prefetch hint: strips prefetch the weights one chunk (nicb input
	// blocks) ahead into L2, every fourth line from line (phase + strip)
	// mod 4, phase in bits prefetchPhaseShift..+1. No effect on results.
	flagPrefetchNext   = 1 << 6
	prefetchPhaseShift = 7
)

// kernelFn is the signature of every microkernel (see the doc comment of
// any sconvDirect* routine for the reference loop). Strides are in floats.
type kernelFn func(src, wts, dst *float32, nstrips, nicb, nkh, nkw, pixStride, kwStride, khStride, icbStride, wkhStride, wicbStride, dstBlk int, bias, res *float32, flags int)

// family is a set of microkernels sharing one packed weight layout: strips
// of 1..pmax pixels × nvec vectors of vl lanes, icn input channels per
// block step. kern[p] computes strips of p pixels.
type family struct {
	vl, pmax, nvec, icn int
	// group > 0: lane j reads input channel i of its own group of
	// group channels (grouped convolutions with 4 or 8 channels per
	// group).
	group int
	// slide > 0: sliding-window kernels for interior strips of 3-column
	// kernels at stride slide (nkw = 3, kwStride = vl, pixStride =
	// slide·vl), which load each input column once for the up to three
	// pixels that read it.
	slide int
	name  string // name of the full-strip kernel
	kern  []kernelFn
}

func (f *family) t() int { return f.nvec * f.vl }

// maxRefAcc bounds p·T of the reference kernel (14 pixels × 32 lanes).
const maxRefAcc = 14 * 32

// genericFamilies are the pure-Go kernels of the Generic tier: the AVX2
// tile shapes (nChw8c) computed by refKernel.
var genericFamilies = refFamilies(familiesAVX2, "generic")

// refFamilies returns fams with every kernel replaced by refKernel for the
// same tile, named prefix + the tile part of the assembly name.
func refFamilies(fams []family, prefix string) []family {
	out := make([]family, len(fams))
	for i, f := range fams {
		isaName := f.name[strings.LastIndex(f.name, "AVX"):]
		g := family{vl: f.vl, pmax: f.pmax, nvec: f.nvec, icn: f.icn, group: f.group, slide: f.slide,
			name: prefix + f.name[len("sconvDirect"):len(f.name)-len(isaName)],
			kern: make([]kernelFn, f.pmax+1)}
		for p := 1; p <= f.pmax; p++ {
			T, vl, icn, grp := f.t(), f.vl, f.icn, f.group
			g.kern[p] = func(src, wts, dst *float32, nstrips, nicb, nkh, nkw, pixStride, kwStride, khStride, icbStride, wkhStride, wicbStride, dstBlk int, bias, res *float32, flags int) {
				refKernel(p, T, vl, icn, grp, src, wts, dst, nstrips, nicb, nkh, nkw, pixStride, kwStride, khStride, icbStride, wkhStride, wicbStride, dstBlk, bias, res, flags)
			}
		}
		out[i] = g
	}
	return out
}

// at returns &p[i] for a float32 pointer into a larger buffer.
func at(p *float32, i int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*i)) }

// refKernel is the pure-Go microkernel: the reference loop of the assembly
// routines for a tile of p pixels × T lanes (vl per vector) with icn input
// channels per block step (with group > 0, lane j reads channel i of its own
// group of group lanes, 4 or 8, instead of channel i of the block). It
// accumulates in the same order as the assembly (taps, then accumulate,
// bias, residual, ReLU); its multiply-adds are fused only where the compiler
// does so (GOAMD64=v3 and above).
func refKernel(p, T, vl, icn, group int, src, wts, dst *float32, nstrips, nicb, nkh, nkw, pixStride, kwStride, khStride, icbStride, wkhStride, wicbStride, dstBlk int, bias, res *float32, flags int) {
	if p*T > maxRefAcc {
		panic("direct: reference tile too large")
	}
	var buf [maxRefAcc]float32
	acc := buf[:p*T]
	taps := nicb > 0 && nkh > 0 && nkw > 0
	clipL, clipR := flags&flagClipLeft != 0, flags&flagClipRight != 0
	origin := 0 // src's offset from the first pixel's column 0
	if clipL {
		origin = -kwStride // that column is skipped, never read
	}
	for s := 0; s < nstrips; s++ {
		clear(acc)
		if taps {
			for b := 0; b < nicb; b++ {
				for kh := 0; kh < nkh; kh++ {
					for kw := 0; kw < nkw; kw++ {
						sp := origin + s*p*pixStride + b*icbStride + kh*khStride + kw*kwStride
						wp := b*wicbStride + kh*wkhStride + kw*icn*T
						// Pixels [q0, q1) take this tap: the clips drop
						// the first pixel's first column, the last one's
						// last.
						q0, q1 := 0, p
						if clipL && kw == 0 {
							q0 = 1
						}
						if clipR && kw == nkw-1 {
							q1 = p - 1
						}
						for i := 0; i < icn; i++ {
							w := unsafe.Slice(at(wts, wp+i*T), T)
							if group > 0 {
								for q := q0; q < q1; q++ {
									x := unsafe.Slice(at(src, sp+q*pixStride), vl)
									a := acc[q*T : q*T+T]
									for j := range a {
										a[j] += x[j%vl/group*group+i] * w[j]
									}
								}
								continue
							}
							for q := q0; q < q1; q++ {
								x := *at(src, sp+q*pixStride+i)
								a := acc[q*T : q*T+T]
								a = a[:len(w)]
								for j, wv := range w {
									a[j] += x * wv
								}
							}
						}
					}
				}
			}
		}
		for q := 0; q < p; q++ {
			for j := 0; j < T; j++ {
				o := j/vl*dstBlk + (s*p+q)*vl + j%vl
				v := acc[q*T+j]
				if flags&flagAccumulate != 0 {
					v += *at(dst, o)
				}
				if flags&flagBias != 0 {
					v += *at(bias, j)
				}
				if flags&flagResidual != 0 {
					v += *at(res, o)
				}
				if flags&flagReLU != 0 && v < 0 { // NaN stays NaN
					v = 0
				}
				*at(dst, o) = v
			}
		}
	}
}

// tierFamilies returns the microkernel families of ISA tier t.
func tierFamilies(t isa.Tier) []family {
	switch t {
	case isa.AVX512:
		return familiesAVX512
	case isa.AVX2:
		return familiesAVX2
	}
	return genericFamilies
}
