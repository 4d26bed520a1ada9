//go:build !noasm

#include "textflag.h"

// func transpose8Asm(src, dst *float32, srcRow, srcStep, dstRow, dstStep, blocks int)
// For k < blocks, transposes the 8x8 block whose row i is the 8 floats at
// src + k*srcStep + i*srcRow into dst + k*dstStep + i*dstRow (strides in
// floats): the standard unpack / shuffle / 128-bit permute network.
TEXT ·transpose8Asm(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ srcRow+16(FP), R8
	SHLQ $2, R8
	MOVQ srcStep+24(FP), R9
	SHLQ $2, R9
	MOVQ dstRow+32(FP), R10
	SHLQ $2, R10
	MOVQ dstStep+40(FP), R11
	SHLQ $2, R11
	MOVQ blocks+48(FP), CX
	TESTQ CX, CX
	JLE tdone
tblock:
	MOVQ SI, AX
	VMOVUPS (AX), Y0
	ADDQ R8, AX
	VMOVUPS (AX), Y1
	ADDQ R8, AX
	VMOVUPS (AX), Y2
	ADDQ R8, AX
	VMOVUPS (AX), Y3
	ADDQ R8, AX
	VMOVUPS (AX), Y4
	ADDQ R8, AX
	VMOVUPS (AX), Y5
	ADDQ R8, AX
	VMOVUPS (AX), Y6
	ADDQ R8, AX
	VMOVUPS (AX), Y7
	// t = unpack pairs of rows: (0,1) (2,3) (4,5) (6,7)
	VUNPCKLPS Y1, Y0, Y8  // r0_0 r1_0 r0_1 r1_1 | r0_4 r1_4 r0_5 r1_5
	VUNPCKHPS Y1, Y0, Y9  // r0_2 r1_2 r0_3 r1_3 | r0_6 r1_6 r0_7 r1_7
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	// s = columns 0..3 of rows 0-3 and 4-7, per 128-bit lane
	VSHUFPS $0x44, Y10, Y8, Y0   // r0_0 r1_0 r2_0 r3_0 | r0_4 r1_4 r2_4 r3_4
	VSHUFPS $0xEE, Y10, Y8, Y1   // column 1 | 5
	VSHUFPS $0x44, Y11, Y9, Y2   // column 2 | 6
	VSHUFPS $0xEE, Y11, Y9, Y3   // column 3 | 7
	VSHUFPS $0x44, Y14, Y12, Y4  // rows 4-7: column 0 | 4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	// join rows 0-3 with rows 4-7: low lanes give columns 0-3, high 4-7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	MOVQ DI, AX
	VMOVUPS Y8, (AX)
	ADDQ R10, AX
	VMOVUPS Y9, (AX)
	ADDQ R10, AX
	VMOVUPS Y10, (AX)
	ADDQ R10, AX
	VMOVUPS Y11, (AX)
	ADDQ R10, AX
	VMOVUPS Y12, (AX)
	ADDQ R10, AX
	VMOVUPS Y13, (AX)
	ADDQ R10, AX
	VMOVUPS Y14, (AX)
	ADDQ R10, AX
	VMOVUPS Y15, (AX)
	ADDQ R9, SI
	ADDQ R11, DI
	DECQ CX
	JNZ tblock
tdone:
	VZEROUPPER
	RET
