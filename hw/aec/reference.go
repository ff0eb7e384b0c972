package aec

import (
	"sync"
	"sync/atomic"
	"time"
)

// Reference lines the far end (what the speaker was actually given) up with the
// microphone. The speaker side writes every sample it hands to the playback device; the
// microphone side reads one reference frame per microphone frame. The distance between
// the two is the echo path the device adds: the playback queue plus the playback and
// capture delays (SetDelay); what the room adds is left to the adaptive filter (Tail).
//
// One goroutine writes and one reads (the speaker and mic pumps, not device callbacks); a
// mutex is held for the copies only, so a writer that laps a stalled reader cannot tear
// what it reads. Nothing allocates. The read
// position advances continuously; it is moved only when SetDelay changes the delay (the
// device was re-opened with another latency: the filter stays valid) or when the two
// sides stay apart by more than Slack for half a second (clock drift between two
// devices, a speaker that stalled), so the burstiness of two goroutines on a busy CPU
// does not jitter the alignment.
type Reference struct {
	mu    sync.Mutex // guards buf
	buf   []float32
	mask  uint64
	rate  int
	w     atomic.Uint64 // samples written (speaker side)
	r     uint64        // next sample to read (microphone side only)
	delay atomic.Int64  // samples
	used  int64         // the delay r was aligned with
	slack int64
	init  bool
	apart int // frames in a row beyond the slack
	// Resyncs counts the times the read position was moved by drift.
	resyncs atomic.Uint64
}

// Slack is how far the microphone side may drift from its target before it is moved
// (after resyncAfter reads in a row).
const Slack = 120 * time.Millisecond

const resyncAfter = 50

// NewReference returns a reference line at rate Hz holding up to maxDelay (plus Slack).
func NewReference(rate int, maxDelay time.Duration) *Reference {
	n := int(float64(rate)*(maxDelay+2*Slack).Seconds()) + rate/10
	size := 1
	for size < 2*n { // half of it is margin: the writer never reaches what is read
		size <<= 1
	}
	return &Reference{buf: make([]float32, size), mask: uint64(size - 1), rate: rate, slack: int64(float64(rate) * Slack.Seconds())}
}

// SetDelay sets the device delay between the speaker side's write and the microphone
// side's read of the same moment: playback queue + playback delay + capture delay.
func (r *Reference) SetDelay(d time.Duration) {
	r.delay.Store(int64(d.Seconds() * float64(r.rate)))
}

// Delay returns the delay in use.
func (r *Reference) Delay() time.Duration {
	return time.Duration(float64(r.delay.Load()) / float64(r.rate) * float64(time.Second))
}

// Resyncs returns how often drift moved the read position.
func (r *Reference) Resyncs() uint64 { return r.resyncs.Load() }

// Write appends what the speaker was given (speaker side).
func (r *Reference) Write(p []float32) {
	r.mu.Lock()
	w := r.w.Load()
	for i, v := range p {
		r.buf[(w+uint64(i))&r.mask] = v
	}
	r.w.Store(w + uint64(len(p)))
	r.mu.Unlock()
}

// Read fills p with the reference for the microphone frame that just arrived
// (microphone side); what was not written yet reads as silence.
func (r *Reference) Read(p []float32) {
	w := int64(r.w.Load())
	d := r.delay.Load()
	target := w - d - int64(len(p)) // start of the frame the mic just captured
	cur := int64(r.r)
	switch {
	case !r.init:
		cur, r.init = target, true
	case d != r.used:
		cur -= d - r.used // the device delay changed: shift by exactly the difference
	case cur-target > r.slack || target-cur > r.slack:
		if r.apart++; r.apart >= resyncAfter {
			cur, r.apart = target, 0
			r.resyncs.Add(1)
		}
	default:
		r.apart = 0
	}
	r.used = d
	r.mu.Lock()
	defer r.mu.Unlock()
	w = int64(r.w.Load()) // the writer may have moved on since the target was set
	oldest := w - int64(len(r.buf)/2)
	for i := range p {
		if s := cur + int64(i); s >= w || s < 0 || s < oldest {
			p[i] = 0
		} else {
			p[i] = r.buf[uint64(s)&r.mask]
		}
	}
	r.r = uint64(cur + int64(len(p)))
}
