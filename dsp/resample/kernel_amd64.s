#include "textflag.h"

// func runAVX2(dst *float32, n int, x *float32, h *float32, tp, p, l, si, sf int)
//
// Outputs are computed two at a time (j, j+1); an odd last one is computed as the pair
// (j, j) and stored once. Each output accumulates taps in two 8-lane sums (even and odd
// 8-tap blocks) and is reduced in a fixed order, so every output is bit-identical however
// the outputs are paired (which depends on how the input was chunked).
// The inner loop has three variants: both outputs on the same window (upsampling), the
// same coefficient row (integer decimation), or neither.
TEXT ·runAVX2(SB), NOSPLIT, $0-72
	MOVQ dst+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ h+24(FP), R8
	MOVQ tp+32(FP), R14
	MOVQ p+40(FP), R10
	MOVQ l+48(FP), R11
	MOVQ si+56(FP), R12
	MOVQ sf+64(FP), R13
	SHLQ $2, R14            // row bytes (multiple of 32)
	SHLQ $2, R12            // si in bytes
	TESTQ CX, CX
	JEQ  done

pair:
	// output j: row BX, window DX
	MOVQ  R10, AX
	IMULQ R14, AX
	LEAQ  (R8)(AX*1), BX
	MOVQ  SI, DX
	// advance to j+1
	ADDQ R12, SI
	ADDQ R13, R10
	CMPQ R10, R11
	JLT  nc1
	SUBQ R11, R10
	ADDQ $4, SI
nc1:
	CMPQ CX, $1
	JNE  two
	MOVQ BX, R15            // odd last output: pair it with itself
	MOVQ DX, R9
	JMP  setup
two:
	MOVQ  R10, AX
	IMULQ R14, AX
	LEAQ  (R8)(AX*1), R15
	MOVQ  SI, R9
	// advance to j+2
	ADDQ R12, SI
	ADDQ R13, R10
	CMPQ R10, R11
	JLT  setup
	SUBQ R11, R10
	ADDQ $4, SI

setup:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX
	CMPQ   DX, R9
	JEQ    samew0
	CMPQ   BX, R15
	JEQ    samer0

	// tp = 16k+8: the first 8 taps go to the even accumulators alone
	TESTQ $32, R14
	JEQ   gen
	VMOVUPS (BX), Y4
	VMOVUPS (R15), Y6
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS (R9), Y6, Y2
	MOVQ $32, AX
	CMPQ AX, R14
	JEQ  reduce

gen:
	VMOVUPS (BX)(AX*1), Y4
	VMOVUPS 32(BX)(AX*1), Y5
	VMOVUPS (R15)(AX*1), Y6
	VMOVUPS 32(R15)(AX*1), Y7
	VFMADD231PS (DX)(AX*1), Y4, Y0
	VFMADD231PS 32(DX)(AX*1), Y5, Y1
	VFMADD231PS (R9)(AX*1), Y6, Y2
	VFMADD231PS 32(R9)(AX*1), Y7, Y3
	ADDQ $64, AX
	CMPQ AX, R14
	JLT  gen
	JMP  reduce

samew0:
	TESTQ $32, R14
	JEQ   samew
	VMOVUPS (DX), Y4
	VFMADD231PS (BX), Y4, Y0
	VFMADD231PS (R15), Y4, Y2
	MOVQ $32, AX
	CMPQ AX, R14
	JEQ  reduce

samew:
	VMOVUPS (DX)(AX*1), Y4
	VMOVUPS 32(DX)(AX*1), Y5
	VFMADD231PS (BX)(AX*1), Y4, Y0
	VFMADD231PS 32(BX)(AX*1), Y5, Y1
	VFMADD231PS (R15)(AX*1), Y4, Y2
	VFMADD231PS 32(R15)(AX*1), Y5, Y3
	ADDQ $64, AX
	CMPQ AX, R14
	JLT  samew
	JMP  reduce

samer0:
	TESTQ $32, R14
	JEQ   samer
	VMOVUPS (BX), Y4
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS (R9), Y4, Y2
	MOVQ $32, AX
	CMPQ AX, R14
	JEQ  reduce

samer:
	VMOVUPS (BX)(AX*1), Y4
	VMOVUPS 32(BX)(AX*1), Y5
	VFMADD231PS (DX)(AX*1), Y4, Y0
	VFMADD231PS 32(DX)(AX*1), Y5, Y1
	VFMADD231PS (R9)(AX*1), Y4, Y2
	VFMADD231PS 32(R9)(AX*1), Y5, Y3
	ADDQ $64, AX
	CMPQ AX, R14
	JLT  samer

reduce:
	VADDPS  Y1, Y0, Y0
	VADDPS  Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0       // [a01 a23 b01 b23 | a45 a67 b45 b67]
	VEXTRACTF128 $1, Y0, X1
	VADDPS  X1, X0, X0       // [a0145 a2367 b0145 b2367]
	VHADDPS X0, X0, X0       // [a b a b]
	CMPQ CX, $1
	JEQ  last
	VMOVSD X0, (DI)
	ADDQ $8, DI
	SUBQ $2, CX
	JNE  pair
	JMP  done

last:
	VMOVSS X0, (DI)

done:
	VZEROUPPER
	RET
