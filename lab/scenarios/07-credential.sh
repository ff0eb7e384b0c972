# Scenario 7: replace the credential while both units run. The key daemon reads
# /etc/edgevoice/credential at every mint (README, Provisioning). First a token the
# broker (the emulator) refuses: after the re-checks (3 s holds of mute, the README's
# gesture) the daemon is credential-rejected and the appliance shows no-key; then a second
# token the emulator accepts (its unit has --device-token twice): the next 3 s hold mints
# with it (the emulator logs device=2) and the appliance is idle with a key. Neither unit
# is restarted (same MainPIDs, same NRestarts).
hold_mute_3s() {
	press GPIO22
	sleep 3.5
	release GPIO22
}
keyd_state() { runuser -u edgevoice -- edgevoice-provisiond keys status 2>&1 | tr '\n' ' ' | cut -c1-240; }
set_credential() { install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential <<<"$1"; }

scenario_7_credential() {
	begin 7-credential-replace
	recover
	local pa pk na nk since t_good
	pa=$(main_pid edgevoice.service)
	pk=$(main_pid edgevoice-provisioning.service)
	na=$(prop edgevoice.service NRestarts)
	nk=$(prop edgevoice-provisioning.service NRestarts)
	since=$(date '+%Y-%m-%d %H:%M:%S')
	# 1. a refused token: re-check until the appliance shows no-key (the first re-check
	#    may take the key the daemon prefetched with the old token; its refill meets the
	#    refusal)
	set_credential lab-revoked-token
	local i
	for i in 1 2 3; do
		hold_mute_3s
		wait_until 10 state_is no-key && break
	done
	if state_is no-key; then
		note "refused token: no-key after $i re-check(s) of 3 s; key daemon: $(keyd_state)"
		local led
		led=$(sample_led GPIO27 3 150)
		extra led_no_key "$led"
		[ "$(jq -r .look <<<"$led")" = blink-slow ] || fail "the LED does not show no-key (slow blink) with the refused token: $led"
	else
		fail "with a token the broker refuses, the appliance is '$(ev_state)' after 3 re-checks, want no-key; key daemon: $(keyd_state)"
	fi
	local refused
	refused=$(emu_log "$since" | grep -c 'broker mint refused')
	note "the emulator refused $refused mint(s)"
	[ "$refused" -ge 1 ] || fail "the emulator refused no mint after the credential was replaced by a refused token: the daemon did not read the new file"
	# 2. the second good token
	t_good=$(date '+%Y-%m-%d %H:%M:%S')
	set_credential lab-device-token-2
	hold_mute_3s
	local t0
	t0=$(ms)
	if wait_until 30 ev_has_key && wait_until 30 state_is idle; then
		note "second token: idle with a key $(($(ms) - t0)) ms after the 3 s hold"
	else
		fail "after replacing the credential with a good token and a 3 s hold, the appliance is '$(ev_state)' (key daemon: $(keyd_state)), want idle with a key"
	fi
	local minted
	minted=$(emu_log "$t_good" | grep 'broker key minted' | grep -c 'device=2')
	extra_str emulator_mints "$(emu_log "$since" | grep -E 'broker (key minted|mint refused)' | sed 's/.*msg=//' | cut -c1-120)"
	[ "$minted" -ge 1 ] || fail "no key was minted with the second token (no 'broker key minted device=2' in the emulator's journal)"
	[ "$(prop edgevoice.service MainPID)" = "$pa" ] && [ "$(prop edgevoice.service NRestarts)" = "$na" ] ||
		fail "edgevoice.service was restarted (pid $pa -> $(prop edgevoice.service MainPID), restarts $na -> $(prop edgevoice.service NRestarts))"
	[ "$(prop edgevoice-provisioning.service MainPID)" = "$pk" ] && [ "$(prop edgevoice-provisioning.service NRestarts)" = "$nk" ] ||
		fail "edgevoice-provisioning.service was restarted (pid $pk -> $(prop edgevoice-provisioning.service MainPID), restarts $nk -> $(prop edgevoice-provisioning.service NRestarts))"
	note "same main processes (edgevoice $pa, edgevoice-provisioning $pk)"
	end
}
