package audio

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// malgoDriver opens devices through miniaudio. Each open makes a fresh context and
// resolves the name again, so a device that was unplugged and came back under a new id
// is found.
type malgoDriver struct{}

type malgoDevice struct {
	ctx  *audioContext
	dev  *malgo.Device
	idp  unsafe.Pointer // C copy of the device id, freed after Uninit
	desc DeviceInfo

	// stopMu keeps Uninit from running while stopForTest's ma_device_stop still waits
	// for the worker: miniaudio's uninit would end the worker without waking it.
	stopMu sync.Mutex
}

func (malgoDriver) open(dir Direction, o *Opts, data func(out, in []byte, frames uint32), stop func()) (devHandle, error) {
	b := o.Backend
	if b == BackendAuto && o.Device != "default" && strings.Contains(o.Device, ":") {
		b = BackendALSA // "hw:2,0", "plughw:...": an ALSA PCM even where PulseAudio runs
	}
	ctx, err := newContext(b)
	if err != nil {
		return nil, err
	}
	id, info, err := ctx.resolve(dir, o.Device)
	if err != nil {
		ctx.close()
		return nil, err
	}
	cfg := malgo.DefaultDeviceConfig(dir.malgo())
	cfg.SampleRate = uint32(o.Format.Rate)
	cfg.PeriodSizeInFrames = uint32(o.PeriodFrames)
	cfg.Periods = uint32(o.Periods)
	cfg.PerformanceProfile = malgo.LowLatency
	cfg.NoFixedSizedCallback = 1 // hand over what the device delivers, no extra buffering
	idp := cDeviceID(id)
	sub := malgo.SubConfig{DeviceID: idp, Format: o.Format.Sample.malgo(), Channels: uint32(o.Format.Channels), ChannelMap: blankChannelMap(), ShareMode: malgo.Shared}
	if dir == DirCapture {
		cfg.Capture = sub
	} else {
		cfg.Playback = sub
	}
	dev, err := malgo.InitDevice(ctx.ctx.Context, cfg, malgo.DeviceCallbacks{Data: data, Stop: stop})
	if err != nil {
		cfree(idp)
		if errors.Is(err, malgo.ErrDoesNotExist) {
			// An ALSA PCM name resolve passed through unchecked ("plug:nosuch", "hw:9,0"),
			// or a device that went away: say so as an unknown name does.
			devs, _ := ctx.devices(dir, false)
			hint := ""
			if ctx.backend == BackendALSA {
				hint = " (other ALSA PCMs: aplay -L)"
			}
			err = fmt.Errorf("%w: %v device %q (%v) does not exist (malgo.InitDevice: %w); %v devices that exist: %s%s",
				ErrNoDevice, dir, o.Device, ctx.backend, err, dir, listNames(devs), hint)
		} else {
			err = fmt.Errorf("audio: malgo.InitDevice(%v %v, %v, period %d x %d): %w", dir, info, o.Format, o.PeriodFrames, o.Periods, err)
		}
		ctx.close()
		return nil, err
	}
	return &malgoDevice{ctx: ctx, dev: dev, idp: idp, desc: info}, nil
}

func (d *malgoDevice) start() error { return d.dev.Start() }

func (d *malgoDevice) close() {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	d.dev.Uninit()
	cfree(d.idp)
	d.ctx.close()
}

func (d *malgoDevice) info() DeviceInfo { return d.desc }

// stopForTest stops the device as a driver error would (the stop callback fires).
// (The product never calls Stop: the supervisor only uninitialises.)
func (d *malgoDevice) stopForTest() error {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	return d.dev.Stop()
}
