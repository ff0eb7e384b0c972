# Scenario 9: `systemctl reload edgevoice` re-reads the config or is clearly refused;
# SIGHUP does not kill `run` (issue 12: today exit 129, socket left behind).
scenario_9_reload_sighup() {
	begin 9-reload-sighup
	recover
	local pid r0 out rc
	pid=$(main_pid edgevoice.service) || {
		fail "edgevoice.service has no main process: $(unit_desc edgevoice.service)"
		end
		return
	}
	r0=$(prop edgevoice.service NRestarts)
	out=$(systemctl reload edgevoice 2>&1)
	rc=$?
	sleep 1
	if [ $rc -eq 0 ]; then
		[ "$(prop edgevoice.service MainPID)" = "$pid" ] && unit_running edgevoice.service ||
			fail "systemctl reload edgevoice succeeded but the appliance was replaced: $(unit_desc edgevoice.service)"
		note "systemctl reload edgevoice: accepted; $(journalctl -b -u edgevoice.service -o cat -n 3 --no-pager | tr '\n' ' ')"
	elif grep -qi 'not applicable\|refus\|not supported' <<<"$out"; then
		note "systemctl reload edgevoice is refused: $out"
	else
		fail "systemctl reload edgevoice failed without a clear refusal (rc $rc): $out"
	fi
	extra_str reload "rc=$rc $out"
	pid=$(main_pid edgevoice.service) || {
		fail "edgevoice.service has no main process after the reload: $(unit_desc edgevoice.service)"
		end
		return
	}
	local since npid
	since=$(date '+%Y-%m-%d %H:%M:%S')
	kill -HUP "$pid"
	sleep 2 # a SIGHUP death is immediate; systemd shows it (MainPID, NRestarts) at once
	npid=$(prop edgevoice.service MainPID)
	if [ "$npid" != "$pid" ] || [ "$(prop edgevoice.service NRestarts)" != "$r0" ]; then
		fail "SIGHUP ended edgevoice run (pid $pid): ExecMainCode=$(prop edgevoice.service ExecMainCode) ExecMainStatus=$(prop edgevoice.service ExecMainStatus); control.sock left: $([ -S /run/edgevoice/control.sock ] && echo yes || echo no); now $(unit_desc edgevoice.service); journal since:
$(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | head -8 | cut -c1-240 | sed 's/^/      | /')"
	else
		note "after SIGHUP: still pid $pid, $(prop edgevoice.service ActiveState)"
	fi
	end
}
