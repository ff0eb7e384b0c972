package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgevoice/edgevoice/hw/led"
)

// Note queues a line for Terminal to print above the status line (dropped when the
// queue is full or no terminal runs).
func (b *Board) Note(line string) {
	select {
	case b.notes <- line:
	default:
	}
}

// Help is the key map Terminal understands.
const Help = "keys: space/t = talk press/release, m = mute, + / - = volume up/down, q = quit"

// Terminal reads keys from in and draws the LED status line on out until ctx is
// done, q/Ctrl-C/Ctrl-D is read, or in ends (returning nil); a read error is
// returned. Space or t toggles the talk button; m, + and - tap mute, volume up and
// volume down. color selects 24-bit ANSI colours. A reader that blocks forever (a
// terminal not in MakeRaw mode) keeps Terminal from returning until its next byte.
func (b *Board) Terminal(ctx context.Context, in io.Reader, out io.Writer, color bool) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	keys := make(chan byte, 64)
	readErr := make(chan error, 1)
	wg.Go(func() {
		var buf [64]byte
		for ctx.Err() == nil {
			n, err := in.Read(buf[:])
			for _, c := range buf[:n] {
				select {
				case keys <- c:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	})

	var taps []tap
	tick := b.clock.NewTimer(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	draw := func(force bool) {
		r := b.rec.Last()
		if r.Pixels == nil {
			r.Pixels = make([]led.Color, b.rec.N)
		}
		s := statusLine(r, b.leds, color)
		if s != last || force {
			fmt.Fprintf(out, "\r\x1b[2K%s", s)
			last = s
		}
	}
	fmt.Fprintf(out, "%s\r\n", Help)
	draw(true)
	var eof bool
	for {
		if eof && len(taps) == 0 {
			fmt.Fprint(out, "\r\n")
			return nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprint(out, "\r\n")
			return nil
		case err := <-readErr:
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("sim: reading keys: %w", err)
			}
			eof = true
			// Let the keys already read be handled first.
			for len(keys) > 0 {
				if quit := b.key(<-keys, &taps, out); quit {
					fmt.Fprint(out, "\r\n")
					return nil
				}
			}
		case c := <-keys:
			if b.key(c, &taps, out) {
				fmt.Fprint(out, "\r\n")
				return nil
			}
			draw(false)
		case line := <-b.notes:
			fmt.Fprintf(out, "\r\x1b[2K%s\r\n", line)
			draw(true)
		case <-b.rec.Changed():
			draw(false)
		case <-tick.Chan():
			now := b.clock.Now()
			for len(taps) > 0 && !taps[0].at.After(now) {
				_ = b.Release(taps[0].name)
				taps = taps[1:]
			}
			tick.Reset(20 * time.Millisecond)
			draw(false)
		}
	}
}

// key handles one key and reports whether it asks to quit.
// tap is a button press to release at a time.
type tap struct {
	name string
	at   time.Time
}

func (b *Board) key(c byte, taps *[]tap, out io.Writer) bool {
	var name string
	switch c {
	case 'q', 'Q', 3, 4: // Ctrl-C and Ctrl-D arrive as bytes in raw mode
		return true
	case ' ', 't', 'T':
		if _, err := b.ToggleTalk(); err != nil {
			fmt.Fprintf(out, "\r\x1b[2K%v\r\n", err)
		}
		return false
	case 'm', 'M':
		name = Mute
	case '+', '=':
		name = VolumeUp
	case '-', '_':
		name = VolumeDown
	default:
		return false
	}
	if err := b.Press(name); err != nil {
		fmt.Fprintf(out, "\r\x1b[2K%v\r\n", err)
		return false
	}
	*taps = append(*taps, tap{name, b.clock.Now().Add(b.tapWait)})
	return false
}

// statusLine draws the newest LED frame: state, mic indication and the pixels.
func statusLine(r Record, d *led.Dev, color bool) string {
	st, code, mic := d.State()
	var sb strings.Builder
	sb.WriteString("LED ")
	sb.WriteString(st.String())
	if st == led.Error {
		fmt.Fprintf(&sb, " %d", code)
	}
	if mic {
		if color {
			sb.WriteString(" \x1b[1;32mMIC LIVE\x1b[0m")
		} else {
			sb.WriteString(" MIC LIVE")
		}
	}
	sb.WriteString("  [")
	const ramp = " .:-=+*#%@"
	for _, p := range r.Pixels {
		if color {
			if p == (led.Color{}) {
				sb.WriteString("\x1b[2m·\x1b[0m")
			} else {
				fmt.Fprintf(&sb, "\x1b[38;2;%d;%d;%dm●\x1b[0m", p.R, p.G, p.B)
			}
			continue
		}
		m := max(p.R, p.G, p.B)
		sb.WriteByte(ramp[(int(m)*(len(ramp)-1)+254)/255]) // any light shows
	}
	sb.WriteString("]")
	return sb.String()
}

// MakeRaw puts the terminal on fd into raw mode (no echo, no line buffering, reads
// return after at most 100 ms even without input) and returns a reader of its keys
// and the function that restores the previous mode; call it on every exit path.
func MakeRaw(fd int) (io.Reader, func() error, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: not a terminal: IoctlGetTermios: %w", err)
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 0
	raw.Cc[unix.VTIME] = 1
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, nil, fmt.Errorf("sim: IoctlSetTermios: %w", err)
	}
	restore := func() error {
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, old); err != nil {
			return fmt.Errorf("sim: restoring the terminal: %w", err)
		}
		return nil
	}
	return ttyReader(fd), restore, nil
}

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// ttyReader reads a raw terminal; a read that times out returns 0, nil.
type ttyReader int

func (t ttyReader) Read(p []byte) (int, error) {
	n, err := unix.Read(int(t), p)
	if err == unix.EINTR || err == unix.EAGAIN {
		return 0, nil
	}
	if n < 0 {
		n = 0
	}
	return n, err
}
