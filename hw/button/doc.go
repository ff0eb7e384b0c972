// Package button turns a push button on a gpio.PinIn into debounced, typed events.
//
// A Dev waits for edges with gpio.PinIn.WaitForEdge and a bounded timeout (so it
// notices context cancellation within Opts.Poll), re-reads the level after every edge
// and every timeout (a missed edge cannot leave it stuck), and reports a level only
// after it has been stable for Opts.Debounce (default 20 ms).
//
// # Events
//
// Press and Release for every stable change; LongPress once per configured threshold
// while held (for example 3 s and 10 s for service actions); Click after a short
// press (delayed by the double-click window when one is configured); DoubleClick when
// a second short press starts within the window after the first release. A button
// already held when Run starts is reported as a Press with HeldAtStart set (its
// long-press thresholds count from the start); its release gives no Click.
//
// A Group merges several buttons (talk, mute, volume up/down, each optional) into one
// channel; hw/sim builds the same Group over simulated pins.
package button
