# Scenario 1: fresh install, no credential. The package's /etc/edgevoice/edgevoice.toml
# sets nothing (no board, no [provisioning] profile): once the enabled units start (at the
# next boot) both run, nothing crash-loops, the appliance shows no-key with its audio
# devices closed, and `systemctl status` says what to do.

# as at the next boot: the enabled units are started by multi-user.target
boot_units() { systemctl start multi-user.target >/dev/null 2>&1 || true; }

# watch_unit UNIT SECS: the states the unit passed through in SECS
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
	local states u r
	states=$(watch_unit edgevoice.service 25)
	note "edgevoice.service passed through: $states; NRestarts=$(prop edgevoice.service NRestarts)"
	for u in edgevoice.service edgevoice-provisioning.service; do
		r=$(prop $u NRestarts)
		if [ "${r:-0}" -gt 0 ] || [ "$(prop $u Result)" != success ]; then
			fail "$u restarts or failed on a fresh install (NRestarts=$r, result $(prop $u Result)); last log lines:
$(journal_tail $u 6)"
		fi
		unit_running $u || fail "$u does not run on a fresh install (the README: both run, showing no-key): $(unit_desc $u)
$(journal_tail $u 6)"
	done
	[[ "$states" == *auto-restart* || "$states" == *failed* ]] && fail "edgevoice.service passed through $states"
	local st
	st=$(ev_state)
	[ "$st" = no-key ] || fail "the unconfigured appliance shows '$st' (status detail: $(ev_status | jq -r '.appliance.detail // empty')), want no-key"
	local audio
	audio=$(ev_status | jq -r '[.audio[]?.state] | join(", ")')
	note "audio devices before setup: $audio"
	[[ "$audio" == closed* ]] || fail "the appliance opened its audio devices before the key daemon was set up: $audio"
	note "key daemon: $(prop edgevoice-provisioning.service StatusText)"
	[[ "$(prop edgevoice-provisioning.service StatusText)" == not-configured* ]] ||
		fail "the key daemon's Status= does not say not-configured: \"$(prop edgevoice-provisioning.service StatusText)\""
	local text
	text=$(SYSTEMD_COLORS=0 systemctl status --no-pager -n 0 edgevoice.service edgevoice-provisioning.service 2>&1)
	extra_str systemctl_status "$text"
	note "edgevoice Status=: $(prop edgevoice.service StatusText)"
	local w
	for w in 'profile' '/etc/edgevoice/edgevoice.toml.d/' 'install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential'; do
		grep -qF -- "$w" <<<"$(prop edgevoice.service StatusText)" ||
			fail "edgevoice's Status= does not say what to do (no \"$w\"): \"$(prop edgevoice.service StatusText)\""
	done
	end
}

# 1b: the lab's board, audio and broker profile dropped in (lab/edgevoice.toml as
# /etc/edgevoice/edgevoice.toml.d/90-lab.toml), the units reloaded/restarted as the README
# says for such changes, but the credential not there yet: the appliance runs, does not
# crash-loop, the LED on GPIO27 shows no-key (single LED: slow blink 0.5 Hz), read back
# from the gpio-sim line over 6 s, and Status= gives the credential's install command.
scenario_1b_no_key_leds() {
	begin 1b-unconfigured-no-key-leds
	install -m 0644 "$LAB/edgevoice.toml" /etc/edgevoice/edgevoice.toml.d/90-lab.toml
	[ "$(prop edgevoice.service Result)" != start-limit-hit ] || note "edgevoice.service had hit its start limit (scenario 1): reset-failed first"
	systemctl reset-failed edgevoice.service 2>/dev/null
	systemctl reload-or-restart edgevoice-provisioning.service >/dev/null 2>&1 || true
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
	note "Status=: $(prop edgevoice.service StatusText); key daemon: $(prop edgevoice-provisioning.service StatusText)"
	grep -qF 'install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential' <<<"$(prop edgevoice.service StatusText)" ||
		fail "the Status= line while no-key does not give the credential's install command: \"$(prop edgevoice.service StatusText)\""
	[[ "$(prop edgevoice-provisioning.service StatusText)" == no-credential* ]] ||
		fail "the key daemon with a profile and no credential says \"$(prop edgevoice-provisioning.service StatusText)\", want no-credential"
	end
	scenario_1c_credential_without_restart
}

# 1c: the credential is installed (the command the Status= line gives) and nothing else:
# the running appliance's next re-check (backoff 1 s to 30 s) finds it, opens its audio
# devices and goes idle with a key, without a restart of either unit.
scenario_1c_credential_without_restart() {
	begin 1c-credential-without-restart
	local pid0 kpid0 r0 t0
	pid0=$(prop edgevoice.service MainPID)
	kpid0=$(prop edgevoice-provisioning.service MainPID)
	r0=$(prop edgevoice.service NRestarts)
	t0=$(ms)
	install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential <<<"$TOKEN"
	if wait_until 45 ev_has_key && wait_until 15 state_is idle; then
		note "idle with a key $(($(ms) - t0)) ms after the credential was installed; audio: $(ev_status | jq -r '[.audio[]?.device] | join(", ")')"
	else
		fail "the running appliance did not pick up the credential within 60 s: '$(ev_state)' (detail: $(ev_status | jq -r '.appliance.detail // empty')); key daemon: $(prop edgevoice-provisioning.service StatusText)"
	fi
	[ "$(prop edgevoice.service MainPID)" = "$pid0" ] && [ "$(prop edgevoice.service NRestarts)" = "$r0" ] ||
		fail "edgevoice.service was restarted (MainPID $pid0 -> $(prop edgevoice.service MainPID))"
	[ "$(prop edgevoice-provisioning.service MainPID)" = "$kpid0" ] ||
		fail "edgevoice-provisioning.service was restarted (MainPID $kpid0 -> $(prop edgevoice-provisioning.service MainPID))"
	[[ "$(ev_status | jq -r '.audio[0].state // empty')" != closed* ]] ||
		fail "the audio devices are still closed once set up: $(ev_status | jq -c .audio)"
	end
}
