package keyd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"
)

// DefaultSocketPath is where provisiond listens and `edgevoice run` connects.
const DefaultSocketPath = "/run/edgevoice/keys.sock"

// Protocol limits of the key socket.
const (
	maxRequestLine  = 4 << 10  // a request is one short JSON line
	maxResponseLine = 64 << 10 // a key with session defaults (tools) fits easily
	maxSocketConns  = 32
	connIdle        = 30 * time.Second
	defaultGetWait  = 30 * time.Second
)

// request is one line sent to the key socket.
//
//	{"op":"get","min_valid_s":30}
//	{"op":"status"}
type request struct {
	Op        string  `json:"op"`                    // "get" or "status"
	MinValidS float64 `json:"min_valid_s,omitempty"` // get: the key must stay valid this long
	WaitS     float64 `json:"wait_s,omitempty"`      // get: give up after this long (default 30)
}

// response is one line answered by the key socket. Error answers have OK false, a Code
// ("bad_request", "forbidden", "credential_rejected", "unavailable", "failed", "busy")
// and a message.
type response struct {
	OK     bool     `json:"ok"`
	Key    *wireKey `json:"key,omitempty"`
	Status *Status  `json:"status,omitempty"`
	Code   string   `json:"code,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// wireKey is Key as sent over the socket.
type wireKey struct {
	Value     string    `json:"value"`
	ExpiresAt time.Time `json:"expires_at"`
	SDPURL    string    `json:"sdp_url"`
	Dialect   string    `json:"dialect"`
	Profile   string    `json:"profile"`
	MintedAt  time.Time `json:"minted_at"`
}

func toWire(k realtime.Key) *wireKey {
	return &wireKey{Value: k.Value, ExpiresAt: k.ExpiresAt, SDPURL: k.SDPURL, Dialect: k.Dialect.String(),
		Profile: k.Profile, MintedAt: k.MintedAt}
}

func (w *wireKey) key() (realtime.Key, error) {
	d, err := realtime.ParseDialect(w.Dialect)
	if err != nil {
		return realtime.Key{}, err
	}
	return realtime.Key{Value: w.Value, ExpiresAt: w.ExpiresAt, SDPURL: w.SDPURL, Dialect: d, Profile: w.Profile,
		MintedAt: w.MintedAt}, nil
}

// RemoteError is an error answer from the key socket. errors.Is maps the codes
// "credential_rejected" and "unavailable" to provisioning.ErrCredentialRejected and ErrUnavailable.
type RemoteError struct {
	Code    string
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("keyd: key daemon answered %s: %s", e.Code, e.Message)
}

// Is maps the answer codes to the package's sentinels.
func (e *RemoteError) Is(target error) bool {
	return (target == provisioning.ErrCredentialRejected && e.Code == "credential_rejected") ||
		(target == ErrUnavailable && e.Code == "unavailable")
}

func errorCode(err error) string {
	switch {
	case errors.Is(err, provisioning.ErrCredentialRejected):
		return "credential_rejected"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	}
	return "failed"
}

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

	ctx    context.Context // cancelled by Close; only for the connection handlers
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
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
	enc := json.NewEncoder(c)
	reply := func(r response) bool {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		return enc.Encode(r) == nil
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
	br := bufio.NewReaderSize(c, 1024)
	for {
		c.SetReadDeadline(time.Now().Add(connIdle))
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

var errLineTooLong = errors.New("line too long")

// readLine reads one '\n'-terminated line of at most limit bytes.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > limit {
			return nil, errLineTooLong
		}
		if err == nil {
			return line[:len(line)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(line) > 0 {
				return line, nil
			}
			return nil, err
		}
	}
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// defaultClientMinValid is what Client.Key asks for: a key only has to outlive the SDP
// exchange, which takes a second or two.
const defaultClientMinValid = 10 * time.Second

// Client talks to the key socket. It is safe for concurrent use. It keeps one idle
// connection for the next call (Close releases it).
type Client struct {
	path string
	mu   sync.Mutex
	idle *clientConn // one connection kept for the next call
	// MinValid is the validity Key asks for (default defaultClientMinValid).
	MinValid time.Duration
}

// NewClient returns a client for the key socket at socketPath ("" = DefaultSocketPath).
// It does not connect until a call.
func NewClient(socketPath string) *Client {
	if socketPath == "" {
		socketPath = DefaultSocketPath
	}
	return &Client{path: socketPath, MinValid: defaultClientMinValid}
}

// Key returns a fresh key valid for at least c.MinValid, so a *Client can serve as a
// session's key source (rtc.source).
func (c *Client) Key(ctx context.Context) (realtime.Key, error) {
	return c.Get(ctx, c.MinValid)
}

// Get asks for a key valid for at least minValid. ctx bounds the whole exchange,
// including a mint the daemon may have to do.
func (c *Client) Get(ctx context.Context, minValid time.Duration) (realtime.Key, error) {
	req := request{Op: "get", MinValidS: minValid.Seconds()}
	if dl, ok := ctx.Deadline(); ok {
		req.WaitS = min(max(time.Until(dl).Seconds(), 0.001), 300)
	}
	r, err := c.roundTrip(ctx, req)
	if err != nil {
		return realtime.Key{}, err
	}
	if r.Key == nil {
		return realtime.Key{}, errors.New("keyd: key daemon answered without a key")
	}
	k, err := r.Key.key()
	if err != nil {
		return realtime.Key{}, fmt.Errorf("keyd: key daemon: %w", err)
	}
	return k, nil
}

// Status returns the daemon's status (never a key).
func (c *Client) Status(ctx context.Context) (Status, error) {
	r, err := c.roundTrip(ctx, request{Op: "status"})
	if err != nil {
		return Status{}, err
	}
	if r.Status == nil {
		return Status{}, errors.New("keyd: key daemon answered without a status")
	}
	return *r.Status, nil
}

// clientIdle is how long the client keeps an idle connection for reuse (the server
// drops idle connections after connIdle).
const clientIdle = connIdle / 2

// clientConn is one connection to the key socket kept for reuse.
type clientConn struct {
	conn net.Conn
	br   *bufio.Reader
	used time.Time
}

// Close closes the idle connection the client keeps, if any.
func (c *Client) Close() error {
	c.mu.Lock()
	cc := c.idle
	c.idle = nil
	c.mu.Unlock()
	if cc != nil {
		return cc.conn.Close()
	}
	return nil
}

func (c *Client) dial(ctx context.Context) (*clientConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if err != nil {
		return nil, fmt.Errorf("keyd: connecting to the key daemon at %s (is edgevoice provisiond running?): %w", c.path, err)
	}
	return &clientConn{conn: conn, br: bufio.NewReaderSize(conn, 4096)}, nil
}

func (c *Client) roundTrip(ctx context.Context, req request) (response, error) {
	// An already-cancelled context ends the call before it touches a connection: a kept
	// connection would otherwise answer before the cancel could arm a deadline.
	if err := ctx.Err(); err != nil {
		return response{}, fmt.Errorf("keyd: key socket: %w", err)
	}
	b, _ := json.Marshal(req)
	b = append(b, '\n')
	c.mu.Lock()
	cc := c.idle
	c.idle = nil
	c.mu.Unlock()
	if cc != nil && time.Since(cc.used) > clientIdle {
		cc.conn.Close()
		cc = nil
	}
	reused := cc != nil
	if cc == nil {
		var err error
		if cc, err = c.dial(ctx); err != nil {
			return response{}, err
		}
	}
	line, err := c.exchange(ctx, cc, b)
	if err != nil && reused && errors.Is(err, errStale) {
		// the daemon closed the kept connection (restart, idle timeout) before reading
		// the request: nothing was handed out, so asking again on a new one is safe
		cc.conn.Close()
		if cc, err = c.dial(ctx); err != nil {
			return response{}, err
		}
		line, err = c.exchange(ctx, cc, b)
	}
	if err != nil {
		cc.conn.Close()
		return response{}, err
	}
	cc.used = time.Now()
	c.mu.Lock()
	if c.idle == nil {
		c.idle, cc = cc, nil
	}
	c.mu.Unlock()
	if cc != nil {
		cc.conn.Close()
	}
	var r response
	if err := json.Unmarshal(line, &r); err != nil {
		return response{}, fmt.Errorf("keyd: key socket answer is not JSON: %w", err)
	}
	if !r.OK {
		return response{}, &RemoteError{Code: r.Code, Message: r.Error}
	}
	return r, nil
}

// errStale marks a kept connection that the server had already closed.
var errStale = errors.New("stale connection")

// exchange writes one request line and reads one answer line on cc.
func (c *Client) exchange(ctx context.Context, cc *clientConn, req []byte) ([]byte, error) {
	dl, _ := ctx.Deadline()
	cc.conn.SetDeadline(dl) // zero = none
	// a cancel during the call moves the deadline into the past, which ends the write
	// or the read at once
	stop := context.AfterFunc(ctx, func() { cc.conn.SetDeadline(time.Unix(1, 0)) })
	_, werr := cc.conn.Write(req)
	// a refused peer gets its answer before the server closes: read even if the write
	// failed
	line, err := readLine(cc.br, maxResponseLine)
	if !stop() {
		// the cancel fired (it may still be moving the deadline): the call ends with
		// the context's error and the connection is not reused
		return nil, fmt.Errorf("keyd: key socket: %w", ctx.Err())
	}
	if err == nil {
		cc.conn.SetDeadline(time.Time{})
		return line, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("keyd: key socket: %w", ctx.Err())
	}
	if (errors.Is(err, io.EOF) && len(line) == 0) || errors.Is(werr, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return nil, fmt.Errorf("keyd: key socket: the daemon closed the connection: %w", errStale)
	}
	if werr != nil {
		return nil, fmt.Errorf("keyd: key socket write: %w", werr)
	}
	return nil, fmt.Errorf("keyd: key socket read: %w", err)
}
