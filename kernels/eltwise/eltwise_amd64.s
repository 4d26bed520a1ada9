//go:build !noasm

#include "textflag.h"

// func scaleShiftAsm(x, y *float32, n int, a, b float32, relu bool)
TEXT ·scaleShiftAsm(SB), NOSPLIT, $0-33
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y0
	VBROADCASTSS b+28(FP), Y1
	VXORPS Y2, Y2, Y2
	MOVBLZX relu+32(FP), AX
	TESTQ AX, AX
	JNZ ssrelu
ssloop:
	VMOVUPS (SI), Y3
	VMOVAPS Y1, Y4
	VFMADD231PS Y0, Y3, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ ssloop
	VZEROUPPER
	RET
ssrelu:
	VMOVUPS (SI), Y3
	VMOVAPS Y1, Y4
	VFMADD231PS Y0, Y3, Y4
	VMAXPS Y4, Y2, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ ssrelu
	VZEROUPPER
	RET

// func scaleAddAsm(x, r, y *float32, n int, a float32, relu bool)
TEXT ·scaleAddAsm(SB), NOSPLIT, $0-37
	MOVQ x+0(FP), SI
	MOVQ r+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Y0
	VXORPS Y2, Y2, Y2
	MOVBLZX relu+36(FP), AX
	TESTQ AX, AX
	JNZ sarelu
saloop:
	VMOVUPS (DX), Y4
	VFMADD231PS (SI), Y0, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ saloop
	VZEROUPPER
	RET
sarelu:
	VMOVUPS (DX), Y4
	VFMADD231PS (SI), Y0, Y4
	VMAXPS Y4, Y2, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sarelu
	VZEROUPPER
	RET

// func addAsm(x, y, z *float32, n int, relu bool)
TEXT ·addAsm(SB), NOSPLIT, $0-33
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DX
	MOVQ z+16(FP), DI
	MOVQ n+24(FP), CX
	VXORPS Y2, Y2, Y2
	MOVBLZX relu+32(FP), AX
	TESTQ AX, AX
	JNZ addrelu
addloop:
	VMOVUPS (SI), Y4
	VADDPS (DX), Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ addloop
	VZEROUPPER
	RET
addrelu:
	VMOVUPS (SI), Y4
	VADDPS (DX), Y4, Y4
	VMAXPS Y4, Y2, Y4
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ addrelu
	VZEROUPPER
	RET

// func max3Asm(a, b, c, m *float32, n int)
TEXT ·max3Asm(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ c+16(FP), BX
	MOVQ m+24(FP), DI
	MOVQ n+32(FP), CX
	// MAXPS returns its second source when either input is NaN, so one
	// VMAXPS per input would drop a NaN of a or b. max(b, a) and then
	// max(c, ·) keep a's; where b or c is NaN (unordered) the result is
	// b+c, which is NaN there, as Go's max gives.
max3loop:
	VMOVUPS (SI), Y4
	VMOVUPS (DX), Y5
	VMOVUPS (BX), Y6
	VMAXPS Y4, Y5, Y7
	VMAXPS Y7, Y6, Y7
	VCMPPS $3, Y6, Y5, Y8
	VADDPS Y6, Y5, Y9
	VBLENDVPS Y8, Y9, Y7, Y7
	VMOVUPS Y7, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ max3loop
	VZEROUPPER
	RET

// func sumAsm(x *float32, n int) float32
TEXT ·sumAsm(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
sumloop:
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ sumloop
	// Reduce the 8 lanes as ((0+4)+(2+6)) + ((1+5)+(3+7)), the order the
	// generic twin uses.
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// Blocked forms. b = 8: one ymm of scale (Y0) and shift (Y1) per step of 8;
// b = 16: two of each (Y0,Y2 / Y1,Y3), steps of 16. Both loops are written
// out so the inner loop has no branch on b.

// func scaleShiftBlockedAsm(x, y *float32, n int, scale, shift *float32, b int, relu bool)
TEXT ·scaleShiftBlockedAsm(SB), NOSPLIT, $0-49
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ scale+24(FP), AX
	MOVQ shift+32(FP), DX
	MOVQ b+40(FP), BX
	MOVBLZX relu+48(FP), R8
	VXORPS Y7, Y7, Y7
	VMOVUPS (AX), Y0
	VMOVUPS (DX), Y1
	CMPQ BX, $16
	JEQ ssb16
ssb8:
	VMOVAPS Y1, Y4
	VFMADD231PS (SI), Y0, Y4
	TESTQ R8, R8
	JZ ssb8store
	VMAXPS Y4, Y7, Y4
ssb8store:
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ ssb8
	VZEROUPPER
	RET
ssb16:
	VMOVUPS 32(AX), Y2
	VMOVUPS 32(DX), Y3
ssb16loop:
	VMOVAPS Y1, Y4
	VFMADD231PS (SI), Y0, Y4
	VMOVAPS Y3, Y5
	VFMADD231PS 32(SI), Y2, Y5
	TESTQ R8, R8
	JZ ssb16store
	VMAXPS Y4, Y7, Y4
	VMAXPS Y5, Y7, Y5
ssb16store:
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ ssb16loop
	VZEROUPPER
	RET

// func scaleAddBlockedAsm(x, r, y *float32, n int, scale *float32, b int, relu bool)
TEXT ·scaleAddBlockedAsm(SB), NOSPLIT, $0-49
	MOVQ x+0(FP), SI
	MOVQ r+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ scale+32(FP), AX
	MOVQ b+40(FP), BX
	MOVBLZX relu+48(FP), R8
	VXORPS Y7, Y7, Y7
	VMOVUPS (AX), Y0
	CMPQ BX, $16
	JEQ sab16
sab8:
	VMOVUPS (DX), Y4
	VFMADD231PS (SI), Y0, Y4
	TESTQ R8, R8
	JZ sab8store
	VMAXPS Y4, Y7, Y4
sab8store:
	VMOVUPS Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sab8
	VZEROUPPER
	RET
sab16:
	VMOVUPS 32(AX), Y2
sab16loop:
	VMOVUPS (DX), Y4
	VFMADD231PS (SI), Y0, Y4
	VMOVUPS 32(DX), Y5
	VFMADD231PS 32(SI), Y2, Y5
	TESTQ R8, R8
	JZ sab16store
	VMAXPS Y4, Y7, Y4
	VMAXPS Y5, Y7, Y5
sab16store:
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ sab16loop
	VZEROUPPER
	RET

// func sumBlockedAsm(x *float32, n int, sum *float32, b int)
TEXT ·sumBlockedAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ sum+16(FP), DI
	MOVQ b+24(FP), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	CMPQ BX, $16
	JEQ sum16
sum8:
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ sum8
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET
sum16:
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $16, CX
	JNZ sum16
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VZEROUPPER
	RET

// func dotAsm(x, y *float32, n int) float32
TEXT ·dotAsm(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
dotloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ dotloop
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func subsample2Asm(src, dst *float32, rows, cols, vcols, ld, ldd, ahead int)
// For each of rows rows: dst[c] = src[2c] for c < cols, the first vcols (a
// multiple of 8) with vectors, the rest one by one; then src += ld, dst +=
// ldd. Each 8 outputs take two loads, an in-lane shuffle of the even
// elements and a cross-lane fix-up; each 64-byte source line read
// prefetches the line ahead floats further (Subsample2: 16 rows), since
// rows of a small plane are too short for the hardware prefetchers to ramp
// up on. 4 rows (~40 ns of work) was too close for an input coming from L3
// or memory: in ResNet-50's res3a projection (im2col) the subsample took
// 12.5-16.9% of the profile with 4 rows, 9.4-11.7% with 16; 32 rows
// measured no better, per plane or over all planes in one sweep.
TEXT ·subsample2Asm(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ rows+16(FP), DX
	MOVQ cols+24(FP), R12
	MOVQ vcols+32(FP), R8
	SUBQ R8, R12       // scalar tail per row
	MOVQ ld+40(FP), R9
	SHLQ $2, R9        // ld in bytes
	MOVQ ahead+56(FP), R10
	SHLQ $2, R10       // prefetch distance in bytes
	MOVQ ldd+48(FP), R11
	SHLQ $2, R11       // ldd in bytes
	TESTQ DX, DX
	JLE ssdone
ssrow:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R8, CX
	TESTQ CX, CX
	JZ sstail
sscol:
	PREFETCHT0 (AX)(R10*1)
	VMOVUPS (AX), Y0           // s0..s7
	VMOVUPS 32(AX), Y1         // s8..s15
	VSHUFPS $0x88, Y1, Y0, Y2  // s0 s2 s8 s10 | s4 s6 s12 s14
	VPERMPD $0xD8, Y2, Y2      // s0 s2 s4 s6 s8 s10 s12 s14
	VMOVUPS Y2, (BX)
	ADDQ $64, AX
	ADDQ $32, BX
	SUBQ $8, CX
	JNZ sscol
sstail:
	MOVQ R12, CX
	TESTQ CX, CX
	JZ ssnext
ssone:
	VMOVSS (AX), X0
	VMOVSS X0, (BX)
	ADDQ $8, AX
	ADDQ $4, BX
	DECQ CX
	JNZ ssone
ssnext:
	ADDQ R9, SI
	ADDQ R11, DI
	DECQ DX
	JNZ ssrow
ssdone:
	VZEROUPPER
	RET

// func subsamplePixelsAsm(src, dst *float32, rows, cols, b, step, ld, pfd int)
// For each of rows rows, cols pixels of b floats (b/8 ymm each), step floats
// apart in src, packed in dst; each pixel's first source line also
// prefetches the line pfd floats ahead.
TEXT ·subsamplePixelsAsm(SB), NOSPLIT, $0-64
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ rows+16(FP), DX
	MOVQ b+32(FP), R8
	SHRQ $3, R8        // vectors per pixel
	MOVQ step+40(FP), R9
	SHLQ $2, R9        // step in bytes
	MOVQ ld+48(FP), R10
	SHLQ $2, R10       // ld in bytes
	MOVQ pfd+56(FP), R11
	SHLQ $2, R11       // prefetch distance in bytes
	TESTQ DX, DX
	JLE sprdone
sprow:
	MOVQ SI, AX
	MOVQ cols+24(FP), CX
sppix:
	PREFETCHT0 (AX)(R11*1)
	MOVQ AX, BX
	MOVQ R8, R12
spvec:
	VMOVUPS (BX), Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ R12
	JNZ spvec
	ADDQ R9, AX
	DECQ CX
	JNZ sppix
	ADDQ R10, SI
	DECQ DX
	JNZ sprow
sprdone:
	VZEROUPPER
	RET
