package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/control"

	"golang.org/x/sys/unix"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/sim"
)

// TestRunSIGTERMDuringTurn is the issue's "clean shutdown on SIGTERM: LEDs off, session
// closed, devices released, within 2 s" against the real binary: `edgevoice run` as a
// child process (simulated board on a pty, WAV files as mic and speaker, keys from a
// provisiond child, the emulator in this process) is stopped with a real SIGTERM while
// a talk turn is being answered. It must exit 0 within 2 s of the signal, log the Off
// state, leave the emulator's call closed (not failed or timed out) and leave a WAV
// file whose header matches its length (the speaker sink was closed, not abandoned).
func TestRunSIGTERMDuringTurn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it as a process")
	}
	dir := t.TempDir()
	bin := buildBinary(t, "./cmd/edgevoice", "nolibopusfile")
	provBin := buildBinary(t, "./cmd/edgevoice-provisiond", "")
	srv := startEmulator(t)

	// A mic file long enough to still be talking when the button goes down (the file
	// is read in real time from the start, whether or not a turn is on).
	micWAV := filepath.Join(dir, "mic.wav")
	writeLongMic(t, "assets/question.wav", micWAV, 30)
	outWAV := filepath.Join(dir, "out.wav")

	cred := filepath.Join(dir, "credential")
	if err := os.WriteFile(cred, []byte(srv.DeviceToken()), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl, keys := filepath.Join(dir, "control.sock"), filepath.Join(dir, "keys.sock")

	// The talk button: the simulated board reads keys from its stdin when that is a
	// terminal (space toggles talk). Without a pty, keep_warm opens a session unpressed.
	ptm, pts, ptyErr := openPTY()
	keepWarm := ptyErr != nil
	if keepWarm {
		t.Logf("no pty (%v): keep_warm session instead of a talk turn", ptyErr)
	} else {
		defer ptm.Close()
	}
	doc := fmt.Sprintf(`[appliance]
control_socket = %q
log_level = "debug"
log_format = "text"
keep_warm = %t
[board]
kind = "sim"
[audio]
input_file = %q
pace_files = true
output_file = %q
[provisioning]
socket = %q
[rtc]
loopback_candidates = true
interfaces = ["lo"]
allow_ips = ["127.0.0.0/8"]
`, ctl, keepWarm, micWAV, outWAV, keys)
	cfg := filepath.Join(dir, "run.toml")
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	env := childEnv()

	// The key daemon, a child too (it is a separate service on the device).
	prov := exec.Command(provBin, "provisiond", "-config", "", "-profile", "broker", "-broker-url", srv.URL(),
		"-credential-file", cred, "-socket", keys, "-allow-users", fmt.Sprint(os.Getuid()))
	prov.Env = env
	provLog := createFile(t, filepath.Join(dir, "provisiond.log"))
	prov.Stdout, prov.Stderr = provLog, provLog
	if err := prov.Start(); err != nil {
		t.Fatal(err)
	}
	provDone := make(chan error, 1)
	go func() { provDone <- prov.Wait() }()
	defer func() {
		_ = prov.Process.Signal(syscall.SIGTERM)
		select {
		case <-provDone:
		case <-time.After(5 * time.Second):
			_ = prov.Process.Kill()
			<-provDone
		}
	}()

	runLog := filepath.Join(dir, "run.log")
	termOut := filepath.Join(dir, "terminal.out")
	run := exec.Command(bin, "run", "-config", cfg)
	run.Env = env
	rl, to := createFile(t, runLog), createFile(t, termOut)
	run.Stdout, run.Stderr = to, rl
	if !keepWarm {
		run.Stdin = pts
	}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	if pts != nil {
		pts.Close() // the child holds it now
	}
	runDone := make(chan error, 1)
	go func() { runDone <- run.Wait() }()
	exited := false
	defer func() {
		if !exited {
			_ = run.Process.Kill()
			<-runDone
		}
	}()
	logs := func() string { b, _ := os.ReadFile(runLog); return string(b) }

	// waitStatus polls the control socket until ok holds (or the child dies).
	waitStatus := func(what string, d time.Duration, ok func(*control.Status) bool) *control.Status {
		t.Helper()
		deadline := time.Now().Add(d)
		var last *control.Status
		var lastErr error
		for {
			select {
			case err := <-runDone:
				exited = true
				t.Fatalf("edgevoice run exited (%v) while waiting for %s\nlogs:\n%s", err, what, logs())
			default:
			}
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			s, err := control.Ask(sctx, ctl)
			cancel()
			if err == nil {
				last = s
				if ok(s) {
					return s
				}
			}
			lastErr = err
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %v (last %+v, err %v)\nlogs:\n%s", what, d, last, lastErr, logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	st := waitStatus("idle with a key", 20*time.Second, func(s *control.Status) bool {
		return s.Appliance.StateName == "idle" && s.Appliance.Key != nil
	})
	if st.PID != run.Process.Pid {
		t.Errorf("status from pid %d, want the child %d", st.PID, run.Process.Pid)
	}
	connected := func(s *control.Status) bool {
		return s.Appliance.Session != nil && s.Appliance.Session.State == "connected"
	}
	if keepWarm {
		waitStatus("a warm session", 20*time.Second, connected)
	} else {
		// The terminal is in raw mode once it has printed its key help.
		deadline := time.Now().Add(10 * time.Second)
		for b, _ := os.ReadFile(termOut); !strings.Contains(string(b), sim.Help); b, _ = os.ReadFile(termOut) {
			if time.Now().After(deadline) {
				t.Fatalf("the simulated board's terminal did not start\nterminal:\n%s\nlogs:\n%s", b, logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
		press := func() {
			t.Helper()
			if _, err := ptm.Write([]byte(" ")); err != nil {
				t.Fatalf("pty write: %v", err)
			}
		}
		press() // talk down
		waitStatus("listening on a connected session", 20*time.Second, func(s *control.Status) bool {
			return s.Appliance.StateName == "listening" && connected(s)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := srv.WaitStats(ctx, func(s emulator.Stats) bool { return s.PacketsIn >= 50 }) // 1 s of uplink
		cancel()
		if err != nil {
			t.Fatalf("no uplink audio at the emulator: %v\nlogs:\n%s", err, logs())
		}
		press() // talk up: the turn is committed and answered
		waitStatus("speaking", 20*time.Second, func(s *control.Status) bool {
			return s.Appliance.StateName == "speaking" && connected(s)
		})
		time.Sleep(300 * time.Millisecond) // some reply audio on its way to the speaker file
	}
	before := srv.Stats()
	if before.CallsConnected < 1 || before.CallsEnded != 0 {
		t.Fatalf("before SIGTERM: %d calls connected, %d ended", before.CallsConnected, before.CallsEnded)
	}

	start := time.Now()
	if err := run.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	select {
	case waitErr = <-runDone:
		exited = true
	case <-time.After(2 * time.Second):
		t.Errorf("edgevoice run did not exit within 2 s of SIGTERM")
		select {
		case waitErr = <-runDone:
			exited = true
		case <-time.After(5 * time.Second):
			t.Fatalf("edgevoice run still running 7 s after SIGTERM\nlogs:\n%s", logs())
		}
	}
	took := time.Since(start)
	t.Logf("SIGTERM -> exit: %v", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("shutdown took %v, want at most 2 s", took)
	}
	if waitErr != nil {
		t.Errorf("edgevoice run after SIGTERM: %v (want exit status 0)\nlogs:\n%s", waitErr, logs())
	}

	// LEDs off, the loop stopped in order, nothing timed out.
	l := logs()
	for _, w := range []string{"msg=stopping", "component=rtc state=closed", "to=off reason=shutdown", "msg=stopped"} {
		if !strings.Contains(l, w) {
			t.Errorf("logs lack %q:\n%s", w, l)
		}
	}
	for _, w := range []string{"shutdown timed out", "LEDs did not turn off", "level=ERROR"} {
		if strings.Contains(l, w) {
			t.Errorf("logs have %q:\n%s", w, l)
		}
	}
	if i, j := strings.Index(l, "to=off reason=shutdown"), strings.Index(l, "msg=stopped"); i > j {
		t.Errorf("the appliance went off after run reported stopped:\n%s", l)
	}

	// Session closed: the client closed the peer connection (DTLS close), so the
	// emulator sees "closed" at once rather than "failed" after the ICE timeouts (2 s
	// disconnected + 6 s failed by default; 5 s leaves room for a busy machine).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := srv.WaitStats(ctx, func(s emulator.Stats) bool { return s.CallsEnded >= before.CallsConnected })
	cancel()
	after := srv.Stats()
	if err != nil {
		t.Errorf("the session was not closed: %d of %d calls ended (%v)", after.CallsEnded, after.CallsConnected, err)
	}
	for _, c := range after.Calls {
		if c.State != "closed" {
			t.Errorf("call %s ended %q, want closed by the client", c.ID, c.State)
		}
	}
	if !keepWarm {
		if c, ok := after.LastCall(); !ok || len(c.Turns) < 1 || len(c.Responses) < 1 {
			t.Errorf("the emulator saw no answered turn: %+v", c)
		}
	}

	// Devices released: the speaker file's header was fixed up on close.
	checkClosedWAV(t, outWAV)

	if _, err := control.Ask(context.Background(), ctl); err == nil {
		t.Error("the control socket still answers after the process exited")
	}
	if _, err := os.Stat(ctl); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the control socket file is left behind: %v", err)
	}
}

// checkClosedWAV fails t unless path is a WAV file whose data size in the header
// matches the bytes after the header, and it holds some audio.
func checkClosedWAV(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := audio.ReadWAVHeader(f) // reads exactly the header (no buffering)
	if err != nil {
		t.Fatalf("speaker file: %v", err)
	}
	hdr, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	data := fi.Size() - hdr
	if info.Frames <= 0 {
		t.Fatalf("speaker file: header says %d frames (%d data bytes on disk): the sink was not closed", info.Frames, data)
	}
	if want := info.Frames * int64(info.Format.FrameBytes()); want != data {
		t.Errorf("speaker file: header says %d data bytes, the file has %d: the sink was not closed cleanly", want, data)
	}
	src, err := audio.OpenWAVSource[float32](path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	buf := make([]float32, 4800)
	var peak float32
	for {
		n, err := src.Read(context.Background(), buf)
		for _, v := range buf[:n] {
			peak = max(peak, v, -v)
		}
		if err != nil {
			break
		}
	}
	t.Logf("speaker file: %s, %d frames (%.2f s), peak %.3f", info.Format, info.Frames,
		float64(info.Frames)/float64(info.Format.Rate), peak)
}

// writeLongMic writes reps copies of the WAV file in to out (same format).
func writeLongMic(t *testing.T, in, out string, reps int) {
	t.Helper()
	src, err := audio.OpenWAVSource[float32](in, false)
	if err != nil {
		t.Fatal(err)
	}
	var all []float32
	buf := make([]float32, 4096)
	for {
		n, err := src.Read(context.Background(), buf)
		all = append(all, buf[:n]...)
		if err != nil {
			break
		}
	}
	f := src.Format()
	src.Close()
	sink, err := audio.CreateWAVSink[float32](out, audio.Format{Rate: f.Rate, Channels: f.Channels, Sample: audio.S16}, false)
	if err != nil {
		t.Fatal(err)
	}
	for range reps {
		if _, err := sink.Write(context.Background(), all); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
}

// openPTY opens a pseudo-terminal pair (the slave is the child's stdin).
func openPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// childEnv is this process's environment without what would make the child talk to
// systemd or journald.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID", "COLORTERM":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func createFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
