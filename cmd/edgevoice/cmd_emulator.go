package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/edgevoice/edgevoice/realtime"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/internal/cli"
)

func emulatorCommand() *cli.Command {
	return &cli.Command{
		Name:    "emulator",
		Summary: "run the local realtime emulator (mint, SDP and WebSocket endpoints, echo) on loopback",
		Help: "Runs a local stand-in for the realtime service on loopback: the mint endpoints of\n" +
			"the four provider profiles, the preview and GA SDP endpoints with a WebRTC peer, and the\n" +
			"WebSocket endpoints of the three dialects; each committed push-to-talk turn is answered\n" +
			"with the user's own audio. Stops on SIGINT/SIGTERM.",
		Flags: emulatorFlags,
	}
}

// emulatorFlags: edgevoice emulator [-listen 127.0.0.1:8443] [-dialect ga|preview]
// [-device-token T]... [-onsets] [fault flags]
func emulatorFlags(fs *flag.FlagSet, env *cli.Env) cli.RunFunc {
	listen := fs.String("listen", "127.0.0.1:8443", "`address` to listen on (loopback only: ICE is restricted to 127.0.0.0/8)")
	dialect := fs.String("dialect", "ga", "dialect of broker keys and the default profile: ga or preview")
	apiKey := fs.String("api-key", emulator.DefaultAPIKey, "long-lived `key` the mint endpoints accept (api-key header or Bearer)")
	var deviceTokens []string
	fs.Func("device-token", "device `token` the broker endpoint POST /v1/keys accepts (default \""+emulator.DefaultDeviceToken+"\"; repeat the flag to accept several)", func(v string) error {
		if v == "" {
			return errors.New("empty device token")
		}
		deviceTokens = append(deviceTokens, v)
		return nil
	})
	onsets := fs.Bool("onsets", false, "decode the calls' audio both ways and log each onset (msg=\"audio onset\" dir=in|out at_us offset_us) for latency measurements")
	noGA := fs.Bool("no-ga", false, "answer 404 on the Azure GA endpoints (an older Azure resource; tests the preview fallback)")
	iceTCP := fs.Bool("ice-tcp", false, "also offer a passive ICE-TCP candidate on 127.0.0.1")
	reply := fs.String("reply-text", emulator.DefaultReplyText, "assistant transcript sent with each response")
	userText := fs.String("user-transcript", emulator.DefaultUserText, "user transcript sent after a commit when input transcription is on")
	vad := fs.Bool("vad", false, "act on server_vad/semantic_vad sessions: detect speech (packets > 24 bytes), commit and answer turns, interrupt on speech")
	playout := fs.Duration("playout-delay", emulator.DefaultPlayoutDelay, "jitter buffer delay before received audio plays (it is played out at real time, and a commit takes only what has played)")
	verbose := fs.Bool("v", false, "log every call state change and fault at debug level")
	var toolTurns []emulator.ToolTurn
	fs.Func("tool-call", "answer the next user turn with a call of a tool: `NAME=JSON` (the arguments; several calls of one turn joined by ' && '; repeat the flag for the following turns)", func(v string) error {
		t, err := parseToolTurn(v)
		if err == nil {
			toolTurns = append(toolTurns, t)
		}
		return err
	})
	toolDelay := fs.Duration("tool-delay", 0, "the model \"thinks\" this long before each scripted tool call")
	var f emulator.Faults
	fs.IntVar(&f.MintStatus, "mint-status", 0, "answer the mint endpoints with this HTTP `status` (e.g. 401, 500)")
	fs.IntVar(&f.MintFailures, "mint-failures", 0, "apply --mint-status to the next `n` mint requests only (0 = all)")
	fs.IntVar(&f.SDPStatus, "sdp-status", 0, "answer the SDP endpoints and WebSocket handshakes with this HTTP `status`")
	fs.IntVar(&f.SDPFailures, "sdp-failures", 0, "apply --sdp-status to the next `n` SDP requests only (0 = all)")
	fs.BoolVar(&f.ExpiredKeys, "expired-keys", false, "mint keys that are already expired (the SDP endpoints answer 401)")
	fs.DurationVar(&f.KeyTTL, "key-ttl", 0, "lifetime of minted keys (default: 1m preview, 10m GA)")
	fs.DurationVar(&f.AnswerDelay, "answer-delay", 0, "hold each SDP answer this long")
	fs.DurationVar(&f.DropAfter, "drop-after", 0, "close each peer connection (drop each WebSocket) this long after it connected")
	fs.DurationVar(&f.VanishAfter, "vanish-after", 0, "make each call go silent this long after it connected (no DTLS close: the client sees disconnected/failed)")
	fs.DurationVar(&f.SessionLifetime, "session-lifetime", 0, "end each session this long after it connected (error session_expired, then close)")
	fs.DurationVar(&f.CloseDataChannelAfter, "close-dc-after", 0, "close each data channel this long after it opened")
	return func(ctx context.Context, _ []string) error {
		d, err := realtime.ParseDialect(*dialect)
		if err != nil {
			return cli.Usagef("-dialect: %v", err)
		}
		host, _, err := net.SplitHostPort(*listen)
		if err != nil {
			return cli.Usagef("bad -listen %q: %v", *listen, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return cli.Usagef("-listen %q is not a loopback address; the emulator's WebRTC side only uses 127.0.0.0/8", *listen)
		}
		level := slog.LevelInfo
		if *verbose {
			level = slog.LevelDebug
		}
		log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
		opts := []emulator.Option{
			emulator.WithLogger(log), emulator.WithDialect(d), emulator.WithAPIKey(*apiKey),
			emulator.WithFaults(f), emulator.WithReplyText(*reply), emulator.WithUserTranscript(*userText),
			emulator.WithPlayoutDelay(*playout),
		}
		for i, tok := range deviceTokens {
			if i == 0 {
				opts = append(opts, emulator.WithDeviceToken(tok))
			} else {
				opts = append(opts, emulator.WithExtraDeviceToken(tok))
			}
		}
		if *onsets {
			ol := newOnsetLog(log)
			opts = append(opts, emulator.WithPacketHook(ol.received), emulator.WithSendHook(ol.sent))
		}
		if *noGA {
			opts = append(opts, emulator.WithoutGA())
		}
		if *vad {
			opts = append(opts, emulator.WithServerVAD(nil))
		}
		if *iceTCP {
			opts = append(opts, emulator.WithICETCP())
		}
		if len(toolTurns) > 0 {
			for i := range toolTurns {
				toolTurns[i].After = *toolDelay
			}
			opts = append(opts, emulator.WithToolScript(toolTurns...))
		}
		srv, err := emulator.New(opts...)
		if err != nil {
			return err
		}
		if err := srv.Start(*listen); err != nil {
			return err
		}
		u := srv.URL()
		fmt.Fprintf(env.Stdout, "edgevoice emulator on %s (dialect %s)\n", u, d)
		fmt.Fprintf(env.Stdout, "  mint  azure-preview  POST %s/openai/realtimeapi/sessions?api-version=2025-04-01-preview  (api-key: %s)\n", u, realtime.Mask(*apiKey))
		fmt.Fprintf(env.Stdout, "  mint  azure          POST %s/openai/v1/realtime/client_secrets\n", u)
		fmt.Fprintf(env.Stdout, "  mint  openai         POST %s/v1/realtime/client_secrets  (Bearer api key)\n", u)
		fmt.Fprintf(env.Stdout, "  mint  broker         POST %s/v1/keys  (Bearer device token)\n", u)
		fmt.Fprintf(env.Stdout, "  sdp   preview        POST %s/v1/realtimertc?model=%s\n", u, emulator.DefaultPreviewModel)
		fmt.Fprintf(env.Stdout, "  sdp   ga             POST %s/v1/realtime/calls  and  %s/openai/v1/realtime/calls\n", u, u)
		ws := "ws" + strings.TrimPrefix(u, "http")
		paths := srv.WSPaths()
		fmt.Fprintf(env.Stdout, "  ws    azure-preview  GET  %s%s  (Bearer ephemeral key, or api-key)\n", ws, paths["azure-preview"])
		fmt.Fprintf(env.Stdout, "  ws    azure          GET  %s%s  (Bearer ephemeral key, or api-key)\n", ws, paths["azure"])
		fmt.Fprintf(env.Stdout, "  ws    openai         GET  %s%s  (Bearer ephemeral key or api key)\n", ws, paths["openai"])
		<-ctx.Done()
		st := srv.Stats()
		cerr := srv.Close()
		fmt.Fprintf(env.Stdout, "emulator stopped: %d keys minted, %d calls answered, %d RTP packets or audio appends in, %d out\n",
			st.MintsOK, st.CallsAnswered, st.PacketsIn, st.PacketsOut)
		if cerr != nil {
			return fmt.Errorf("emulator: close: %w", cerr)
		}
		return context.Cause(ctx)
	}
}

// parseToolTurn parses -tool-call: NAME=JSON, several joined by " && ".
func parseToolTurn(v string) (emulator.ToolTurn, error) {
	var t emulator.ToolTurn
	for _, c := range strings.Split(v, " && ") {
		name, args, ok := strings.Cut(strings.TrimSpace(c), "=")
		if !ok || name == "" {
			return t, fmt.Errorf("%q: want NAME=JSON, such as set_volume={\"level\":0.5}", c)
		}
		if !json.Valid([]byte(args)) {
			return t, fmt.Errorf("%q: the arguments are not JSON", c)
		}
		t.Calls = append(t.Calls, emulator.ToolCall{Name: name, Arguments: args})
	}
	return t, nil
}
