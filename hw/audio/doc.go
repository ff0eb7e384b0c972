// Package audio moves interleaved PCM between the dsp pipeline and the outside world:
// capture and playback device streams and WAV files. It is cgo-free: the devices
// themselves are opened by a [Driver], in the product hw/audio/malgo (ALSA, or
// PulseAudio/PipeWire on a desktop, through github.com/gen2brain/malgo), which registers
// itself when a main imports it; tests use fakes.
//
// # Sources and sinks
//
// A [Source] delivers interleaved frames (Read), a [Sink] takes them (Write). Both are
// generic over the sample type the caller wants to see ([Sample]: int16, int32 or
// float32); conversion from or to the device or file format happens at the edge, in
// this package. [OpenCapture] and [OpenPlayback] return device streams, [OpenWAVSource]
// and [CreateWAVSink] file streams, real-time paced or as fast as possible.
//
// # The audio callback
//
// The driver runs the data callback on its own thread (miniaudio's, for malgo). The callback of this package
// converts between the device bytes and a dsp/ring and returns: it never allocates,
// never blocks on a lock the consumer can hold, never logs. A capture callback that
// finds the ring full drops the frames and counts an overrun; a playback callback that
// finds it empty plays silence and counts an underrun. [Stats] exposes the counters.
//
// # Recovery
//
// A device stream is owned by a supervisor goroutine. When the device stops on its own
// (unplugged, driver error) or stops calling back (capture or playback, Opts.StallTimeout),
// the supervisor reports it through Opts.OnState (for the Error LED), closes it and opens
// it again by name with exponential backoff. Streams in one [Group] (the appliance's mic
// and speaker) fail together: a failure of one reopens all. A driver close is bounded by
// Opts.CloseTimeout; a close stuck in the driver is fenced off and left behind
// (Stats.StuckCloses). Close stops and joins the supervisor.
//
// # Wiring (the appliance)
//
//	mic, err := audio.OpenCapture[float32](opts) // opts from the [audio] config section
//	m, _ := mix.New(mixCfg)                      // dsp/mix: mic-array channels -> mono
//	for {
//		n, err := mic.Read(ctx, buf)               // whole interleaved frames
//		k := m.Process(mono, buf[:n])
//		session.WriteMic(mono[:k])
//	}
//
//	spk, err := audio.OpenPlayback[float32](opts)
//	n := session.ReadSpeaker(mono)                // copy to each channel, then
//	spk.Write(ctx, frames)                        // blocks while the queue is full
//
// appliance.RunMic and appliance.RunSpeaker are this loop in the product. Stats gives
// the counters (overruns, underruns, device errors, reopens), State the health;
// ListDevices what exists. A callback body costs about 0.1 µs (same format) to
// 1 µs (S32 -> float32) per 10 ms period of 4 channels at 48 kHz on an x86 VM
// (make bench-audio), allocation-free.
package audio
