package keyd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

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
// session's key source (rtc.KeySource).
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
