#include "textflag.h"

// func runNEON(dst *float32, n int, x *float32, h *float32, tp, p, l, si, sf int)
//
// One output at a time: four 4-lane FMLA accumulators over 16 taps per iteration (an
// 8-tap block first when tp is an odd multiple of 8), then a
// fixed-order reduction. The vector FADD/FADDP forms are not in the Go assembler, so they
// are spelled as WORDs (encodings checked with aarch64-linux-gnu-as).
TEXT ·runNEON(SB), NOSPLIT, $0-72
	MOVD dst+0(FP), R0
	MOVD n+8(FP), R1
	MOVD x+16(FP), R2
	MOVD h+24(FP), R3
	MOVD tp+32(FP), R4
	MOVD p+40(FP), R5
	MOVD l+48(FP), R6
	MOVD si+56(FP), R7
	MOVD sf+64(FP), R8
	LSL  $2, R4, R9         // row bytes
	LSL  $2, R7, R7         // si in bytes
	CBZ  R1, done

outer:
	MUL  R5, R9, R10
	ADD  R3, R10, R10       // row for phase p
	MOVD R2, R11            // window
	MOVD R4, R12            // taps left
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	TBZ  $3, R12, loop      // tp = 16k+8: the first 8 taps go to V0, V1 alone
	VLD1.P 32(R10), [V4.S4, V5.S4]
	VLD1.P 32(R11), [V16.S4, V17.S4]
	VFMLA  V4.S4, V16.S4, V0.S4
	VFMLA  V5.S4, V17.S4, V1.S4
	SUBS   $8, R12, R12
	BEQ    reduce

loop:
	VLD1.P 64(R10), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R11), [V16.S4, V17.S4, V18.S4, V19.S4]
	VFMLA  V4.S4, V16.S4, V0.S4
	VFMLA  V5.S4, V17.S4, V1.S4
	VFMLA  V6.S4, V18.S4, V2.S4
	VFMLA  V7.S4, V19.S4, V3.S4
	SUBS   $16, R12, R12
	BNE    loop

reduce:
	WORD $0x4e21d400        // fadd  v0.4s, v0.4s, v1.4s
	WORD $0x4e23d442        // fadd  v2.4s, v2.4s, v3.4s
	WORD $0x4e22d400        // fadd  v0.4s, v0.4s, v2.4s
	WORD $0x6e20d400        // faddp v0.4s, v0.4s, v0.4s
	WORD $0x7e30d800        // faddp s0, v0.2s
	FMOVS F0, (R0)
	ADD  $4, R0, R0

	ADD  R7, R2, R2
	ADD  R8, R5, R5
	CMP  R6, R5
	BLT  nocarry
	SUB  R6, R5, R5
	ADD  $4, R2, R2

nocarry:
	SUBS $1, R1, R1
	BNE  outer

done:
	RET
