package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeConfig writes main as DIR/edgevoice.toml and each drop-in (name -> content) under
// DIR/edgevoice.toml.d, and returns the main file's path.
func writeConfig(t *testing.T, main string, dropIns map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "edgevoice.toml")
	if err := os.WriteFile(path, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if dropIns == nil {
		return path
	}
	if err := os.Mkdir(DropInDir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, doc := range dropIns {
		if err := os.WriteFile(filepath.Join(DropInDir(path), name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestDropInMerge: drop-ins are read in lexical order after the main file; tables merge,
// a later file's key wins, arrays and arrays of tables are replaced whole, and a drop-in
// may define a table the main file does not have (or also has).
func TestDropInMerge(t *testing.T) {
	main := `[appliance]
volume = 0.5
log_level = "debug"

[provisioning]
allowed_users = ["edgevoice", "alice"]

[[session.tools]]
name = "lights"
description = "switch the lights"

[[session.tools]]
name = "weather"
description = "the weather"

[board.led]
kind = "none"
`
	path := writeConfig(t, main, map[string]string{
		// 20 sorts after 10 ("9-" would sort after "20-": lexical, not numeric)
		"20-later.toml": "[appliance]\nvolume = 0.7\n",
		"10-first.toml": "[appliance]\nvolume = 0.6\nidle_timeout = \"2m\"\n\n[provisioning]\nallowed_users = [\"bob\"]\n",
		"30-board.toml": "[board]\nkind = \"sim\"\n\n[board.led]\nbrightness = 0.25\n\n[board.talk]\npin = \"GPIO5\"\n",
		"40-tools.toml": "[[session.tools]]\nname = \"timer\"\ndescription = \"set a timer\"\n",
	})
	c, files, err := LoadFiles(path)
	if err != nil {
		t.Fatal(err)
	}
	d := DropInDir(path)
	wantFiles := []string{path, d + "/10-first.toml", d + "/20-later.toml", d + "/30-board.toml", d + "/40-tools.toml"}
	if !reflect.DeepEqual(files, wantFiles) {
		t.Errorf("files read:\n got %q\nwant %q", files, wantFiles)
	}
	if c.Appliance.Volume != 0.7 {
		t.Errorf("volume = %g, want 0.7 (the last drop-in wins)", c.Appliance.Volume)
	}
	if c.Appliance.LogLevel != "debug" || c.Appliance.IdleTimeout.D().String() != "2m0s" {
		t.Errorf("log_level %q, idle_timeout %s: want the main file's debug and the first drop-in's 2m", c.Appliance.LogLevel, c.Appliance.IdleTimeout.D())
	}
	if !reflect.DeepEqual(c.Provisioning.AllowedUsers, []string{"bob"}) {
		t.Errorf("allowed_users = %q, want [bob] (arrays are replaced, not appended)", c.Provisioning.AllowedUsers)
	}
	if len(c.Session.Tools) != 1 || c.Session.Tools[0].Name != "timer" {
		t.Errorf("tools = %+v, want only the drop-in's timer (arrays of tables are replaced)", c.Session.Tools)
	}
	if c.Board.Kind != "sim" || c.Board.LED.Kind != "none" || c.Board.LED.Brightness != 0.25 || c.Board.Talk.Pin != "GPIO5" {
		t.Errorf("board = %+v: want kind sim, led kind none (main) with brightness 0.25 and talk pin GPIO5 (drop-in)", c.Board)
	}
	// The same result as one file written by hand.
	whole := strings.Replace(main, "volume = 0.5", "volume = 0.7\nidle_timeout = \"2m\"", 1)
	whole = strings.Replace(whole, `["edgevoice", "alice"]`, `["bob"]`, 1)
	whole = whole[:strings.Index(whole, "[[session.tools]]")] +
		"[[session.tools]]\nname = \"timer\"\ndescription = \"set a timer\"\n\n[board]\nkind = \"sim\"\n[board.talk]\npin = \"GPIO5\"\n[board.led]\nkind = \"none\"\nbrightness = 0.25\n"
	w, err := Decode("whole.toml", []byte(whole))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, w) {
		t.Errorf("merged config differs from the same settings in one file:\n got %+v\nwant %+v", c, w)
	}
}

// TestDropInErrors: problems in drop-ins name the drop-in with its own LINE:COL, unknown
// keys stay errors there, and the problems of every file are reported at once, in file
// order.
func TestDropInErrors(t *testing.T) {
	path := writeConfig(t, "[appliance]\nvolume = 0.5\ntalk_mode = \"shout\"\n", map[string]string{
		"10-a.toml": "# a drop-in\n[appliance]\n  volume = 2.5\n",
		"20-b.toml": "[board]\nkind = \"sim\"\n\n[board.led]\nbrightnes = 0.3\n",
		"30-c.toml": "[audio]\ncapture_rate = \"fast\"\n",
	})
	d := DropInDir(path)
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		path + `:3:1: key "appliance.talk_mode": "shout": want "hold" or "toggle"`,
		d + `/10-a.toml:3:3: key "appliance.volume": 2.5: want 0.05 to 1`,
		d + `/20-b.toml:5:1: unknown key "board.led.brightnes" (keys in [board.led]: active_low, brightness, kind, pin, pins, pixels, pwm_hz, spi_port)`,
		d + `/30-c.toml:2:16: key "audio.capture_rate": got a TOML string, want an integer`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

// TestDropInSyntaxError: a drop-in that does not parse is reported with its position,
// along with the problems of the other files.
func TestDropInSyntaxError(t *testing.T) {
	path := writeConfig(t, "[appliance]\nvolume = 7\n", map[string]string{
		"10-bad.toml": "[board]\nkind =\n",
		"20-ok.toml":  "[audio]\ncapture_rate = \"x\"\n",
	})
	d := DropInDir(path)
	_, err := Load(path)
	want := []string{
		d + `/10-bad.toml:2:7: unexpected character U+000A at start of value`,
		d + `/20-ok.toml:2:16: key "audio.capture_rate": got a TOML string, want an integer`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

// TestDropInTableTwice: the problem the drop-ins solve: a board example defines [board]
// and [board.led], which the main file may define too; each file may (only the same
// table twice within one file is an error, as TOML says).
func TestDropInTableTwice(t *testing.T) {
	path := writeConfig(t, "[board]\nkind = \"gpio\"\n[board.led]\nkind = \"none\"\n", map[string]string{
		"10-board.toml": "[board]\nkind = \"sim\"\n[board.led]\nkind = \"gpio\"\npin = \"GPIO27\"\n",
	})
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Board.Kind != "sim" || c.Board.LED.Kind != "gpio" || c.Board.LED.Pin != "GPIO27" {
		t.Errorf("board = %+v", c.Board)
	}
	path = writeConfig(t, "", map[string]string{"10-twice.toml": "[board]\nkind = \"sim\"\n[board]\nkind = \"gpio\"\n"})
	_, err = Load(path)
	if err == nil || !strings.Contains(err.Error(), "10-twice.toml:3:2:") {
		t.Errorf("a table twice in one drop-in: got %v, want an error at 10-twice.toml:3:2", err)
	}
}

// TestDropInDirContents: a missing or empty directory is fine; only *.toml files are
// read; hidden files, package-manager leftovers, directories and dangling links are
// skipped (each skipped file here would fail to load if it were read).
func TestDropInDirContents(t *testing.T) {
	path := writeConfig(t, "[appliance]\nvolume = 0.5\n", nil)
	c, files, err := LoadFiles(path)
	if err != nil || c.Appliance.Volume != 0.5 || len(files) != 1 {
		t.Fatalf("no directory: %v, files %q", err, files)
	}
	path = writeConfig(t, "[appliance]\nvolume = 0.5\n", map[string]string{})
	if _, files, err = LoadFiles(path); err != nil || len(files) != 1 {
		t.Fatalf("empty directory: %v, files %q", err, files)
	}
	bad := "this is not TOML ]]]\n"
	path = writeConfig(t, "[appliance]\nvolume = 0.5\n", map[string]string{
		"README":                 bad,
		"10-x.toml.dpkg-dist":    bad,
		"10-x.toml.dpkg-old":     bad,
		"10-x.dpkg-new.toml":     bad,
		".10-hidden.toml":        bad,
		"10-x.toml~":             bad,
		"10-x.toml.bak":          bad,
		"50-ok.toml":             "[appliance]\nvolume = 0.9\n",
		"60-other-case.TOML":     bad,
		"70-x.ucf-dist.toml":     bad,
		"80-editor.toml.swp":     bad,
		"90-example.toml.sample": bad,
	})
	d := DropInDir(path)
	if err := os.Mkdir(filepath.Join(d, "40-dir.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(d, "missing"), filepath.Join(d, "45-dangling.toml")); err != nil {
		t.Fatal(err)
	}
	c, files, err = LoadFiles(path)
	if err != nil {
		t.Fatalf("a skipped file was read: %v", err)
	}
	if want := []string{path, d + "/50-ok.toml"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files read: %q, want %q", files, want)
	}
	if c.Appliance.Volume != 0.9 {
		t.Errorf("volume = %g, want the drop-in's 0.9", c.Appliance.Volume)
	}
}

// TestDropInUnreadable: a drop-in directory that cannot be read is an error that names it
// (not silently an empty directory).
func TestDropInUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every directory")
	}
	path := writeConfig(t, "", map[string]string{"10-a.toml": ""})
	if err := os.Chmod(DropInDir(path), 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(DropInDir(path), 0o755) })
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), DropInDir(path)) {
		t.Errorf("got %v, want an error naming %s", err, DropInDir(path))
	}
}
