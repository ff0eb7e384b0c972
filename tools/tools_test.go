package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/jonboulle/clockwork"
)

// fakeDevice records what the built-ins do.
type fakeDevice struct {
	mu      sync.Mutex
	vol     float64
	muted   bool
	stopped int
	stopErr error
}

func (d *fakeDevice) Volume() float64 { d.mu.Lock(); defer d.mu.Unlock(); return d.vol }
func (d *fakeDevice) SetVolume(_ context.Context, v float64) (float64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vol = v
	return v, nil
}
func (d *fakeDevice) SetMuted(_ context.Context, m bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.muted = m
	return nil
}
func (d *fakeDevice) Stop(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped++
	return d.stopErr
}
func (d *fakeDevice) Status() DeviceStatus {
	return DeviceStatus{State: "thinking", Volume: d.Volume(), Connection: "connected", RTTMillis: 42}
}

func newBuiltins(t *testing.T, dev Device, log *slog.Logger) *Set {
	t.Helper()
	s := NewSet(log)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	clk := clockwork.NewFakeClockAt(time.Date(2026, 12, 6, 18, 30, 0, 0, time.UTC))
	if err := Builtins(s, dev, BuiltinNames, BuiltinOpts{Clock: clk, Location: berlin}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuiltins(t *testing.T) {
	dev := &fakeDevice{vol: 0.5}
	s := newBuiltins(t, dev, nil)
	ctx := context.Background()
	if got := s.Names(); strings.Join(got, ",") != strings.Join(BuiltinNames, ",") {
		t.Errorf("names %v", got)
	}
	for _, d := range s.Declarations() {
		if d.Description == "" || !json.Valid(d.Parameters) {
			t.Errorf("declaration %+v", d)
		}
	}
	cases := []struct{ name, args, want string }{
		{"set_volume", `{"level":0.8}`, `{"volume":0.8}`},
		{"get_volume", `{}`, `{"volume":0.8}`},
		{"set_volume", `{"step":-0.5}`, `{"volume":0.30000000000000004}`},
		{"set_volume", `{"step":-1}`, `{"volume":0}`},
		{"mute", `{"muted":true}`, `{"muted":true}`},
		{"stop", ``, `{"stopped":true}`},
		{"get_time", `{}`, `{"local":"2026-12-06T19:30:00+01:00","date":"2026-12-06","time":"19:30","weekday":"Sunday","time_zone":"Europe/Berlin","utc_offset":"+01:00"}`},
		{"device_status", `{}`, `{"state":"thinking","muted":false,"volume":0,"connection":"connected","rtt_ms":42,"reconnects":0}`},
	}
	for _, c := range cases {
		got, err := s.RunTool(ctx, c.name, c.args)
		if err != nil || got != c.want {
			t.Errorf("%s(%s) = %s, %v; want %s", c.name, c.args, got, err, c.want)
		}
	}
	if !dev.muted || dev.stopped != 1 {
		t.Errorf("device %+v", dev)
	}
	dev.stopErr = errors.New("nothing to cancel")
	if _, err := s.RunTool(ctx, "stop", "{}"); err == nil || !strings.Contains(err.Error(), "nothing to cancel") {
		t.Errorf("stop's error: %v", err)
	}
	if err := Builtins(NewSet(nil), dev, []string{"reboot"}, BuiltinOpts{}); err == nil {
		t.Error("an unknown built-in was accepted")
	}
	if err := Builtins(NewSet(nil), dev, []string{"stop", "stop"}, BuiltinOpts{}); err == nil {
		t.Error("a built-in listed twice was accepted")
	}
}

// TestSchemaRejects: arguments that are not JSON or do not match the schema never
// reach the tool, and the error says what is wrong.
func TestSchemaRejects(t *testing.T) {
	dev := &fakeDevice{vol: 0.5}
	s := newBuiltins(t, dev, nil)
	for _, c := range []struct{ name, args, want string }{
		{"set_volume", `{"level":1.5}`, "maximum"},
		{"set_volume", `{"level":"loud"}`, "want number"},
		{"set_volume", `{}`, "missing property 'level'"},
		{"set_volume", `{"level":0.2,"step":0.1}`, "oneOf"},
		{"set_volume", `{"level":0.2,"extra":1}`, "additional properties"},
		{"mute", `{}`, "missing property 'muted'"},
		{"mute", `{"muted":`, "not JSON"},
		{"mute", `[true]`, "want object"},
	} {
		_, err := s.RunTool(context.Background(), c.name, c.args)
		if !errors.Is(err, ErrInvalidArguments) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s(%s): %v; want ErrInvalidArguments mentioning %q", c.name, c.args, err, c.want)
		}
	}
	if dev.vol != 0.5 || dev.muted {
		t.Errorf("a rejected call reached the device: %+v", dev)
	}
	if _, err := s.RunTool(context.Background(), "launch_rockets", "{}"); !errors.Is(err, ErrUnknownTool) {
		t.Errorf("unknown tool: %v", err)
	}
	for _, bad := range []string{`[]`, `{"type":"object","properties":{"x":{"$ref":"file:///etc/passwd"}}}`, `{"type":5}`, `nope`} {
		if err := s.Add(Tool{Name: "bad", Parameters: json.RawMessage(bad), Run: func(context.Context, json.RawMessage) (any, error) { return nil, nil }}); err == nil {
			t.Errorf("schema %s was accepted", bad)
		}
	}
	if err := s.Add(Tool{Name: "has space", Run: func(context.Context, json.RawMessage) (any, error) { return nil, nil }}); err == nil {
		t.Error("a bad name was accepted")
	}
}

// TestTimeoutAndCap: a tool that outlives its timeout and one whose output is too
// large both give errors; a cancelled context ends the tool.
func TestTimeoutAndCap(t *testing.T) {
	s := NewSet(nil)
	if err := s.Add(Tool{Name: "slow", Timeout: 20 * time.Millisecond, Run: func(ctx context.Context, _ json.RawMessage) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Tool{Name: "big", Run: func(context.Context, json.RawMessage) (any, error) {
		return strings.Repeat("x", MaxOutput), nil
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunTool(context.Background(), "slow", "{}"); err == nil || !strings.Contains(err.Error(), "did not finish within 20ms") {
		t.Errorf("slow: %v", err)
	}
	if _, err := s.RunTool(context.Background(), "big", "{}"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.RunTool(ctx, "slow", "{}"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestNoArgumentsInInfoLogs: at info level nothing of the arguments or output is
// logged (debug may show them).
func TestNoArgumentsInInfoLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := newBuiltins(t, &fakeDevice{}, log)
	if _, err := s.RunTool(context.Background(), "set_volume", `{"level":0.123456}`); err != nil {
		t.Fatal(err)
	}
	_, _ = s.RunTool(context.Background(), "set_volume", `{"level":7.654321}`)
	if strings.Contains(buf.String(), "0.123456") || strings.Contains(buf.String(), "7.654321") {
		t.Errorf("info log holds arguments or output:\n%s", buf.String())
	}
	var dbg bytes.Buffer
	s = newBuiltins(t, &fakeDevice{}, slog.New(slog.NewTextHandler(&dbg, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if _, err := s.RunTool(context.Background(), "set_volume", `{"level":0.123456}`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dbg.String(), "0.123456") {
		t.Errorf("the debug log should show the arguments (the test would pass vacuously):\n%s", dbg.String())
	}
}

// TestConfigNames: internal/config accepts exactly the built-ins (it keeps its own
// list so the config readers do not link the schema validator).
func TestConfigNames(t *testing.T) {
	if got := config.BuiltinTools(); strings.Join(got, ",") != strings.Join(BuiltinNames, ",") {
		t.Errorf("config's built-ins %v, tools' %v", got, BuiltinNames)
	}
}

// BenchmarkRunTool: the Set's own cost of a built-in call (schema check, run, JSON
// output), the part of call → output that is not transport.
func BenchmarkRunTool(b *testing.B) {
	s := NewSet(nil)
	if err := Builtins(s, &fakeDevice{}, BuiltinNames, BuiltinOpts{Location: time.UTC}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct{ name, args string }{{"set_volume", `{"level":0.5}`}, {"get_time", `{}`}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.RunTool(ctx, c.name, c.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
