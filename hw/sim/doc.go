// Package sim is the simulated board: the same button.Group and led.Dev the appliance
// uses on real hardware, over simulated pins and a recording LED output.
//
// For tests, Board.Press and Board.Release drive the button pins and Board.History
// returns every LED frame shown; Opts.Clock (a clockwork.FakeClock in tests) drives both
// the button debouncing (through Pin.WaitForEdge) and the LED engine, and Advance moves
// it step by step, letting them react at each step.
//
// For development on a laptop, Board.Terminal reads keys (space or t toggles the talk
// button, m taps mute, + and - tap volume up and down, q quits) and draws the LED
// state on one status line, in colour where the terminal supports it. MakeRaw puts a
// terminal into raw mode and returns the function that restores it.
package sim
