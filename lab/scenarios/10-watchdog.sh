# Scenario 10: SIGSTOP the appliance's main process: systemd's watchdog kills it and the
# unit is back (a new READY main process) within WatchdogSec plus a slack for the restart
# (RestartSec and a start under TCG).
WATCHDOG_SLACK_S=${WATCHDOG_SLACK_S:-20}

scenario_10_watchdog() {
	begin 10-watchdog
	recover
	local pid wd_us wd t0 t1 since
	pid=$(main_pid edgevoice.service) || {
		fail "edgevoice.service has no main process: $(unit_desc edgevoice.service)"
		end
		return
	}
	wd_us=$(prop edgevoice.service WatchdogUSec)
	wd=$(systemctl show -p WatchdogUSec --value edgevoice.service)
	case $wd_us in *[!0-9]*) wd_us=$(($(systemd-analyze timespan "$wd_us" | sed -n 's/.*μs: \([0-9]*\).*/\1/p'))) ;; esac
	if [ -z "$wd_us" ] || [ "$wd_us" = 0 ]; then
		fail "edgevoice.service has no watchdog (WatchdogUSec=$wd)"
		end
		return
	fi
	since=$(date '+%Y-%m-%d %H:%M:%S')
	t0=$(ms)
	kill -STOP "$pid"
	local limit=$((wd_us / 1000000 + WATCHDOG_SLACK_S))
	back() { local p; p=$(prop edgevoice.service MainPID); [ "$p" != 0 ] && [ "$p" != "$pid" ] && unit_running edgevoice.service; }
	if wait_until $((limit + 30)) back; then
		t1=$(ms)
		local el=$(((t1 - t0)))
		extra timing "$(jq -cn --argjson el "$el" --argjson wd $((wd_us / 1000)) --argjson lim $((limit * 1000)) '{sigstop_to_running_ms: $el, watchdog_ms: $wd, limit_ms: $lim}')"
		note "SIGSTOP -> new main process running in $el ms (WatchdogSec=$wd, limit ${limit} s)"
		[ "$el" -le $((limit * 1000)) ] || fail "the appliance came back $el ms after SIGSTOP, over WatchdogSec ($wd) + ${WATCHDOG_SLACK_S} s"
		journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | grep -qi 'watchdog timeout' ||
			fail "no 'Watchdog timeout' in the journal: the restart had another cause: $(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | head -3 | tr '\n' ' ')"
	else
		kill -CONT "$pid" 2>/dev/null
		fail "the appliance was not restarted within $((limit + 30)) s of SIGSTOP: $(unit_desc edgevoice.service)"
	fi
	end
}
