// Package soak holds the appliance's soak (`make soak`, issue 13): the state machine, the
// real rtc session and the control socket against the local emulator for a long run of
// push-to-talk turns (SOAK_DURATION, default 1 h; `make soak-short` runs 3 min in CI),
// driven through the control API the way a remote trigger would, with a fault every
// 10th turn (call drop mid-turn, session expiry mid-turn, mint HTTP 500, SDP answer
// delayed 1.5 s). It checks that every turn is answered or its failure reported (a
// health or offline event), that the appliance is never stuck, that the process RSS
// stays within ±3 MB of its value after the first 10 turns and that the goroutine count
// stays flat, and prints a summary table. It has only a test, which skips unless
// EDGEVOICE_SOAK is set to the duration (build/soak.sh sets it).
package soak
