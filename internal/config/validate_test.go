package config

import (
	"errors"
	"strings"
	"testing"
)

// TestEveryProblemReported: a file with several problems gives every one of them, each
// with FILE:LINE:COL and its key, in file order.
func TestEveryProblemReported(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "values the libraries check, all at once",
			doc: `[audio]
capture_format = "s24"
capture_channels = 4
mixer_channels = [4]
playback_rate = 500
backend = "oss"

[rtc]
opus_rate = 44100
network_types = ["sctp"]
`,
			want: []string{
				`x.toml:2:1: key "audio.capture_format": "s24": want "s16", "s32" or "f32"`,
				`x.toml:4:1: key "audio.mixer_channels": entry 0: channel 4 out of range (channels count from 0 and must be below capture_channels = 4)`,
				`x.toml:5:1: key "audio.playback_rate": 500 Hz out of range (1000 to 384000; mic arrays use 16000, 44100 or 48000)`,
				`x.toml:6:1: key "audio.backend": "oss": want "auto", "alsa", "pulse" or "null"`,
				`x.toml:9:1: key "rtc.opus_rate": 44100 Hz: use 48000, 24000 or 16000`,
				`x.toml:10:1: key "rtc.network_types": "sctp" is not an ICE network type (use "udp4", "udp6", "tcp4" or "tcp6")`,
			},
		},
		{
			name: "decode errors do not hide the rest",
			doc: `[appliance]
volume = "loud"
idle_timeout = "5 parsecs"
log_level = 3
watchdog = "sometimes"
typo = 1
`,
			want: []string{
				`x.toml:2:10: key "appliance.volume": got a TOML string, want a number`,
				`x.toml:3:16: key "appliance.idle_timeout": bad duration "5 parsecs" (use a number with a unit, such as "20ms" or "5s")`,
				`x.toml:4:13: key "appliance.log_level": got a TOML integer, want a string`,
				`x.toml:5:1: key "appliance.watchdog": "sometimes": want "auto" or "off"`,
				`x.toml:6:1: unknown key "appliance.typo" (keys in [appliance]: control_socket, idle_timeout, keep_warm, log_format, log_level, metrics_listen, service_action, shutdown_timeout, talk_mode, volume, volume_step, watchdog)`,
			},
		},
		{
			name: "wrong types in array tables and durations",
			doc:  "[[session.tools]]\nname = 3\n[[session.tools]]\nname = \"x\"\ndescription = 4\n[audio]\nperiod = 5\nmixer = 2\n",
			want: []string{
				`x.toml:2:8: key "session.tools.0.name": got a TOML integer, want a string`,
				`x.toml:5:15: key "session.tools.1.description": got a TOML integer, want a string`,
				`x.toml:7:1: key "audio.period": got a TOML integer, want a duration string such as "5s" or "250ms"`,
				`x.toml:8:9: key "audio.mixer": got a TOML integer, want a string`,
			},
		},
		{
			name: "integers for a list of durations",
			doc:  "[board.talk]\nlong_press = [1, \"10s\"]\ndebounce = \"x\"\n[board]\nkind = \"pi\"\n",
			want: []string{
				`x.toml:2:1: key "board.talk.long_press": want an array of duration strings such as ["3s", "10s"]`,
				`x.toml:3:12: key "board.talk.debounce": bad duration "x" (use a number with a unit, such as "20ms" or "5s")`,
				`x.toml:5:1: key "board.kind": "pi" is not a board kind (use "none", "auto", "gpio" or "sim")`,
			},
		},
		{
			name: "broker profile without broker_url",
			doc:  "[provisioning]\nprofile = \"broker\"\ncredential_file = \"/etc/edgevoice/credential\"\n",
			want: []string{`x.toml:1:2: key "provisioning.broker_url": profile "broker" needs the broker's URL (such as "https://keys.example.com")`},
		},
		{
			name: "azure without resource and deployment",
			doc:  "[provisioning]\nprofile = \"azure\"\n",
			want: []string{
				`x.toml:1:2: key "provisioning.resource": profile "azure" needs the Azure resource name (the part before .openai.azure.com), or both mint_url and sdp_url`,
				`x.toml:1:2: key "provisioning.deployment": profile "azure" needs the deployment name of the realtime model`,
			},
		},
		{
			name: "empty model",
			doc:  "[provisioning]\nprofile = \"openai\"\nmodel = \"\"\n",
			want: []string{`x.toml:3:1: key "provisioning.model": empty; name the realtime model (such as "gpt-realtime") or leave the key out`},
		},
		{
			name: "plain http to a remote broker",
			doc:  "[provisioning]\nbroker_url = \"http://keys.example.com\"\n",
			want: []string{`x.toml:2:1: key "provisioning.broker_url": plain http:// to keys.example.com would send the device token in clear text; use https://, or set allow_insecure_http = true on a network you trust`},
		},
		{
			name: "a URL with a password",
			doc:  "[provisioning]\nbroker_url = \"https://dev:hunter2@keys.example.com\"\n",
			want: []string{`x.toml:2:1: key "provisioning.broker_url": holds a user name or password; put credentials in credential_file, never in a URL`},
		},
		{
			name: "a key instead of a credential file",
			doc:  "[provisioning]\nbroker_url = \"https://keys.example.com\"\ncredential_file = \"sk-proj-abcdefghijklmnopqrstuvwxyz012345\"\n",
			want: []string{`x.toml:3:1: key "provisioning.credential_file": holds what looks like a key or token, not a file name; put the credential in a file (chmod 600) and name that file here (the value is not shown)`},
		},
		{
			name: "a base64 token instead of a credential file",
			doc:  "[provisioning]\nbroker_url = \"https://keys.example.com\"\ncredential_file = \"dGhpcyBpcyBhIGRldmljZSB0b2tlbiBmb3IgdGVzdHM=\"\n",
			want: []string{`x.toml:3:1: key "provisioning.credential_file": holds what looks like a key or token, not a file name; put the credential in a file (chmod 600) and name that file here (the value is not shown)`},
		},
		{
			name: "session and board together",
			doc: `[board.led]
brightness = 1.5
[session]
turn_detection = "vad"
noise_reduction = "loud"
[[session.tools]]
name = "a b"
[[session.tools]]
name = "ok"
parameters = "[1]"
`,
			want: []string{
				`x.toml:2:1: key "board.led.brightness": 1.5 is out of range (above 0, at most 1)`,
				`x.toml:4:1: key "session.turn_detection": "vad" is not known; use "none", "server_vad" or "semantic_vad"`,
				`x.toml:5:1: key "session.noise_reduction": "loud" is not known; use "off", "near_field" or "far_field"`,
				`x.toml:7:1: key "session.tools.0.name": "a b": use letters, digits, '_' and '-'`,
				`x.toml:10:1: key "session.tools.1.parameters": not a JSON object (json: cannot unmarshal array into Go value of type map[string]interface {}); write a JSON Schema such as {"type":"object","properties":{}}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("x.toml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("Decode accepted:\n%s", tt.doc)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("error lines:\n got %q\nwant %q", got, tt.want)
			}
			for _, p := range e.Problems {
				if p.Line == 0 || p.Col == 0 {
					t.Errorf("problem without a position: %v", p)
				}
			}
		})
	}
}

// TestSecretsNeverInErrors: a secret put where a path or URL belongs is refused without
// being echoed.
func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
	for _, doc := range []string{
		"[provisioning]\ncredential_file = \"" + secret + "\"\n",
		"[provisioning]\nbroker_url = \"https://x:" + secret + "@keys.example.com\"\n",
		"[provisioning]\nprofile = \"azure\"\ncredential_file = \"" + secret + "\"\nresource = \"r\"\n",
	} {
		_, err := Decode("x.toml", []byte(doc))
		if err == nil {
			t.Fatalf("accepted:\n%s", doc)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "abcdefghij") {
			t.Errorf("the error echoes the secret: %v", err)
		}
	}
}

// TestAcceptedConfigs: what must stay valid (loopback http for tests, explicit
// allow_insecure_http, real paths that contain no slash, a file for `run` only).
func TestAcceptedConfigs(t *testing.T) {
	for _, doc := range []string{
		"",
		"[appliance]\ntalk_mode = \"toggle\"\n",
		"[provisioning]\nbroker_url = \"http://127.0.0.1:8080\"\n",
		"[provisioning]\nbroker_url = \"http://localhost:8080\"\n",
		"[provisioning]\nbroker_url = \"http://keys.lan\"\nallow_insecure_http = true\n",
		"[provisioning]\nbroker_url = \"https://keys.example.com\"\ncredential_file = \"credential\"\n",
		"[provisioning]\nbroker_url = \"https://keys.example.com\"\ncredential_file = \"/etc/edgevoice/credential\"\n",
		"[provisioning]\nprofile = \"azure\"\nresource = \"contoso\"\ndeployment = \"gpt-realtime\"\n",
		"[provisioning]\nprofile = \"openai\"\n",
		"[provisioning]\nsocket = \"/tmp/keys.sock\"\n", // a file for run: the socket only
		"[audio]\ncapture_channels = 4\nmixer = \"delay-sum\"\nmixer_channels = [0, 3]\nmixer_delays = [0, 2]\n",
		"[audio]\ninput_file = \"in.wav\"\nmixer_channels = [5]\n",
		"[board]\nkind = \"sim\"\n[board.mute]\npin = \"GPIO5\"\ndouble_click = \"400ms\"",
	} {
		if _, err := Decode("x.toml", []byte(doc)); err != nil {
			t.Errorf("rejected:\n%s\n%v", doc, err)
		}
	}
}

// TestValidateWithoutFile: Validate (after flags changed values) names the key, without
// a position; the profile's needs are required once [provisioning] is set up at all.
func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if c.Provisioning.Profile != "" {
		t.Errorf("default profile %q, want none (not set up)", c.Provisioning.Profile)
	}
	c.Provisioning.CredentialFile = "/etc/edgevoice/credential"
	if err := c.Validate(); err != nil {
		t.Errorf("a credential without a profile (not set up yet): %v", err)
	}
	c.Provisioning.Profile = ProfileBroker
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `config: key "provisioning.broker_url": profile "broker" needs`) {
		t.Errorf("a set-up broker profile without a broker URL: %v", err)
	}
	c.Provisioning.BrokerURL = "https://keys.example.com"
	if err := c.Validate(); err != nil {
		t.Errorf("with a broker URL: %v", err)
	}
}
