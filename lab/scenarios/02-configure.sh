# Scenario 2: configure with the README's steps verbatim → both units active → idle with a
# key; READY and the Status= line. The steps are the shell blocks of the installed README
# (/usr/share/doc/edgevoice/README.md), run as they are written:
#   2a: "Wiring a board": the board example copied into /etc/edgevoice/edgevoice.toml.d/
#   2:  "Provisioning" (after "Setting up a device"): the board, a [provisioning] drop-in,
#       the credential, check-config && provisiond check, reload-or-restart the key
#       daemon, restart the appliance.
# The lab's own wiring (loopback audio, a mute button, the broker URL of the emulator
# unit, loopback ICE) is lab/edgevoice.toml, dropped in as 90-lab.toml: it sorts after the
# README's 10-board.toml and 20-provisioning.toml, so its keys win.
TOKEN=lab-device-token
CONFIGURED=""
README_DOC=/usr/share/doc/edgevoice/README.md

# readme_block REGEX: the first ```sh block after the README line matching REGEX
readme_block() {
	awk -v re="$1" 'f == 0 && $0 ~ re { f = 1; next }
		f == 1 && /^```sh$/ { f = 2; next }
		f == 2 && /^```$/ { exit }
		f == 2 { print }' "$README_DOC"
}

# run_readme NAME BLOCK: run BLOCK as root (sudo is the identity here), traced, stopping at
# the first failing command; the trace goes to $OUT/readme-NAME.log.
run_readme() {
	{
		echo 'set -ex'
		echo 'sudo() { "$@"; }'
		echo "TOKEN=$TOKEN"
		printf '%s\n' "$2"
	} >"/tmp/readme-$1.sh"
	bash "/tmp/readme-$1.sh" >"$OUT/readme-$1.log" 2>&1
}

configure_readme() {
	[ -z "$CONFIGURED" ] || return 0
	CONFIGURED=1
	local block out
	want 2 && begin 2a-readme-board-example
	block=$(readme_block '^## Wiring a board')
	want 2 && extra_str readme_block "$block"
	if [ -z "$block" ] || ! grep -q 'edgevoice.toml.d/' <<<"$block"; then
		want 2 && fail "the README's \"Wiring a board\" has no step that drops a board example into /etc/edgevoice/edgevoice.toml.d/: $block"
	elif ! run_readme board "$block"; then
		want 2 && fail "the README's board step failed: $(tail -3 "$OUT/readme-board.log" | tr '\n' ' ')"
	elif ! out=$(edgevoice check-config 2>&1); then
		want 2 && fail "edgevoice check-config after the README's board step: $(head -3 <<<"$out")"
	else
		local read
		read=$(grep '^# read:' <<<"$out")
		want 2 && note "check-config: ${read#\# }"
		grep -q '/etc/edgevoice/edgevoice.toml.d/10-board.toml' <<<"$read" ||
			{ want 2 && fail "check-config does not list the dropped-in board example: $read"; }
		grep -qx "kind = 'gpio'" <<<"$out" || { want 2 && fail "the effective config has no gpio board after the drop-in"; }
	fi
	# The shipped conffile is untouched by the README's steps (upgrades will not ask).
	if ! dpkg --verify edgevoice 2>&1 | grep -q ' /etc/edgevoice/edgevoice.toml$'; then
		want 2 && note "/etc/edgevoice/edgevoice.toml is as shipped"
	else
		want 2 && fail "/etc/edgevoice/edgevoice.toml was changed by the README's steps: $(dpkg --verify edgevoice 2>&1 | head -3)"
	fi
	want 2 && end

	want 2 && begin 2-configure-readme
	# the lab's wiring as the last drop-in, then the README's provisioning steps verbatim
	install -m 0644 "$LAB/edgevoice.toml" /etc/edgevoice/edgevoice.toml.d/90-lab.toml
	if [ "$(prop edgevoice.service Result)" = start-limit-hit ]; then
		want 2 && fail "edgevoice.service was in start-limit-hit from the earlier scenarios (it must not crash-loop): reset-failed before the README's steps"
		systemctl reset-failed edgevoice.service
	fi
	block=$(readme_block 'Setting up a device')
	want 2 && extra_str readme_block "$block"
	if [ -z "$block" ]; then
		want 2 && fail "no \"Setting up a device\" shell block in $README_DOC"
	elif run_readme provisioning "$block"; then
		want 2 && note "the README's steps ran: $(grep -c '^+ ' "$OUT/readme-provisioning.log") commands; edgevoice-provisiond check: $(grep -m1 '^OK' "$OUT/readme-provisioning.log")"
		# `check-config && provisiond check` does not stop the script when it fails (set -e
		# spares && lists): its OK line must be there
		grep -q '^OK: keys can be minted' "$OUT/readme-provisioning.log" ||
			{ want 2 && fail "the README's check step (sudo edgevoice check-config && sudo edgevoice-provisiond check) did not pass: $(grep -v '^+ ' "$OUT/readme-provisioning.log" | grep -i 'fail\|error' | head -4 | tr '\n' ' ')"; }
	else
		want 2 && fail "the README's provisioning steps stopped at: $(grep '^+ ' "$OUT/readme-provisioning.log" | tail -1); output: $(grep -v '^+ ' "$OUT/readme-provisioning.log" | tail -4 | tr '\n' ' ')"
	fi
	want 2 && extra_str readme_output "$(cut -c1-300 "$OUT/readme-provisioning.log" | tail -40)"
	wait_until 90 unit_running edgevoice.service
	wait_until 30 unit_running edgevoice-provisioning.service
	want 2 || return 0
}

scenario_2_configured() {
	local u
	for u in edgevoice-provisioning.service edgevoice.service; do
		unit_running $u || fail "$u is not active/running after the README steps: $(unit_desc $u)
$(journal_tail $u 8)"
	done
	if ! wait_until 60 ev_has_key || ! wait_until 30 state_is idle; then
		fail "edgevoice status is '$(ev_state)' (key: $(ev_status | jq -c '.appliance.key // "none"')) 60 s after the README's steps, want idle with a key; detail: $(ev_status | jq -r '.appliance.detail // empty')"
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
