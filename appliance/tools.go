package appliance

import (
	"context"
	"log/slog"
	"slices"

	"github.com/edgevoice/edgevoice/realtime/events"
	"github.com/edgevoice/edgevoice/rtc"

	"github.com/edgevoice/edgevoice/tools"
)

// ToolDevice returns the appliance as the built-in tools' Device: each tool acts
// through the same remote methods as the control socket, so the state machine treats
// it like a button (stop is a cancel, mute a click of the mute button).
func (a *Appliance) ToolDevice() tools.Device { return toolDevice{a} }

// Tools returns a tool set with the built-in tools named in builtin (config [tools]
// builtin), acting on a; it is the ToolRunner of the sessions (rtc.WithTools) and
// declares the tools to the model (Declarations).
func (a *Appliance) Tools(builtin []string, log *slog.Logger) (*tools.Set, error) {
	s := tools.NewSet(log)
	if err := tools.Builtins(s, a.ToolDevice(), builtin, tools.BuiltinOpts{Clock: a.clock}); err != nil {
		return nil, err
	}
	return s, nil
}

type toolDevice struct{ a *Appliance }

func (d toolDevice) Volume() float64 { return d.a.Volume() }

func (d toolDevice) SetVolume(ctx context.Context, v float64) (float64, error) {
	return d.a.SetVolume(ctx, v, false)
}

func (d toolDevice) SetMuted(ctx context.Context, muted bool) error {
	_, err := d.a.SetMuted(ctx, muted)
	return err
}

func (d toolDevice) Stop(ctx context.Context) error {
	_, err := d.a.Cancel(ctx)
	return err
}

func (d toolDevice) Status() tools.DeviceStatus {
	st := d.a.Status()
	out := tools.DeviceStatus{State: st.StateName, Muted: st.Muted, Volume: st.Volume, Connection: "none", Problem: st.Detail}
	if s := st.Session; s != nil {
		out.Connection = s.State
		out.RTTMillis = float64(s.RTT) / 1e6
		out.Reconnects = s.Reconnects
	}
	return out
}

// toolsFollow reports whether ev ends a response of function calls that completed: the
// session runs them and asks for the answer, so the turn stays thinking (the LEDs do not
// drop to idle between the calls and the answer).
func toolsFollow(ev rtc.Event) bool {
	d, ok := ev.Server.(events.ResponseDone)
	if !ok || d.Response.Status != events.StatusCompleted {
		return false
	}
	return slices.ContainsFunc(d.Response.Output, func(it events.OutputItem) bool { return it.Type == "function_call" })
}
