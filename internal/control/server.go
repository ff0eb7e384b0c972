package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
)

// Protocol limits (doc.go).
const (
	Version        = 1                // the protocol version this package speaks
	MaxLine        = 16 << 10         // bytes of one request line
	MaxConns       = 32               // connections served at a time
	idleTimeout    = 5 * time.Minute  // between two requests
	opTimeout      = 2 * time.Second  // for the appliance to take a request
	writeTimeout   = 10 * time.Second // for one answer or event to leave
	statusDeadline = 2 * time.Second
)

// Remote is what the remote triggers drive: *appliance.Appliance.
type Remote interface {
	Press(ctx context.Context) (appliance.State, error)
	Release(ctx context.Context) (appliance.State, error)
	Tap(ctx context.Context) (appliance.State, error)
	Cancel(ctx context.Context) (appliance.State, error)
	SetMuted(ctx context.Context, muted bool) (appliance.State, error)
	SetVolume(ctx context.Context, v float64, relative bool) (float64, error)
	Say(ctx context.Context, text string) (appliance.State, error)
	Subscribe() (*appliance.Subscription, error)
}

// Option configures Listen.
type Option func(*Server)

// WithRemote serves the remote triggers and subscriptions with r; without it only
// status is served.
func WithRemote(r Remote) Option { return func(s *Server) { s.remote = r } }

// Server serves the control socket until Close.
type Server struct {
	ln     net.Listener
	status func(ctx context.Context) Status
	remote Remote
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Listen serves status (and, with WithRemote, the other ops) on a new socket at path
// (replacing a stale one) with mode 0660.
func Listen(path string, status func(ctx context.Context) Status, log *slog.Logger, opts ...Option) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o770); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another edgevoice run is serving it (stop it first)", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: net.Listen: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: os.Chmod: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{ln: ln, status: status, log: log, conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		full := len(s.conns) >= MaxConns
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if full {
				s.refuse(c)
			} else {
				s.handle(c)
			}
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// refuse answers a connection beyond MaxConns with an error and closes it.
func (s *Server) refuse(c net.Conn) {
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_ = json.NewEncoder(c).Encode(Response{V: Version, Error: fmt.Sprintf("too many connections (at most %d); try again later", MaxConns)})
}

// handle serves one connection: requests, one per line, until EOF, an error, idle
// timeout or a subscription (which takes the connection over).
func (s *Server) handle(c net.Conn) {
	defer c.Close()
	rd := bufio.NewReaderSize(c, MaxLine)
	enc := json.NewEncoder(c)
	enc.SetEscapeHTML(false)
	for {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		line, tooLong, err := readLine(rd)
		if err != nil {
			return // EOF, idle, or closed by Close
		}
		var resp Response
		var sub *appliance.Subscription
		if tooLong {
			resp = Response{V: Version, Error: fmt.Sprintf("bad request: line longer than %d bytes", MaxLine)}
		} else {
			resp, sub = s.do(line)
		}
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := enc.Encode(resp); err != nil {
			if sub != nil {
				sub.Close()
			}
			return
		}
		if sub != nil {
			s.stream(c, enc, sub)
			return
		}
	}
}

// readLine reads one line without its newline; a line over the buffer is skipped up to
// its newline and reported as tooLong.
func readLine(rd *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		b, err := rd.ReadSlice('\n')
		switch {
		case err == nil:
			if tooLong {
				return nil, true, nil
			}
			return b[:len(b)-1], false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			tooLong = true
		default:
			if len(b) > 0 && !tooLong && err != nil {
				return b, false, nil // a last line without a newline
			}
			return nil, false, err
		}
	}
}

// stream writes sub's events to c until the client closes the connection, the server
// closes, or the subscriber lags (then a last "lagged" event).
func (s *Server) stream(c net.Conn, enc *json.Encoder, sub *appliance.Subscription) {
	done := make(chan struct{})
	go func() { // the reader: EOF (the client hung up) or Close ends the subscription
		defer close(done)
		_ = c.SetReadDeadline(time.Time{})
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				sub.Close()
				return
			}
		}
	}()
	defer func() {
		sub.Close()
		c.Close() // ends the reader
		<-done
	}()
	for ev := range sub.C {
		_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := enc.Encode(EventLine{V: Version, Event: ev}); err != nil {
			return
		}
	}
	if sub.Lagged() {
		s.log.Warn("control socket: a subscriber fell behind and was dropped")
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = enc.Encode(EventLine{V: Version, Event: appliance.Event{Type: EventLagged, At: time.Now()}})
	}
}

// Close stops accepting, closes open connections (and their subscriptions), removes the
// socket and joins.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}
