package main

import (
	"context"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/keyd"
	"github.com/edgevoice/edgevoice/realtime"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/hw/led"
)

// ledIndicator shows appliance states on an hw/led engine.
type ledIndicator struct{ d *led.Dev }

var ledStates = map[appliance.State]led.State{
	appliance.Off: led.Off, appliance.Idle: led.Idle, appliance.Connecting: led.Connecting,
	appliance.Listening: led.Listening, appliance.Thinking: led.Thinking, appliance.Speaking: led.Speaking,
	appliance.Muted: led.Muted, appliance.Error: led.Error, appliance.NoKey: led.NoKey, appliance.Offline: led.Offline,
}

func (l ledIndicator) SetState(s appliance.State)    { l.d.SetState(ledStates[s]) }
func (l ledIndicator) SetMicLive(b bool)             { l.d.SetMicLive(b) }
func (l ledIndicator) SetLevelFunc(f func() float64) { l.d.SetLevelFunc(f) }
func (l ledIndicator) Halt() error                   { return l.d.Halt() }
func (l ledIndicator) SetFallback(ws bool)           { l.d.SetFallback(ws) }

// socketKeys gets keys from the provisioning daemon's socket; each must stay valid for
// minValid (long enough to connect).
type socketKeys struct {
	c        *keyd.Client
	minValid time.Duration
}

func (k socketKeys) Key(ctx context.Context) (realtime.Key, error) {
	return k.c.Get(ctx, k.minValid)
}

// KeyReady asks the key daemon's status whether a key request would succeed now without
// asking for one (no mint): it holds a key, or (on demand, where it mints only when
// asked) it is idle or its backoff after a failed mint is over. While the device is
// offline for want of a key the appliance polls it, so the end of an outage shows
// within a poll (appliance.KeyReadiness) and not after the re-check backoff.
func (k socketKeys) KeyReady(ctx context.Context) (bool, error) {
	st, err := k.c.Status(ctx)
	if err != nil || st.KeyReady {
		return st.KeyReady, err
	}
	if st.Policy != keyd.PolicyOnDemand {
		return false, nil
	}
	backoffOver := st.State == keyd.StateBackoff && !st.NextAttempt.IsZero() && !time.Now().Before(st.NextAttempt)
	return st.State == keyd.StateIdle || backoffOver, nil
}

var _ appliance.KeyReadiness = socketKeys{}
