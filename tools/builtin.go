package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// Device is what the built-in tools act on; the appliance implements it with the same
// remote methods as the control socket, so a tool acts like the buttons do.
type Device interface {
	// Volume returns the speaker volume, 0..1.
	Volume() float64
	// SetVolume sets the volume (0..1) and returns the new value.
	SetVolume(ctx context.Context, v float64) (float64, error)
	// SetMuted mutes or unmutes the microphone.
	SetMuted(ctx context.Context, muted bool) error
	// Stop ends the answer being prepared or played (like a cancel).
	Stop(ctx context.Context) error
	// Status describes the device for the model.
	Status() DeviceStatus
}

// DeviceStatus is what device_status tells the model.
type DeviceStatus struct {
	State      string  `json:"state"`             // the appliance's state (idle, thinking, ...)
	Muted      bool    `json:"muted"`             // the microphone is muted
	Volume     float64 `json:"volume"`            // 0..1
	Connection string  `json:"connection"`        // the realtime session's state
	RTTMillis  float64 `json:"rtt_ms,omitempty"`  // round-trip time to the service
	Reconnects uint64  `json:"reconnects"`        // since the session started
	Problem    string  `json:"problem,omitempty"` // why the device is offline or has no key
}

// BuiltinNames are the built-in tools, in the order they are declared.
var BuiltinNames = []string{"set_volume", "get_volume", "mute", "stop", "get_time", "device_status"}

// BuiltinOpts are the built-ins' settings.
type BuiltinOpts struct {
	Clock    clockwork.Clock // nil = the real clock
	Location *time.Location  // the time zone of get_time; nil = the device's (time.Local)
}

// Builtins adds the built-in tools named in names (each of BuiltinNames at most
// once) to s, acting on dev.
func Builtins(s *Set, dev Device, names []string, o BuiltinOpts) error {
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Location == nil {
		o.Location = localZone()
	}
	for _, n := range names {
		t, ok := builtin(n, dev, o)
		if !ok {
			return fmt.Errorf("tools: %q is not a built-in tool (they are %v)", n, BuiltinNames)
		}
		if err := s.Add(t); err != nil {
			return err
		}
	}
	return nil
}

type volumeResult struct {
	Volume float64 `json:"volume"`
}

func builtin(name string, dev Device, o BuiltinOpts) (Tool, bool) {
	switch name {
	case "set_volume":
		return Tool{
			Name:        name,
			Description: "Set the speaker volume of this device. level is 0 (silent) to 1 (loudest); give step instead to change it by that much (-1 to 1).",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"level":{"type":"number","minimum":0,"maximum":1},"step":{"type":"number","minimum":-1,"maximum":1}},"oneOf":[{"required":["level"]},{"required":["step"]}],"additionalProperties":false}`),
			Timeout:     2 * time.Second,
			Run: func(ctx context.Context, args json.RawMessage) (any, error) {
				var a struct {
					Level *float64 `json:"level"`
					Step  *float64 `json:"step"`
				}
				if err := json.Unmarshal(args, &a); err != nil {
					return nil, err
				}
				v := 0.0
				if a.Level != nil {
					v = *a.Level
				} else {
					v = dev.Volume() + *a.Step
				}
				v = min(1, max(0, v))
				nv, err := dev.SetVolume(ctx, v)
				if err != nil {
					return nil, err
				}
				return volumeResult{nv}, nil
			},
		}, true
	case "get_volume":
		return Tool{
			Name:        name,
			Description: "Get the speaker volume of this device, 0 (silent) to 1 (loudest).",
			Parameters:  json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`),
			Timeout:     time.Second,
			Run: func(context.Context, json.RawMessage) (any, error) {
				return volumeResult{dev.Volume()}, nil
			},
		}, true
	case "mute":
		return Tool{
			Name:        name,
			Description: "Mute (muted true) or unmute (muted false) this device's microphone. While muted the device does not listen until the user unmutes it with the button.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{"muted":{"type":"boolean"}},"required":["muted"],"additionalProperties":false}`),
			Timeout:     2 * time.Second,
			Run: func(ctx context.Context, args json.RawMessage) (any, error) {
				var a struct {
					Muted bool `json:"muted"`
				}
				if err := json.Unmarshal(args, &a); err != nil {
					return nil, err
				}
				if err := dev.SetMuted(ctx, a.Muted); err != nil {
					return nil, err
				}
				return struct {
					Muted bool `json:"muted"`
				}{a.Muted}, nil
			},
		}, true
	case "stop":
		return Tool{
			Name:        name,
			Description: "Stop talking: end the current answer at once, when the user asks you to stop or be quiet.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`),
			Timeout:     2 * time.Second,
			Run: func(ctx context.Context, _ json.RawMessage) (any, error) {
				if err := dev.Stop(ctx); err != nil {
					return nil, err
				}
				return struct {
					Stopped bool `json:"stopped"`
				}{true}, nil
			},
		}, true
	case "get_time":
		return Tool{
			Name:        name,
			Description: "Get the local date and time where this device is, with its time zone.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`),
			Timeout:     time.Second,
			Run: func(context.Context, json.RawMessage) (any, error) {
				return timeResult(o.Clock.Now().In(o.Location)), nil
			},
		}, true
	case "device_status":
		return Tool{
			Name:        name,
			Description: "Get this device's status: its state, whether the microphone is muted, the volume and the health of its network connection.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`),
			Timeout:     time.Second,
			Run: func(context.Context, json.RawMessage) (any, error) {
				return dev.Status(), nil
			},
		}, true
	}
	return Tool{}, false
}

// TimeResult is get_time's output.
type TimeResult struct {
	Local     string `json:"local"`      // RFC 3339 with the UTC offset
	Date      string `json:"date"`       // 2026-12-06
	Time      string `json:"time"`       // 19:04
	Weekday   string `json:"weekday"`    // Sunday
	TimeZone  string `json:"time_zone"`  // the zone's name (IANA, e.g. Europe/Berlin, or its abbreviation)
	UTCOffset string `json:"utc_offset"` // +01:00
}

func timeResult(t time.Time) TimeResult {
	zone := t.Location().String()
	if zone == "Local" || zone == "" {
		zone, _ = t.Zone()
	}
	return TimeResult{
		Local: t.Format(time.RFC3339), Date: t.Format(time.DateOnly), Time: t.Format("15:04"),
		Weekday: t.Weekday().String(), TimeZone: zone, UTCOffset: t.Format("-07:00"),
	}
}

// localZone is time.Local under its IANA name when /etc/localtime links to one (Go
// names it "Local" otherwise).
func localZone() *time.Location {
	if tz := os.Getenv("TZ"); tz != "" {
		if l, err := time.LoadLocation(strings.TrimPrefix(tz, ":")); err == nil {
			return l
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			if l, err := time.LoadLocation(name); err == nil {
				return l
			}
		}
	}
	return time.Local
}

// IsBuiltin reports whether name is a built-in tool.
func IsBuiltin(name string) bool { return slices.Contains(BuiltinNames, name) }
