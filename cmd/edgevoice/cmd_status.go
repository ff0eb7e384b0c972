package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/config"
	"github.com/edgevoice/edgevoice/internal/control"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:    "status",
		Summary: "ask the running appliance: state, key age, session and audio statistics, uptime",
		Flags: func(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
			cfgPath := cli.ConfigFlag(fs, env)
			sock := fs.String("socket", "", "control socket (default: [appliance] control_socket of the config, else /run/edgevoice/control.sock)")
			asJSON := fs.Bool("json", false, "print the raw JSON answer")
			return func(ctx context.Context, _ []string) error {
				path := *sock
				if path == "" {
					path = config.Default().Appliance.ControlSocket
					if c, err := config.Load(*cfgPath); err == nil {
						path = c.Appliance.ControlSocket
					}
				}
				ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				st, err := control.Ask(ctx, path)
				if err != nil {
					return err
				}
				if *asJSON {
					enc := json.NewEncoder(env.Stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(st)
				}
				printStatus(env.Stdout, st)
				return nil
			}
		},
	}
}

func printStatus(w io.Writer, st *control.Status) {
	a := st.Appliance
	d := func(v interface{ MarshalText() ([]byte, error) }) string { b, _ := v.MarshalText(); return string(b) }
	fmt.Fprintf(w, "edgevoice %s (pid %d, config %s), up %s\n", st.Version, st.PID, st.Config, d(a.Uptime))
	fmt.Fprintf(w, "state:        %s since %s (%s)\n", a.StateName, a.Since.Local().Format("15:04:05"), a.Reason)
	if a.Detail != "" {
		fmt.Fprintf(w, "              %s\n", a.Detail)
	}
	if a.Setup == appliance.SetupFault {
		printSetupFault(w, a)
	} else if a.Setup != "" { // not set up: what to do, as the Status= line says
		fmt.Fprintf(w, "setup:        %s\n", statusLine(a, a.Reason, ""))
	}
	fmt.Fprintf(w, "talk:         %s mode, %d turns, volume %.0f%%, muted %v\n", a.TalkMode, a.Turns, a.Volume*100, a.Muted)
	if a.Echo != "" {
		line := a.Echo
		if a.EchoDelayDetail != "" {
			line += fmt.Sprintf(", reference delay %s = %s", d(a.EchoDelay), a.EchoDelayDetail)
		}
		fmt.Fprintf(w, "echo:         %s\n", line)
	}
	if k := a.Key; k != nil {
		fmt.Fprintf(w, "key:          %s (%s), age %s, expires %s\n", k.Profile, k.Dialect, d(k.Age), k.ExpiresAt.Local().Format("15:04:05"))
	} else {
		fmt.Fprintf(w, "key:          none yet\n")
	}
	if p := st.Provisioning; p != nil {
		if p.Error != "" {
			fmt.Fprintf(w, "provisioning: unreachable: %s\n", p.Error)
		} else if s := p.Status; s != nil {
			fmt.Fprintf(w, "provisioning: %v, profile %s, key ready %v (age %.0fs, expires in %.0fs), minted %d, failures %d\n",
				s.State, s.Profile, s.KeyReady, s.KeyAgeSeconds, s.KeyExpiresInSeconds, s.Minted, s.Failures)
			if s.LastError != "" {
				fmt.Fprintf(w, "              last error: %s\n", s.LastError)
			}
		}
	}
	if s := a.Session; s != nil {
		state := s.State
		if s.Transport != "" {
			state += " over " + s.Transport
		}
		fmt.Fprintf(w, "session:      %s, connects %d, reconnects %d, connect %s, press->first packet %s, RTT %s, jitter %s\n",
			state, s.Connects, s.Reconnects, d(s.ConnectTime), d(s.PressToFirstPacket), d(s.RTT), d(s.Jitter))
		loss := 0.0
		if n := s.PacketsReceived + s.PacketsLost; n > 0 {
			loss = 100 * float64(s.PacketsLost) / float64(n)
		}
		fmt.Fprintf(w, "              packets sent %d, received %d, lost %d (%.1f%%, %d recovered by FEC), concealed %s, barge-ins %d\n",
			s.PacketsSent, s.PacketsReceived, s.PacketsLost, loss, s.PacketsRecovered, d(s.Concealed), s.BargeIns)
	} else {
		fmt.Fprintf(w, "session:      none (opens on the next press)\n")
	}
	for _, au := range st.Audio {
		fmt.Fprintf(w, "%-13s %s [%s] %s, overruns %d, underruns %d, device errors %d, reopens %d\n",
			au.Role+":", au.Device, au.Format, au.State, au.Overruns, au.Underruns, au.Errors, au.Reopens)
	}
	if len(a.Audio) > 0 {
		fmt.Fprintf(w, "audio faults: %s\n", strings.Join(a.Audio, "; "))
	}
}
