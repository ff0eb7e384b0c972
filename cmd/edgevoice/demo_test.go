package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"

	"github.com/edgevoice/edgevoice/appliance"
	"github.com/edgevoice/edgevoice/hw/audio"
	"github.com/edgevoice/edgevoice/hw/led"
)

// TestDemo runs `edgevoice demo` end to end: emulator, simulated board, the bundled
// question, one turn, the reply written to a WAV file.
func TestDemo(t *testing.T) {
	defer noLeaks(t)()
	out := filepath.Join(t.TempDir(), "reply.wav")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-out", out}, &cli.Env{Stdout: &stdout, Stderr: &stderr})
	if code != 0 {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	s := stdout.String()
	// The states in order, each once, as the LEDs showed them.
	var states []string
	for _, m := range regexp.MustCompile(`state (\S+)`).FindAllStringSubmatch(s, -1) {
		states = append(states, m[1])
	}
	want := "idle connecting listening thinking speaking idle off"
	if got := strings.Join(states, " "); got != want {
		t.Errorf("demo states: got %q, want %q\n%s", got, want, s)
	}
	// The real LED engine on the simulated board showed the same states.
	// (The engine may draw one dark frame before the first state arrives.)
	if !strings.Contains(s, "LED states shown: "+want+"\n") && !strings.Contains(s, "LED states shown: off "+want+"\n") {
		t.Errorf("demo LED states differ from %q:\n%s", want, s)
	}
	for _, w := range []string{`user said:      "What is the weather like in Lisbon today?"`, `assistant said: "It is sunny`, "release -> first reply audio", "demo: OK"} {
		if !strings.Contains(s, w) {
			t.Errorf("demo output lacks %q:\n%s", w, s)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := audio.ReadWAVHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	// The emulator plays the 2.47 s question back: the reply must be about as long.
	if info.Format.Rate != 48000 || info.Format.Channels != 1 || info.Frames < 48000*2 || info.Frames > 48000*4 {
		t.Errorf("reply WAV: %+v, want about 2.5 s of 48 kHz mono", info)
	}
}

func TestLEDStatesMatch(t *testing.T) {
	for s := appliance.Off; s <= appliance.Offline; s++ {
		ls, ok := ledStates[s]
		if !ok {
			t.Errorf("appliance state %s has no LED state", s)
			continue
		}
		if ls.String() != s.String() {
			t.Errorf("appliance state %s shows LED state %s", s, ls)
		}
	}
	if len(ledStates) != int(appliance.Offline)+1 {
		t.Errorf("ledStates has %d entries", len(ledStates))
	}
	_ = led.Off
}

// TestDemoTools runs `edgevoice demo -tools`: the model's answer calls set_volume, the
// device runs it (the volume becomes 40 %) and the spoken answer follows, with thinking
// shown from the release to the answer.
func TestDemoTools(t *testing.T) {
	defer noLeaks(t)()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-tools", "-out", filepath.Join(t.TempDir(), "reply.wav")}, &cli.Env{Stdout: &stdout, Stderr: &stderr})
	s := stdout.String()
	if code != 0 {
		t.Fatalf("demo -tools: exit %d\nstdout:\n%s\nstderr:\n%s", code, s, stderr.String())
	}
	for _, w := range []string{`the model called set_volume({"level":0.4}) -> {"volume":0.4}`, "volume now 40 %",
		"session the model called set_volume; running it", "session tool outputs sent; answer requested",
		"LED states shown: off idle connecting listening thinking speaking idle off", "demo: OK"} {
		if !strings.Contains(s, w) && !(strings.HasPrefix(w, "LED") && strings.Contains(s, strings.Replace(w, "off idle", "idle", 1))) {
			t.Errorf("demo -tools output lacks %q:\n%s", w, s)
		}
	}
}
