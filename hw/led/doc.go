// Package led is the appliance's LED pattern engine.
//
// One engine (Dev.Run) shows the appliance State (Off, Idle, Connecting, Listening,
// Thinking, Speaking, Muted, Error with a blink code, NoKey, Offline) on one of three
// outputs: a single LED on a gpio.PinOut (NewGPIO), an RGB LED on three gpio.PinOut
// (NewRGB), or an APA102 ring over SPI such as the ReSpeaker 2/4/6-mic HATs
// (NewRing). A custom Output (hw/sim) receives whole frames.
//
// # Patterns
//
// Patterns are on, off, blink, blink code, pulse (breathing), spinner and level
// meter. GPIO lines have no hardware PWM under the character-device driver, so the
// engine dims single and RGB LEDs by software PWM (Opts.PWMFreq, default 100 Hz) and
// wakes only when a line must change; an APA102 ring dims in the chip and is written
// only when its frame changes.
//
// # Privacy
//
// SetMicLive(true) must be called exactly while uplink audio flows. The engine shows
// it at once and it overrides every state: a single LED is on solid, an RGB LED is
// solid green, a ring shows a green level meter. No state pattern uses steady full-on
// (single LED) or green (RGB, ring), so the indication means only that; on GPIO LEDs it
// ignores Opts.Brightness and stays steady full-on.
//
// # State → pattern
//
//	state       single LED             RGB LED                  ring
//	Off         off                    off                      off
//	Idle        dim 8 % glow (PWM)     dim white glow           dim white on every pixel
//	Connecting  blink 2 Hz             blue blink 2 Hz          blue spinner, 1 turn/s
//	Listening   blink 4 Hz             white blink 4 Hz         white spinner, 2 turns/s
//	Thinking    pulse, 1 s             cyan pulse, 1 s          cyan spinner, 1.5 turns/s
//	Speaking    pulse, 2 s             blue pulse, 2 s          blue level meter
//	Muted       dim 2 % glow (PWM)     red                      red on every pixel
//	Error       blink code             red blink code           red blink code
//	NoKey       slow blink 0.5 Hz      amber blink 0.5 Hz       amber pulse, 2 s
//	Offline     double flash every 2 s yellow double flash      yellow double flash
//	mic live    on solid               green solid              green level meter
//
// A blink code of n is n flashes (200 ms on, 300 ms off) then 1.5 s dark.
//
// The level meters read SetLevelFunc's function at every frame (the appliance gives
// appliance.Appliance.Level: the mic level while listening, the speaker's while
// speaking), or else the value of SetLevel.
package led
