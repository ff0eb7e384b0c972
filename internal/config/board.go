package config

import (
	"slices"
	"time"
)

// Board is the [board] section: the talk button and the other buttons, and the
// LEDs, on the GPIO pins of the board or on the simulated board.
type Board struct {
	// Hardware: "none" (the default: no buttons and no LEDs; drop in a board example
	// from /usr/share/doc/edgevoice/examples/boards/), "gpio" (buttons and LEDs on this
	// board's pins, through the GPIO character device), "sim" (the simulated board:
	// terminal keys stand for the buttons, the LEDs are drawn on a status line), or "auto"
	// ("gpio" when the machine has /dev/gpiochip*, else "sim"). `edgevoice pins` lists the
	// pins that exist.
	Kind string `toml:"kind"`
	// The push-to-talk button. The default is the button of the ReSpeaker 2-mic HAT.
	Talk Button `toml:"talk"`
	// The microphone mute button (optional: leave pin empty when there is none).
	Mute Button `toml:"mute"`
	// The volume up button (optional).
	VolumeUp Button `toml:"volume_up"`
	// The volume down button (optional).
	VolumeDown Button `toml:"volume_down"`
	// The status LEDs.
	LED LED `toml:"led"`
}

// Button is one button: a contact between a GPIO pin and ground (or the
// supply), debounced, with long-press and double-click detection.
type Button struct {
	// GPIO pin name ("GPIO17") or line name; "none" (or empty, except for talk): this
	// button does not exist.
	Pin string `toml:"pin"`
	// The button drives the line high when pressed (wired to 3.3 V with a pull-down).
	// false: it pulls the line low (wired to ground with a pull-up), the usual wiring.
	ActiveHigh bool `toml:"active_high"`
	// Bias resistor: "up", "down", "none" (an external resistor) or "keep" (leave the
	// board's setting).
	Pull string `toml:"pull"`
	// How long the level must be stable to count ("1ms" to "500ms").
	Debounce Duration `toml:"debounce"`
	// Hold times that each give one long-press event, ascending (service actions, such
	// as "3s" and "10s").
	LongPress []Duration `toml:"long_press"`
	// Window after a short press within which a second short press is a double click;
	// "0s" disables double clicks (a click is reported at once).
	DoubleClick Duration `toml:"double_click"`
}

// LED is the status LED output.
type LED struct {
	// Output: "apa102" (an APA102 ring on SPI, as on the ReSpeaker HATs), "gpio" (one
	// LED on pin), "rgb" (an RGB LED on pins, in the order red, green, blue) or "none".
	Kind string `toml:"kind"`
	// For "gpio": the LED's pin.
	Pin string `toml:"pin"`
	// For "rgb": the red, green and blue pins.
	Pins []string `toml:"pins"`
	// For "gpio" and "rgb": the LED lights when the pin is low (wired to 3.3 V).
	ActiveLow bool `toml:"active_low"`
	// For "apa102": the SPI port ("" = the first one, "/dev/spidev0.0", "SPI0.0").
	SPIPort string `toml:"spi_port"`
	// For "apa102": number of LEDs on the ring (ReSpeaker 2-mic: 3, 4-mic and 6-mic: 12).
	Pixels int `toml:"pixels"`
	// Brightness, above 0 and at most 1. An APA102 ring at full brightness draws a lot
	// of current; 0.3 to 0.5 is plenty indoors.
	Brightness float64 `toml:"brightness"`
	// Software PWM frequency in Hz for dimming "gpio" and "rgb" LEDs (50 to 1000).
	PWMHz int `toml:"pwm_hz"`
}

func (c *Board) setDefaults() {
	if c.Kind == "" {
		c.Kind = "none"
	}
	if c.Talk.Pin == "" {
		c.Talk.Pin = "GPIO17"
	}
	for _, b := range []*Button{&c.Talk, &c.Mute, &c.VolumeUp, &c.VolumeDown} {
		b.setDefaults()
	}
	l := &c.LED
	if l.Kind == "" {
		l.Kind = "apa102"
	}
	if l.Pins == nil {
		l.Pins = []string{} // as the file decodes "pins = []"
	}
	if l.Pixels == 0 {
		l.Pixels = 3
	}
	if l.Brightness == 0 {
		l.Brightness = 0.5
	}
	if l.PWMHz == 0 {
		l.PWMHz = 100
	}
}

func (b *Button) setDefaults() {
	if b.Pull == "" {
		if b.ActiveHigh {
			b.Pull = "down"
		} else {
			b.Pull = "up"
		}
	}
	if b.Debounce == 0 {
		b.Debounce = Duration(20 * time.Millisecond)
	}
	if b.LongPress == nil {
		b.LongPress = []Duration{Duration(3 * time.Second), Duration(10 * time.Second)}
	}
}

// NamedButton is a button with its key in [board].
type NamedButton struct {
	Name string
	*Button
}

// Buttons returns the four buttons with their names (the keys of the section).
func (c *Board) Buttons() []NamedButton {
	return []NamedButton{{"talk", &c.Talk}, {"mute", &c.Mute}, {"volume_up", &c.VolumeUp}, {"volume_down", &c.VolumeDown}}
}

func (c *Board) validate(p *sectionProblems) {
	switch c.Kind {
	case "none", "auto", "gpio", "sim":
	default:
		p.add("kind", "%q is not a board kind (use \"none\", \"auto\", \"gpio\" or \"sim\")", c.Kind)
	}
	used := map[string]string{} // pin -> key using it
	usePin := func(key, pin string) {
		if pin == "" || pin == "none" {
			return
		}
		if other, dup := used[pin]; dup {
			p.add(key, "pin %q is already used by %s", pin, other)
			return
		}
		used[pin] = key
	}
	for _, nb := range c.Buttons() {
		b := nb.Button
		usePin(nb.Name+".pin", b.Pin)
		switch b.Pull {
		case "up", "down", "none", "keep":
		default:
			p.add(nb.Name+".pull", "%q is not a pull (use \"up\", \"down\", \"none\" or \"keep\")", b.Pull)
		}
		if d := b.Debounce.D(); d < time.Millisecond || d > 500*time.Millisecond {
			p.add(nb.Name+".debounce", "%s is out of range (use \"1ms\" to \"500ms\"; 20ms suits most buttons)", d)
		}
		for i, lp := range b.LongPress {
			if lp.D() <= b.Debounce.D() || (i > 0 && lp <= b.LongPress[i-1]) || lp.D() > time.Hour {
				p.add(nb.Name+".long_press", "hold times must be ascending, longer than the debounce time and at most 1h (such as [\"3s\", \"10s\"])")
				break
			}
		}
		if d := b.DoubleClick.D(); d < 0 || d > 2*time.Second {
			p.add(nb.Name+".double_click", "%s is out of range (use \"0s\" to disable, up to \"2s\")", d)
		}
	}
	l := &c.LED
	switch l.Kind {
	case "none":
	case "gpio":
		if l.Pin == "" {
			p.add("led.pin", "kind \"gpio\" needs the LED's pin (such as \"GPIO27\")")
		}
		usePin("led.pin", l.Pin)
	case "rgb":
		if len(l.Pins) != 3 || slices.Contains(l.Pins, "") {
			p.add("led.pins", "kind \"rgb\" needs three pins: red, green, blue (such as [\"GPIO5\", \"GPIO6\", \"GPIO13\"])")
		}
		for _, p := range l.Pins {
			usePin("led.pins", p)
		}
	case "apa102":
		if l.Pixels < 1 || l.Pixels > 1024 {
			p.add("led.pixels", "%d is out of range (1 to 1024)", l.Pixels)
		}
	default:
		p.add("led.kind", "%q is not an LED output (use \"apa102\", \"gpio\", \"rgb\" or \"none\")", l.Kind)
	}
	if !(l.Brightness > 0 && l.Brightness <= 1) {
		p.add("led.brightness", "%g is out of range (above 0, at most 1)", l.Brightness)
	}
	if l.PWMHz < 50 || l.PWMHz > 1000 {
		p.add("led.pwm_hz", "%d is out of range (50 to 1000; 100 avoids visible flicker)", l.PWMHz)
	}
}
