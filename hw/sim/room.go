package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/hw/audio"
)

// RoomOpts describe the simulated room between the speaker and the microphone.
type RoomOpts struct {
	// Rate of both devices in Hz (default 16000), mono.
	Rate int
	// Delay of the echo path, speaker to microphone: the device's buffering plus the
	// sound's flight (20ms to 120ms; default 60ms).
	Delay time.Duration
	// GainDB is the echo's level at the microphone relative to what the speaker was
	// given (default -6; a loud speaker next to the mic is about 0).
	GainDB float64
	// RT60 is the room's reverberation time in seconds (default 0.3). The simulated
	// tail stops after Tail (default 80ms): enough for an echo canceller to have
	// something real to model, cheap enough to run in tests.
	RT60 float64
	Tail time.Duration
	// NoiseDB is the microphone's noise floor in dBFS (default -75).
	NoiseDB float64
	// Queue is how far the speaker may be written ahead of what it plays (default
	// DefaultRoomQueue, a playback device's buffer).
	Queue time.Duration
	Seed  uint64
}

// DefaultRoomQueue is the simulated speaker's default queue.
const DefaultRoomQueue = 40 * time.Millisecond

// Room closes the loop from a simulated speaker to a simulated microphone through a
// room impulse response with a delay and a gain, and adds near-end speech (Say) and a
// noise floor. Both devices run in real time from the first Read or Write: the speaker
// plays sample j at j/Rate after the start (what was not written by then is silence),
// the microphone captures sample k at k/Rate and hears the speaker's samples up to
// k - Delay through the impulse response. Speaker and Mic are the audio.Sink and
// audio.Source to hand to the appliance in place of the devices; closing either closes
// the room (they fail together, like a USB sound card).
type Room struct {
	o     RoomOpts
	ir    []float32 // after the delay
	delay int
	noise float64

	mu      sync.Mutex
	start   time.Time
	spk     []float32 // what the speaker was given, from sample spkBase on
	spkBase int
	written int
	micPos  int
	near    []float32 // near-end speech still to be heard
	rng     *rand.Rand
	closed  bool
	wake    chan struct{}
}

// RoomIR returns a room impulse response at rate with a pure delay, a direct path of
// gain 1 and an exponentially decaying diffuse tail (RT60 seconds) carrying about as
// much energy as the direct path, length delay + tail.
func RoomIR(rate int, delay, tail time.Duration, rt60 float64, seed uint64) []float64 {
	d := int(delay.Seconds() * float64(rate))
	n := int(tail.Seconds() * float64(rate))
	h := make([]float64, d+max(n, 1))
	rng := rand.New(rand.NewPCG(seed, 1))
	h[d] = 1
	tau := rt60 * float64(rate) / (3 * math.Ln10) // amplitude e-folding in samples
	a := math.Sqrt(2 / tau)
	for i := 1; i < n; i++ {
		h[d+i] += a * rng.NormFloat64() * math.Exp(-float64(i)/tau)
	}
	return h
}

// NewRoom returns a room; Close ends it (the devices then return audio.ErrClosed).
func NewRoom(o RoomOpts) (*Room, error) {
	if o.Rate == 0 {
		o.Rate = 16000
	}
	if o.Delay == 0 {
		o.Delay = 60 * time.Millisecond
	}
	if o.GainDB == 0 {
		o.GainDB = -6
	}
	if o.RT60 == 0 {
		o.RT60 = 0.3
	}
	if o.Tail == 0 {
		o.Tail = 80 * time.Millisecond
	}
	if o.NoiseDB == 0 {
		o.NoiseDB = -75
	}
	if o.Queue == 0 {
		o.Queue = DefaultRoomQueue
	}
	if o.Rate < 8000 || o.Rate > 48000 || o.Delay < 0 || o.Delay > time.Second || o.Tail > time.Second {
		return nil, fmt.Errorf("sim: room: rate %d, delay %v, tail %v out of range", o.Rate, o.Delay, o.Tail)
	}
	full := RoomIR(o.Rate, o.Delay, o.Tail, o.RT60, o.Seed)
	d := int(o.Delay.Seconds() * float64(o.Rate))
	// scale so that the echo of a steady signal has the asked level: the IR's energy
	var e float64
	for _, v := range full {
		e += v * v
	}
	g := math.Pow(10, o.GainDB/20) / math.Sqrt(e)
	ir := make([]float32, len(full)-d)
	for i := range ir {
		ir[i] = float32(full[d+i] * g)
	}
	return &Room{o: o, ir: ir, delay: d, noise: math.Pow(10, o.NoiseDB/20),
		rng: rand.New(rand.NewPCG(o.Seed, 2)), wake: make(chan struct{})}, nil
}

// Say plays x (mono, at Rate) as near-end speech from the microphone's next sample on,
// mixed over whatever is still being said.
func (r *Room) Say(x []float32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(x) > len(r.near) {
		r.near = append(r.near, make([]float32, len(x)-len(r.near))...)
	}
	for i, v := range x {
		r.near[i] += v
	}
}

// Saying reports whether near-end speech is still being heard.
func (r *Room) Saying() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.near) > 0
}

// Close stops both devices.
func (r *Room) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.wake)
	}
	return nil
}

func (r *Room) format() audio.Format {
	return audio.Format{Rate: r.o.Rate, Channels: 1, Sample: audio.F32}
}

// clock returns the sample index the devices are at now (starting the clock).
func (r *Room) now() int {
	if r.start.IsZero() {
		r.start = time.Now()
	}
	return int(time.Since(r.start).Seconds() * float64(r.o.Rate))
}

// waitUntil sleeps until the devices reach sample index k, or ctx or Close ends it.
func (r *Room) waitUntil(ctx context.Context, k int) error {
	for {
		r.mu.Lock()
		n, closed := r.now(), r.closed
		r.mu.Unlock()
		if closed {
			return audio.ErrClosed
		}
		if n >= k {
			return nil
		}
		t := time.NewTimer(time.Duration(float64(k-n) / float64(r.o.Rate) * float64(time.Second)))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-r.wake:
			t.Stop()
			return audio.ErrClosed
		case <-t.C:
		}
	}
}

// Speaker is the simulated speaker.
func (r *Room) Speaker() audio.Sink[float32] { return roomSpeaker{r} }

// Mic is the simulated microphone.
func (r *Room) Mic() audio.Source[float32] { return roomMic{r} }

type roomSpeaker struct{ r *Room }

func (s roomSpeaker) Format() audio.Format { return s.r.format() }
func (s roomSpeaker) Close() error         { return s.r.Close() }

// Write takes p once the speaker has room for it (Queue ahead of what plays).
func (s roomSpeaker) Write(ctx context.Context, p []float32) (int, error) {
	r := s.r
	queue := int(r.o.Queue.Seconds() * float64(r.o.Rate))
	r.mu.Lock()
	next := r.written
	r.mu.Unlock()
	if err := r.waitUntil(ctx, next+len(p)-queue); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// a speaker that fell behind plays on from now: the gap was silence
	if n := r.now(); r.written < n {
		r.written = n
	}
	end := r.written - r.spkBase + len(p)
	if end > len(r.spk) {
		r.spk = append(r.spk, make([]float32, end-len(r.spk))...)
	}
	copy(r.spk[r.written-r.spkBase:], p)
	r.written += len(p)
	return len(p), nil
}

type roomMic struct{ r *Room }

func (m roomMic) Format() audio.Format { return m.r.format() }
func (m roomMic) Close() error         { return m.r.Close() }

// Read returns the next len(p) samples the microphone captures, in real time.
func (m roomMic) Read(ctx context.Context, p []float32) (int, error) {
	r := m.r
	if len(p) == 0 {
		return 0, errors.New("sim: room mic: empty read")
	}
	r.mu.Lock()
	k0 := r.micPos
	r.mu.Unlock()
	if err := r.waitUntil(ctx, k0+len(p)); err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		k := k0 + i - r.delay // the speaker sample heard through the direct path
		var y float32
		for j, h := range r.ir {
			s := k - j - r.spkBase
			if s < 0 {
				break
			}
			if s < len(r.spk) {
				y += h * r.spk[s]
			}
		}
		p[i] = y + float32(r.noise*r.rng.NormFloat64())
	}
	n := len(p)
	nn := min(len(r.near), n)
	for i := range nn {
		p[i] += r.near[i]
	}
	r.near = r.near[nn:]
	if len(r.near) == 0 {
		r.near = nil
	}
	r.micPos = k0 + n
	// forget speaker samples no later mic sample can hear
	if drop := r.micPos - r.delay - len(r.ir) - r.spkBase; drop > r.o.Rate {
		drop = min(drop, len(r.spk))
		r.spk = append(r.spk[:0], r.spk[drop:]...)
		r.spkBase += drop
	}
	return n, nil
}

// Queue is how far the speaker is written ahead of what it plays (RoomOpts.Queue): the
// simulated speaker's whole buffering.
func (s roomSpeaker) Queue() time.Duration { return s.r.o.Queue }

// Latency reports no device buffering beyond Queue: the simulated speaker plays what it
// is given at once when its turn comes.
func (s roomSpeaker) Latency() audio.Latency {
	return audio.Latency{Reason: "simulated room: its speaker's buffering is its queue"}
}

// Latency reports no device buffering: the simulated mic hands over each sample as soon
// as the room has made it.
func (m roomMic) Latency() audio.Latency {
	return audio.Latency{Reason: "simulated room: no capture period"}
}
