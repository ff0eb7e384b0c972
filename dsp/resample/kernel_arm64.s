#include "textflag.h"

// func runNEON(dst *float32, n int, x *float32, h *float32, tp, p, l, si, sf int)
//
// Outputs are computed two at a time (j, j+1), each in four 4-lane FMLA accumulators
// (eight independent chains hide the FMLA latency); an odd last output is computed as the
// pair (j, j) and stored once, so every output is bit-identical however the outputs are
// paired. 16 taps per iteration, with an 8-tap block first when tp is an odd multiple of
// 8. The vector FADD/FADDP forms are not in the Go assembler, so they are spelled as
// WORDs (encodings checked with aarch64-linux-gnu-as).
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

pair:
	MUL  R5, R9, R10
	ADD  R3, R10, R10       // output j: row R10, window R11
	MOVD R2, R11
	ADD  R7, R2, R2         // advance to j+1
	ADD  R8, R5, R5
	CMP  R6, R5
	BLT  nc1
	SUB  R6, R5, R5
	ADD  $4, R2, R2

nc1:
	CMP  $1, R1
	BNE  two
	MOVD R10, R13           // odd last output: pair it with itself
	MOVD R11, R14
	B    setup

two:
	MUL  R5, R9, R13
	ADD  R3, R13, R13       // output j+1: row R13, window R14
	MOVD R2, R14
	ADD  R7, R2, R2         // advance to j+2
	ADD  R8, R5, R5
	CMP  R6, R5
	BLT  setup
	SUB  R6, R5, R5
	ADD  $4, R2, R2

setup:
	MOVD R4, R12            // taps left
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V20.B16, V20.B16, V20.B16
	VEOR V21.B16, V21.B16, V21.B16
	VEOR V22.B16, V22.B16, V22.B16
	VEOR V23.B16, V23.B16, V23.B16
	TBZ  $3, R12, loop
	VLD1.P 32(R10), [V4.S4, V5.S4]
	VLD1.P 32(R11), [V16.S4, V17.S4]
	VLD1.P 32(R13), [V6.S4, V7.S4]
	VLD1.P 32(R14), [V18.S4, V19.S4]
	VFMLA  V4.S4, V16.S4, V0.S4
	VFMLA  V5.S4, V17.S4, V1.S4
	VFMLA  V6.S4, V18.S4, V20.S4
	VFMLA  V7.S4, V19.S4, V21.S4
	SUBS   $8, R12, R12
	BEQ    reduce

loop:
	VLD1.P 64(R10), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R11), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R13), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R14), [V28.S4, V29.S4, V30.S4, V31.S4]
	VFMLA  V4.S4, V16.S4, V0.S4
	VFMLA  V5.S4, V17.S4, V1.S4
	VFMLA  V6.S4, V18.S4, V2.S4
	VFMLA  V7.S4, V19.S4, V3.S4
	VFMLA  V24.S4, V28.S4, V20.S4
	VFMLA  V25.S4, V29.S4, V21.S4
	VFMLA  V26.S4, V30.S4, V22.S4
	VFMLA  V27.S4, V31.S4, V23.S4
	SUBS   $16, R12, R12
	BNE    loop

reduce:
	WORD $0x4e21d400        // fadd  v0.4s, v0.4s, v1.4s
	WORD $0x4e23d442        // fadd  v2.4s, v2.4s, v3.4s
	WORD $0x4e22d400        // fadd  v0.4s, v0.4s, v2.4s
	WORD $0x6e20d400        // faddp v0.4s, v0.4s, v0.4s
	WORD $0x7e30d800        // faddp s0, v0.2s
	WORD $0x4e35d694        // fadd  v20.4s, v20.4s, v21.4s
	WORD $0x4e37d6d6        // fadd  v22.4s, v22.4s, v23.4s
	WORD $0x4e36d694        // fadd  v20.4s, v20.4s, v22.4s
	WORD $0x6e34d694        // faddp v20.4s, v20.4s, v20.4s
	WORD $0x7e30da94        // faddp s20, v20.2s
	FMOVS F0, (R0)
	CMP  $1, R1
	BEQ  done
	FMOVS F20, 4(R0)
	ADD  $8, R0, R0
	SUBS $2, R1, R1
	BNE  pair

done:
	RET
