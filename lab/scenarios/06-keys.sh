# Scenario 6: restart the key daemon while the appliance runs: the appliance still gets
# keys. Checked three ways: /run/edgevoice keeps an owner and mode that let user edgevoice
# in, `edgevoice-provisiond keys status` as user edgevoice reaches keys.sock, and a 10 s hold of the
# mute button (the documented service action: drop the cached key, fetch a fresh one)
# leaves the appliance idle with a key minted after the restart.
scenario_6_keyd_restart() {
	begin 6-keyd-restart
	recover
	local before after t_restart out
	before=$(stat -c '%U:%G %a' /run/edgevoice)
	t_restart=$(date -u +%Y-%m-%dT%H:%M:%S)
	systemctl restart edgevoice-provisioning.service
	wait_until 30 unit_running edgevoice-provisioning.service || fail "the key daemon did not come back: $(unit_desc edgevoice-provisioning.service)"
	after=$(stat -c '%U:%G %a' /run/edgevoice)
	note "/run/edgevoice: $before before, $after after the restart; $(ls -l /run/edgevoice | tail -n +2 | awk '{print $1, $3":"$4, $NF}' | tr '\n' ';')"
	[ "$before" = "$after" ] || fail "restarting edgevoice-provisioning changed /run/edgevoice from $before to $after (both units declare RuntimeDirectory=edgevoice)"
	if ! out=$(runuser -u edgevoice -- edgevoice-provisiond keys status 2>&1); then
		fail "user edgevoice cannot reach the key daemon after its restart: edgevoice-provisiond keys status: $(tail -2 <<<"$out" | tr '\n' ' ')"
	fi
	# the 10 s service action: a fresh key
	press GPIO22
	sleep 11
	release GPIO22
	local key
	if wait_until 45 ev_has_key && wait_until 30 state_is idle; then
		key=$(ev_status | jq -c '.appliance.key | {minted_at, age}')
		note "after the 10 s hold: $(ev_state), key $key (daemon restarted at $t_restart)"
		[[ "$(jq -r .minted_at <<<"$key")" > "$t_restart" ]] || fail "the appliance's key was minted at $(jq -r .minted_at <<<"$key"), before the key daemon's restart at $t_restart: no fresh key after the 10 s service action"
	else
		fail "after restarting the key daemon and a 10 s mute hold the appliance is '$(ev_state)' (detail: $(ev_status | jq -r '.appliance.detail // empty')), want idle with a fresh key
$(journal_tail edgevoice.service 6)"
	fi
	end
}
