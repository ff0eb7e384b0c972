# Scenario 8: `journalctl -p warning -u edgevoice` shows the appliance's warnings: the
# log priorities reach journald. Warnings were logged by the earlier scenarios (no key,
# key daemon restarts); this compares the appliance's own WARN/ERROR lines with what
# journald holds at priority warning or above.
scenario_8_journal_priorities() {
	begin 8-journal-priorities
	local all warn_text prio_warn
	all=$(journalctl -b -u edgevoice.service -u edgevoice-provisioning.service -o json --no-pager | jq -c 'select(._PID != "1") | {p: .PRIORITY, m: .MESSAGE, u: ._SYSTEMD_UNIT}' 2>/dev/null)
	warn_text=$(jq -r 'select(.m | type == "string") | select(.m | test("level=(WARN|ERROR)|\"level\":\"(WARN|ERROR)\"|^(WARN|ERROR)")) | .m' <<<"$all" | wc -l)
	prio_warn=$(jq -r 'select((.p | tonumber) <= 4) | .m' <<<"$all" | wc -l)
	extra counts "$(jq -cn --argjson t "$warn_text" --argjson p "$prio_warn" --argjson n "$(wc -l <<<"$all")" '{lines: $n, warn_or_error_text: $t, priority_warning_or_above: $p}')"
	note "the two units logged $(wc -l <<<"$all") lines; $warn_text say WARN/ERROR; $prio_warn have priority <= warning"
	note "journalctl -p warning -u edgevoice: $(journalctl -b -p warning -u edgevoice.service -o cat --no-pager | grep -vc '^$') lines"
	if [ "$warn_text" -eq 0 ] && [ "$prio_warn" -eq 0 ]; then
		fail "no warning was logged by the units at all, so priorities cannot be checked (the earlier scenarios should have caused some)"
	elif [ "$prio_warn" -lt "$warn_text" ]; then
		fail "$warn_text of the units' lines say WARN/ERROR but only $prio_warn reach journald at priority warning or above; e.g. $(jq -c 'select(.m | type == "string") | select(.m | test("level=(WARN|ERROR)")) | {priority: .p, message: .m[0:160]}' <<<"$all" | head -2)"
	fi
	end
}
