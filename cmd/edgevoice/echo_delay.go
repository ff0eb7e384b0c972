package main

import (
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
)

// echoDevices keeps the opened speaker and mic for the echo reference's delay: set once
// both are open, read again whenever a device reports it runs (after a reopen, perhaps
// with another buffering). Its own mutex: the devices' OnState runs while openAudio
// holds audioMu.
type echoDevices struct {
	mu       sync.Mutex
	spk, mic any
	last     time.Duration
	set      bool
}

// setEchoDevices records the opened speaker and mic and reports their delay.
func (r *runner) setEchoDevices(spk, mic any) {
	r.echoDevs.mu.Lock()
	r.echoDevs.spk, r.echoDevs.mic = spk, mic
	r.echoDevs.mu.Unlock()
	r.refreshEchoDelay()
}

// refreshEchoDelay computes the reference delay from what the devices negotiated and
// reports it to the appliance's echo path when it changed (from the devices' supervisor
// goroutines and openAudio; never the audio thread).
func (r *runner) refreshEchoDelay() {
	e := &r.echoDevs
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.spk == nil || e.mic == nil {
		return // still opening: setEchoDevices reports it
	}
	d, detail := echoDelay(e.spk, e.mic)
	r.a.SetEchoDelay(d, detail)
	if !e.set || d != e.last {
		r.log.Info("echo reference delay", "delay", d, "from", detail, "echo", r.cfg.Audio.Echo)
		e.last, e.set = d, true
	}
}

// audioState is the OnState of the device dev ("mic", "speaker"): faults go to the
// state machine; a device running again (first open or reopen) refreshes the echo
// reference's delay, as it may have negotiated another buffering.
func (r *runner) audioState(dev string) func(audio.State, error) {
	return func(s audio.State, err error) {
		if s == audio.StateRecovering {
			if err == nil {
				err = audio.ErrDeviceStopped
			}
			r.a.AudioFault(dev, err)
		} else if s == audio.StateRunning {
			r.a.AudioFault(dev, nil)
			r.refreshEchoDelay() // a reopened device may have negotiated another buffering
		}
	}
}
