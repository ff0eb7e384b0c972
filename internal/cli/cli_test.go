package cli_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/cli/clitest"
	"github.com/edgevoice/edgevoice/internal/config"
)

// testApp has a command with a flag and a positional argument, one that fails, and
// check-config.
func testApp(got *[]string, seconds *int) *cli.App {
	return &cli.App{Name: "tool", Commands: []*cli.Command{
		{Name: "record", Args: "FILE", Summary: "record", MinArgs: 1, MaxArgs: 1,
			Flags: func(fs *flag.FlagSet, _ *cli.Env) cli.RunFunc {
				s := fs.Int("seconds", 5, "how long")
				return func(_ context.Context, args []string) error { *got, *seconds = args, *s; return nil }
			}},
		{Name: "fail", Summary: "fails", Flags: func(*flag.FlagSet, *cli.Env) cli.RunFunc {
			return func(context.Context, []string) error { return errors.New("broken") }
		}},
		{Name: "misuse", Summary: "misused", Flags: func(*flag.FlagSet, *cli.Env) cli.RunFunc {
			return func(context.Context, []string) error { return cli.Usagef("-a and -b exclude each other") }
		}},
		cli.CheckConfig(),
	}}
}

func TestConventions(t *testing.T) {
	var args []string
	var seconds int
	app := testApp(&args, &seconds)
	clitest.CheckConventions(t, app, []string{"check-config", "fail", "misuse", "record", "version"})

	// Flags after the positional argument are honoured.
	if r := clitest.Run(t, app, nil, "record", "out.wav", "-seconds", "1"); r.Code != 0 || seconds != 1 || !reflect.DeepEqual(args, []string{"out.wav"}) {
		t.Errorf("record out.wav -seconds 1: exit %d, seconds %d, args %q, stderr %q", r.Code, seconds, args, r.Stderr)
	}
	if r := clitest.Run(t, app, nil, "record", "--", "-seconds"); r.Code != 0 || !reflect.DeepEqual(args, []string{"-seconds"}) {
		t.Errorf("record -- -seconds: exit %d, args %q", r.Code, args)
	}
	clitest.CheckArgCount(t, app, "record")
	clitest.CheckArgCount(t, app, "record", "a", "b")
	if r := clitest.Run(t, app, nil, "fail"); r.Code != cli.ExitFailure || r.Stderr != "tool fail: broken\n" {
		t.Errorf("fail: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, nil, "misuse"); r.Code != cli.ExitUsage || !strings.HasPrefix(r.Stderr, "tool misuse: -a and -b exclude each other\n\nusage: tool misuse") {
		t.Errorf("misuse: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestCheckConfigCommand(t *testing.T) {
	app := testApp(new([]string), new(int))
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("[appliance]\ntalk_mode = \"toggle\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[appliance]\ntalk_mod = \"toggle\"\nvolume = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check-config", good}, {"check-config", "-config", good}, {"check-config", good, "-config", good}} {
		r := clitest.Run(t, app, nil, args...)
		if r.Code != 0 {
			t.Fatalf("%q: exit %d, stderr %s", args, r.Code, r.Stderr)
		}
		for _, want := range []string{"OK", `talk_mode = 'toggle'`, `idle_timeout = '1m'`} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("check-config output lacks %q:\n%s", want, r.Stdout)
			}
		}
		// The printed effective config is itself a valid config with the same values.
		c1, err := config.Decode("printed", []byte(r.Stdout))
		if err != nil {
			t.Fatalf("printed config does not load: %v\n%s", err, r.Stdout)
		}
		c0, _ := config.Load(good)
		if !reflect.DeepEqual(c0, c1) {
			t.Errorf("printed config differs from the loaded one:\n%+v\n%+v", c0, c1)
		}
	}
	// $EDGEVOICE_CONFIG is the default file.
	if r := clitest.Run(t, app, map[string]string{"EDGEVOICE_CONFIG": good}, "check-config", "-q"); r.Code != 0 || r.Stdout != "" {
		t.Errorf("check-config -q with EDGEVOICE_CONFIG: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r := clitest.Run(t, app, map[string]string{"EDGEVOICE_CONFIG": good}, "check-config", bad)
	if r.Code != 1 || !strings.Contains(r.Stderr, bad+`:2:1: unknown key "appliance.talk_mod"`) || !strings.Contains(r.Stderr, bad+`:3:1: key "appliance.volume": 3: want 0.05 to 1`) {
		t.Errorf("check-config bad: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if r := clitest.Run(t, app, nil, "check-config", filepath.Join(dir, "missing.toml")); r.Code != 1 || !strings.Contains(r.Stderr, "pass -config FILE") {
		t.Errorf("check-config on a missing file: exit %d, stderr %q", r.Code, r.Stderr)
	}
	clitest.CheckArgCount(t, app, "check-config", good, bad)
	clitest.CheckArgCount(t, app, "check-config", "-config", good, bad)

	// It lists the files read: the file, then its drop-ins in order; a problem in a
	// drop-in names the drop-in.
	if r := clitest.Run(t, app, nil, "check-config", good); !strings.Contains(r.Stdout, "# read: "+good+"\n# (no drop-ins in "+good+".d/)\n") {
		t.Errorf("check-config without drop-ins does not say so:\n%s", r.Stdout)
	}
	if err := os.Mkdir(good+".d", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]string{"20-b.toml": "[appliance]\nvolume = 0.3\n", "10-a.toml": "[appliance]\nvolume = 0.2\n"} {
		if err := os.WriteFile(filepath.Join(good+".d", name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r = clitest.Run(t, app, nil, "check-config", good)
	if want := "# read: " + good + ", " + good + ".d/10-a.toml, " + good + ".d/20-b.toml\n"; r.Code != 0 || !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, "volume = 0.3\n") {
		t.Errorf("check-config with drop-ins: exit %d, want %q and volume 0.3 in:\n%s%s", r.Code, want, r.Stdout, r.Stderr)
	}
	if err := os.WriteFile(filepath.Join(good+".d", "30-c.toml"), []byte("[appliance]\nvolume = 9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := clitest.Run(t, app, nil, "check-config", good); r.Code != 1 || !strings.Contains(r.Stderr, good+`.d/30-c.toml:2:1: key "appliance.volume": 9: want 0.05 to 1`) {
		t.Errorf("check-config with a bad drop-in: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		v    bool
		n    int
	}{
		{[]string{"a", "-v", "b", "-n", "3"}, []string{"a", "b"}, true, 3},
		{[]string{"-n=2", "a"}, []string{"a"}, false, 2},
		{[]string{"a", "--", "-v"}, []string{"a", "-v"}, false, 0},
		{[]string{"volume", "-0.1", "-v"}, []string{"volume", "-0.1"}, true, 0}, // a negative number is an argument
		{[]string{"-.5", "-n", "-2"}, []string{"-.5"}, false, -2},
		{nil, nil, false, 0},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		v := fs.Bool("v", false, "")
		n := fs.Int("n", 0, "")
		pos, err := cli.ParseInterspersed(fs, tc.args)
		if err != nil || !reflect.DeepEqual(pos, tc.pos) || *v != tc.v || *n != tc.n {
			t.Errorf("%q: pos %q v %v n %d err %v", tc.args, pos, *v, *n, err)
		}
	}
}
