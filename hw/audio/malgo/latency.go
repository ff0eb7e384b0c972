package malgo

import (
	"fmt"
	"strings"
	"sync"

	"github.com/edgevoice/edgevoice/hw/audio"
)

// negotiated collects what miniaudio says a device negotiated. malgo's Device does not
// expose ma_device's internal sample rate, period size and period count, but
// ma_device_init logs them at info level ("Sample Rate: 48000 -> 16000", "Buffer Size:
// 480*3 (1440)") through the context's log, on the goroutine that opens the device.
// The log callback is set only around InitDevice (see Open): nothing is collected, and
// nothing runs in Go, on the audio thread.
type negotiated struct {
	mu      sync.Mutex
	dir     audio.Direction
	section bool // inside the "<name> (Capture)" or "(Playback)" block of dir
	lat     audio.Latency
}

// log takes one line of miniaudio's log.
func (n *negotiated) log(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	line := strings.TrimSpace(msg)
	switch {
	case strings.HasSuffix(line, "(Capture)"):
		n.section = n.dir == audio.DirCapture
	case strings.HasSuffix(line, "(Playback)"):
		n.section = n.dir == audio.DirPlayback
	case !n.section:
	case strings.HasPrefix(line, "Sample Rate:"):
		// capture logs "device -> client", playback "client -> device"
		var a, b int
		if _, err := fmt.Sscanf(line, "Sample Rate: %d -> %d", &a, &b); err == nil {
			n.lat.Rate = a
			if n.dir == audio.DirPlayback {
				n.lat.Rate = b
			}
		}
	case strings.HasPrefix(line, "Buffer Size:"):
		var p, k int
		if _, err := fmt.Sscanf(line, "Buffer Size: %d*%d", &p, &k); err == nil {
			n.lat.PeriodFrames, n.lat.Periods = p, k
		}
	}
}

// result is the collected Latency, or a zero one saying why not.
func (n *negotiated) result() audio.Latency {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.lat.Known() {
		return audio.Latency{Reason: "miniaudio did not log the device's buffer size and rate"}
	}
	return n.lat
}
