# stop-clean: `systemctl stop` of both units ends them by SIGTERM (not by the SIGKILL that
# follows TimeoutStopSec), the appliance logs a clean stop, and the LED line is left off.
scenario_stop_clean() {
	begin stop-clean
	local t0 u el
	for u in edgevoice.service edgevoice-provisioning.service; do
		unit_running $u || {
			note "$u was not running ($(prop $u ActiveState))"
			continue
		}
		t0=$(ms)
		systemctl stop $u
		el=$(($(ms) - t0))
		note "$u stopped in $el ms (Result=$(prop $u Result))"
		[ "$(prop $u Result)" != timeout ] || fail "$u did not exit on SIGTERM within TimeoutStopSec ($(prop $u TimeoutStopUSec)): systemd killed it ($el ms)
$(journal_tail $u 4)"
	done
	[ "$(line_value GPIO27)" = 0 ] || fail "the LED line GPIO27 is left on after the appliance stopped"
	journalctl -b -u edgevoice.service -o cat --no-pager -n 20 _SYSTEMD_UNIT=edgevoice.service | grep -q 'msg=stopped' ||
		fail "the appliance did not log a clean stop (msg=stopped) in its last 20 lines"
	end
}
