package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/edgevoice/edgevoice/appliance"
)

// setupFixHint says how a first-boot setup mistake is fixed on the Raspberry Pi image.
const setupFixHint = "fix the file on the boot partition (RASPIFIRM on a computer, /boot/firmware on the device) and reboot; " +
	"details: journalctl -u edgevoice-firstboot"

// setupFaultLine is the Status= line of a setup fault: the first mistakes (they name the
// file, and the line and column where there is one) and what to do.
func setupFaultLine(st appliance.Status) string {
	var b strings.Builder
	b.WriteString(st.StateName + ": setup fault: ")
	for i, e := range st.SetupErrors {
		if i == 2 {
			fmt.Fprintf(&b, " (+%d more)", len(st.SetupErrors)-2)
			break
		}
		if i > 0 {
			b.WriteString(" ")
		}
		if len(e) > 160 {
			e = e[:160] + "..."
		}
		b.WriteString(e)
	}
	b.WriteString("; " + setupFixHint)
	return b.String()
}

// readyStatus is the Status= line sent with READY=1: the state and what happened, or the
// setup fault, which must stay in view (no transition follows to repeat it).
func readyStatus(st appliance.Status, what string) string {
	if st.Setup == appliance.SetupFault {
		return setupFaultLine(st)
	}
	return st.StateName + "; " + what
}

// printSetupFault writes the setup fault for `edgevoice status`: every mistake, the
// status file and what to do.
func printSetupFault(w io.Writer, st appliance.Status) {
	fmt.Fprintf(w, "setup:        fault: the first-boot setup found mistakes (%s):\n", st.SetupFile)
	for _, e := range st.SetupErrors {
		fmt.Fprintf(w, "                %s\n", e)
	}
	fmt.Fprintf(w, "              %s\n", setupFixHint)
}
