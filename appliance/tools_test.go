package appliance

import (
	"context"
	"testing"
	"time"

	"github.com/pion/transport/v5/test"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/rtc"
	"github.com/edgevoice/edgevoice/tools"
)

// TestToolTurn: a push-to-talk turn whose answer is a call of the built-in set_volume:
// the volume changes through the state machine, the LEDs show thinking while the tool
// runs, and the follow-up answer is spoken (idle → ... → thinking → speaking → idle).
// Then the model calls mute and device_status: the mic is muted like by the button.
func TestToolTurn(t *testing.T) {
	defer test.CheckRoutines(t)()
	r := newRig(t, Config{Volume: 0.8}, emulator.WithToolScript(
		emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "set_volume", Arguments: `{"level":0.25}`}}, After: 100 * time.Millisecond},
		emulator.ToolTurn{Calls: []emulator.ToolCall{{Name: "mute", Arguments: `{"muted":true}`}, {Name: "device_status", Arguments: `{}`}}},
	))
	set, err := r.a.Tools(tools.BuiltinNames, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.rtcOpts.Store(&[]rtc.Option{rtc.WithTools(set, 2*time.Second)})
	r.waitState(Idle, 5*time.Second)
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(400 * time.Millisecond)
	r.release(ButtonTalk)
	r.waitState(Speaking, 10*time.Second) // the follow-up answer
	r.waitState(Idle, 10*time.Second)
	if v := r.a.Volume(); v != 0.25 {
		t.Errorf("volume %v after set_volume, want 0.25", v)
	}
	c, _ := r.srv.Stats().LastCall()
	if tl := c.Tools; len(tl.Calls) != 1 || !tl.Calls[0].Answered || tl.FollowUps != 1 || len(tl.Violations) != 0 {
		t.Errorf("tool stats %+v", tl)
	}
	// turn 2: mute and device_status in parallel
	r.press(ButtonTalk)
	r.waitState(Listening, 10*time.Second)
	time.Sleep(400 * time.Millisecond)
	r.release(ButtonTalk)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.srv.WaitStats(ctx, func(st emulator.Stats) bool {
		c, ok := st.LastCall()
		return ok && c.Tools.FollowUps == 2
	}); err != nil {
		c, _ := r.srv.Stats().LastCall()
		t.Fatalf("no follow-up of the second tool turn: %v (%+v)", err, c.Tools)
	}
	r.waitState(Muted, 10*time.Second)
	c, _ = r.srv.Stats().LastCall()
	if out := c.Tools.Calls[1].Output; out != `{"muted":true}` {
		t.Errorf("mute output %q", out)
	}
	r.stop()
	// The first turn: thinking from the release through the tool to the answer, with no
	// idle in between.
	r.checkSeq(Idle, Connecting, Listening, Thinking, Speaking, Idle, Listening, Thinking, Muted, Off)
}
