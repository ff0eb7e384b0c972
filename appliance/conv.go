package appliance

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
)

// KeyReadiness is an optional part of Deps.Keys: a cheap look at whether the key source
// has a key ready, without asking for one (the key daemon's status). While the device is
// offline because no key could be had, the appliance asks it every Config.KeyPoll and
// re-checks at once when it says yes, so the end of an outage shows within a poll
// instead of after the re-check backoff (which may have grown to RecheckEvery).
type KeyReadiness interface {
	KeyReady(ctx context.Context) (bool, error)
}

// defaultKeyPoll is Config.KeyPoll's default.
const defaultKeyPoll = 500 * time.Millisecond

// convLoop is the loop's state for the key poll and the session's mic.
type convLoop struct {
	keyPoll clockwork.Timer // next KeyReady look while offline
	polling bool            // a KeyReady call is running
	sessMic bool            // the session reported its mic open (EventListening) and not closed since
}

// armKeyPoll schedules the next KeyReady look, if the key source has one and the device
// is offline.
func (l *loop) armKeyPoll() {
	if _, ok := l.a.d.Keys.(KeyReadiness); !ok || l.keyPoll != nil || l.polling || l.netFault != faultOffline {
		return
	}
	l.keyPoll = l.a.clock.NewTimer(l.a.cfg.KeyPoll)
}

func (l *loop) stopKeyPoll() {
	if l.keyPoll != nil {
		l.keyPoll.Stop()
		l.keyPoll = nil
	}
}

// pollKey asks the key source whether it has a key; yes means a re-check now.
func (l *loop) pollKey() {
	kr, ok := l.a.d.Keys.(KeyReadiness)
	if !ok || l.polling {
		return
	}
	l.polling = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		ctx, cancel := context.WithTimeout(l.ctx, 2*time.Second)
		ready, err := kr.KeyReady(ctx)
		cancel()
		l.send(func(l *loop) {
			l.polling = false
			if l.netFault != faultOffline {
				return
			}
			if err == nil && ready {
				l.recheckNow("the key daemon has a key")
			}
			l.armKeyPoll()
		})
	}()
}

// micMark is what the LEDs' mic-live mark shows: the session's mic is open (and not
// muted) while listening or, under server VAD, while the conversation is on.
func (l *loop) micMark(s State) bool {
	if l.a.muted.Load() || !l.sessMic {
		return false
	}
	return s == Listening || (l.a.cfg.VAD && l.talkLive)
}
