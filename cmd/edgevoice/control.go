//go:build !provisiond

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/provisioning/keyd"
)

// The control socket: `edgevoice status` connects, sends one JSON line {"op":"status"}
// and reads one JSON line back (controlStatus). Access is by file mode: the socket is
// 0660 in /run/edgevoice (0770, user and group edgevoice), so root and members of the
// edgevoice group may ask.

type controlRequest struct {
	Op string `json:"op"` // "status"
}

type controlResponse struct {
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Status *controlStatus `json:"status,omitempty"`
}

// controlStatus is everything `edgevoice status` shows.
type controlStatus struct {
	Version      string                  `json:"version"`
	PID          int                     `json:"pid"`
	Config       string                  `json:"config"`
	Appliance    appliance.Status        `json:"appliance"`
	Audio        []audioStatus           `json:"audio"`
	Provisioning *provisioningStatusView `json:"provisioning,omitempty"`
}

type audioStatus struct {
	Role      string `json:"role"` // "mic" or "speaker"
	Device    string `json:"device"`
	Format    string `json:"format"`
	State     string `json:"state"`
	Overruns  uint64 `json:"overruns"`
	Underruns uint64 `json:"underruns"`
	Errors    uint64 `json:"device_errors"`
	Reopens   uint64 `json:"reopens"`
}

func audioStatusOf(role, device string, f audio.Format, st audio.Stats) audioStatus {
	return audioStatus{Role: role, Device: device, Format: f.String(), State: st.State.String(),
		Overruns: st.Overruns, Underruns: st.Underruns, Errors: st.DeviceErrors, Reopens: st.Reopens}
}

// provisioningStatusView is the key daemon's answer, or why there is none.
type provisioningStatusView struct {
	Error  string       `json:"error,omitempty"`
	Status *keyd.Status `json:"status,omitempty"`
}

// controlServer serves the control socket until Close.
type controlServer struct {
	ln     net.Listener
	status func(ctx context.Context) controlStatus
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// listenControl creates the socket at path (replacing a stale one) with mode 0660.
func listenControl(path string, status func(ctx context.Context) controlStatus, log *slog.Logger) (*controlServer, error) {
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
	s := &controlServer{ln: ln, status: status, log: log, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *controlServer) serve() {
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
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *controlServer) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	var req controlRequest
	resp := controlResponse{}
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else if req.Op != "status" {
		resp.Error = fmt.Sprintf("unknown op %q (want \"status\")", req.Op)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st := s.status(ctx)
		cancel()
		resp.OK, resp.Status = true, &st
	}
	_ = json.NewEncoder(c).Encode(resp)
}

// Close stops accepting, closes open connections, removes the socket and joins.
func (s *controlServer) Close() error {
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

// askStatus asks the daemon at path for its status.
func askStatus(ctx context.Context, path string) (*controlStatus, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("cannot reach the appliance at %s: %w (is edgevoice.service running? are you root or in group edgevoice?)", path, err)
		}
		return nil, fmt.Errorf("cannot reach the appliance at %s: %w (is edgevoice.service running?)", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, `{"op":"status"}`+"\n"); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	var resp controlResponse
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("control socket: bad answer: %w", err)
	}
	if !resp.OK || resp.Status == nil {
		return nil, fmt.Errorf("control socket: %s", resp.Error)
	}
	return resp.Status, nil
}
