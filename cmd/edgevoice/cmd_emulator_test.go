package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/edgevoice/edgevoice/internal/cli"

	"github.com/edgevoice/edgevoice/emulator"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEmulatorCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuf
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"emulator", "--listen", "127.0.0.1:0", "--dialect", "preview", "--mint-status", "500", "--mint-failures", "1"},
			&cli.Env{Stdout: &out, Stderr: &errb})
	}()
	var url string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if first, _, ok := strings.Cut(out.String(), "\n"); ok {
			f := strings.Fields(first)
			url = f[3]
			break
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("no URL in output %q (stderr %q)", out.String(), errb.String())
	}
	// the first mint gets the injected 500, the next a preview key from the broker
	if _, err := mintVia(ctx, url); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("first mint: %v, want HTTP 500", err)
	}
	k, err := mintVia(ctx, url)
	if err != nil || k != "preview" {
		t.Errorf("second mint: %q, %v", k, err)
	}
	// the WebSocket endpoints are printed and serve: the preview one with the api-key
	for _, p := range []string{"azure-preview", "azure", "openai"} {
		if !strings.Contains(out.String(), "  ws    "+p+" ") {
			t.Errorf("no WebSocket endpoint of %s in %q", p, out.String())
		}
	}
	var wsURL string
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "ws" && f[1] == "azure-preview" {
			wsURL = f[3]
		}
	}
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Api-Key": {emulator.DefaultAPIKey}}})
	if err != nil {
		t.Fatalf("dial %q: %v", wsURL, err)
	}
	if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"type":"session.created"`) {
		t.Errorf("first frame %s, %v", b, err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d, stderr %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not stop on cancel")
	}
	if !strings.Contains(out.String(), "emulator stopped: 1 keys minted") {
		t.Errorf("output %q", out.String())
	}
}

// mintVia mints a broker key over HTTP and returns its protocol.
func mintVia(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/keys", strings.NewReader("{}"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+emulator.DefaultDeviceToken)
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Value    string `json:"value"`
		Protocol string `json:"protocol"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Value == "" {
		return "", fmt.Errorf("bad body: %v", err)
	}
	return out.Protocol, nil
}

func TestEmulatorFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "0.0.0.0:8443"},
		{"--listen", "10.1.2.3:1"},
		{"--dialect", "klingon"},
		{"extra"},
		{"--tool-call", "set_volume"},
		{"--tool-call", "set_volume={level:1}"},
	} {
		var out, errb syncBuf
		if code := Main(context.Background(), append([]string{"emulator"}, args...), &cli.Env{Stdout: &out, Stderr: &errb}); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", args, code, errb.String())
		}
	}
}

func TestParseToolTurn(t *testing.T) {
	tt, err := parseToolTurn(`set_volume={"level":0.5} && get_time={}`)
	if err != nil || len(tt.Calls) != 2 || tt.Calls[0].Name != "set_volume" || tt.Calls[0].Arguments != `{"level":0.5}` || tt.Calls[1].Name != "get_time" {
		t.Errorf("parseToolTurn: %+v, %v", tt, err)
	}
}
