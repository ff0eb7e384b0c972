package malgo

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	ma "github.com/gen2brain/malgo"

	"github.com/edgevoice/edgevoice/hw/audio"
)

func init() { audio.RegisterDriver(Driver{}) }

// Driver opens devices through miniaudio (audio.Driver). Each open makes a fresh
// context and resolves the name again, so a device that was unplugged and came back
// under a new id is found. Importing the package registers it with audio.RegisterDriver.
type Driver struct{}

var _ audio.Driver = Driver{}

type malgoDevice struct {
	ctx  *audioContext
	dev  *ma.Device
	idp  unsafe.Pointer // C copy of the device id, freed after Uninit
	desc audio.DeviceInfo
	lat  audio.Latency // what the device negotiated (rate, period, periods)

	// stopMu keeps Uninit from running while stopForTest's ma_device_stop still waits
	// for the worker: miniaudio's uninit would end the worker without waking it.
	stopMu sync.Mutex
}

// Open opens the device o names (see audio.Driver).
func (Driver) Open(dir audio.Direction, o *audio.Opts, data func(out, in []byte, frames uint32), stop func()) (audio.Device, error) {
	b := o.Backend
	if b == audio.BackendAuto && o.Device != "default" && strings.Contains(o.Device, ":") {
		b = audio.BackendALSA // "hw:2,0", "plughw:...": an ALSA PCM even where PulseAudio runs
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
	cfg := ma.DefaultDeviceConfig(deviceType(dir))
	cfg.SampleRate = uint32(o.Format.Rate)
	cfg.PeriodSizeInFrames = uint32(o.PeriodFrames)
	cfg.Periods = uint32(o.Periods)
	cfg.PerformanceProfile = ma.LowLatency
	cfg.NoFixedSizedCallback = 1 // hand over what the device delivers, no extra buffering
	idp := cDeviceID(id)
	sub := ma.SubConfig{DeviceID: idp, Format: sampleFormat(o.Format.Sample), Channels: uint32(o.Format.Channels), ChannelMap: blankChannelMap(), ShareMode: ma.Shared}
	if dir == audio.DirCapture {
		cfg.Capture = sub
	} else {
		cfg.Playback = sub
	}
	neg := &negotiated{dir: dir}
	ctx.ctx.SetLogProc(neg.log) // only while the device is initialised: never on the audio thread
	dev, err := ma.InitDevice(ctx.ctx.Context, cfg, ma.DeviceCallbacks{Data: data, Stop: stop})
	ctx.ctx.SetLogProc(nil)
	if err != nil {
		cfree(idp)
		if errors.Is(err, ma.ErrDoesNotExist) {
			// An ALSA PCM name resolve passed through unchecked ("plug:nosuch", "hw:9,0"),
			// or a device that went away: say so as an unknown name does.
			devs, _ := ctx.devices(dir, false)
			hint := ""
			if ctx.backend == audio.BackendALSA {
				hint = " (other ALSA PCMs: aplay -L)"
			}
			err = fmt.Errorf("%w: %v device %q (%v) does not exist (malgo.InitDevice: %w); %v devices that exist: %s%s",
				audio.ErrNoDevice, dir, o.Device, ctx.backend, err, dir, listNames(devs), hint)
		} else {
			err = fmt.Errorf("audio: malgo.InitDevice(%v %v, %v, period %d x %d): %w", dir, info, o.Format, o.PeriodFrames, o.Periods, err)
		}
		ctx.close()
		return nil, err
	}
	return &malgoDevice{ctx: ctx, dev: dev, idp: idp, desc: info, lat: neg.result()}, nil
}

// Start starts the device's callbacks.
func (d *malgoDevice) Start() error { return d.dev.Start() }

// Close stops and releases the device; no callback runs after it returns.
//
// It stops the device first (ma_device_stop) and only then uninitialises it. miniaudio's
// ma_device_uninit does not wake the worker thread: it marks the device uninitialised and
// joins the worker, which notices only when its poll() on the PCM returns with room or
// data. On a PCM whose card went away (USB unplug) that never happens: the kernel's poll
// answers POLLERR|POLLNVAL at once, without POLLOUT/POLLIN, and miniaudio's ALSA wait
// loop (ma_device_wait__alsa) polls again forever, checking only its wakeup eventfd. So an
// uninit alone spins the worker at 100% CPU and blocks forever (the lab's 5-usb-unplug:
// the playback close hung until systemd's SIGKILL). ma_device_stop writes that eventfd
// (the backend's onDeviceDataLoopWakeup) and waits for the worker to leave its loop; the
// uninit that follows joins an idle worker.
func (d *malgoDevice) Close() {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	_ = d.dev.Stop() // an error only says it was stopped already
	d.dev.Uninit()
	cfree(d.idp)
	d.ctx.close()
}

// Info describes the device.
func (d *malgoDevice) Info() audio.DeviceInfo { return d.desc }

// Latency is the buffering the device negotiated (audio.LatencyReporter).
func (d *malgoDevice) Latency() audio.Latency { return d.lat }

// stopForTest stops the device as a driver error would (the stop callback fires).
func (d *malgoDevice) stopForTest() error {
	d.stopMu.Lock()
	defer d.stopMu.Unlock()
	return d.dev.Stop()
}
