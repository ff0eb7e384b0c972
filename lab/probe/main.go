// Command probe is the lab's timing instrument on the USB gadget's side of the simulated
// mic array and speaker (lab/README.md, "Latency"). It talks to ALSA directly (alsa-lib
// through cgo) so that it knows how many frames sit between it and the USB wire when it
// takes a timestamp, which aplay and arecord do not say.
//
//	probe play   -D DEV [-c 4] [-r 48000] [-bursts 5] [-every 600ms] [-len 150ms] [-lead 500ms] [-freq 1000] [-amp 0.5]
//	probe record -D DEV [-c 2] [-r 48000] [-d 10s] [-level 0.1] [-levels 100ms] [-raw FILE]
//	probe status [-socket /run/edgevoice/control.sock]
//
// play streams silence with tone bursts into DEV and prints one JSON line per burst,
// {"burst":k,"onset_us":T}: T is the wall clock (CLOCK_REALTIME, µs) at which the burst's
// first frame leaves the ALSA buffer, i.e. the write time plus the frames queued ahead
// of it (snd_pcm_delay) at the rate. record captures DEV and prints one line per onset
// on channel 0 (the first sample above -level after 100 ms below it),
// {"onset_us":T}: T is the read time minus the frames captured after that sample
// (snd_pcm_delay before the read) at the rate; and one line {"end_us":T} when the sound
// stops (the last sample above -level, once 100 ms below it followed); with -levels,
// the peak of each block ending at T: {"level_us":T,"peak":P}. Both end with a
// summary line
// {"done":true,...}. The uncertainty is the driver's pointer granularity (one USB
// packet, 1 ms at full speed, less at high speed).
//
// It is a separate module (a lab tool, not part of the package) because it uses cgo
// outside the two packages the product allows it in.
package main

/*
#cgo LDFLAGS: -lasound
#include <alsa/asoundlib.h>
#include <time.h>

static long long now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}
*/
import "C"

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
	"unsafe"
)

type pcm struct {
	h       *C.snd_pcm_t
	capture bool
	ch      int
	rate    int
	period  int
}

func alsaErr(what string, rc C.int) error {
	return fmt.Errorf("%s: %s", what, C.GoString(C.snd_strerror(rc)))
}

// open opens dev for playback or capture, S16_LE interleaved, with about latency of
// buffer (alsa-lib picks the periods: a quarter of it each).
func open(dev string, capture bool, ch, rate int, latency time.Duration) (*pcm, error) {
	cdev := C.CString(dev)
	defer C.free(unsafe.Pointer(cdev))
	stream := C.SND_PCM_STREAM_PLAYBACK
	if capture {
		stream = C.SND_PCM_STREAM_CAPTURE
	}
	p := &pcm{ch: ch, rate: rate, capture: capture}
	if rc := C.snd_pcm_open(&p.h, cdev, C.snd_pcm_stream_t(stream), 0); rc < 0 {
		return nil, alsaErr("snd_pcm_open "+dev, rc)
	}
	if rc := C.snd_pcm_set_params(p.h, C.SND_PCM_FORMAT_S16_LE, C.SND_PCM_ACCESS_RW_INTERLEAVED,
		C.uint(ch), C.uint(rate), 0, C.uint(latency.Microseconds())); rc < 0 {
		C.snd_pcm_close(p.h)
		return nil, alsaErr("snd_pcm_set_params", rc)
	}
	var buf, per C.snd_pcm_uframes_t
	if rc := C.snd_pcm_get_params(p.h, &buf, &per); rc < 0 {
		C.snd_pcm_close(p.h)
		return nil, alsaErr("snd_pcm_get_params", rc)
	}
	p.period = int(per)
	return p, nil
}

func (p *pcm) close() { C.snd_pcm_close(p.h) }

// waitDelay waits until a period can be transferred and returns the time and the delay
// (frames between the application and the wire) at that moment.
func (p *pcm) waitDelay() (int64, int, error) {
	if p.capture && C.snd_pcm_state(p.h) == C.SND_PCM_STATE_PREPARED {
		// a capture stream recovered from an overrun is prepared, not running: waiting
		// on it would never end
		if rc := C.snd_pcm_start(p.h); rc < 0 {
			return 0, 0, alsaErr("snd_pcm_start", rc)
		}
	}
	if rc := C.snd_pcm_wait(p.h, 1000); rc < 0 {
		if rc = C.snd_pcm_recover(p.h, rc, 1); rc < 0 {
			return 0, 0, alsaErr("snd_pcm_wait", rc)
		}
	} else if rc == 0 {
		return 0, 0, errors.New("snd_pcm_wait: no frames in 1 s (the other side does not stream)")
	}
	var d C.snd_pcm_sframes_t
	t := int64(C.now_us())
	if rc := C.snd_pcm_delay(p.h, &d); rc < 0 {
		if rc = C.snd_pcm_recover(p.h, rc, 1); rc < 0 {
			return 0, 0, alsaErr("snd_pcm_delay", rc)
		}
		d = 0
	}
	return t, int(d), nil
}

type line map[string]any

func emit(l line) {
	b, _ := json.Marshal(l)
	fmt.Println(string(b))
}

func play(args []string) error {
	fs := flag.NewFlagSet("play", flag.ExitOnError)
	dev := fs.String("D", "", "ALSA device")
	ch := fs.Int("c", 4, "channels (the burst is on all)")
	rate := fs.Int("r", 48000, "rate")
	bursts := fs.Int("bursts", 5, "number of bursts")
	every := fs.Duration("every", 600*time.Millisecond, "burst period")
	length := fs.Duration("len", 150*time.Millisecond, "burst length")
	lead := fs.Duration("lead", 500*time.Millisecond, "silence before the first burst")
	freq := fs.Float64("freq", 1000, "tone frequency (Hz)")
	amp := fs.Float64("amp", 0.5, "tone amplitude (of full scale)")
	latency := fs.Duration("latency", 20*time.Millisecond, "ALSA buffer")
	_ = fs.Parse(args)
	p, err := open(*dev, false, *ch, *rate, *latency)
	if err != nil {
		return err
	}
	defer p.close()
	frames := func(d time.Duration) int { return int(d.Seconds() * float64(*rate)) }
	start, per, n := frames(*lead), frames(*every), frames(*length)
	total := start + per*(*bursts) + frames(300*time.Millisecond)
	buf := make([]int16, p.period*p.ch)
	onsets := 0
	for pos := 0; pos < total; pos += p.period {
		t, d, err := p.waitDelay()
		if err != nil {
			return err
		}
		for i := 0; i < p.period; i++ {
			f := pos + i
			var v int16
			if k := (f - start) / per; f >= start && k < *bursts && (f-start)%per < n {
				v = int16(*amp * 32767 * math.Sin(2*math.Pi**freq*float64((f-start)%per)/float64(*rate)))
				if (f-start)%per == 0 {
					emit(line{"burst": k, "onset_us": t + int64(d+i)*1e6/int64(*rate), "delay_frames": d})
					onsets++
				}
			}
			for c := 0; c < p.ch; c++ {
				buf[i*p.ch+c] = v
			}
		}
		w := C.snd_pcm_writei(p.h, unsafe.Pointer(&buf[0]), C.snd_pcm_uframes_t(p.period))
		if w < 0 {
			if rc := C.snd_pcm_recover(p.h, C.int(w), 1); rc < 0 {
				return alsaErr("snd_pcm_writei", rc)
			}
		}
	}
	C.snd_pcm_drain(p.h)
	emit(line{"done": true, "bursts": onsets, "period_frames": p.period})
	return nil
}

func record(args []string) error {
	fs := flag.NewFlagSet("record", flag.ExitOnError)
	dev := fs.String("D", "", "ALSA device")
	ch := fs.Int("c", 2, "channels (onsets are looked for on the first)")
	rate := fs.Int("r", 48000, "rate")
	dur := fs.Duration("d", 10*time.Second, "how long to record")
	level := fs.Float64("level", 0.1, "onset level (of full scale)")
	raw := fs.String("raw", "", "also write the capture to this raw S16_LE file")
	// a larger buffer than play's: a read that comes late under TCG must not overrun (the
	// timestamps come from the delay, whatever the buffer)
	latency := fs.Duration("latency", 200*time.Millisecond, "ALSA buffer")
	levels := fs.Duration("levels", 0, "also print the peak of channel 0 over each block of this length: {\"level_us\":T,\"peak\":P} (0: off)")
	_ = fs.Parse(args)
	p, err := open(*dev, true, *ch, *rate, *latency)
	if err != nil {
		return err
	}
	defer p.close()
	var out *os.File
	if *raw != "" {
		if out, err = os.Create(*raw); err != nil {
			return err
		}
		defer out.Close()
	}
	thr := int(*level * 32767)
	need := *rate / 10 // 100 ms of quiet before an onset
	quiet, onsets, peak, read := 0, 0, 0, 0
	loud, lastLoud := false, int64(0) // a loud sample was seen; the time of the last one
	block := int(levels.Seconds() * float64(*rate))
	blockN, blockPeak := 0, 0 // samples and peak of the current level block
	total := int(dur.Seconds() * float64(*rate))
	buf := make([]int16, p.period*p.ch)
	if rc := C.snd_pcm_start(p.h); rc < 0 {
		return alsaErr("snd_pcm_start", rc)
	}
	// The gadget's capture only runs while the host plays: when the host's stream stops
	// (a device reopened, a flush) reads fail with EIO or time out. Start again and go
	// on until the wall-clock end; each gap is reported.
	restarts, failing := 0, false
	restart := func(what string, err error) {
		if !failing {
			emit(line{"gap_us": int64(C.now_us()), "what": what, "err": err.Error()})
		}
		failing = true
		restarts++
		quiet = 0
		C.snd_pcm_drop(p.h)
		C.snd_pcm_prepare(p.h)
		time.Sleep(50 * time.Millisecond)
		C.snd_pcm_start(p.h)
	}
	deadline := time.Now().Add(*dur)
	var firstUs int64 // when the first frame read was captured: frames/wall time is the device's clock rate
	// SIGTERM/SIGINT end the recording early, with its summary line
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(stop)
loop:
	for read < total && time.Now().Before(deadline) {
		select {
		case <-stop:
			break loop
		default:
		}
		t, d, err := p.waitDelay()
		if err != nil {
			restart("wait", err)
			continue
		}
		r := C.snd_pcm_readi(p.h, unsafe.Pointer(&buf[0]), C.snd_pcm_uframes_t(p.period))
		if r < 0 {
			if rc := C.snd_pcm_recover(p.h, C.int(r), 1); rc < 0 {
				restart("read", alsaErr("snd_pcm_readi", rc))
			}
			quiet = 0
			continue
		}
		n := int(r)
		failing = false
		if firstUs == 0 {
			firstUs = t - int64(d)*1e6/int64(*rate)
		}
		for i := 0; i < n; i++ {
			v := int(buf[i*p.ch])
			if v < 0 {
				v = -v
			}
			peak = max(peak, v)
			// frame i was captured (d - i) frames before the newest one at time t
			at := t - int64(d-i)*1e6/int64(*rate)
			if block > 0 {
				blockPeak = max(blockPeak, v)
				if blockN++; blockN == block {
					emit(line{"level_us": at, "peak": blockPeak})
					blockN, blockPeak = 0, 0
				}
			}
			if v >= thr {
				if quiet >= need {
					emit(line{"onset_us": at, "at_frame": read + i})
					onsets++
				}
				quiet, loud, lastLoud = 0, true, at
			} else if quiet < need {
				quiet++
				if quiet == need && loud {
					emit(line{"end_us": lastLoud})
				}
			}
		}
		if out != nil {
			b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), n*p.ch*2)
			if _, err := out.Write(b); err != nil {
				return err
			}
		}
		read += n
	}
	wall := float64(int64(C.now_us())-firstUs) / 1e6
	emit(line{"done": true, "onsets": onsets, "peak": peak, "frames": read, "period_frames": p.period, "restarts": restarts,
		"wall_s": wall, "rate_ratio": float64(read) / float64(*rate) / wall})
	return nil
}

// status asks the appliance's control socket (one JSON line {"op":"status"} in, one
// {"ok":...,"status":{...}} out) and prints the status object, as `edgevoice status
// -json` does, without starting the 16 MB appliance binary and parsing its config: the
// lab polls the state every half second, and under TCG that command takes a second or
// more per call.
func status(args []string) error {
	fs := flag.NewFlagSet("status", flag.ExitOnError)
	sock := fs.String("socket", "/run/edgevoice/control.sock", "control socket")
	_ = fs.Parse(args)
	c, err := net.DialTimeout("unix", *sock, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, `{"op":"status"}`+"\n"); err != nil {
		return err
	}
	var resp struct {
		OK     bool            `json:"ok"`
		Error  string          `json:"error"`
		Status json.RawMessage `json:"status"`
	}
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		return fmt.Errorf("control socket answer: %w", err)
	}
	if !resp.OK || len(resp.Status) == 0 {
		return fmt.Errorf("control socket: %s", resp.Error)
	}
	_, err = fmt.Printf("%s\n", resp.Status)
	return err
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe play|record -D DEV [flags], probe status (see the source's doc comment)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "play":
		err = play(os.Args[2:])
	case "record":
		err = record(os.Args[2:])
	case "status":
		err = status(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (play, record or status)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}
