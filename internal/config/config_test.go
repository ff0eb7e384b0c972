package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBrokenConfigs: each broken config gives exactly the expected FILE:LINE:COL lines.
func TestBrokenConfigs(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // the error, line by line
	}{
		{
			name: "unknown key",
			doc:  "[appliance]\ntalk_mode = \"hold\"\ntalkmode = \"toggle\"\n",
			want: []string{`x.toml:3:1: unknown key "appliance.talkmode" (keys in [appliance]: control_socket, idle_timeout, keep_warm, log_format, log_level, metrics_listen, service_action, shutdown_timeout, talk_mode, volume, volume_step, watchdog)`},
		},
		{
			name: "two unknown keys",
			doc:  "[appliance]\nvolumee = 0.5\n\n[appliance.extra]\n",
			want: []string{
				`x.toml:2:1: unknown key "appliance.volumee" (keys in [appliance]: control_socket, idle_timeout, keep_warm, log_format, log_level, metrics_listen, service_action, shutdown_timeout, talk_mode, volume, volume_step, watchdog)`,
				`x.toml:4:2: unknown table [appliance.extra] (keys in [appliance]: control_socket, idle_timeout, keep_warm, log_format, log_level, metrics_listen, service_action, shutdown_timeout, talk_mode, volume, volume_step, watchdog)`,
			},
		},
		{
			name: "unknown section",
			doc:  "# device\n[aplliance]\nvolume = 0.5\n",
			want: []string{`x.toml:2:2: unknown section [aplliance] (sections: appliance, audio, board, broker, provisioning, rtc, session, tools)`},
		},
		{
			name: "string for a number",
			doc:  "[appliance]\nvolume = \"loud\"\n",
			want: []string{`x.toml:2:10: key "appliance.volume": got a TOML string, want a number`},
		},
		{
			name: "number for a string",
			doc:  "[appliance]\n  log_level = 3\n",
			want: []string{`x.toml:2:15: key "appliance.log_level": got a TOML integer, want a string`},
		},
		{
			name: "bad duration string",
			doc:  "[appliance]\nidle_timeout = \"5 parsecs\"\n",
			want: []string{`x.toml:2:16: key "appliance.idle_timeout": bad duration "5 parsecs" (use a number with a unit, such as "20ms" or "5s")`},
		},
		{
			name: "integer duration",
			doc:  "[appliance]\nvolume = 0.5\nidle_timeout = 5\n",
			want: []string{`x.toml:3:1: key "appliance.idle_timeout": got a TOML integer, want a duration string such as "5s" or "250ms"`},
		},
		{
			name: "bad enum",
			doc:  "[appliance]\ntalk_mode = \"shout\"\n",
			want: []string{`x.toml:2:1: key "appliance.talk_mode": "shout": want "hold" or "toggle"`},
		},
		{
			name: "invalid value (validate)",
			doc:  "[appliance]\ntalk_mode = \"toggle\"\n\nvolume = 2.5\n",
			want: []string{`x.toml:4:1: key "appliance.volume": 2.5: want 0.05 to 1`},
		},
		{
			name: "metrics on a public address",
			doc:  "[appliance]\nmetrics_listen = \"0.0.0.0:9464\"\n",
			want: []string{`x.toml:2:1: key "appliance.metrics_listen": "0.0.0.0:9464": only loopback addresses (127.0.0.1, ::1, localhost) are allowed`},
		},
		{
			// found by FuzzConfigDecode: it panicked while dropping the bad key
			name: "array of tables for a table",
			doc:  "[[tools]]\n[appliance]\nvolume = 2\n",
			want: []string{
				`x.toml:1:3: key "tools.0": tools is one table: write [tools], not [[tools]]`,
				`x.toml:3:1: key "appliance.volume": 2: want 0.05 to 1`,
			},
		},
		{
			// a check of a key the file does not set points at the table around it
			name: "array of tables written as one table",
			doc:  "[tools.mcp]\nname = \"ha\"\n",
			want: []string{`x.toml:1:2: key "tools.mcp.0": give url (a Streamable HTTP endpoint) or command (a stdio server)`},
		},
		{
			name: "syntax error",
			doc:  "[appliance]\nvolume =\n",
			want: []string{`x.toml:2:9: unexpected character U+000A at start of value`},
		},
		{
			name: "duplicate key",
			doc:  "[appliance]\nvolume = 0.5\nvolume = 0.6\n",
			want: []string{`x.toml:3:1: key "volume": key volume is already defined`},
		},
		{
			name: "section given as a value",
			doc:  "appliance = 3\n",
			want: []string{`x.toml:1:13: key "appliance": got a TOML integer, want a table`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("x.toml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("decodeConfig accepted the broken config:\n%s", tt.doc)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("error lines:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Decode("empty.toml", nil)
	if err != nil {
		t.Fatalf("an empty config must be valid (defaults): %v", err)
	}
	if c.Appliance.TalkMode != TalkHold || c.Appliance.IdleTimeout.D() != time.Minute || c.Appliance.ShutdownTimeout.D() != 2*time.Second {
		t.Errorf("defaults: %+v", c.Appliance)
	}
	c, err = Decode("t.toml", []byte("[appliance]\ntalk_mode = \"toggle\"\nidle_timeout = \"90s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Appliance.TalkMode != TalkToggle || c.Appliance.IdleTimeout.D() != 90*time.Second {
		t.Errorf("decoded: %+v", c.Appliance)
	}
}

// TestSecretMasking: secrets are masked in the printed config, and only there.
func TestSecretMasking(t *testing.T) {
	type inner struct {
		APIKey     string   `toml:"api_key"`
		KeyFile    string   `toml:"key_file"`
		Tokens     []string `toml:"device_token"`
		Custom     string   `toml:"custom" secret:"true"`
		SDPURL     string   `toml:"sdp_url"`
		Passphrase string   `toml:"passphrase"`
	}
	type outer struct {
		In   inner            `toml:"in"`
		List []inner          `toml:"list"`
		Map  map[string]inner `toml:"map"`
	}
	secret := "sk-live-0123456789abcdef"
	o := outer{
		In:   inner{APIKey: secret, KeyFile: "/etc/k", Tokens: []string{secret}, Custom: secret, SDPURL: "https://x", Passphrase: "visible"},
		List: []inner{{APIKey: secret}},
		Map:  map[string]inner{"a": {APIKey: secret}},
	}
	cp := o
	maskValue(reflect.ValueOf(&cp).Elem())
	if cp.In.APIKey == secret || cp.In.Tokens[0] == secret || cp.In.Custom == secret || cp.List[0].APIKey == secret || cp.Map["a"].APIKey == secret {
		t.Errorf("a secret survived masking: %+v", cp)
	}
	if cp.In.KeyFile != "/etc/k" || cp.In.SDPURL != "https://x" || cp.In.Passphrase != "visible" {
		t.Errorf("a non-secret was masked: %+v", cp.In)
	}
	if o.In.APIKey != secret || o.In.Tokens[0] != secret || o.List[0].APIKey != secret || o.Map["a"].APIKey != secret {
		t.Errorf("masking changed the original: %+v", o)
	}
	if got := MaskSecret("ek_abcdefghijklmnop"); got != "ek_***(19 chars)" {
		t.Errorf("maskSecret = %q", got)
	}
}
