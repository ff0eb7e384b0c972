package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"
	"periph.io/x/host/v3/distro"
	"periph.io/x/host/v3/rpi"
)

// ErrNoGPIO is returned (wrapped) when the machine has no GPIO lines at all.
var ErrNoGPIO = errors.New("hw: this machine has no GPIO (no /dev/gpiochip* registered any pin); set [board] kind = \"sim\" in the config to use the simulated board")

// ErrPermission is returned (wrapped) when a GPIO or SPI device exists but the
// process may not open it. The message names the group to join.
var ErrPermission = errors.New("hw: permission denied")

// Board is the initialised host: its model and its registered pins and SPI ports.
type Board struct {
	model string
	sys   system
}

// system is what Board needs from the host; tests replace it.
type system struct {
	byName   func(string) gpio.PinIO
	all      func() []gpio.PinIO
	openSPI  func(string) (spi.PortCloser, error)
	spiNames func() []string
	glob     func(string) ([]string, error)
	open     func(string) error // opens and closes a device node read-write
}

func hostSystem() system {
	return system{
		byName:  gpioreg.ByName,
		all:     gpioreg.All,
		openSPI: spireg.Open,
		spiNames: func() []string {
			var names []string
			for _, r := range spireg.All() {
				names = append(names, r.Name)
			}
			return names
		},
		glob: filepath.Glob,
		open: func(p string) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			return f.Close()
		},
	}
}

// Open initialises the periph host drivers (host.Init) and returns the board. Driver
// failures that are not fatal (a bus absent on this model) are ignored; missing
// pins are reported by Pin.
func Open() (*Board, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("hw: host.Init: %w", err)
	}
	model := ""
	if rpi.Present() {
		model = "Raspberry Pi"
	}
	if m := strings.TrimSpace(strings.Trim(distro.DTModel(), "\x00")); m != "" && m != "<unknown>" && m != "unknown" {
		model = m
	}
	return &Board{model: model, sys: hostSystem()}, nil
}

// String describes the board ("Raspberry Pi 4 Model B Rev 1.4, 58 GPIO pins").
func (b *Board) String() string {
	m := b.model
	if m == "" {
		m = "unknown board"
	}
	return fmt.Sprintf("%s, %d GPIO pins", m, len(b.sys.all()))
}

// Model returns the board model from the device tree, or "" when unknown.
func (b *Board) Model() string { return b.model }

// Pins returns the names of every registered GPIO pin, sorted.
func (b *Board) Pins() []string {
	var names []string
	for _, p := range b.sys.all() {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	return names
}

// Pin looks a GPIO pin up by name ("GPIO17" or a line name). The error explains what
// to do: no GPIO at all, no permission, or which pins exist.
func (b *Board) Pin(name string) (gpio.PinIO, error) {
	if name == "" {
		return nil, errors.New("hw: empty pin name (use a name such as \"GPIO17\")")
	}
	if p := b.sys.byName(name); p != nil {
		return p, nil
	}
	pins := b.Pins()
	if len(pins) == 0 {
		chips, _ := b.sys.glob("/dev/gpiochip*")
		if len(chips) == 0 {
			return nil, fmt.Errorf("hw: pin %q: %w", name, ErrNoGPIO)
		}
		for _, c := range chips {
			if err := b.sys.open(c); errors.Is(err, fs.ErrPermission) {
				return nil, fmt.Errorf("hw: pin %q: open %s: %w: add the service user to the \"gpio\" group (usermod -aG gpio <user>) or run with access to %s", name, c, ErrPermission, c)
			}
		}
		return nil, fmt.Errorf("hw: pin %q: %w (the kernel has %s but no driver registered pins)", name, ErrNoGPIO, strings.Join(chips, ", "))
	}
	return nil, fmt.Errorf("hw: pin %q not found; pins that exist: %s", name, summarize(pins, 64))
}

// SPI opens an SPI port by name ("" for the first one, or "/dev/spidev0.0", "SPI0.0")
// for an APA102 LED ring. Close the port when done.
func (b *Board) SPI(name string) (spi.PortCloser, error) {
	p, err := b.sys.openSPI(name)
	if err == nil {
		return p, nil
	}
	devs, _ := b.sys.glob("/dev/spidev*")
	for _, d := range devs {
		if e := b.sys.open(d); errors.Is(e, fs.ErrPermission) {
			return nil, fmt.Errorf("hw: spireg.Open(%q): open %s: %w: add the service user to the \"spi\" group (usermod -aG spi <user>)", name, d, ErrPermission)
		}
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("hw: spireg.Open(%q): %w; no /dev/spidev* exists: enable SPI (dtparam=spi=on in /boot/firmware/config.txt) or set [board.led] kind to \"gpio\"/\"rgb\"", name, err)
	}
	return nil, fmt.Errorf("hw: spireg.Open(%q): %w; ports that exist: %s", name, err, strings.Join(b.sys.spiNames(), ", "))
}

// summarize joins names, eliding the middle of very long lists.
func summarize(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-max)
}
