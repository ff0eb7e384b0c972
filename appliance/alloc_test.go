package appliance

import (
	"context"
	"testing"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// nopSession is a Session that takes and gives audio without doing anything.
type nopSession struct{}

func (nopSession) Start(context.Context) error   { return nil }
func (nopSession) Close() error                  { return nil }
func (nopSession) Press()                        {}
func (nopSession) Release()                      {}
func (nopSession) Cancel()                       {}
func (nopSession) WriteMic([]float32)            {}
func (nopSession) ReadSpeaker(dst []float32) int { return len(dst) }
func (nopSession) Events() <-chan rtc.Event      { return nil }
func (nopSession) Stats() rtc.Stats              { return rtc.Stats{} }

// TestAudioPathNoAllocs: the mic and speaker paths through the appliance (pre-roll,
// hand-over, volume) allocate nothing per period.
func TestAudioPathNoAllocs(t *testing.T) {
	keys := rtc.KeySourceFunc(func(context.Context) (realtime.Key, error) { return realtime.Key{}, nil })
	a, err := New(Config{Volume: 0.5}, Deps{Keys: keys, NewSession: func(realtime.Key, rtc.KeySource) (Session, error) { return nopSession{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	mic, spk := make([]float32, 480), make([]float32, 480)
	a.preMode.Store(preRecord)
	if n := testing.AllocsPerRun(100, func() { a.WriteMic(mic); a.ReadSpeaker(spk) }); n != 0 {
		t.Errorf("pre-roll: %v allocs per period", n)
	}
	a.sess.Store(&sessionBox{s: nopSession{}})
	if n := testing.AllocsPerRun(100, func() { a.WriteMic(mic); a.ReadSpeaker(spk) }); n != 0 {
		t.Errorf("streaming: %v allocs per period", n)
	}
	for i := range spk {
		spk[i] = 1
	}
	a.ReadSpeaker(spk)
	if spk[0] != 0.5 {
		t.Errorf("volume 0.5 gave %v", spk[0])
	}
}
