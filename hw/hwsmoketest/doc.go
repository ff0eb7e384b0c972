// Package hwsmoketest is the on-device smoke test of the buttons and LEDs, in the
// style of periph's *smoketest packages. It needs real pins and a jumper, so it is
// run on the board (`edgevoice smoketest`), never by `go test`.
//
// # Wiring
//
// Put a jumper wire between two free GPIO pins: -out drives, -in is the button input
// (defaults GPIO27 → GPIO17, pins 13 and 11 of the 40-pin header; on a ReSpeaker 2-mic
// HAT, GPIO17 is also the on-board button, so press nothing while the test runs). The
// test checks, in order:
//
//  1. the pull-up and pull-down of -in with -out floating (an input),
//  2. rising and falling edges seen by WaitForEdge when -out toggles,
//  3. the debounced button over the real line: a clean press and release give exactly
//     one Press and one Release within the debounce time plus scheduling slack, and a
//     burst of 1 ms bounces still gives exactly one Press,
//  4. optionally (-led PIN, -rgb R,G,B or -spi PORT -pixels N) every LED state for
//     -show each, for a visual check, then Halt (all dark).
package hwsmoketest
