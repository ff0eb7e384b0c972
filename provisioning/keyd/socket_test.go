package keyd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/jonboulle/clockwork"
)

// startSocket serves d on a socket in a temp dir, allowing uids.
func startSocket(t testing.TB, src source, dir string, uids ...uint32) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "keys.sock")
	l, err := Listen(path, 0o660, -1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(src, WithAllowedUIDs(uids...))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path
}

func TestKeySocketGetAndStatus(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk)
	path := startSocket(t, d, "", uint32(os.Getuid()))
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	provtest.WaitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	c := NewClient(path)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.State != StateReady || !st.KeyReady || st.Profile != provisioning.ProfileAzure {
		t.Fatalf("status %+v %v", st, err)
	}
	raw, _ := json.Marshal(st)
	if strings.Contains(string(raw), "ek_") {
		t.Errorf("status carries a key: %s", raw)
	}
	k1, err := c.Get(ctx, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.Get(ctx, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if k1.Value == k2.Value || k1.Dialect != realtime.DialectGA || !strings.HasSuffix(k1.SDPURL, "/calls") || k1.Profile != provisioning.ProfileAzure {
		t.Errorf("keys %v %v", k1, k2)
	}
	if _, err := c.Get(ctx, 3*time.Hour); err == nil || !strings.Contains(err.Error(), "min_valid_s") {
		t.Errorf("3h validity: %v", err)
	}
}

func TestKeySocketGarbageAndDaemonUnaffected(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk)
	path := startSocket(t, d, "", uint32(os.Getuid()))
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for _, junk := range []string{"hello\n", "{\"op\":\"get\",\"min_valid_s\":\"x\"}\n", "{\"op\":\"delete\"}\n", "{\"op\":\"get\",\"evil\":1}\n", "\x00\xff{{{\n"} {
		conn.Write([]byte(junk))
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", junk, err)
		}
		var r response
		if json.Unmarshal([]byte(line), &r) != nil || r.OK || r.Code != "bad_request" || r.Error == "" {
			t.Errorf("after %q: %s", junk, line)
		}
	}
	// a huge line closes the connection with an error answer
	conn.Write([]byte(strings.Repeat("x", 10000) + "\n"))
	line, _ := br.ReadString('\n')
	if !strings.Contains(line, "longer than") {
		t.Errorf("long line: %q", line)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("connection still open after an oversized line")
	}
	// the daemon still serves
	provtest.WaitFor(t, "a ready key", func() bool { return d.Status().KeyReady })
	if _, err := NewClient(path).Get(context.Background(), time.Second); err != nil {
		t.Errorf("get after garbage: %v", err)
	}
}

func TestKeySocketPeerCheck(t *testing.T) {
	if err := checkPeer(1000, []uint32{1000}); err != nil {
		t.Error(err)
	}
	err := checkPeer(65534, []uint32{1000})
	if err == nil || !strings.Contains(err.Error(), "uid 65534 may not use the key socket") {
		t.Errorf("foreign uid: %v", err)
	}
	if checkPeer(0, nil) == nil {
		t.Error("empty allow list let root in")
	}

	// the real SO_PEERCRED path: our own uid is not on the list
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk)
	path := startSocket(t, d, "", uint32(os.Getuid())+1)
	_, err = NewClient(path).Get(context.Background(), time.Second)
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != "forbidden" {
		t.Errorf("get from a refused uid: %v", err)
	}
	if d.Status().Requests != 0 {
		t.Errorf("a refused peer reached the daemon")
	}
}

// TestKeySocketPeerOtherUser connects from a child process running as nobody.
func TestKeySocketPeerOtherUser(t *testing.T) {
	if os.Getenv("EDGEVOICE_PEER_CHILD") != "" {
		conn, err := net.Dial("unix", os.Getenv("EDGEVOICE_PEER_CHILD"))
		if err != nil {
			os.Stdout.WriteString("dial: " + err.Error())
			os.Exit(0)
		}
		conn.Write([]byte(`{"op":"status"}` + "\n"))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		os.Stdout.WriteString(line)
		os.Exit(0)
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	provtest.CheckGoroutines(t)
	// a world-traversable dir with a world-executable copy of this test binary
	dir, err := os.MkdirTemp("", "evpeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Skip("cannot copy the test binary:", err)
	}
	bin := filepath.Join(dir, "peer.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk)
	path := startSocket(t, d, dir, 0)
	os.Chmod(path, 0o666) // only the uid check stands in the way

	run := func(uid uint32) string {
		cmd := exec.Command(bin, "-test.run=^TestKeySocketPeerOtherUser$")
		cmd.Env = append(os.Environ(), "EDGEVOICE_PEER_CHILD="+path)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child as uid %d: %v %s", uid, err, out)
		}
		return string(out)
	}
	if out := run(65534); !strings.Contains(out, `"code":"forbidden"`) || !strings.Contains(out, "uid 65534") {
		t.Errorf("nobody got: %s", out)
	}
	if out := run(0); !strings.Contains(out, `"ok":true`) {
		t.Errorf("root (allowed) got: %s", out)
	}
}

func TestListenUnixRefusesLiveSocket(t *testing.T) {
	provtest.CheckGoroutines(t)
	dir := t.TempDir()
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	d := startDaemon(t, b, clk)
	path := startSocket(t, d, dir, 0)
	if _, err := Listen(path, 0o660, -1); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("second listener: %v", err)
	}
	plain := filepath.Join(dir, "file")
	os.WriteFile(plain, nil, 0o600)
	if _, err := Listen(plain, 0o660, -1); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a file: %v", err)
	}
}

// BenchmarkKeySocketGet measures a get on the key socket with a prefetched key ready
// (each key is handed out once, so the refill is awaited outside the timed part). It
// reports p50 and p99 in microseconds.
func BenchmarkKeySocketGet(b *testing.B) {
	clk := clockwork.NewRealClock()
	fb := provtest.NewBackend(b, clk)
	p, err := provisioning.NewProvider(provisioning.ProfileOpenAI, provisioning.WithMintURL(fb.OpenAIURL()), provisioning.WithCredential(provisioning.StaticCredential(provtest.APIKey)))
	if err != nil {
		b.Fatal(err)
	}
	// the default refill delay (2 s) keeps the refill away from the hand-out; 5 ms does
	// the same here without making each iteration wait 2 s
	d, _ := NewDaemon(p, withRefillDelay(5*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	path := startSocket(b, d, "", uint32(os.Getuid()))
	c := NewClient(path)
	defer c.Close()
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for !d.Status().KeyReady {
			time.Sleep(20 * time.Microsecond)
		}
		b.StartTimer()
		t0 := time.Now()
		if _, err := c.Get(ctx, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// FuzzKeySocketRequest feeds arbitrary request lines to the server: it must answer each
// complete line with one JSON response and never panic.
func FuzzKeySocketRequest(f *testing.F) {
	for _, s := range []string{`{"op":"get","min_valid_s":30}`, `{"op":"status"}`, `{"op":"get","wait_s":-1}`, `{}`, `nul`, "{\"op\":\"get\"}\x00", `{"op":"get","min_valid_s":1e308}`} {
		f.Add([]byte(s))
	}
	src := fakeSource{}
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) == 0 || bytes.IndexByte(line, '\n') >= 0 || len(line) > maxRequestLine { // empty lines are skipped, unanswered
			return
		}
		s, _ := newServer(src, WithAllowedUIDs(7))
		s.peerUID = func(net.Conn) (uint32, error) { return 7, nil }
		a, b := net.Pipe()
		s.mu.Lock()
		s.conns[a] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(a, false)
		b.SetDeadline(time.Now().Add(5 * time.Second))
		go b.Write(append(line, '\n'))
		resp, err := bufio.NewReader(b).ReadString('\n')
		if err != nil {
			t.Fatalf("no answer to %q: %v", line, err)
		}
		var r response
		if err := json.Unmarshal([]byte(resp), &r); err != nil {
			t.Fatalf("answer is not JSON: %q", resp)
		}
		if r.OK && r.Key != nil && r.Key.Value != "ek_fuzz_key_value" {
			t.Fatalf("odd key %q", r.Key.Value)
		}
		b.Close()
		s.Close()
	})
}

type fakeSource struct{}

func (fakeSource) Get(ctx context.Context, minValid time.Duration) (realtime.Key, error) {
	if minValid > time.Hour {
		return realtime.Key{}, errors.New("too long")
	}
	return realtime.Key{Value: "ek_fuzz_key_value", ExpiresAt: time.Now().Add(time.Hour), SDPURL: "https://x/calls"}, nil
}

func (fakeSource) Status() Status { return Status{State: StateReady} }

func TestClientReusesAndRecoversConnection(t *testing.T) {
	provtest.CheckGoroutines(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.sock")
	serve := func() (*Server, chan error) {
		l, err := Listen(path, 0o660, -1)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := newServer(fakeSource{}, WithAllowedUIDs(uint32(os.Getuid())))
		done := make(chan error, 1)
		go func() { done <- s.Serve(l) }()
		return s, done
	}
	s, done := serve()
	c := NewClient(path)
	defer c.Close()
	ctx := context.Background()
	for range 3 {
		if _, err := c.Key(ctx); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d server connections after 3 calls, want 1 (reused)", n)
	}
	// the daemon restarts: the kept connection is stale, the next call redials
	s.Close()
	<-done
	s, done = serve()
	defer func() { s.Close(); <-done }()
	if _, err := c.Get(ctx, time.Second); err != nil {
		t.Fatalf("after a daemon restart: %v", err)
	}
	// a cancelled context ends a call at once, on the kept connection too (this used to
	// depend on a goroutine arming a deadline before the daemon answered, which lost
	// the race under qemu)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Status(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("status with a cancelled context: err = %v, want context.Canceled", err)
	}
	// and the kept connection still serves the next call
	if _, err := c.Status(ctx); err != nil {
		t.Errorf("status after a cancelled call: %v", err)
	}
}

// TestClientCancelledContextOnReusedConnection: a call with an already-cancelled context
// fails at once and sends nothing, even on a kept connection that would answer. The
// peer here is a raw socket that answers every line at once, so nothing but the
// client's own check can make the call fail; it then reports whether the cancelled call
// put a request on the wire.
func TestClientCancelledContextOnReusedConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 200)
	peerDone := make(chan struct{})
	go func() {
		defer close(peerDone)
		defer close(lines)
		for { // one connection at a time, until the listener is closed
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(conn)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					break
				}
				select {
				case lines <- strings.TrimSpace(line):
				default: // more than the test sends: it fails on the count anyway
				}
				if _, err := conn.Write([]byte(`{"ok":true,"status":{"state":"ready"}}` + "\n")); err != nil {
					break
				}
			}
			conn.Close()
		}
	}()
	defer func() { l.Close(); <-peerDone }()
	c := NewClient(path)
	defer c.Close()
	const rounds = 20
	for i := range rounds {
		// a live call first, so the client keeps a connection that answers
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatalf("round %d: status: %v", i, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Status(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: status with a cancelled context on a kept connection: err = %v, want context.Canceled", i, err)
		}
		if _, err := c.Get(ctx, time.Second); !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: get with a cancelled context: err = %v, want context.Canceled", i, err)
		}
	}
	c.Close()
	l.Close()
	select {
	case <-peerDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the peer did not see the client close")
	}
	n := 0
	for line := range lines {
		if n++; !strings.Contains(line, `"op":"status"`) {
			t.Errorf("a call with a cancelled context sent %q", line)
		}
	}
	if n != rounds {
		t.Errorf("the peer read %d requests, want %d (the live calls only): cancelled calls were sent", n, rounds)
	}
}

// TestClientCancelDuringCall: cancelling the context while the daemon has not answered
// ends the call with the context's error.
func TestClientCancelDuringCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan struct{})
	peerDone := make(chan struct{})
	go func() {
		defer close(peerDone)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		close(got)
		br.ReadString('\n') // never answers; returns when the client closes
	}()
	c := NewClient(path)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-got; cancel() }()
	errc := make(chan error, 1)
	go func() { _, err := c.Status(ctx); errc <- err }()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("status cancelled during the call: err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cancel did not end the call")
	}
	select {
	case <-peerDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the client kept the connection of a cancelled call")
	}
}

// TestNoCredentialIsNoKeyNotOffline: a device installed but not set up (the provider has
// no credential anywhere) puts the daemon in no-credential, not backoff: the backend is
// never asked, the key socket answers "no_credential", which matches
// realtime.ErrNoCredential (the appliance shows no-key) and not ErrKeyUnavailable
// (which it shows as offline). A request looks for the credential again at once, so a
// credential put in place is used at the next re-check, without a restart or waiting
// out a backoff.
func TestNoCredentialIsNoKeyNotOffline(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	var have atomic.Bool
	var looked atomic.Int64
	cred := func(context.Context) (string, error) {
		looked.Add(1)
		if !have.Load() {
			return "", fmt.Errorf("provisioning: %w: looked at /nowhere", provisioning.ErrNoCredential)
		}
		return provtest.APIKey, nil
	}
	p, err := provisioning.NewAzure(provisioning.WithDeployment(provtest.Deployment), provisioning.WithMintURL(b.GAURL()),
		provisioning.WithSDPURL(b.Srv.URL+"/openai/v1/realtime/calls"), provisioning.WithCredential(cred),
		provisioning.WithClock(b.Clock()), provisioning.WithHTTPClient(b.Srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	var states []State
	var mu sync.Mutex
	d, err := NewDaemon(p, WithClock(clk), withRefillDelay(0), WithBackoff(time.Minute, time.Hour),
		WithStatusHook(func(s Status) { mu.Lock(); states = append(states, s.State); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	provtest.WaitFor(t, "no-credential", func() bool { return d.Status().State == StateNoCredential })
	c := NewClient(startSocket(t, d, "", uint32(os.Getuid())))
	for range 3 {
		n := looked.Load()
		_, err := c.Get(ctx, 30*time.Second)
		if !errors.Is(err, realtime.ErrNoCredential) || errors.Is(err, realtime.ErrKeyUnavailable) || errors.Is(err, realtime.ErrCredentialRejected) {
			t.Fatalf("get without a credential: %v, want no_credential", err)
		}
		if looked.Load() == n {
			t.Errorf("a request did not look for the credential again (still backing off?)")
		}
	}
	if st, err := c.Status(ctx); err != nil || st.State != StateNoCredential || !strings.Contains(st.LastError, "no credential") {
		t.Errorf("status %+v %v", st, err)
	}
	if n := b.N.Load(); n != 0 {
		t.Errorf("the backend was asked %d times without a credential", n)
	}
	// The credential is put in place: the next request (no clock advance, the backoff
	// is a minute or more) gets a key.
	have.Store(true)
	k, err := c.Get(ctx, 30*time.Second)
	if err != nil || k.Value == "" {
		t.Fatalf("after the credential was put in place: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(states, StateNoCredential) {
		t.Errorf("status hook never saw no-credential: %v", states)
	}
}

// TestNotConfiguredThenSetProvider: a daemon without a profile (provisioning.NotConfigured)
// runs, answers "not_configured" through the socket (realtime.ErrNotConfigured: the
// appliance shows no-key, not offline) with what to set, and asks no backend; a reload
// that brings a profile (SetProvider) makes the next request get a key, without a restart
// and without waiting out the backoff.
func TestNotConfiguredThenSetProvider(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	var states []State
	var mu sync.Mutex
	d, err := NewDaemon(provisioning.NotConfigured("set [provisioning] profile"), WithClock(clk), withRefillDelay(0),
		WithBackoff(time.Minute, time.Hour),
		WithStatusHook(func(s Status) { mu.Lock(); states = append(states, s.State); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	provtest.WaitFor(t, "not-configured", func() bool { return d.Status().State == StateNotConfigured })
	c := NewClient(startSocket(t, d, "", uint32(os.Getuid())))
	for range 3 {
		_, err := c.Get(ctx, 30*time.Second)
		if !errors.Is(err, realtime.ErrNotConfigured) || errors.Is(err, realtime.ErrKeyUnavailable) || errors.Is(err, realtime.ErrNoCredential) {
			t.Fatalf("get without a profile: %v, want not_configured", err)
		}
		if !strings.Contains(err.Error(), "set [provisioning] profile") {
			t.Errorf("the answer does not say what to set: %v", err)
		}
	}
	if st, err := c.Status(ctx); err != nil || st.State != StateNotConfigured || st.Profile != "" {
		t.Errorf("status %+v %v", st, err)
	}
	d.SetProvider(azureGA(t, b))
	k, err := c.Get(ctx, 30*time.Second)
	if err != nil || k.Value == "" {
		t.Fatalf("after SetProvider: %v", err)
	}
	if st := d.Status(); st.Profile != provisioning.ProfileAzure {
		t.Errorf("profile %q after SetProvider, want %q", st.Profile, provisioning.ProfileAzure)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(states, StateNotConfigured) {
		t.Errorf("status hook never saw not-configured: %v", states)
	}
}
