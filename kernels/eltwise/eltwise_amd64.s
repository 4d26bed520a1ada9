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
max3loop:
	VMOVUPS (SI), Y4
	VMAXPS (DX), Y4, Y4
	VMAXPS (BX), Y4, Y4
	VMOVUPS Y4, (DI)
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
