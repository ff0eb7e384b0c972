package keyd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// source is what the key socket serves: *Daemon, or a fake in tests.
type source interface {
	Get(ctx context.Context, minValid time.Duration) (realtime.Key, error)
	Status() Status
}

// ServerOption configures NewServer.
type ServerOption func(*Server) error

// WithAllowedUIDs sets the user ids that may connect (checked with SO_PEERCRED). Without
// it nobody may connect.
func WithAllowedUIDs(uids ...uint32) ServerOption {
	return func(s *Server) error { s.allowed = append(s.allowed, uids...); return nil }
}

// WithServerLogger sets the logger (nil discards).
func WithServerLogger(l *slog.Logger) ServerOption {
	return func(s *Server) error { s.logger = l; return nil }
}

// Server answers the key socket protocol.
type Server struct {
	src     source
	allowed []uint32
	logger  *slog.Logger
	peerUID func(net.Conn) (uint32, error) // tests replace it
	idle    time.Duration                  // connIdle; tests shorten it

	ctx    context.Context // cancelled by Close; only for the connection handlers
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	perUID map[uint32]int // open connections of each peer uid
	closed bool
}

// NewServer returns a server that hands out d's keys.
func NewServer(d *Daemon, opts ...ServerOption) (*Server, error) {
	if d == nil {
		return nil, errors.New("BUG: keyd: NewServer(nil)")
	}
	return newServer(d, opts...)
}

func newServer(src source, opts ...ServerOption) (*Server, error) {
	s := &Server{src: src, peerUID: peerUID, conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.idle = connIdle
	return s, nil
}

// Listen creates the socket at path with mode (0660 by default use) and group gid (-1
// keeps the default), replacing a stale socket file. It refuses to replace a socket that
// still answers (another daemon) or anything that is not a socket.
func Listen(path string, mode os.FileMode, gid int) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("keyd: os.MkdirAll: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("keyd: %s exists and is not a socket; remove it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("keyd: another daemon is listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("keyd: removing the stale socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("keyd: net.ListenUnix: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, fmt.Errorf("keyd: os.Chmod: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			l.Close()
			return nil, fmt.Errorf("keyd: os.Chown: %w", err)
		}
	}
	return l, nil
}

// Serve accepts connections on l until Close; it returns nil after Close.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.lns = append(s.lns, l)
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("keyd: Accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		busy := len(s.conns) >= maxSocketConns
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c, busy)
	}
}

// Close stops accepting, closes every connection and waits for their handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, l := range s.lns {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// checkPeer refuses a peer whose uid is not allowed.
func checkPeer(uid uint32, allowed []uint32) error {
	if slices.Contains(allowed, uid) {
		return nil
	}
	return fmt.Errorf("keyd: uid %d may not use the key socket (allowed: %v); run as the configured user", uid, allowed)
}

func (s *Server) handle(c net.Conn, busy bool) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	reply := func(r response) bool {
		b, err := json.Marshal(r)
		if err != nil {
			// A value JSON cannot hold (an expires_at past year 9999): say so instead
			// of closing the connection without a word. Never the key in the message.
			s.logger.Error("a key socket answer cannot be encoded", "err", err)
			b, _ = json.Marshal(response{Code: "internal", Error: "keyd: the answer cannot be encoded (a key's expires_at out of range?); see the key daemon's log"})
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write(append(b, '\n'))
		return err == nil
	}
	if busy {
		reply(response{Code: "busy", Error: "too many connections"})
		return
	}
	uid, err := s.peerUID(c)
	if err == nil {
		err = checkPeer(uid, s.allowed)
	}
	if err != nil {
		s.logger.Warn("refused a key socket peer", "err", err)
		reply(response{Code: "forbidden", Error: err.Error()})
		return
	}
	// One uid holds at most maxConnsPerUID of the maxSocketConns slots, so another
	// allowed user (the appliance, an admin's `keys status`) still gets in.
	s.mu.Lock()
	if s.perUID == nil {
		s.perUID = map[uint32]int{}
	}
	if s.perUID[uid] >= maxConnsPerUID {
		s.mu.Unlock()
		s.logger.Warn("refused a key socket connection: too many from one user", "uid", uid, "limit", maxConnsPerUID)
		reply(response{Code: "busy", Error: fmt.Sprintf("too many connections from uid %d (limit %d)", uid, maxConnsPerUID)})
		return
	}
	s.perUID[uid]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.perUID[uid]--; s.perUID[uid] <= 0 {
			delete(s.perUID, uid)
		}
		s.mu.Unlock()
	}()
	br := bufio.NewReaderSize(c, 1024)
	// The idle deadline is renewed by an answered request only: blank lines do not
	// keep a connection open.
	c.SetReadDeadline(time.Now().Add(s.idle))
	for {
		line, err := readLine(br, maxRequestLine)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				reply(response{Code: "bad_request", Error: "request line longer than 4 KiB"})
			}
			return
		}
		if len(line) == 0 {
			continue
		}
		var req request
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			if !reply(response{Code: "bad_request", Error: "bad request: " + shortErr(err) + ` (send {"op":"get","min_valid_s":30} or {"op":"status"})`}) {
				return
			}
			continue
		}
		var resp response
		switch req.Op {
		case "get":
			resp = s.get(req)
		case "status":
			st := s.src.Status()
			resp = response{OK: true, Status: &st}
		default:
			resp = response{Code: "bad_request", Error: fmt.Sprintf("unknown op %q (want \"get\" or \"status\")", req.Op)}
		}
		if !reply(resp) {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.idle))
	}
}

func (s *Server) get(req request) response {
	if req.MinValidS < 0 || req.MinValidS > 7200 || req.WaitS < 0 || req.WaitS > 300 {
		return response{Code: "bad_request", Error: "min_valid_s must be 0..7200 and wait_s 0..300"}
	}
	wait := defaultGetWait
	if req.WaitS > 0 {
		wait = time.Duration(req.WaitS * float64(time.Second))
	}
	ctx, cancel := context.WithTimeout(s.ctx, wait)
	defer cancel()
	k, err := s.src.Get(ctx, time.Duration(req.MinValidS*float64(time.Second)))
	if err != nil {
		return response{Code: errorCode(err), Error: err.Error()}
	}
	return response{OK: true, Key: toWire(k)}
}
