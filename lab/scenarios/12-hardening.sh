# Scenario 12: the hardened units work with the lab's devices (DevicePolicy=closed,
# DeviceAllow, the groups from the udev rules), and `systemd-analyze security` is recorded.
scenario_12_hardening() {
	begin 12-hardening
	recover
	local pid chip
	pid=$(main_pid edgevoice.service) || fail "edgevoice.service has no main process: $(unit_desc edgevoice.service)"
	chip=$(basename "$GPIO_SIM_DEV")
	# GPIO: the appliance holds the talk, mute and LED lines through /dev/gpiochipN
	local info
	info=$(gpioinfo "$chip" 2>&1)
	local l
	for l in GPIO17 GPIO22 GPIO27; do
		grep "\"$l\"" <<<"$info" | grep -q '\[used' || fail "line $l is not requested by the appliance under the hardened unit: $(grep "\"$l\"" <<<"$info")"
	done
	# audio: the appliance has /dev/snd nodes open
	local snd
	snd=$(ls -l /proc/"$pid"/fd 2>/dev/null | grep -c '/dev/snd/pcm')
	[ "$snd" -ge 1 ] || fail "the appliance (pid $pid) has no /dev/snd/pcm* open: $(ls -l /proc/"$pid"/fd 2>/dev/null | grep -o '/dev/[^ ]*' | sort -u | tr '\n' ' ')"
	note "gpio lines held: $(grep -c '\[used' <<<"$info") ($(grep '\[used' <<<"$info" | grep -o '"GPIO[0-9]*"' | tr -d '"' | tr '\n' ' ')); /dev/snd pcm fds: $snd; /dev/$chip $(stat -c '%G %a' /dev/"$chip")"
	# exposure scores
	local u out score scores='{}'
	for u in edgevoice.service edgevoice-provisioning.service; do
		out=$(systemd-analyze security --no-pager "$u" 2>&1)
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \(.*\)/\1 \2/p' <<<"$out" | sed 's/\x1b\[[0-9;]*m//g')
		[ -n "$score" ] || fail "systemd-analyze security $u printed no exposure level: $(tail -2 <<<"$out")"
		scores=$(jq -c --arg u "$u" --arg s "$score" '. + {($u): $s}' <<<"$scores")
		sed 's/\x1b\[[0-9;]*m//g' <<<"$out" >"$OUT/security-$u.txt"
	done
	extra exposure "$scores"
	note "systemd-analyze security: $(jq -r 'to_entries | map("\(.key) \(.value)") | join(", ")' <<<"$scores")"
	end
}
