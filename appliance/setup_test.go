package appliance

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/transport/v5/test"

	"github.com/edgevoice/edgevoice/hw/button"
	"github.com/edgevoice/edgevoice/realtime"
)

func TestParseSetupStatus(t *testing.T) {
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name, in string
		ok       bool
		errs     []string
		applied  []string
		fail     bool
	}{
		{name: "ok", in: "state=ok\ntime=2026-12-06T10:00:00Z\napplied=hostname: edgevoice-1\n", ok: true, applied: []string{"hostname: edgevoice-1"}},
		{name: "errors", in: "state=error\r\ntime=t\r\nerror=/boot/firmware/edgevoice.toml:3:7: unknown key \"tlak_mode\"\r\nerror=/boot/firmware/wifi.toml: not applied\r\n",
			errs: []string{`/boot/firmware/edgevoice.toml:3:7: unknown key "tlak_mode"`, "/boot/firmware/wifi.toml: not applied"}},
		{name: "error without lines", in: "state=error\n", errs: []string{"the setup failed but names no error (see journalctl -u edgevoice-firstboot)"}},
		{name: "unknown lines ignored", in: "# a comment\nfuture=1\nstate=ok\n", ok: true},
		{name: "long line cut", in: "state=error\nerror=" + long + "\n", errs: []string{long[:setupMaxLine] + "..."}},
		{name: "no state", in: "time=t\nerror=x\n", fail: true},
		{name: "bad state", in: "state=maybe\n", fail: true},
		{name: "empty", in: "", fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := parseSetupStatus(strings.NewReader(tc.in))
			if tc.fail {
				if err == nil {
					t.Fatalf("no error; report %+v", rep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tc.ok || !slices.Equal(rep.Errors, tc.errs) || !slices.Equal(rep.Applied, tc.applied) {
				t.Errorf("report %+v, want ok %v errors %q applied %q", rep, tc.ok, tc.errs, tc.applied)
			}
		})
	}
	var many strings.Builder
	many.WriteString("state=error\n")
	for range 100 {
		many.WriteString("error=e\n")
	}
	if rep, err := parseSetupStatus(strings.NewReader(many.String())); err != nil || len(rep.Errors) != setupMaxErrors {
		t.Errorf("100 errors: %v, %d kept, want %d", err, len(rep.Errors), setupMaxErrors)
	}
}

func TestSetupFaults(t *testing.T) {
	dir := t.TempDir()
	if got := setupFaults(""); got != nil {
		t.Errorf("no path: %q", got)
	}
	if got := setupFaults(filepath.Join(dir, "missing")); got != nil {
		t.Errorf("missing file: %q, want no fault (the setup did not run)", got)
	}
	if got := setupFaults(dir); len(got) != 1 || !strings.Contains(got[0], "cannot read the first-boot setup's status") {
		t.Errorf("unreadable (a directory): %q, want a fault naming the file", got)
	}
	p := filepath.Join(dir, "status")
	writeFile(t, p, "garbage\n")
	if got := setupFaults(p); len(got) != 1 || !strings.Contains(got[0], p) {
		t.Errorf("garbage: %q, want a fault naming the file", got)
	}
	writeFile(t, p, "state=ok\n")
	if got := setupFaults(p); got != nil {
		t.Errorf("ok: %q", got)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUnitSetupFault: a first-boot status file that reports mistakes shows the error
// LEDs and the setup fault in the status from the start; CheckSetup (SIGHUP) clears it
// once the file says ok, and a key re-check (here the retry timer of a rejected key)
// sees it come back.
func TestUnitSetupFault(t *testing.T) {
	defer test.CheckRoutines(t)()
	p := filepath.Join(t.TempDir(), "status")
	bad := "/boot/firmware/edgevoice.toml:4:1: unknown key \"tlak_mode\""
	writeFile(t, p, "state=error\ntime=t\nerror="+bad+"\n")
	u := newUnit(t, Config{SetupStatusFile: p, RecheckEvery: 30 * time.Second})
	u.waitState(Error)
	u.answer(nil) // the key is fine: the setup fault alone keeps Error
	select {
	case <-u.a.FirstCheck():
	case <-time.After(unitDeadline):
		t.Fatal("FirstCheck never closed")
	}
	st := u.a.Status()
	if st.State != Error || st.Setup != SetupFault || !slices.Equal(st.SetupErrors, []string{bad}) || st.SetupFile != p {
		t.Errorf("status %s, setup %q, errors %q, file %q; want error, %q, [%q], %q", st.StateName, st.Setup, st.SetupErrors, st.SetupFile, SetupFault, bad, p)
	}
	if got := u.led.snapshot(); len(got) == 0 || got[len(got)-1] != Error {
		t.Errorf("LED states %v, want the last to be error", got)
	}

	// Fixed (the setup ran again and said ok); a SIGHUP re-reads it.
	writeFile(t, p, "state=ok\n")
	ctx, cancel := context.WithTimeout(context.Background(), unitDeadline)
	defer cancel()
	u.a.CheckSetup(ctx)
	u.waitState(Idle)
	if st := u.a.Status(); st.Setup != "" || st.SetupErrors != nil {
		t.Errorf("after the fix: setup %q, errors %q", st.Setup, st.SetupErrors)
	}

	// A mistake again, found by a re-check: a press whose key is rejected arms the retry
	// timer, and the retry reads the file before asking for a key.
	u.btn(ButtonTalk, button.Press, 0)
	u.answer(realtime.ErrCredentialRejected)
	u.btn(ButtonTalk, button.Release, 0)
	u.waitState(NoKey)
	writeFile(t, p, "state=error\nerror=/boot/firmware/wifi.toml:2:1: country is missing\n")
	u.waiters(1)
	u.clk.Advance(30 * time.Second)
	u.waitState(Error)
	u.answer(realtime.ErrCredentialRejected)
	if st := u.a.Status(); st.State != Error || len(st.SetupErrors) != 1 || !strings.Contains(st.SetupErrors[0], "wifi.toml:2:1") {
		t.Errorf("status %s, errors %q; the setup fault outranks no-key", st.StateName, st.SetupErrors)
	}
	// The file gone (no setup on this boot): no fault; the key problem shows again.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	u.a.CheckSetup(ctx)
	u.waitState(NoKey)
	u.stop()
}
