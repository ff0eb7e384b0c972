package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/control"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"
)

// The faults, one every 10th turn in this order.
const (
	faultNone = iota
	faultDrop
	faultExpiry
	faultMint500
	faultSDPDelay
)

var faultNames = [...]string{"none", "call drop", "session expiry", "mint 500", "SDP delay 1.5 s"}

const (
	talkFor     = time.Second      // speech per turn (the emulator echoes it back)
	idleTimeout = 2 * time.Second  // the appliance closes its session after this
	turnBound   = 30 * time.Second // a turn not settled by then is stuck
	rssBand     = 3 << 20          // ±3 MB
	warmTurns   = 10               // RSS and goroutines are compared with their value after these
)

// outcome of one turn.
type outcome struct {
	answered, reported bool
	took               time.Duration
}

// soakRig is the appliance under test: emulator, real rtc sessions, the state machine,
// a tone as the mic and a pump draining the speaker, and the control socket.
type soakRig struct {
	t    *testing.T
	srv  *emulator.Server
	a    *appliance.Appliance
	ctl  *control.Server
	sock string
	evs  chan appliance.Event
	stop func()
}

func newSoakRig(t *testing.T) *soakRig {
	srv, err := emulator.New(emulator.WithReplyText("soak answer"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	keys := rtc.KeySourceFunc(func(ctx context.Context) (realtime.Key, error) { return srv.MintKey(ctx, "openai") })
	ptt := events.Session{Instructions: "soak", Voice: "marin", TurnDetection: events.TurnDetection{Type: events.TurnDetectionNone}}
	factory := func(key realtime.Key, ks rtc.KeySource) (appliance.Session, error) {
		return rtc.New(key, rtc.WithLoopbackOnly(), rtc.WithKeySource(ks), rtc.WithSessionConfig(ptt),
			rtc.WithBackoff(100*time.Millisecond, time.Second))
	}
	a, err := appliance.New(appliance.Config{IdleTimeout: idleTimeout, RecheckMin: 300 * time.Millisecond, RecheckEvery: 5 * time.Second},
		appliance.Deps{Keys: keys, NewSession: factory})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	runErr := make(chan error, 1)
	wg.Add(3)
	go func() { defer wg.Done(); runErr <- a.Run(ctx) }()
	go func() { // the mic: a 440 Hz tone, 20 ms at a time
		defer wg.Done()
		buf := make([]float32, 960)
		ph := 0.0
		paced(ctx, func() {
			for i := range buf {
				buf[i] = float32(0.3 * math.Sin(ph))
				ph += 2 * math.Pi * 440 / 48000
			}
			a.WriteMic(buf)
		})
	}()
	go func() { // the speaker
		defer wg.Done()
		buf := make([]float32, 960)
		paced(ctx, func() { a.ReadSpeaker(buf) })
	}()
	sock := filepath.Join(t.TempDir(), "control.sock")
	ctl, err := control.Listen(sock, func(context.Context) control.Status { return control.Status{Appliance: a.Status()} }, nil, control.WithRemote(a))
	if err != nil {
		t.Fatal(err)
	}
	r := &soakRig{t: t, srv: srv, a: a, ctl: ctl, sock: sock, evs: make(chan appliance.Event, 4096)}
	subDone := make(chan error, 1)
	wg.Add(1)
	go func() { // a remote subscriber, as a dashboard would be
		defer wg.Done()
		subDone <- control.Subscribe(ctx, sock, func(line []byte) error {
			var l control.EventLine
			if err := json.Unmarshal(line, &l); err != nil {
				return err
			}
			if l.Event.Type == control.EventLagged {
				return fmt.Errorf("the soak's subscriber lagged")
			}
			r.evs <- l.Event
			return nil
		})
	}()
	r.stop = func() {
		cancel()
		if err := ctl.Close(); err != nil {
			t.Errorf("control Close: %v", err)
		}
		wg.Wait()
		if err := <-runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := <-subDone; err != nil {
			t.Errorf("subscriber: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("emulator Close: %v", err)
		}
	}
	return r
}

// paced calls f every 20 ms of the clock (catching up after a delay, like a device).
func paced(ctx context.Context, f func()) {
	const period = 20 * time.Millisecond
	tk := time.NewTicker(period)
	defer tk.Stop()
	start, done := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		for due := int(time.Since(start) / period); done < due; done++ {
			f()
		}
	}
}

// do sends one request over the control socket.
func (r *soakRig) do(op string) (*control.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return control.Do(ctx, r.sock, control.Request{Op: op})
}

// drain discards the events so far and returns how many answers started unprompted.
func (r *soakRig) drain() (unprompted int) {
	for {
		select {
		case ev := <-r.evs:
			if ev.Type == appliance.EventState && ev.State == "speaking" {
				unprompted++
			}
		default:
			return
		}
	}
}

// waitNoSession waits until the idle timeout closed the session (a cold turn follows).
func (r *soakRig) waitNoSession() error {
	deadline := time.Now().Add(turnBound)
	for {
		st := r.a.Status()
		if st.Session == nil && st.State == appliance.Idle {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the session is still open (or the state is %s) %v after the turn", st.StateName, turnBound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// turn runs one push-to-talk turn through the control socket with fault f and waits
// until it is answered or reported and the appliance is idle again.
func (r *soakRig) turn(f int) (outcome, error) {
	var o outcome
	start := time.Now()
	switch f {
	case faultMint500:
		r.srv.SetFaults(emulator.Faults{MintStatus: 500, MintFailures: 1})
	case faultSDPDelay:
		r.srv.SetFaults(emulator.Faults{AnswerDelay: 1500 * time.Millisecond})
	}
	defer r.srv.SetFaults(emulator.Faults{})
	if _, err := r.do("press"); err != nil {
		return o, fmt.Errorf("press: %w", err)
	}
	switch f {
	case faultDrop, faultExpiry:
		time.Sleep(talkFor / 2)
		if f == faultDrop {
			r.srv.DropCalls()
		} else {
			r.srv.ExpireSessions()
		}
		time.Sleep(talkFor / 2)
	default:
		time.Sleep(talkFor)
	}
	if _, err := r.do("release"); err != nil {
		return o, fmt.Errorf("release: %w", err)
	}
	deadline := time.After(turnBound)
	var settle <-chan time.Time // idle without an outcome: wait a little for a late one
	for {
		select {
		case ev := <-r.evs:
			switch {
			case ev.Type == appliance.EventHealth:
				o.reported = true
			case ev.Type != appliance.EventState:
			case ev.State == "speaking":
				o.answered = true
			case ev.State == "offline" || ev.State == "no-key" || ev.State == "error":
				o.reported = true
			case ev.State == "idle":
				if o.answered || o.reported {
					o.took = time.Since(start)
					return o, nil
				}
				settle = time.After(3 * time.Second)
			default:
				settle = nil
			}
		case <-settle:
			return o, fmt.Errorf("back to idle with no answer and nothing reported")
		case <-deadline:
			st := r.a.Status()
			return o, fmt.Errorf("stuck: not idle %v after the press (state %s, reason %q, detail %q)", turnBound, st.StateName, st.Reason, st.Detail)
		}
	}
}

// goroutines returns the goroutine count once it has not changed for 1 s (a session
// closed a moment ago is still joining its goroutines, the emulator's call too), or
// after 10 s.
func goroutines() int {
	n, same := runtime.NumGoroutine(), 0
	for end := time.Now().Add(10 * time.Second); same < 10 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// sample is the process's memory and goroutines between two turns.
type sample struct {
	turn int
	rss  uint64
	gor  int
	mem  memBreakdown
}

// sample waits for the goroutine count to settle first: under load the emulator's side
// of the call just hung up (in this process too, but not the appliance's) may still be
// tearing down, holding its buffers. Then it drops what the emulator keeps of ended
// calls (the last 100) and reads the RSS.
func (r *soakRig) sample(turn int) sample {
	g := goroutines()
	r.srv.ForgetEndedCalls()
	return sample{turn: turn, gor: g, rss: rss(), mem: readMem()}
}

// rss returns the process's resident set after a full GC that returns freed memory.
func rss() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestSoak is `make soak`: see the package doc.
func TestSoak(t *testing.T) {
	ds := os.Getenv("EDGEVOICE_SOAK")
	if ds == "" {
		t.Skip("the soak runs with `make soak` (EDGEVOICE_SOAK=duration)")
	}
	dur, err := time.ParseDuration(ds)
	if err != nil || dur < time.Minute {
		t.Fatalf("EDGEVOICE_SOAK=%q: want a duration of at least 1m", ds)
	}
	if os.Getenv("EDGEVOICE_SOAK_HEAP") != "" {
		runtime.MemProfileRate = 4096
	} else {
		cli.NoMemProfile() // as edgevoice's main does
	}
	watchdog := time.AfterFunc(dur+15*time.Minute, func() {
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("soak: still running 15 min after its duration:\n%s", buf[:runtime.Stack(buf, true)]))
	})
	defer watchdog.Stop()
	r := newSoakRig(t)
	defer r.stop()
	deadline := time.Now().Add(15 * time.Second)
	for r.a.Status().State != appliance.Idle {
		if time.Now().After(deadline) {
			t.Fatalf("not idle 15 s after start: %+v", r.a.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}

	var (
		samples                   []sample
		turns, answered, reported int
		failures                  []string
		unprompted                int
		faultsDone                [len(faultNames)]int
		faultsReported            [len(faultNames)]int
		longest                   time.Duration
	)
	trace := os.Getenv("EDGEVOICE_SOAK_TRACE") != ""
	start := time.Now()
	for time.Since(start) < dur && len(failures) < 10 {
		turns++
		f := faultNone
		if turns%10 == 0 {
			f = faultDrop + (turns/10-1)%4
		}
		// Odd turns follow the last at once (warm session); even turns, and the faults that
		// need a new connection, wait for the idle timeout to close it (cold).
		cold := turns%2 == 0 || f == faultMint500 || f == faultSDPDelay
		if cold {
			if err := r.waitNoSession(); err != nil {
				failures = append(failures, fmt.Sprintf("turn %d: %v", turns, err))
				continue
			}
			if turns > warmTurns {
				samples = append(samples, r.sample(turns))
				if trace {
					s := samples[len(samples)-1]
					fmt.Printf("soak-mem: turn %d rss %d anon %d file %d go %d buckets %d metadata %d (mspans %d) stacks %d threads %d goroutines %d\n",
						s.turn, s.rss, s.mem.anon, s.mem.file, s.mem.goMapped, s.mem.buckets, s.mem.metadata, s.mem.mspans, s.mem.stacks, s.mem.threads, s.gor)
				}
			}
		} else {
			time.Sleep(300 * time.Millisecond)
		}
		unprompted += r.drain()
		o, err := r.turn(f)
		if err != nil {
			failures = append(failures, fmt.Sprintf("turn %d (%s): %v", turns, faultNames[f], err))
			continue
		}
		longest = max(longest, o.took)
		if f != faultNone {
			faultsDone[f]++
		}
		switch {
		case o.answered:
			answered++
		case o.reported:
			reported++
		}
		if o.reported && f != faultNone {
			faultsReported[f]++
		}
		if turns%50 == 0 {
			st := r.a.Status()
			fmt.Printf("soak: %v: %d turns, %d answered, %d reported, %d failures, state %s\n",
				time.Since(start).Round(time.Second), turns, answered, reported, len(failures), st.StateName)
		}
	}
	elapsed := time.Since(start)
	if err := r.waitNoSession(); err != nil {
		failures = append(failures, "at the end: "+err.Error())
	}
	unprompted += r.drain()
	final := r.sample(turns)
	samples = append(samples, final)

	if path := os.Getenv("EDGEVOICE_SOAK_HEAP"); path != "" { // a heap profile at the end, before anything is closed
		if f, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	// the summary
	first := samples[0]
	maxRSS, maxG, minRSS := first.rss, first.gor, first.rss
	for _, s := range samples {
		maxRSS, minRSS, maxG = max(maxRSS, s.rss), min(minRSS, s.rss), max(maxG, s.gor)
	}
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nsoak summary (%v, %s)\n", elapsed.Round(time.Second), runtime.Version())
	row := func(k, v string) { fmt.Fprintf(&sb, "  %-28s %s\n", k, v) }
	row("turns", fmt.Sprintf("%d (%.0f per hour)", turns, float64(turns)/elapsed.Hours()))
	row("answered", strconv.Itoa(answered))
	row("reported (not answered)", strconv.Itoa(reported))
	row("failed (stuck, lost)", strconv.Itoa(len(failures)))
	row("answers with no press", strconv.Itoa(unprompted))
	for f := faultDrop; f <= faultSDPDelay; f++ {
		row("fault: "+faultNames[f], fmt.Sprintf("%d turns, %d reported", faultsDone[f], faultsReported[f]))
	}
	row("longest turn", longest.Round(time.Millisecond).String())
	row("RSS after turn "+strconv.Itoa(first.turn), mb(first.rss))
	row("RSS last / min / max", fmt.Sprintf("%s / %s / %s", mb(final.rss), mb(minRSS), mb(maxRSS)))
	row("Go heap in use at the end", mb(ms.HeapInuse))
	row("first → last: Go mapped", fmt.Sprintf("%s → %s", mb(first.mem.goMapped), mb(final.mem.goMapped)))
	row("first → last: RSS anon/file", fmt.Sprintf("%s / %s → %s / %s", mb(first.mem.anon), mb(first.mem.file), mb(final.mem.anon), mb(final.mem.file)))
	row("first → last: profile buckets", fmt.Sprintf("%s → %s", mb(first.mem.buckets), mb(final.mem.buckets)))
	row("first → last: runtime metadata", fmt.Sprintf("%s → %s", mb(first.mem.metadata), mb(final.mem.metadata)))
	row("first → last: OS threads", fmt.Sprintf("%d → %d", first.mem.threads, final.mem.threads))
	row("goroutines first/last/max", fmt.Sprintf("%d / %d / %d", first.gor, final.gor, maxG))
	row("emulator calls", strconv.Itoa(r.srv.Stats().CallsAnswered))
	fmt.Print(sb.String())

	for _, f := range failures {
		t.Error(f)
	}
	if perHour := float64(turns) / elapsed.Hours(); perHour < 300 {
		t.Errorf("%.0f turns per hour, want at least 300", perHour)
	}
	if maxRSS > first.rss+rssBand || minRSS+rssBand < first.rss {
		t.Errorf("RSS left ±3 MB of %s (after turn %d): min %s, max %s", mb(first.rss), first.turn, mb(minRSS), mb(maxRSS))
	}
	if final.gor > first.gor+2 || maxG > first.gor+10 {
		t.Errorf("goroutines grew: %d after turn %d, %d at the end, %d at most", first.gor, first.turn, final.gor, maxG)
	}
	if unprompted > 0 {
		t.Errorf("%d answers played with no press (a stale turn answered after an outage?)", unprompted)
	}
}
