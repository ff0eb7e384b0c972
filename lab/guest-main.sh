# guest-main.sh — the lab's test script, run inside the VM by edgevoice-lab.service
# (build/vm/run.sh copies lab/ to the share's lab/). Sets up the simulated devices,
# installs the package through apt, runs the scenarios of issue 12 in order (each
# depends on the state the previous ones left: fresh install first, then configured)
# and writes one JSON line per scenario to /mnt/host/out/results.jsonl.
#
# LAB_SCENARIOS (from lab/params): ids to run ("1 2 6", "usb" for the USB device check,
# "goals" for the latency and CPU measurements); empty: all. Setup always runs; the configure step of scenario 2 runs whenever a later
# scenario needs it; the USB gadget is set up for "usb" and "3".
set -u
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LAB/params"
. "$LAB/lib.sh"
for f in "$LAB"/scenarios/*.sh; do . "$f"; done
mkdir -p "$OUT"

want() { [ -z "$LAB_SCENARIOS" ] || [[ " $LAB_SCENARIOS " == *" $1 "* ]]; }
# named ID: only when selected by name (extra measurements, not in the default run)
named() { [[ " $LAB_SCENARIOS " == *" $1 "* ]]; }

log "guest $(uname -r), $(nproc) CPUs, scenarios: ${LAB_SCENARIOS:-all}"
if ! timeout 120 systemctl is-system-running --wait >/dev/null; then
	log "system is $(systemctl is-system-running) (failed units: $(systemctl list-units --failed --no-legend --plain | cut -d' ' -f1 | tr '\n' ' '))"
fi
log "system up at $(cut -d' ' -f1 /proc/uptime) s"

setup_devices # gpio-sim chip, snd-aloop
want usb && { setup_usb_audio; scenario_usb_stream; } # the UAC2 gadget; "3" needs it too
{ want 3 || want 4 || want 5 || want goals || named goals-lowlat; } && [ -z "$USB_CARD" ] && ! want usb && setup_usb_audio
setup_install # the .deb through apt, the emulator unit

want 1 && scenario_1_fresh_install
want 1 && scenario_1b_no_key_leds
configure_readme # scenario 2's steps; recorded as scenario 2 when selected
want 2 && scenario_2_configured
want 6 && scenario_6_keyd_restart
want 7 && scenario_7_credential
want 8 && scenario_8_journal_priorities
want 9 && scenario_9_reload_sighup
want 10 && scenario_10_watchdog
want 12 && scenario_12_hardening
want 3 && scenario_3_talk_turn # last: 3, 4, goals and 5 switch the config to the USB devices
want 4 && scenario_4_barge_in
want goals && scenario_goals # the latency and CPU goals (measurements)
named goals-lowlat && scenario_goals_lowlat # the same with the lowest buffering
want 5 && scenario_5_usb_unplug

# Last: the appliance stops on SIGTERM (systemctl stop) within its TimeoutStopSec (README:
# LEDs off, devices released within 2 s), whatever state the scenarios left it in; a
# process that ignores SIGTERM would otherwise hold up the VM's power-off for 90 s.
scenario_stop_clean
# After everything that needs the installed, configured package: upgrade, remove, purge.
want 11 && scenario_11_lifecycle
# everything the host may want to read afterwards
journalctl -b --no-pager -o short-monotonic >"$OUT/journal.txt" 2>&1
journalctl -b --no-pager -o json -u edgevoice -u edgevoice-provisioning -u edgevoice-emulator >"$OUT/journal-edgevoice.json" 2>&1
log "done: $(jq -s '[.[] | select(.pass)] | length' "$RESULTS") passed, $(jq -s '[.[] | select(.pass | not)] | length' "$RESULTS") failed"
exit 0
