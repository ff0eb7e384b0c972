# Scenario 1: fresh install, no credential. The README: "nothing starts after install: the
# units are enabled but wait for /etc/edgevoice/credential"; the LEDs show no-key;
# `systemctl status` says what to do.

# as at the next boot: the enabled units are started by multi-user.target
boot_units() { systemctl start multi-user.target >/dev/null 2>&1 || true; }

# watch_restarts UNIT SECS: the most restarts seen and the states passed through
watch_unit() {
	local u=$1 end=$(($(ms) + $2 * 1000)) states="" s
	while [ "$(ms)" -lt "$end" ]; do
		s="$(prop "$u" ActiveState)/$(prop "$u" SubState)"
		[[ " $states " == *" $s "* ]] || states+=" $s"
		sleep 1
	done
	echo "${states# }"
}

scenario_1_fresh_install() {
	begin 1-fresh-install
	boot_units
	local states
	states=$(watch_unit edgevoice.service 25)
	local r p
	r=$(prop edgevoice.service NRestarts)
	p="$(prop edgevoice-provisioning.service ActiveState)"
	note "edgevoice.service passed through: $states; NRestarts=$r"
	note "edgevoice-provisioning.service: $p ($(prop edgevoice-provisioning.service ConditionResult) condition)"
	if [ "${r:-0}" -gt 1 ] || [[ "$states" == *auto-restart* ]] || [[ "$states" == *failed* ]]; then
		fail "edgevoice.service restarts on a fresh install with no credential (NRestarts=$r, states: $states); last log lines:
$(journal_tail edgevoice.service 6)"
	fi
	if unit_running edgevoice.service; then
		note "edgevoice.service runs on an unconfigured device (README: nothing starts) — state '$(ev_state)'"
		local st
		st=$(ev_state)
		[ "$st" = no-key ] || fail "the unconfigured appliance runs and shows '$st' (status detail: $(ev_status | jq -r '.appliance.detail // empty')), want no-key (README) or not running"
	fi
	local text
	text=$(SYSTEMD_COLORS=0 systemctl status --no-pager -n 0 edgevoice.service edgevoice-provisioning.service 2>&1)
	extra_str systemctl_status "$text"
	if ! grep -qi 'credential' <<<"$text"; then
		fail "systemctl status edgevoice edgevoice-provisioning does not say what to do (no mention of the credential):
$(sed 's/^/      | /' <<<"$text" | head -20)"
	else
		note "systemctl status mentions: $(grep -i -o '.\{0,60\}credential.\{0,40\}' <<<"$text" | head -2 | tr '\n' ' ')"
	fi
	end
}

# 1b: the board is configured (GPIO lines, audio, broker profile) but the credential is
# not there yet: the appliance runs, does not crash-loop, and the LED on GPIO27 shows
# no-key (single LED: slow blink 0.5 Hz), read back from the gpio-sim line over 6 s.
scenario_1b_no_key_leds() {
	begin 1b-unconfigured-no-key-leds
	install -m 0644 "$LAB/edgevoice.toml" /etc/edgevoice/edgevoice.toml
	[ "$(prop edgevoice.service Result)" != start-limit-hit ] || note "edgevoice.service had hit its start limit (scenario 1): reset-failed first"
	systemctl reset-failed edgevoice.service 2>/dev/null
	systemctl restart edgevoice.service >/dev/null 2>&1 || true
	if ! wait_until 60 unit_running edgevoice.service; then
		fail "edgevoice.service with a board config but no credential did not reach active/running (READY) in 60 s: $(unit_desc edgevoice.service)
$(journal_tail edgevoice.service 10)"
		end
		return
	fi
	wait_until 30 state_is no-key || true
	local st r0 r
	st=$(ev_state)
	r0=$(prop edgevoice.service NRestarts)
	[ "$st" = no-key ] || fail "edgevoice status shows '$st' without a credential, want no-key (detail: $(ev_status | jq -r '.appliance.detail // empty'))"
	local led
	led=$(sample_led GPIO27 6)
	extra led "$led"
	note "LED GPIO27 over 6 s: $led"
	[ "$(jq -r .look <<<"$led")" = blink-slow ] || fail "the LED line GPIO27 does not show no-key (slow blink 1 s on / 1 s off): $led"
	sleep 2
	r=$(prop edgevoice.service NRestarts)
	[ "$r" = "$r0" ] || fail "edgevoice.service restarted while showing no-key (NRestarts $r0 -> $r)"
	local text
	text=$(SYSTEMD_COLORS=0 systemctl status --no-pager -n 0 edgevoice.service 2>&1)
	note "Status=: $(prop edgevoice.service StatusText)"
	grep -qi 'credential\|edgevoice-provisiond check\|provision' <<<"$(prop edgevoice.service StatusText)" ||
		fail "the Status= line while no-key does not say what to do: \"$(prop edgevoice.service StatusText)\""
	end
}
