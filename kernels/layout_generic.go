//go:build noasm || !amd64

package kernels

import "unsafe"

const haveAsm = false

// transpose8Asm is the portable form of:
//
//	for k := range blocks {
//		for i := range 8 {
//			for j := range 8 {
//				dst[k*dstStep+j*dstRow+i] = src[k*srcStep+i*srcRow+j]
//			}
//		}
//	}
func transpose8Asm(src, dst *float32, srcRow, srcStep, dstRow, dstStep, blocks int) {
	at := func(p *float32, i int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*i)) }
	for k := range blocks {
		for i := range 8 {
			for j := range 8 {
				*at(dst, k*dstStep+j*dstRow+i) = *at(src, k*srcStep+i*srcRow+j)
			}
		}
	}
}
