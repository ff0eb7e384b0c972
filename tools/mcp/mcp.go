package mcp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/tools"
	"github.com/jonboulle/clockwork"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Server is one MCP server ([[tools.mcp]]).
type Server struct {
	// Name names the server in logs and is its group in the tools.Set.
	Name string
	// URL is a Streamable HTTP endpoint: https://, or http:// to a loopback address.
	URL string
	// Command is the program (absolute path) and its arguments of a stdio server.
	Command []string
	// Env is added to a stdio server's minimal environment (PATH, LANG,
	// EDGEVOICE_MCP_SERVER), as NAME=value entries.
	Env []string
	// Allow lists the server's tool names offered to the model; empty: all of them.
	Allow []string
	// Prefix goes before each tool's name in the model's list (and the call's name
	// loses it again), so that two servers' "search" tools do not collide.
	Prefix string
	// TokenFile holds a bearer token sent with every HTTP request (read at each one,
	// never logged). "" = none.
	TokenFile string
	// CAFile is a PEM bundle that verifies an https:// server instead of the system roots.
	CAFile string
	// Timeout bounds one call, one listing and one ping (0 = tools.DefaultTimeout).
	Timeout time.Duration
}

// Backoff is the wait between reconnect attempts (internal/backoff's *Backoff).
type Backoff interface {
	Wait(ctx context.Context) error
	Reset()
}

// DefaultPingEvery is how often a connected server is pinged when Options.PingEvery is 0.
const DefaultPingEvery = 15 * time.Second

// connectTimeout bounds one connection attempt (the handshake, not the listing).
const connectTimeout = 10 * time.Second

// maxTools bounds the tools taken from one server.
const maxTools = 128

// Options are what a Client needs besides its Server.
type Options struct {
	Log *slog.Logger // nil = discard
	// Clock drives the pings (nil = the real clock).
	Clock clockwork.Clock
	// NewBackoff returns the reconnect backoff of a Run (required by Run).
	NewBackoff func() Backoff
	// PingEvery is the interval of the liveness pings (0 = DefaultPingEvery).
	PingEvery time.Duration
	// OnChange is called (from Run's goroutine) after the declarations of the server's
	// tools changed: listed, re-listed or withdrawn.
	OnChange func()
	// Version is the client version sent to the server.
	Version string
}

// Client is the device's connection to one MCP server, whose tools it keeps in a
// tools.Set. Run supervises the connection; Open connects once (the CLI).
type Client struct {
	srv     Server
	set     *tools.Set
	o       Options
	log     *slog.Logger
	timeout time.Duration
	newT    func() (sdk.Transport, error)
	hc      *http.Client // url servers: its idle connections are closed with a session

	mu sync.Mutex
	cs *sdk.ClientSession // nil when not connected

	changed chan struct{} // the server's tool list changed
	kick    chan struct{} // a call failed on the transport: ping now
}

// ValidateServer checks a Server's settings as New does, without reading any file.
func ValidateServer(s Server) error {
	if !tools.ValidName(s.Name) {
		return fmt.Errorf("mcp: server name %q: use 1 to 64 letters, digits, '_' and '-'", s.Name)
	}
	if (s.URL == "") == (len(s.Command) == 0) {
		return fmt.Errorf("mcp: %s: give either url (Streamable HTTP) or command (stdio)", s.Name)
	}
	if s.URL != "" {
		if err := checkURL(s.URL); err != nil {
			return fmt.Errorf("mcp: %s: %v", s.Name, err)
		}
	} else {
		if !filepath.IsAbs(s.Command[0]) {
			return fmt.Errorf("mcp: %s: command must start with the absolute path of the program", s.Name)
		}
		if s.TokenFile != "" || s.CAFile != "" {
			return fmt.Errorf("mcp: %s: bearer_token_file and ca_file are for url servers only", s.Name)
		}
	}
	for _, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("mcp: %s: env entry is not NAME=value", s.Name)
		}
	}
	if s.Prefix != "" && strings.Trim(s.Prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return fmt.Errorf("mcp: %s: prefix %q: use letters, digits, '_' and '-'", s.Name, s.Prefix)
	}
	if len(s.Prefix) > 48 {
		return fmt.Errorf("mcp: %s: prefix is longer than 48 characters (a tool name is at most 64)", s.Name)
	}
	if s.Timeout < 0 {
		return fmt.Errorf("mcp: %s: negative timeout", s.Name)
	}
	return nil
}

// checkURL accepts https:// URLs and http:// URLs to a loopback address.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("the url is not an absolute http(s) URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return errors.New("use an https:// url (http:// only for a loopback address)")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New returns the client of srv, whose tools go into set as the group srv.Name.
func New(srv Server, set *tools.Set, o Options) (*Client, error) {
	if err := ValidateServer(srv); err != nil {
		return nil, err
	}
	if set == nil {
		return nil, errors.New("mcp: New: nil tools.Set")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.PingEvery <= 0 {
		o.PingEvery = DefaultPingEvery
	}
	c := &Client{srv: srv, set: set, o: o, log: o.Log.With("mcp_server", srv.Name),
		timeout: srv.Timeout, changed: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	if c.timeout == 0 {
		c.timeout = tools.DefaultTimeout
	}
	if srv.URL != "" {
		hc, err := httpClient(srv)
		if err != nil {
			return nil, err
		}
		c.hc = hc
		c.newT = func() (sdk.Transport, error) {
			return &sdk.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: hc}, nil
		}
	} else {
		argv := slices.Clone(srv.Command)
		env := append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "EDGEVOICE_MCP_SERVER=" + srv.Name}, srv.Env...)
		c.newT = func() (sdk.Transport, error) {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env, cmd.Dir = env, "/"
			return &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil
		}
	}
	return c, nil
}

// httpClient is the HTTP client of a url server: TLS verified (against CAFile if
// given), no proxy, the bearer token added to each request.
func httpClient(srv Server) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if srv.CAFile != "" {
		pem, err := os.ReadFile(srv.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mcp: %s: ca_file: %w", srv.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mcp: %s: ca_file %s holds no PEM certificate", srv.Name, srv.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	var rt http.RoundTripper = &http.Transport{
		TLSClientConfig: tlsConf, Proxy: nil, ForceAttemptHTTP2: true,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second, // the event streams send their headers at once
		MaxIdleConns:          4, IdleConnTimeout: time.Minute,
	}
	if srv.TokenFile != "" {
		rt = bearer{base: rt, file: srv.TokenFile}
	}
	return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("redirects are not followed")
	}}, nil
}

// bearer adds "Authorization: Bearer <token>" with the token read from file at each
// request, so a rotated credential is used at once. The token is never in an error.
type bearer struct {
	base http.RoundTripper
	file string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := os.ReadFile(b.file)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errors.New("cannot read the bearer token file")
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	return b.base.RoundTrip(r)
}

// session returns the connected session, or nil.
func (c *Client) session() *sdk.ClientSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cs
}

func (c *Client) setSession(cs *sdk.ClientSession) {
	c.mu.Lock()
	c.cs = cs
	c.mu.Unlock()
}

// connect opens a session with the server.
func (c *Client) connect(ctx context.Context) (*sdk.ClientSession, error) {
	t, err := c.newT()
	if err != nil {
		return nil, err
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "edgevoice", Version: c.o.Version}, &sdk.ClientOptions{
		Capabilities: &sdk.ClientCapabilities{}, // no roots, sampling or elicitation
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) {
			select {
			case c.changed <- struct{}{}:
			default:
			}
		},
	})
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cs, err := client.Connect(ctx, t, nil)
	if err != nil {
		if c.hc != nil {
			c.hc.CloseIdleConnections()
		}
		return nil, fmt.Errorf("connect: %w", cleanErr(err))
	}
	return cs, nil
}

// Open connects once, lists the tools into the set and returns the function that
// closes the connection (and withdraws them). For one-off use (edgevoice tools).
func (c *Client) Open(ctx context.Context) (close func(), err error) {
	cs, err := c.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("mcp: %s: %w", c.srv.Name, err)
	}
	c.setSession(cs)
	if err := c.relist(ctx, cs); err != nil {
		c.setSession(nil)
		c.closeSession(cs)
		return nil, fmt.Errorf("mcp: %s: %w", c.srv.Name, err)
	}
	return func() {
		c.setSession(nil)
		c.closeSession(cs)
		c.withdraw()
	}, nil
}

// Run keeps the server's tools in the set until ctx ends: it connects, lists, re-lists
// on change, and reconnects with a backoff when the server goes away. It returns nil
// when ctx ends (with the group withdrawn).
func (c *Client) Run(ctx context.Context) error {
	if c.o.NewBackoff == nil {
		return errors.New("mcp: Run: no Options.NewBackoff")
	}
	bo := c.o.NewBackoff()
	for {
		err := c.serve(ctx, bo)
		c.withdraw()
		if ctx.Err() != nil {
			return nil
		}
		c.log.Warn("mcp: server unavailable; its tools are withdrawn until it is back", "err", err)
		if bo.Wait(ctx) != nil {
			return nil
		}
	}
}

// serve runs one connection: until ctx ends or the connection is lost.
func (c *Client) serve(ctx context.Context, bo Backoff) error {
	cs, err := c.connect(ctx)
	if err != nil {
		return err
	}
	ended := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = cs.Wait()
		close(ended)
	}()
	defer func() {
		c.setSession(nil)
		c.closeSession(cs)
		wg.Wait()
	}()
	c.setSession(cs)
	if err := c.relist(ctx, cs); err != nil {
		return err
	}
	bo.Reset()
	tick := c.o.Clock.NewTicker(c.o.PingEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ended:
			return errors.New("the connection ended")
		case <-c.changed:
			if err := c.relist(ctx, cs); err != nil {
				return err
			}
		case <-c.kick:
			if err := c.ping(ctx, cs); err != nil {
				return err
			}
		case <-tick.Chan():
			if err := c.ping(ctx, cs); err != nil {
				return err
			}
		}
	}
}

// closeSession ends cs and drops the HTTP connections it left idle (no goroutine
// outlives the session).
func (c *Client) closeSession(cs *sdk.ClientSession) {
	_ = cs.Close()
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
}

func (c *Client) ping(ctx context.Context, cs *sdk.ClientSession) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := cs.Ping(ctx, nil); err != nil {
		return fmt.Errorf("ping: %w", cleanErr(err))
	}
	return nil
}

// withdraw takes the server's tools out of the set.
func (c *Client) withdraw() {
	changed, _ := c.set.Replace(c.srv.Name, nil)
	if changed && c.o.OnChange != nil {
		c.o.OnChange()
	}
}

// relist lists the server's tools and puts the allowed ones in the set.
func (c *Client) relist(ctx context.Context, cs *sdk.ClientSession) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var listed []*sdk.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("tools/list: %w", cleanErr(err))
		}
		listed = append(listed, t)
		if len(listed) > maxTools {
			return fmt.Errorf("tools/list: more than %d tools; list the ones you want in allow", maxTools)
		}
	}
	ts, missing := c.toolsOf(listed)
	changed, err := c.set.Replace(c.srv.Name, ts)
	if err != nil {
		c.log.Warn("mcp: some of the server's tools are left out", "err", err)
	}
	if len(missing) > 0 {
		c.log.Warn("mcp: allow names tools the server does not have", "missing", missing)
	}
	c.log.Info("mcp: tools listed", "listed", len(listed), "offered", len(ts))
	if changed && c.o.OnChange != nil {
		c.o.OnChange()
	}
	return nil
}

// toolsOf turns the listed tools into the set's tools: the allowed ones, renamed
// Prefix+name. missing are allowed names the server did not list.
func (c *Client) toolsOf(listed []*sdk.Tool) (ts []tools.Tool, missing []string) {
	for _, a := range c.srv.Allow {
		if !slices.ContainsFunc(listed, func(t *sdk.Tool) bool { return t.Name == a }) {
			missing = append(missing, a)
		}
	}
	for _, t := range listed {
		if len(c.srv.Allow) > 0 && !slices.Contains(c.srv.Allow, t.Name) {
			continue
		}
		var params json.RawMessage
		if t.InputSchema != nil {
			b, err := json.Marshal(t.InputSchema)
			if err != nil {
				c.log.Warn("mcp: a tool's input schema is not JSON; left out", "tool", t.Name)
				continue
			}
			params = b
		}
		ts = append(ts, tools.Tool{
			Name: c.srv.Prefix + t.Name, Description: t.Description, Parameters: params,
			Timeout: c.timeout, Run: c.caller(t.Name),
		})
	}
	return ts, missing
}

// caller returns the Run of the server's tool name.
func (c *Client) caller(name string) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, args json.RawMessage) (any, error) {
		cs := c.session()
		if cs == nil {
			return nil, fmt.Errorf("%s: %w", c.srv.Name, tools.ErrUnavailable)
		}
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var we *jsonrpc.Error
			if errors.As(err, &we) { // the server answered: the call itself failed
				return nil, fmt.Errorf("%s: %s", name, we.Message)
			}
			select { // the transport failed: let the supervisor find out now
			case c.kick <- struct{}{}:
			default:
			}
			return nil, fmt.Errorf("%s: %w", c.srv.Name, tools.ErrUnavailable)
		}
		return resultOf(name, res)
	}
}

// resultOf is the output of a call: an error for isError, else the structured content,
// else the text parts.
func resultOf(name string, res *sdk.CallToolResult) (any, error) {
	var parts []string
	for _, p := range res.Content {
		switch p := p.(type) {
		case *sdk.TextContent:
			parts = append(parts, p.Text)
		case *sdk.ImageContent:
			parts = append(parts, "[an image, not shown]")
		case *sdk.AudioContent:
			parts = append(parts, "[audio, not played]")
		case *sdk.ResourceLink:
			parts = append(parts, "[resource "+p.URI+"]")
		case *sdk.EmbeddedResource:
			if p.Resource != nil && p.Resource.Text != "" {
				parts = append(parts, p.Resource.Text)
			} else {
				parts = append(parts, "[a resource, not shown]")
			}
		}
	}
	if res.IsError {
		msg := strings.TrimSpace(strings.Join(parts, "\n"))
		if msg == "" {
			msg = "the tool reported an error"
		}
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	if res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return json.RawMessage(b), nil
		}
	}
	if len(parts) == 1 {
		b := bytes.TrimSpace([]byte(parts[0]))
		if len(b) > 0 && json.Valid(b) {
			return json.RawMessage(b), nil
		}
	}
	return strings.Join(parts, "\n"), nil
}

// cleanErr drops the URL from an HTTP client error (it may hold a secret path).
func cleanErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
