//go:build !noasm

package kernels

const haveAsm = true

// transpose8Asm is the AVX2 form of:
//
//	for k := range blocks {
//		for i := range 8 {
//			for j := range 8 {
//				dst[k*dstStep+j*dstRow+i] = src[k*srcStep+i*srcRow+j]
//			}
//		}
//	}
//
//go:noescape
func transpose8Asm(src, dst *float32, srcRow, srcStep, dstRow, dstStep, blocks int)
