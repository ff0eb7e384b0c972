package audio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// groupPair opens a capture and a playback stream in one Group, each on its own fake
// driver. Only the playback stream watches for stalls (the capture's StallTimeout is an
// hour), so whatever restarts the capture is the Group.
func groupPair(t *testing.T, spkStall time.Duration) (*Capture[int16], *Playback[int16], *fakeDriver, *fakeDriver, *stateLog, *stateLog) {
	t.Helper()
	g := NewGroup()
	micDrv, spkDrv := &fakeDriver{}, &fakeDriver{}
	micLog, spkLog := newStateLog(), newStateLog()
	f := Format{Rate: 48000, Channels: 1, Sample: S16}
	mic, err := OpenCapture[int16](Opts{Format: f, MinBackoff: 5 * time.Millisecond, StallTimeout: time.Hour, OnState: micLog.on, Driver: micDrv, Group: g})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mic.Close() })
	spk, err := OpenPlayback[int16](Opts{Format: f, MinBackoff: 5 * time.Millisecond, StallTimeout: spkStall, OnState: spkLog.on, Driver: spkDrv, Group: g})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { spk.Close() })
	return mic, spk, micDrv, spkDrv, micLog, spkLog
}

// recoveringErr returns the error of the first StateRecovering report.
func (l *stateLog) recoveringErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range l.states {
		if s == StateRecovering {
			return l.errs[i]
		}
	}
	return nil
}

// A playback device that stops calling back, without a stop notification, while the
// capture device of the same path still runs (the lab's USB unplug: miniaudio's ALSA
// worker spins on the dead PCM): the stall is found on the playback side, and both
// devices are closed and reopened.
func TestGroupPlaybackOnlyStall(t *testing.T) {
	checkGoroutines(t)
	mic, spk, micDrv, spkDrv, micLog, spkLog := groupPair(t, 40*time.Millisecond)
	micLog.waitFor(t, StateRunning)
	spkLog.waitFor(t, StateRunning)
	oldMic, oldSpk := micDrv.device(), spkDrv.device()
	close(oldSpk.hang)
	spkLog.waitFor(t, StateRecovering)
	micLog.waitFor(t, StateRecovering)
	spkLog.waitFor(t, StateRunning)
	micLog.waitFor(t, StateRunning)
	if err := spkLog.recoveringErr(); !errors.Is(err, ErrDeviceStopped) || !strings.Contains(err.Error(), "no playback callback") {
		t.Errorf("playback recovering error = %v, want a playback stall", err)
	}
	if err := micLog.recoveringErr(); !errors.Is(err, ErrDeviceStopped) || !strings.Contains(err.Error(), "another device") {
		t.Errorf("capture recovering error = %v, want the group restart", err)
	}
	if micDrv.device() == oldMic || spkDrv.device() == oldSpk {
		t.Error("a device of the failed path was not replaced")
	}
	if st := spk.Stats(); st.DeviceErrors != 1 || st.Reopens != 1 || st.GroupRestarts != 0 {
		t.Errorf("playback stats = %+v, want 1 device error, 1 reopen", st)
	}
	if st := mic.Stats(); st.DeviceErrors != 0 || st.Reopens != 1 || st.GroupRestarts != 1 {
		t.Errorf("capture stats = %+v, want 1 group restart, 1 reopen, no device error", st)
	}
}

// A playback device that reports its own stop: the capture of the same path is
// reopened too, and only once (the restart it causes does not bounce back).
func TestGroupPlaybackOnlyStop(t *testing.T) {
	checkGoroutines(t)
	mic, spk, micDrv, spkDrv, micLog, spkLog := groupPair(t, time.Hour)
	micLog.waitFor(t, StateRunning)
	spkLog.waitFor(t, StateRunning)
	oldMic := micDrv.device()
	close(spkDrv.device().fail)
	spkLog.waitFor(t, StateRecovering)
	micLog.waitFor(t, StateRecovering)
	spkLog.waitFor(t, StateRunning)
	micLog.waitFor(t, StateRunning)
	if micDrv.device() == oldMic {
		t.Error("the capture device was not reopened after the playback device stopped")
	}
	if err := spkLog.recoveringErr(); !errors.Is(err, ErrDeviceStopped) {
		t.Errorf("playback recovering error = %v", err)
	}
	// The capture runs on its new device; neither bounced back into another restart.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := mic.Read(ctx, make([]int16, 480)); err != nil {
		t.Fatal(err)
	}
	if st := mic.Stats(); st.GroupRestarts != 1 || st.Reopens != 1 || st.DeviceErrors != 0 {
		t.Errorf("capture stats = %+v, want exactly 1 group restart and 1 reopen", st)
	}
	if st := spk.Stats(); st.DeviceErrors != 1 || st.Reopens != 1 || st.GroupRestarts != 0 {
		t.Errorf("playback stats = %+v, want 1 device error, 1 reopen, no group restart", st)
	}
}

// A device whose close blocks in the driver (a PCM whose card is gone): the failure is
// still reported, the close is left behind after CloseTimeout, the device left behind
// can no longer reach the ring, the stream reopens, and Close returns (ErrCloseStuck).
func TestCloseThatBlocks(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	drv := &fakeDriver{blockClose: release}
	log := newStateLog()
	o := Opts{Format: Format{Rate: 48000, Channels: 1, Sample: S16}, MinBackoff: 5 * time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		CloseTimeout: 20 * time.Millisecond, StallTimeout: time.Hour, RingFrames: 4096, OnState: log.on, Driver: drv}
	p, err := OpenPlayback[int16](o)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	log.waitFor(t, StateRunning)
	old := drv.device()
	drv.mu.Lock()
	drv.failOpens = 1 << 30 // the card stays away: nothing consumes the ring
	drv.mu.Unlock()
	close(old.fail)
	log.waitFor(t, StateRecovering) // reported although the close has not returned

	// The close is left behind: the supervisor goes on to reopen attempts.
	log.waitForErr(t, errFakeOpen)
	if st := p.Stats(); st.StuckCloses != 1 {
		t.Fatalf("stats = %+v, want 1 stuck close", st)
	}
	// The device left behind is fenced off: its callback takes nothing from the ring
	// and plays silence.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.Write(ctx, []int16{7, 7, 7, 7}); err != nil {
		t.Fatal(err)
	}
	queued := p.Ring().Len()
	out := []byte{1, 2, 3, 4, 5, 6}
	old.data(out, nil, 3)
	if p.Ring().Len() != queued || out[0]|out[1]|out[5] != 0 {
		t.Errorf("the fenced device took %d samples from the ring and played %v", queued-p.Ring().Len(), out)
	}
	// Close returns although the close left behind still blocks, and says so.
	if err := p.Close(); !errors.Is(err, ErrCloseStuck) {
		t.Errorf("Close = %v, want ErrCloseStuck", err)
	}
	if s := p.State(); s != StateClosed {
		t.Errorf("state after Close = %v", s)
	}
	close(release) // the driver returns: the goroutine left behind ends (checkGoroutines)
	released = true
}

// waitForErr waits for a report whose error wraps want.
func (l *stateLog) waitForErr(t *testing.T, want error) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		l.mu.Lock()
		for _, e := range l.errs {
			if errors.Is(e, want) {
				l.mu.Unlock()
				return
			}
		}
		l.mu.Unlock()
		select {
		case <-l.ch:
		case <-timeout:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no report of %v; got %v (errors %v)", want, l.states, l.errs)
		}
	}
}
