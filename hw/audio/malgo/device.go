package malgo

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	ma "github.com/gen2brain/malgo"

	"github.com/edgevoice/edgevoice/hw/audio"
)

func nativeSample(f ma.FormatType) string {
	switch f {
	case ma.FormatU8:
		return "u8"
	case ma.FormatS16:
		return "s16"
	case ma.FormatS24:
		return "s24"
	case ma.FormatS32:
		return "s32"
	case ma.FormatF32:
		return "f32"
	}
	return "any"
}

func sampleFormat(f audio.SampleFormat) ma.FormatType {
	switch f {
	case audio.S16:
		return ma.FormatS16
	case audio.S32:
		return ma.FormatS32
	case audio.F32:
		return ma.FormatF32
	}
	return ma.FormatUnknown
}

func backend(b audio.Backend) ma.Backend {
	switch b {
	case audio.BackendALSA:
		return ma.BackendAlsa
	case audio.BackendPulse:
		return ma.BackendPulseaudio
	}
	// ma.BackendNull is miniaudio's *custom* backend; the real null backend follows it.
	return ma.Backend(ma.BackendNull + 1)
}

func deviceType(d audio.Direction) ma.DeviceType {
	if d == audio.DirPlayback {
		return ma.Playback
	}
	return ma.Capture
}

// audioContext is a malgo context and the backend it runs.
type audioContext struct {
	ctx     *ma.AllocatedContext
	backend audio.Backend
}

func (c *audioContext) close() {
	if c.ctx != nil {
		_ = c.ctx.Uninit()
		c.ctx.Free()
		c.ctx = nil
	}
}

// newContext initialises b, or for BackendAuto the first of PulseAudio, ALSA that works.
func newContext(b audio.Backend) (*audioContext, error) {
	try := []audio.Backend{b}
	if b == audio.BackendAuto {
		try = []audio.Backend{audio.BackendPulse, audio.BackendALSA}
	}
	var errs []error
	for _, t := range try {
		ctx, err := ma.InitContext([]ma.Backend{backend(t)}, ma.ContextConfig{}, nil)
		if err == nil {
			return &audioContext{ctx: ctx, backend: t}, nil
		}
		errs = append(errs, fmt.Errorf("%v: %w", t, err))
	}
	return nil, fmt.Errorf("audio: malgo.InitContext: no audio backend works (%w); is libasound2 installed?", errors.Join(errs...))
}

// idString decodes a backend device id for display and matching.
func idString(b audio.Backend, id ma.DeviceID) string {
	if b == audio.BackendNull {
		return fmt.Sprintf("null:%d", int32(uint32(id[0])|uint32(id[1])<<8|uint32(id[2])<<16|uint32(id[3])<<24))
	}
	n := 0
	for n < len(id) && id[n] != 0 {
		n++
	}
	return string(id[:n])
}

// device is a listed device and the backend's raw id for it.
type device struct {
	audio.DeviceInfo
	raw ma.DeviceID
}

func infos(devs []device) []audio.DeviceInfo {
	out := make([]audio.DeviceInfo, len(devs))
	for i, d := range devs {
		out[i] = d.DeviceInfo
	}
	return out
}

func (c *audioContext) devices(dir audio.Direction, probe bool) ([]device, error) {
	raw, err := c.ctx.Devices(deviceType(dir))
	if err != nil {
		return nil, fmt.Errorf("audio: malgo.Context.Devices(%v): %w", dir, err)
	}
	out := make([]device, 0, len(raw))
	for i := range raw {
		r := &raw[i]
		d := device{DeviceInfo: audio.DeviceInfo{Direction: dir, Backend: c.backend, Name: r.Name(), ID: idString(c.backend, r.ID), Default: r.IsDefault != 0}, raw: r.ID}
		formats := r.Formats
		if probe && len(formats) == 0 {
			if full, err := c.ctx.DeviceInfo(deviceType(dir), r.ID, ma.Shared); err == nil {
				formats = full.Formats
			}
		}
		for _, f := range formats {
			d.Formats = append(d.Formats, audio.NativeFormat{Sample: nativeSample(f.Format), Channels: int(f.Channels), Rate: int(f.SampleRate)})
		}
		out = append(out, d)
	}
	return out, nil
}

// Devices lists the capture and playback devices of backend b (BackendAuto: the
// backend that would be used), probing each for its native formats.
func (Driver) Devices(b audio.Backend) ([]audio.DeviceInfo, error) {
	c, err := newContext(b)
	if err != nil {
		return nil, err
	}
	defer c.close()
	capt, err := c.devices(audio.DirCapture, true)
	if err != nil {
		return nil, err
	}
	play, err := c.devices(audio.DirPlayback, true)
	if err != nil {
		return nil, err
	}
	return append(infos(capt), infos(play)...), nil
}

// looksLikeALSAID reports whether name is an ALSA PCM specification rather than a
// description: "hw:2,0", "plughw:CARD=Array,DEV=0", "dsnoop:1", "default", "sysdefault".
func looksLikeALSAID(name string) bool {
	return strings.Contains(name, ":") || name == "default" || name == "sysdefault"
}

// resolve finds the device called name (empty or "default" = the default device; an
// exact id or name; an ALSA PCM specification; else a unique case-insensitive substring
// of a name or id). A nil id means the default device.
func (c *audioContext) resolve(dir audio.Direction, name string) (*ma.DeviceID, audio.DeviceInfo, error) {
	devs, err := c.devices(dir, false)
	if err != nil {
		return nil, audio.DeviceInfo{}, err
	}
	if name == "" || (name == "default" && c.backend != audio.BackendALSA) {
		for _, d := range devs {
			if d.Default {
				return nil, d.DeviceInfo, nil
			}
		}
		return nil, audio.DeviceInfo{Direction: dir, Backend: c.backend, Name: "default", ID: "default"}, nil
	}
	for _, d := range devs {
		if strings.EqualFold(d.ID, name) || strings.EqualFold(d.Name, name) {
			return &d.raw, d.DeviceInfo, nil
		}
	}
	if c.backend == audio.BackendALSA && looksLikeALSAID(name) {
		return rawID(name), audio.DeviceInfo{Direction: dir, Backend: c.backend, Name: name, ID: name}, nil
	}
	var hits []device
	low := strings.ToLower(name)
	for _, d := range devs {
		if strings.Contains(strings.ToLower(d.Name), low) || strings.Contains(strings.ToLower(d.ID), low) {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 1:
		return &hits[0].raw, hits[0].DeviceInfo, nil
	case 0:
		return nil, audio.DeviceInfo{}, fmt.Errorf("%w: %s device %q (%v) matches nothing; %s devices that exist: %s",
			audio.ErrNoDevice, dir, name, c.backend, dir, listNames(devs))
	}
	return nil, audio.DeviceInfo{}, fmt.Errorf("%w: %s device %q (%v) is ambiguous, it matches %s; use more of the name or the id",
		audio.ErrNoDevice, dir, name, c.backend, listNames(hits))
}

func listNames(devs []device) string {
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
func rawID(s string) *ma.DeviceID {
	var id ma.DeviceID
	copy(id[:len(id)-1], s)
	return &id
}

// cDeviceID returns id in C memory for a malgo DeviceConfig (nil stays nil); free it
// with cfree after the device is uninitialised.
func cDeviceID(id *ma.DeviceID) unsafe.Pointer {
	if id == nil {
		return nil
	}
	return id.Pointer()
}
