package appliance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// The first-boot setup's status file. On the Raspberry Pi image, edgevoice-firstboot
// applies the files a user put on the boot partition (edgevoice.toml, credential,
// wifi.toml, ssh_authorized_keys, hostname) and writes what happened to
// DefaultSetupStatusFile: "state=ok" or "state=error", then "time=", "applied=" and
// "error=FILE:LINE:COL: what is wrong" lines (never a secret). While it says error the
// appliance shows a setup fault: the error LEDs, Status.Setup = SetupFault and the
// errors in Status.SetupErrors, until the file says ok or is gone. It is read when Run
// starts, on CheckSetup (SIGHUP) and on every key re-check (a 3 s talk press).

// DefaultSetupStatusFile is where the image's first-boot setup writes its status.
const DefaultSetupStatusFile = "/run/edgevoice-setup/status"

// SetupFault is what Status.Setup says while the first-boot setup reports mistakes.
const SetupFault = "setup"

// Limits on what is read from the status file (it is written by root, but a status
// line must stay a line).
const (
	setupMaxBytes  = 64 << 10
	setupMaxErrors = 16
	setupMaxLine   = 400
)

// SetupReport is the content of a first-boot status file.
type SetupReport struct {
	OK      bool     // state=ok
	Time    string   // when the setup ran (device clock)
	Applied []string // what was applied
	Errors  []string // what is wrong: "FILE:LINE:COL: message" where there is a line
}

// ReadSetupStatus reads a first-boot status file. A missing file is no report (nil,
// nil): the setup did not run on this boot (nothing on the boot partition) or this is not
// the image.
func ReadSetupStatus(path string) (*SetupReport, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSetupStatus(io.LimitReader(f, setupMaxBytes))
}

func parseSetupStatus(r io.Reader) (*SetupReport, error) {
	rep := &SetupReport{}
	state := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), setupMaxBytes)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // a line of another kind: ignored, as new keys would be
		}
		if len(v) > setupMaxLine {
			v = v[:setupMaxLine] + "..."
		}
		switch k {
		case "state":
			state = v
		case "time":
			rep.Time = v
		case "applied":
			rep.Applied = append(rep.Applied, v)
		case "error":
			if len(rep.Errors) < setupMaxErrors {
				rep.Errors = append(rep.Errors, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	switch state {
	case "ok":
		rep.OK = true
	case "error":
		if len(rep.Errors) == 0 {
			rep.Errors = []string{"the setup failed but names no error (see journalctl -u edgevoice-firstboot)"}
		}
	default:
		return nil, fmt.Errorf("no state=ok|error line (state %q)", state)
	}
	return rep, nil
}

// setupFaults is what the status file at path says is wrong (nil: nothing). A file that
// cannot be read or understood is a fault too: the setup's outcome is unknown.
func setupFaults(path string) []string {
	if path == "" {
		return nil
	}
	rep, err := ReadSetupStatus(path)
	switch {
	case err != nil:
		return []string{path + ": cannot read the first-boot setup's status: " + err.Error()}
	case rep == nil || rep.OK:
		return nil
	}
	return rep.Errors
}

// readSetup reads the status file into the loop and logs a change (Run goroutine); it
// reports whether the setup fault changed.
func (l *loop) readSetup(why string) bool {
	errs := setupFaults(l.a.cfg.SetupStatusFile)
	if slices.Equal(errs, l.setupErrs) {
		return false
	}
	if len(errs) > 0 {
		l.a.log.Error("setup fault: the first-boot setup found mistakes in the files on the boot partition; "+
			"fix them there and reboot (journalctl -u edgevoice-firstboot has the details)",
			"status_file", l.a.cfg.SetupStatusFile, "errors", strings.Join(errs, " | "), "checked", why)
	} else {
		l.a.log.Info("setup fault cleared: the first-boot setup reports no mistakes", "status_file", l.a.cfg.SetupStatusFile, "checked", why)
	}
	l.setupErrs = errs
	return true
}

// checkSetup re-reads the status file and updates the LEDs on a change (Run goroutine).
func (l *loop) checkSetup(why string) {
	if l.readSetup(why) {
		l.update("setup " + why)
	}
}

// CheckSetup has the running appliance read the first-boot setup's status file again
// (SIGHUP, or after the setup was run again by hand). It returns once the loop took the
// request, or when ctx ends (Run not running).
func (a *Appliance) CheckSetup(ctx context.Context) {
	select {
	case a.results <- func(l *loop) { l.checkSetup("reload") }:
	case <-ctx.Done():
	}
}
