package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/edgevoice/edgevoice/rtc"
)

// ctlRig is a running appliance without a network (every key request fails, so a press
// shows offline) behind a control socket.
type ctlRig struct {
	a    *appliance.Appliance
	srv  *Server
	path string
	stop func()
}

func newCtlRig(t *testing.T) *ctlRig {
	t.Helper()
	before := runtime.NumGoroutine()
	keys := rtc.KeySourceFunc(func(context.Context) (realtime.Key, error) {
		return realtime.Key{}, fmt.Errorf("test: %w", realtime.ErrKeyUnavailable)
	})
	a, err := appliance.New(appliance.Config{RecheckMin: time.Hour, RecheckEvery: time.Hour}, appliance.Deps{Keys: keys,
		NewSession: func(realtime.Key, rtc.KeySource) (appliance.Session, error) {
			return nil, errors.New("test: no sessions")
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-a.FirstCheck()
	path := filepath.Join(t.TempDir(), "control.sock")
	srv, err := Listen(path, func(context.Context) Status { return Status{Version: "test", Appliance: a.Status()} }, nil, WithRemote(a))
	if err != nil {
		t.Fatal(err)
	}
	r := &ctlRig{a: a, srv: srv, path: path}
	r.stop = func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		<-done
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines left (%d before):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return r
}

// conn is one client connection with line I/O.
type conn struct {
	t  *testing.T
	c  net.Conn
	sc *bufio.Scanner
}

func (r *ctlRig) dial(t *testing.T) *conn {
	t.Helper()
	c, err := net.Dial("unix", r.path)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, 1<<20)
	t.Cleanup(func() { c.Close() })
	return &conn{t: t, c: c, sc: sc}
}

func (c *conn) send(line string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(line + "\n")); err != nil {
		c.t.Fatal(err)
	}
}

func (c *conn) read() map[string]any {
	c.t.Helper()
	if !c.sc.Scan() {
		c.t.Fatalf("no answer: %v", c.sc.Err())
	}
	var m map[string]any
	if err := json.Unmarshal(c.sc.Bytes(), &m); err != nil {
		c.t.Fatalf("answer %q: %v", c.sc.Text(), err)
	}
	return m
}

func (c *conn) ask(line string) map[string]any { c.t.Helper(); c.send(line); return c.read() }

// TestProtocol: several requests on one connection, each answered in order with the
// version; every kind of bad request gets ok false and a reason, and the connection
// stays usable.
func TestProtocol(t *testing.T) {
	r := newCtlRig(t)
	defer r.stop()
	c := r.dial(t)
	cases := []struct {
		req     string
		ok      bool
		errPart string
		state   string
	}{
		{`{"v":1,"op":"status"}`, true, "", "offline"},
		{`{"op":"status"}`, true, "", "offline"}, // older clients
		{`{"op":"press"}`, false, `no protocol version; send "v":1`, ""},
		{`{"v":2,"op":"status"}`, false, "unsupported protocol version 2", ""},
		{`{"v":1,"op":"jump"}`, false, `unknown op "jump" (want one of status, press`, ""},
		{`not json`, false, "bad request: not a JSON request object", ""},
		{`{"v":1,"op":"status","bogus":1}`, false, `unknown field "bogus"`, ""},
		{`{"v":1,"op":"volume"}`, false, "volume needs exactly one of", ""},
		{`{"v":1,"op":"volume","value":0.5,"step":0.1}`, false, "volume needs exactly one of", ""},
		{`{"v":1,"op":"volume","value":2}`, false, "out of range", ""},
		{`{"v":1,"op":"press","value":1}`, false, `op "press" takes no "value"`, ""},
		{`{"v":1,"op":"say"}`, false, `say needs a "text"`, ""},
		{`{"v":1,"op":"mute","text":"x"}`, false, `op "mute" takes no "text"`, ""},
		{`{"v":1,"op":"mute","id":"m1"}`, true, "", "muted"},
		{`{"v":1,"op":"press"}`, false, "muted: talk is ignored (unmute first)", ""},
		{`{"v":1,"op":"cancel"}`, false, "nothing to cancel", ""},
		{`{"v":1,"op":"unmute"}`, true, "", "offline"},
	}
	for _, tc := range cases {
		m := c.ask(tc.req)
		if m["v"] != float64(1) || m["ok"] != tc.ok {
			t.Errorf("%s: answer %v", tc.req, m)
			continue
		}
		if e, _ := m["error"].(string); tc.errPart != "" && !strings.Contains(e, tc.errPart) {
			t.Errorf("%s: error %q, want it to contain %q", tc.req, e, tc.errPart)
		}
		if tc.state != "" && m["state"] != tc.state {
			t.Errorf("%s: state %v, want %s", tc.req, m["state"], tc.state)
		}
	}
	if m := c.ask(`{"v":1,"op":"volume","value":0.25}`); m["volume"] != 0.25 {
		t.Errorf("volume: %v", m)
	}
	if m := c.ask(`{"v":1,"op":"volume","step":-0.05,"id":"x"}`); m["volume"] != 0.2 || m["id"] != "x" {
		t.Errorf("volume step: %v", m)
	}
	if m := c.ask(`{"v":1,"op":"status"}`); m["status"].(map[string]any)["appliance"].(map[string]any)["volume"] != 0.2 {
		t.Errorf("status after the volume change: %v", m)
	}
	// a line over the limit is answered and skipped; the next request works
	c.send(`{"v":1,"op":"say","text":"` + strings.Repeat("a", MaxLine) + `"}`)
	if m := c.read(); m["ok"] != false || !strings.Contains(m["error"].(string), "line longer than") {
		t.Errorf("long line: %v", m)
	}
	if m := c.ask(`{"v":1,"op":"status"}`); m["ok"] != true {
		t.Errorf("status after a long line: %v", m)
	}
	// Do and Ask, the client side
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Do(ctx, r.path, Request{Op: "jump"}); err == nil || !strings.Contains(err.Error(), "unknown op") {
		t.Errorf("Do(jump): %v", err)
	}
	if st, err := Ask(ctx, r.path); err != nil || st.Version != "test" {
		t.Errorf("Ask: %+v %v", st, err)
	}
}

// TestStatusOnly: without WithRemote, only status is served.
func TestStatusOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	srv, err := Listen(path, func(context.Context) Status { return Status{Version: "v"} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Do(ctx, path, Request{Op: "press"}); err == nil || !strings.Contains(err.Error(), "not served here") {
		t.Errorf("press without a remote: %v", err)
	}
}

// TestSubscribeAndLag: a subscriber sees the current state and then every change; one
// that does not read is dropped with a last "lagged" event, while requests keep being
// answered (the appliance is never held up).
func TestSubscribeAndLag(t *testing.T) {
	r := newCtlRig(t)
	defer r.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// a reading subscriber through the client
	got := make(chan appliance.Event, 64)
	subDone := make(chan error, 1)
	sctx, scancel := context.WithCancel(ctx)
	go func() {
		subDone <- Subscribe(sctx, r.path, func(line []byte) error {
			var ev EventLine
			if err := json.Unmarshal(line, &ev); err != nil || ev.V != 1 {
				return fmt.Errorf("event line %q: %v", line, err)
			}
			got <- ev.Event
			return nil
		})
	}()
	next := func() appliance.Event {
		t.Helper()
		select {
		case ev := <-got:
			return ev
		case <-ctx.Done():
			t.Fatal("no event within 20 s")
		}
		return appliance.Event{}
	}
	if ev := next(); ev.Type != "state" || ev.State != "offline" {
		t.Fatalf("first event %+v, want the current state", ev)
	}
	c := r.dial(t)
	if m := c.ask(`{"v":1,"op":"mute"}`); m["ok"] != true {
		t.Fatal(m)
	}
	if ev := next(); ev.Type != "state" || ev.State != "muted" || ev.From != "offline" || ev.Reason != "muted" {
		t.Errorf("event after mute: %+v", ev)
	}
	c.ask(`{"v":1,"op":"unmute"}`)
	for ev := next(); ev.Type != "state"; ev = next() {
	}
	scancel()
	if err := <-subDone; err != nil {
		t.Errorf("Subscribe: %v", err)
	}

	// a subscriber that never reads
	slow := r.dial(t)
	if m := slow.ask(`{"v":1,"op":"subscribe"}`); m["ok"] != true {
		t.Fatal(m)
	}
	for i := range 3000 { // far more than the buffer and the socket hold
		op := "mute"
		if i%2 == 1 {
			op = "unmute"
		}
		if m := c.ask(`{"v":1,"op":"` + op + `"}`); m["ok"] != true {
			t.Fatalf("request %d: %v", i, m)
		}
	}
	var last map[string]any
	n := 0
	for slow.sc.Scan() {
		n++
		if err := json.Unmarshal(slow.sc.Bytes(), &last); err != nil {
			t.Fatal(err)
		}
	}
	if ev, _ := last["event"].(map[string]any); ev["type"] != EventLagged {
		t.Errorf("the slow subscriber's last line (of %d) is %v, want a lagged event", n, last)
	}
	if n >= 6001 {
		t.Errorf("the slow subscriber got all %d events; it should have been dropped", n)
	}
}

// TestConnectionLimit: connections beyond MaxConns are answered with an error and
// closed; the ones within keep working.
func TestConnectionLimit(t *testing.T) {
	r := newCtlRig(t)
	defer r.stop()
	cs := make([]*conn, MaxConns)
	for i := range cs {
		cs[i] = r.dial(t)
		if m := cs[i].ask(`{"v":1,"op":"status"}`); m["ok"] != true { // the server has taken it
			t.Fatal(m)
		}
	}
	extra := r.dial(t)
	if m := extra.read(); m["ok"] != false || !strings.Contains(m["error"].(string), "too many connections") {
		t.Errorf("connection %d: %v", MaxConns+1, m)
	}
	if m := cs[0].ask(`{"v":1,"op":"status"}`); m["ok"] != true {
		t.Errorf("a connection within the limit: %v", m)
	}
	cs[1].c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := r.dial(t)
		c.send(`{"v":1,"op":"status"}`)
		if m := c.read(); m["ok"] == true {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a slot freed by a closed connection was not reused")
		}
		c.c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}
