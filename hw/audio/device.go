package audio

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/gen2brain/malgo"
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

func (b Backend) malgo() malgo.Backend {
	switch b {
	case BackendALSA:
		return malgo.BackendAlsa
	case BackendPulse:
		return malgo.BackendPulseaudio
	}
	// malgo.BackendNull is miniaudio's *custom* backend; the real null backend follows it.
	return malgo.Backend(malgo.BackendNull + 1)
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

func (d Direction) malgo() malgo.DeviceType {
	if d == DirPlayback {
		return malgo.Playback
	}
	return malgo.Capture
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

	raw malgo.DeviceID
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

func nativeSample(f malgo.FormatType) string {
	switch f {
	case malgo.FormatU8:
		return "u8"
	case malgo.FormatS16:
		return "s16"
	case malgo.FormatS24:
		return "s24"
	case malgo.FormatS32:
		return "s32"
	case malgo.FormatF32:
		return "f32"
	}
	return "any"
}

func (f SampleFormat) malgo() malgo.FormatType {
	switch f {
	case S16:
		return malgo.FormatS16
	case S32:
		return malgo.FormatS32
	case F32:
		return malgo.FormatF32
	}
	return malgo.FormatUnknown
}

// audioContext is a malgo context and the backend it runs.
type audioContext struct {
	ctx     *malgo.AllocatedContext
	backend Backend
}

func (c *audioContext) close() {
	if c.ctx != nil {
		_ = c.ctx.Uninit()
		c.ctx.Free()
		c.ctx = nil
	}
}

// newContext initialises b, or for BackendAuto the first of PulseAudio, ALSA that works.
func newContext(b Backend) (*audioContext, error) {
	try := []Backend{b}
	if b == BackendAuto {
		try = []Backend{BackendPulse, BackendALSA}
	}
	var errs []error
	for _, t := range try {
		ctx, err := malgo.InitContext([]malgo.Backend{t.malgo()}, malgo.ContextConfig{}, nil)
		if err == nil {
			return &audioContext{ctx: ctx, backend: t}, nil
		}
		errs = append(errs, fmt.Errorf("%v: %w", t, err))
	}
	return nil, fmt.Errorf("audio: malgo.InitContext: no audio backend works (%w); is libasound2 installed?", errors.Join(errs...))
}

// idString decodes a backend device id for display and matching.
func idString(b Backend, id malgo.DeviceID) string {
	if b == BackendNull {
		return fmt.Sprintf("null:%d", int32(uint32(id[0])|uint32(id[1])<<8|uint32(id[2])<<16|uint32(id[3])<<24))
	}
	n := 0
	for n < len(id) && id[n] != 0 {
		n++
	}
	return string(id[:n])
}

func (c *audioContext) devices(dir Direction, probe bool) ([]DeviceInfo, error) {
	raw, err := c.ctx.Devices(dir.malgo())
	if err != nil {
		return nil, fmt.Errorf("audio: malgo.Context.Devices(%v): %w", dir, err)
	}
	out := make([]DeviceInfo, 0, len(raw))
	for i := range raw {
		r := &raw[i]
		d := DeviceInfo{Direction: dir, Backend: c.backend, Name: r.Name(), ID: idString(c.backend, r.ID), Default: r.IsDefault != 0, raw: r.ID}
		formats := r.Formats
		if probe && len(formats) == 0 {
			if full, err := c.ctx.DeviceInfo(dir.malgo(), r.ID, malgo.Shared); err == nil {
				formats = full.Formats
			}
		}
		for _, f := range formats {
			d.Formats = append(d.Formats, NativeFormat{Sample: nativeSample(f.Format), Channels: int(f.Channels), Rate: int(f.SampleRate)})
		}
		out = append(out, d)
	}
	return out, nil
}

// ListDevices returns the capture and playback devices of backend b (BackendAuto: the
// backend that would be used), probing each for its native formats.
func ListDevices(b Backend) ([]DeviceInfo, error) {
	c, err := newContext(b)
	if err != nil {
		return nil, err
	}
	defer c.close()
	capt, err := c.devices(DirCapture, true)
	if err != nil {
		return nil, err
	}
	play, err := c.devices(DirPlayback, true)
	if err != nil {
		return nil, err
	}
	return append(capt, play...), nil
}

// looksLikeALSAID reports whether name is an ALSA PCM specification rather than a
// description: "hw:2,0", "plughw:CARD=Array,DEV=0", "dsnoop:1", "default", "sysdefault".
func looksLikeALSAID(name string) bool {
	return strings.Contains(name, ":") || name == "default" || name == "sysdefault"
}

// resolve finds the device called name (empty or "default" = the default device; an
// exact id or name; an ALSA PCM specification; else a unique case-insensitive substring
// of a name or id). A nil id means the default device.
func (c *audioContext) resolve(dir Direction, name string) (*malgo.DeviceID, DeviceInfo, error) {
	devs, err := c.devices(dir, false)
	if err != nil {
		return nil, DeviceInfo{}, err
	}
	if name == "" || (name == "default" && c.backend != BackendALSA) {
		for _, d := range devs {
			if d.Default {
				return nil, d, nil
			}
		}
		return nil, DeviceInfo{Direction: dir, Backend: c.backend, Name: "default", ID: "default"}, nil
	}
	for _, d := range devs {
		if strings.EqualFold(d.ID, name) || strings.EqualFold(d.Name, name) {
			return &d.raw, d, nil
		}
	}
	if c.backend == BackendALSA && looksLikeALSAID(name) {
		return rawID(name), DeviceInfo{Direction: dir, Backend: c.backend, Name: name, ID: name}, nil
	}
	var hits []DeviceInfo
	low := strings.ToLower(name)
	for _, d := range devs {
		if strings.Contains(strings.ToLower(d.Name), low) || strings.Contains(strings.ToLower(d.ID), low) {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 1:
		return &hits[0].raw, hits[0], nil
	case 0:
		return nil, DeviceInfo{}, fmt.Errorf("%w: %s device %q (%v) matches nothing; %s devices that exist: %s",
			ErrNoDevice, dir, name, c.backend, dir, listNames(devs))
	}
	return nil, DeviceInfo{}, fmt.Errorf("%w: %s device %q (%v) is ambiguous, it matches %s; use more of the name or the id",
		ErrNoDevice, dir, name, c.backend, listNames(hits))
}

func listNames(devs []DeviceInfo) string {
	if len(devs) == 0 {
		return "none"
	}
	s := make([]string, len(devs))
	for i, d := range devs {
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}

// rawID builds a device id from an id string (ALSA/Pulse ids are C strings).
func rawID(s string) *malgo.DeviceID {
	var id malgo.DeviceID
	copy(id[:len(id)-1], s)
	return &id
}

// cDeviceID returns id in C memory for a malgo DeviceConfig (nil stays nil); free it
// with cfree after the device is uninitialised.
func cDeviceID(id *malgo.DeviceID) unsafe.Pointer {
	if id == nil {
		return nil
	}
	return id.Pointer()
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
