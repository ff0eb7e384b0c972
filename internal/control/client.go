package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
)

// dial connects to the control socket at path with an error that says what to check.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("cannot reach the appliance at %s: %w (is edgevoice.service running? are you root or in group edgevoice?)", path, err)
		}
		return nil, fmt.Errorf("cannot reach the appliance at %s: %w (is edgevoice.service running?)", path, err)
	}
	return c, nil
}

// Do sends one request to the control socket at path and returns the answer; an answer
// with ok false is returned with an error holding its message. req.V defaults to
// Version.
func Do(ctx context.Context, path string, req Request) (*Response, error) {
	c, err := dial(ctx, path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if req.V == 0 {
		req.V = Version
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReaderSize(c, MaxLine)).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("control socket: no answer: %w", ctx.Err())
		}
		return nil, fmt.Errorf("control socket: bad answer: %w", err)
	}
	if !resp.OK {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// Ask asks the appliance at path for its status.
func Ask(ctx context.Context, path string) (*Status, error) {
	resp, err := Do(ctx, path, Request{Op: "status"})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		return nil, err
	}
	if resp.Status == nil {
		return nil, errors.New("control socket: the answer has no status")
	}
	return resp.Status, nil
}

// Subscribe subscribes at path and calls f with every event line (raw JSON, without
// the newline) until ctx ends (nil), f returns an error (that error), or the appliance
// ends the stream (an error; for a lagged subscriber f sees the "lagged" line first).
func Subscribe(ctx context.Context, path string, f func(line []byte) error) error {
	c, err := dial(ctx, path)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := json.NewEncoder(c).Encode(Request{V: Version, Op: "subscribe"}); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("control socket: no answer to subscribe: %v", sc.Err())
	}
	var resp Response
	if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
		return fmt.Errorf("control socket: bad answer: %w", err)
	}
	if !resp.OK {
		return fmt.Errorf("subscribe: %s", resp.Error)
	}
	for sc.Scan() {
		if err := f(sc.Bytes()); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	return errors.New("control socket: the appliance ended the event stream")
}
