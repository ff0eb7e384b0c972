package rtc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
	"github.com/pion/transport/v5/test"
)

// wrtcPeer is rtc/testdata/wrtcpeer/peer.js running under node: a realtime-service
// stand-in built on libwebrtc (not pion), installed by build/install-deps.sh.
type wrtcPeer struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  bytes.Buffer
	port    int
	commits chan wrtcCommit
	wg      sync.WaitGroup
}

type wrtcCommit struct {
	Call     string          `json:"call"`
	MediaMS  float64         `json:"media_ms"`
	SinkMS   float64         `json:"sink_ms"`
	MarkerMS float64         `json:"marker_ms"`
	Stats    json.RawMessage `json:"stats"`
}

// wrtcModules is where build/install-deps.sh installs @roamhq/wrtc.
func wrtcModules() string {
	if d := os.Getenv("EDGEVOICE_WRTC_MODULES"); d != "" {
		return d
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "edgevoice", "wrtc", "node_modules")
}

func startWRTCPeer(t *testing.T, answerDelay time.Duration) *wrtcPeer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the libwebrtc interop check needs Node.js (Debian package nodejs) and build/install-deps.sh")
	}
	mods := wrtcModules()
	if _, err := os.Stat(filepath.Join(mods, "@roamhq", "wrtc", "package.json")); err != nil {
		t.Fatalf("@roamhq/wrtc is not installed in %s: run build/install-deps.sh (or set EDGEVOICE_WRTC_MODULES to a node_modules that has it)", mods)
	}
	p := &wrtcPeer{commits: make(chan wrtcCommit, 16)}
	p.cmd = exec.Command(node, filepath.Join("testdata", "wrtcpeer", "peer.js"))
	p.cmd.Env = append(os.Environ(), "NODE_PATH="+mods, fmt.Sprintf("ANSWER_DELAY_MS=%d", answerDelay.Milliseconds()))
	p.cmd.Stderr = &p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ports := make(chan int, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.commits)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct {
				Event string `json:"event"`
				Port  int    `json:"port"`
				wrtcCommit
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Event {
			case "listening":
				ports <- line.Port
			case "commit":
				select {
				case p.commits <- line.wrtcCommit:
				default:
				}
			}
		}
	}()
	select {
	case p.port = <-ports:
	case <-time.After(20 * time.Second):
		p.close()
		t.Fatalf("the libwebrtc peer did not start within 20 s; its stderr:\n%s", p.stderr.String())
	}
	return p
}

// close stops the peer (closing its stdin ends it) and waits for it.
func (p *wrtcPeer) close() {
	p.stdin.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.wg.Wait()
}

func (p *wrtcPeer) key() realtime.Key {
	return realtime.Key{Value: "ek_wrtc_test", ExpiresAt: time.Now().Add(time.Hour), Dialect: realtime.DialectGA, Profile: "openai",
		SDPURL: fmt.Sprintf("http://127.0.0.1:%d/v1/realtime/calls", p.port)}
}

// TestLibwebrtcPeer: rtc against a libwebrtc peer (not pion) that plays the received
// audio at real time: a 2.0 s marked utterance in one push-to-talk turn, warm and after
// a 1.5 s SDP answer delay (the pre-roll then goes out as a catch-up at 2× real time),
// must be decoded whole, end marker included, by the time the peer sees the commit.
func TestLibwebrtcPeer(t *testing.T) {
	defer test.CheckRoutines(t)()
	for _, tc := range []struct {
		name  string
		delay time.Duration
	}{{"warm", 0}, {"sdp-delay-1.5s", 1500 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			p := startWRTCPeer(t, tc.delay)
			defer p.close()
			c, releaseToDone, wait := runWRTCTurn(t, p, tc.delay > 0, WithPreRoll(2*time.Second, 2))
			t.Logf("%s: the peer had played %.0f ms of media of the 2000 ms utterance by the commit (sink: %.0f ms loud, %.0f ms of marker; stats %s); commit waited %v after the last packet; release → response.done %v",
				tc.name, c.MediaMS, c.SinkMS, c.MarkerMS, c.Stats, wait, releaseToDone.Round(time.Millisecond))
			if c.MediaMS < 1980 || c.MarkerMS <= 0 {
				t.Errorf("the libwebrtc peer had played %.0f ms of media (marker %.0f ms) of the 2.0 s utterance at the commit, want all of it", c.MediaMS, c.MarkerMS)
			}
		})
	}
}

// runWRTCTurn says the marked 2.0 s utterance at real time in one push-to-talk turn on a
// fresh session against the libwebrtc peer (pressing before the connect when cold) and
// returns what the peer had played at the commit, release → response.done, and the
// session's wait before the commit.
func runWRTCTurn(t *testing.T, p *wrtcPeer, cold bool, opts ...Option) (wrtcCommit, time.Duration, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// libwebrtc gathers no loopback candidates: the host's own addresses are used
	s, err := New(p.key(), append([]Option{WithBackoff(20*time.Millisecond, 200*time.Millisecond), WithSessionConfig(pttConfig())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordEvents(s)
	defer func() { s.Close(); <-rec.done }()
	if cold {
		s.Press()
		s.Start(ctx)
	} else {
		s.Start(ctx)
		if !waitState(s, 10*time.Second, StateConnected) {
			t.Fatalf("no connection to the libwebrtc peer within 10 s (state %v, stats %+v); the peer's stderr:\n%s", s.State(), s.Stats(), p.stderr.String())
		}
		s.Press()
	}
	feedSamples(s, markedUtterance())
	released := time.Now()
	s.Release()
	var c wrtcCommit
	select {
	case c = <-p.commits:
	case <-time.After(15 * time.Second):
		t.Fatalf("the libwebrtc peer saw no commit within 15 s of the release; its stderr:\n%s", p.stderr.String())
	}
	done := rec.wait(t, 10*time.Second, isKind(EventResponseDone))
	return c, done.Sub(released), s.Stats().CommitWait
}

// waitState polls s until it is in st or d has passed.
func waitState(s *Session, d time.Duration, st State) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if s.State() == st {
			return true
		}
	}
	return false
}
