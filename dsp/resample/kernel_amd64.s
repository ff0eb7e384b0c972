#include "textflag.h"

// func runAVX2(dst *float32, n int, x *float32, h *float32, tp, p, l, si, sf int)
TEXT ·runAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ h+24(FP), R8
	MOVQ tp+32(FP), R9
	MOVQ p+40(FP), R10
	MOVQ l+48(FP), R11
	MOVQ si+56(FP), R12
	MOVQ sf+64(FP), R13
	MOVQ R9, R14
	SHLQ $2, R14            // row bytes
	SHLQ $2, R12            // si in bytes
	TESTQ CX, CX
	JEQ  done

outer:
	MOVQ  R10, AX
	IMULQ R14, AX
	LEAQ  (R8)(AX*1), BX    // row for phase p
	MOVQ  SI, DX            // window
	MOVQ  R9, AX            // taps left
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ AX, $32
	JLT  tail16
	VMOVUPS (BX), Y4
	VMOVUPS 32(BX), Y5
	VMOVUPS 64(BX), Y6
	VMOVUPS 96(BX), Y7
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS 32(DX), Y5, Y1
	VFMADD231PS 64(DX), Y6, Y2
	VFMADD231PS 96(DX), Y7, Y3
	ADDQ $128, BX
	ADDQ $128, DX
	SUBQ $32, AX
	JMP  loop32

tail16:
	TESTQ AX, AX
	JEQ   reduce
	VMOVUPS (BX), Y4
	VMOVUPS 32(BX), Y5
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS 32(DX), Y5, Y1

reduce:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI

	ADDQ R12, SI
	ADDQ R13, R10
	CMPQ R10, R11
	JLT  nocarry
	SUBQ R11, R10
	ADDQ $4, SI

nocarry:
	DECQ CX
	JNE  outer

done:
	VZEROUPPER
	RET
