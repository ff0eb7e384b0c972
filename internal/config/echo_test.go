package config

import (
	"strings"
	"testing"
)

// TestEchoSettings: [audio] echo, echo_tail, noise_suppression and agc: the defaults
// (aec with noise suppression, no AGC), explicit values kept, and bad values reported
// with FILE:LINE:COL.
func TestEchoSettings(t *testing.T) {
	c, err := Decode("x.toml", []byte("[audio]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Audio; a.Echo != "aec" || a.EchoTail.D().String() != "200ms" || a.NoiseSuppression == nil || !*a.NoiseSuppression || a.AGC {
		t.Errorf("defaults: echo %q tail %v ns %v agc %v", a.Echo, a.EchoTail.D(), a.NoiseSuppression, a.AGC)
	}
	c, err = Decode("x.toml", []byte("[audio]\necho = \"gate\"\nnoise_suppression = false\nagc = true\necho_tail = \"300ms\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Audio; a.Echo != "gate" || *a.NoiseSuppression || !a.AGC || a.EchoTail.D().String() != "300ms" {
		t.Errorf("explicit values not kept: %+v", a)
	}
	_, err = Decode("x.toml", []byte("[audio]\necho = \"cancel\"\necho_tail = \"5s\"\nnoise_suppression = \"yes\"\n"))
	if err == nil {
		t.Fatal("bad echo settings accepted")
	}
	for _, want := range []string{
		`x.toml:2:1: key "audio.echo": "cancel": want "aec", "gate" or "off"`,
		`x.toml:3:1: key "audio.echo_tail": 5s out of range (50ms to 1s; 200ms fits a living room)`,
		`x.toml:4:21: key "audio.noise_suppression"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}

// TestRoomSettings: [audio] room_delay and room_gain_db: off by default, bad values
// reported with FILE:LINE:COL.
func TestRoomSettings(t *testing.T) {
	c, err := Decode("x.toml", []byte("[audio]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audio.RoomDelay != 0 || c.Audio.RoomGainDB != -6 {
		t.Errorf("defaults: room_delay %v, room_gain_db %v", c.Audio.RoomDelay.D(), c.Audio.RoomGainDB)
	}
	_, err = Decode("x.toml", []byte("[audio]\nroom_delay = \"5ms\"\nroom_gain_db = 12.0\n"))
	for _, want := range []string{
		`x.toml:2:1: key "audio.room_delay": 5ms out of range (20ms to 500ms, or 0s for the real devices)`,
		`x.toml:3:1: key "audio.room_gain_db": 12 out of range (-40 to 6)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
}
