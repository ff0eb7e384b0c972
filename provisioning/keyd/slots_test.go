package keyd

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// serveTest serves src on a socket with s's options; peer returns the uid of each
// connection.
func serveTest(t *testing.T, src source, peer func(net.Conn) (uint32, error), setup func(*Server), uids ...uint32) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.sock")
	l, err := Listen(path, 0o660, -1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(src, WithAllowedUIDs(uids...))
	if err != nil {
		t.Fatal(err)
	}
	s.peerUID = peer
	if setup != nil {
		setup(s)
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

// TestKeySocketPerUIDLimit: one allowed uid could hold all 32 slots (open connections
// and send blank lines), locking every other user, the appliance included, out.
func TestKeySocketPerUIDLimit(t *testing.T) {
	var n atomic.Int64
	// the first maxSocketConns connections are uid 7, then uid 8
	peer := func(net.Conn) (uint32, error) {
		if n.Add(1) <= maxSocketConns {
			return 7, nil
		}
		return 8, nil
	}
	path := serveTest(t, fakeSource{}, peer, nil, 7, 8)
	var hogs []net.Conn
	defer func() {
		for _, c := range hogs {
			c.Close()
		}
	}()
	busy := 0
	for i := 0; i < maxSocketConns; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, c)
		// a status request proves the slot is held (and the uid counted)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("{\"op\":\"status\"}\n"))
		var r response
		if err := json.NewDecoder(bufio.NewReader(c)).Decode(&r); err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		if r.Code == "busy" {
			busy++
		}
	}
	if busy != maxSocketConns-maxConnsPerUID {
		t.Errorf("uid 7 was refused %d of %d connections, want %d (the per-uid limit is %d)", busy, maxSocketConns, maxSocketConns-maxConnsPerUID, maxConnsPerUID)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("{\"op\":\"status\"}\n"))
	var r response
	if err := json.NewDecoder(c).Decode(&r); err != nil || !r.OK {
		t.Fatalf("uid 8 after uid 7 took its slots: %+v %v", r, err)
	}
}

// TestKeySocketBlankLinesDoNotKeepAlive: blank lines reset the idle deadline, so a
// connection could be held for ever; only a request does now.
func TestKeySocketBlankLinesDoNotKeepAlive(t *testing.T) {
	peer := func(net.Conn) (uint32, error) { return 7, nil }
	path := serveTest(t, fakeSource{}, peer, func(s *Server) { s.idle = 200 * time.Millisecond }, 7)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := c.Read(buf); err != nil {
				close(closed)
				return
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return
		case <-deadline:
			t.Fatal("a connection sending only blank lines was still open after 10 s (idle timeout 200 ms)")
		case <-tick.C:
			c.Write([]byte("\n"))
		}
	}
}

// farSource hands out a key that expires in the year 10000.
type farSource struct{ fakeSource }

func (farSource) Get(context.Context, time.Duration) (realtime.Key, error) {
	return realtime.Key{Value: "ek_far_key_value_0123", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), SDPURL: "https://x/calls"}, nil
}

// TestKeySocketUnencodableKey: a key whose expires_at JSON cannot encode (past year
// 9999) made the server drop the connection without a word; the client now gets an
// error that says why, and the connection stays usable.
func TestKeySocketUnencodableKey(t *testing.T) {
	peer := func(net.Conn) (uint32, error) { return 7, nil }
	path := serveTest(t, farSource{}, peer, nil, 7)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	dec := json.NewDecoder(c)
	c.Write([]byte("{\"op\":\"get\",\"min_valid_s\":30}\n"))
	var r response
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("no answer: %v", err)
	}
	if r.OK || r.Code != "internal" || !strings.Contains(r.Error, "expires_at") || strings.Contains(r.Error, "ek_far") {
		t.Fatalf("answer %+v", r)
	}
	c.Write([]byte("{\"op\":\"status\"}\n"))
	if err := dec.Decode(&r); err != nil || !r.OK {
		t.Fatalf("status after the bad key: %+v %v", r, err)
	}
}
