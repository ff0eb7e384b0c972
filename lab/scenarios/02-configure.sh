# Scenario 2: configure with the README's steps verbatim → both units active → idle with a
# key; READY and the Status= line. Steps (README "Wiring a board", "Provisioning"):
#   copy the board example's sections into /etc/edgevoice/edgevoice.toml
#   sudo install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential <<< "$TOKEN"
#   sudo edgevoice check-config && sudo edgevoice-provisiond check
#   sudo systemctl start edgevoice
TOKEN=lab-device-token
CONFIGURED=""

configure_readme() {
	[ -z "$CONFIGURED" ] || return 0
	CONFIGURED=1
	want 2 && begin 2a-readme-board-example
	# "copy its sections into /etc/edgevoice/edgevoice.toml": the shipped file already has
	# every section, so appending the example is what a reader does first.
	cp /etc/edgevoice/edgevoice.toml /tmp/edgevoice.toml.lab
	dpkg-deb --fsys-tarfile /tmp/debs/*.deb | tar -xOf - ./etc/edgevoice/edgevoice.toml >/tmp/shipped.toml
	{
		cat /tmp/shipped.toml
		cat /usr/share/doc/edgevoice/examples/boards/pi-button-led.toml
	} >/tmp/appended.toml
	local out
	if out=$(edgevoice check-config /tmp/appended.toml 2>&1); then
		want 2 && note "the shipped config with pi-button-led.toml appended passes check-config"
	else
		want 2 && fail "README \"copy its sections into /etc/edgevoice/edgevoice.toml\": the shipped config with the board example appended fails check-config: $(head -3 <<<"$out")"
	fi
	want 2 && end

	want 2 && begin 2-configure-readme
	# the lab's wiring (board example + loopback audio + broker → emulator), then the
	# README's provisioning steps verbatim
	install -m 0644 "$LAB/edgevoice.toml" /etc/edgevoice/edgevoice.toml
	install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin /etc/edgevoice/credential <<<"$TOKEN"
	if out=$(edgevoice check-config 2>&1); then
		want 2 && note "edgevoice check-config: ok"
	else
		want 2 && fail "sudo edgevoice check-config (README step) failed: $(tail -3 <<<"$out")"
	fi
	if out=$(timeout 60 edgevoice-provisiond check 2>&1); then
		want 2 && note "edgevoice-provisiond check: ok ($(tail -1 <<<"$out"))"
	else
		want 2 && fail "sudo edgevoice-provisiond check (README step, root, credential in /etc/edgevoice/credential) failed: $(tail -4 <<<"$out" | tr '\n' ' ')"
	fi
	extra_str check_output "$out"
	if [ "$(prop edgevoice.service Result)" = start-limit-hit ]; then
		want 2 && note "edgevoice.service was in start-limit-hit from the earlier scenarios: reset-failed before the README's systemctl start"
		systemctl reset-failed edgevoice.service
	fi
	systemctl start edgevoice >/dev/null 2>&1
	# the README starts edgevoice only; the key daemon comes with it (Wants=)
	local t0
	t0=$(ms)
	wait_until 90 unit_running edgevoice.service
	wait_until 30 unit_running edgevoice-provisioning.service
	# a restart picks up the credential if the appliance ran before (scenario 1b)
	want 2 || return 0
}

scenario_2_configured() {
	local u
	for u in edgevoice-provisioning.service edgevoice.service; do
		unit_running $u || fail "$u is not active/running after the README steps: $(unit_desc $u)
$(journal_tail $u 8)"
	done
	if ! wait_until 60 ev_has_key || ! wait_until 30 state_is idle; then
		# the appliance may have been started before the credential existed (scenario 1b)
		# and be waiting in its re-check backoff: say so, then give it a restart
		fail "edgevoice status is '$(ev_state)' (key: $(ev_status | jq -c '.appliance.key // "none"')) 60 s after systemctl start edgevoice, want idle with a key; detail: $(ev_status | jq -r '.appliance.detail // empty')"
		systemctl restart edgevoice.service
		if wait_until 60 ev_has_key && wait_until 30 state_is idle; then
			note "after systemctl restart edgevoice: idle with a key (the running appliance did not pick up the new credential by itself)"
		fi
	else
		note "idle with a key ($(ev_status | jq -c '.appliance.key | {profile, age}'))"
	fi
	local st
	st=$(prop edgevoice.service StatusText)
	extra_str status_line "$st"
	[ -n "$st" ] || fail "edgevoice.service has no Status= line"
	[[ "$st" == *idle* ]] || fail "edgevoice.service Status= is \"$st\", want it to say idle"
	note "Status=: $st; key daemon Status=: $(prop edgevoice-provisioning.service StatusText)"
	# READY: Type=notify units are active only after READY=1; the journal shows "Started"
	journalctl -b -u edgevoice.service -o cat | grep -q '^Started edgevoice' || fail "no 'Started edgevoice…' (READY) in the journal"
	local led
	led=$(sample_led GPIO27 4)
	extra led "$led"
	note "LED GPIO27 while idle: $led"
	case $(jq -r .look <<<"$led") in dim | off) ;; *) fail "the LED while idle is not the dim glow: $led" ;; esac
	end
}
