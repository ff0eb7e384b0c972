package audio

import (
	"fmt"
	"slices"
	"strings"
)

// Backend is the audio system devices are opened through.
type Backend int

// Backends. Auto picks PulseAudio (which PipeWire also serves) when a server answers,
// else ALSA.
const (
	BackendAuto Backend = iota
	BackendALSA
	BackendPulse
	BackendNull // miniaudio's paced silent device (tests, machines without sound)
)

var backendNames = [...]string{"auto", "alsa", "pulse", "null"}

func (b Backend) String() string {
	if b < 0 || int(b) >= len(backendNames) {
		return fmt.Sprintf("Backend(%d)", int(b))
	}
	return backendNames[b]
}

// ParseBackend accepts "auto", "alsa", "pulse" (or "pulseaudio", "pipewire"), "null".
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return BackendAuto, nil
	case "alsa":
		return BackendALSA, nil
	case "pulse", "pulseaudio", "pipewire":
		return BackendPulse, nil
	case "null":
		return BackendNull, nil
	}
	return BackendAuto, fmt.Errorf("audio: unknown backend %q (use auto, alsa, pulse or null)", s)
}

// Direction says whether a device records or plays.
type Direction int

// Directions.
const (
	DirCapture Direction = iota + 1
	DirPlayback
)

func (d Direction) String() string {
	switch d {
	case DirCapture:
		return "capture"
	case DirPlayback:
		return "playback"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// NativeFormat is one format a device reports it can run natively. Zero fields mean
// "any" (ALSA plug devices convert everything).
type NativeFormat struct {
	Sample   string // "s16", "s32", "f32", "u8", "s24" or "any"
	Channels int
	Rate     int
}

func (f NativeFormat) String() string {
	ch, rate := "any ch", "any rate"
	if f.Channels > 0 {
		ch = fmt.Sprintf("%d ch", f.Channels)
	}
	if f.Rate > 0 {
		rate = fmt.Sprintf("%d Hz", f.Rate)
	}
	return fmt.Sprintf("%s %s %s", f.Sample, ch, rate)
}

// DeviceInfo describes one device.
type DeviceInfo struct {
	Direction Direction
	Backend   Backend
	Name      string // human readable description
	ID        string // the backend's id: an ALSA PCM name such as "hw:CARD=Array,DEV=0" or "default"
	Default   bool
	Formats   []NativeFormat // empty when the device could not be probed
}

func (d DeviceInfo) String() string {
	if d.Name == "" {
		return fmt.Sprintf("%q", d.ID)
	}
	if d.Name == d.ID || d.ID == "" {
		return fmt.Sprintf("%q", d.Name)
	}
	return fmt.Sprintf("%q (%s)", d.Name, d.ID)
}

// SummarizeFormats condenses a device's native formats into one line, such as
// "s16 s32 f32, 2 ch, 16000 48000 Hz" or "s16 s32, any ch, 8000..384000 Hz (14 rates)".
func SummarizeFormats(fs []NativeFormat) string {
	if len(fs) == 0 {
		return "not reported"
	}
	var samples []string
	seenS := map[string]bool{}
	chMin, chMax, anyCh := 0, 0, false
	rates := map[int]bool{}
	anyRate := false
	for _, f := range fs {
		if !seenS[f.Sample] {
			seenS[f.Sample] = true
			samples = append(samples, f.Sample)
		}
		if f.Channels == 0 {
			anyCh = true
		} else {
			if chMin == 0 || f.Channels < chMin {
				chMin = f.Channels
			}
			chMax = max(chMax, f.Channels)
		}
		if f.Rate == 0 {
			anyRate = true
		} else {
			rates[f.Rate] = true
		}
	}
	ch := "any ch"
	switch {
	case anyCh:
	case chMin == chMax:
		ch = fmt.Sprintf("%d ch", chMin)
	default:
		ch = fmt.Sprintf("%d-%d ch", chMin, chMax)
	}
	rl := make([]int, 0, len(rates))
	for r := range rates {
		rl = append(rl, r)
	}
	slices.Sort(rl)
	var rate string
	switch {
	case anyRate || len(rl) == 0:
		rate = "any rate"
	case len(rl) <= 4:
		s := make([]string, len(rl))
		for i, r := range rl {
			s[i] = fmt.Sprint(r)
		}
		rate = strings.Join(s, " ") + " Hz"
	default:
		rate = fmt.Sprintf("%d..%d Hz (%d rates)", rl[0], rl[len(rl)-1], len(rl))
	}
	return strings.Join(samples, " ") + ", " + ch + ", " + rate
}
