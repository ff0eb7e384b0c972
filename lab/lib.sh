# lib.sh — helpers for the lab's guest scripts (sourced by guest-main.sh; bash).
#
# A scenario is:   begin NAME; ...checks (fail/note/want)...; end
# end appends one JSON object to $RESULTS: {"name","pass","detail","duration_ms"} plus
# whatever the scenario put in EXTRA (a JSON object: measurements, recorded output).

OUT=${OUT:-/mnt/host/out}
RESULTS=$OUT/results.jsonl

log() { echo "lab: $*"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

begin() {
	SCEN=$1
	SCEN_T0=$(ms)
	FAILS=()
	NOTES=()
	EXTRA='{}'
	log "== $SCEN"
}
# fail MSG: an assertion failed (the scenario fails; MSG says what was expected and seen)
fail() {
	FAILS+=("$*")
	log "   FAIL: $*"
}
# note MSG: context for the report (the scenario's verdict is unchanged)
note() {
	NOTES+=("$*")
	log "   $*"
}
# extra KEY JSON: add a measurement to the scenario's JSON
extra() { EXTRA=$(jq -c --arg k "$1" --argjson v "$2" '. + {($k): $v}' <<<"$EXTRA"); }
extra_str() { EXTRA=$(jq -c --arg k "$1" --arg v "$2" '. + {($k): $v}' <<<"$EXTRA"); }
end() {
	local pass=true detail
	if [ ${#FAILS[@]} -gt 0 ]; then
		pass=false
		detail=$(printf '%s\n' "${FAILS[@]}")
		[ ${#NOTES[@]} -eq 0 ] || detail+=$'\n'"notes: $(printf '%s; ' "${NOTES[@]}")"
	else
		detail=$(printf '%s; ' "${NOTES[@]}")
	fi
	jq -cn --arg name "$SCEN" --argjson pass "$pass" --arg detail "${detail%$'\n'}" \
		--argjson d $(($(ms) - SCEN_T0)) --argjson extra "$EXTRA" \
		'{name: $name, pass: $pass, detail: $detail, duration_ms: $d} + $extra' >>"$RESULTS"
	sync
	log "$($pass && echo PASS || echo FAIL) $SCEN ($(($(ms) - SCEN_T0)) ms)"
}

# wait_until SECS CMD...: poll CMD every 0.5 s until it succeeds; false after SECS.
wait_until() {
	local deadline=$(($(ms) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(ms)" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

prop() { systemctl show -P "$2" "$1"; }
unit_running() { [ "$(prop "$1" ActiveState)/$(prop "$1" SubState)" = active/running ]; }
# a short description of a unit for failure messages
unit_desc() {
	echo "$1: $(prop "$1" ActiveState)/$(prop "$1" SubState) result=$(prop "$1" Result) restarts=$(prop "$1" NRestarts) main=$(prop "$1" MainPID) status=\"$(prop "$1" StatusText)\""
}
# journal_tail UNIT [N]: the unit's own last N lines (its processes), then systemd's last 3
journal_tail() {
	{
		journalctl -b --no-pager -o cat -n "${2:-8}" _SYSTEMD_UNIT="$1" 2>/dev/null
		journalctl -b --no-pager -o cat -n 3 -u "$1" _PID=1 2>/dev/null
	} | cut -c1-300 | sed 's/^/      | /'
}

# recover: bring the appliance back to idle with a key when an earlier scenario's fault
# left it elsewhere (reset-failed + restart both units), so each scenario tests its own
# thing; the report notes it.
recover() {
	if unit_running edgevoice.service && state_is idle && ev_has_key; then return 0; fi
	note "recovered first: the appliance was '$(ev_state)' ($(unit_desc edgevoice.service)); reset-failed and restart of both units"
	systemctl reset-failed edgevoice.service edgevoice-provisioning.service 2>/dev/null
	systemctl restart edgevoice-provisioning.service edgevoice.service 2>/dev/null
	wait_until 90 unit_running edgevoice.service && wait_until 60 ev_has_key && wait_until 30 state_is idle ||
		note "recovery did not reach idle with a key: $(ev_state) $(unit_desc edgevoice.service)"
}
# main_pid UNIT: the main PID, or fail the caller when there is none (never 0: kill 0
# would signal the lab itself)
main_pid() {
	local p
	p=$(prop "$1" MainPID)
	[ -n "$p" ] && [ "$p" -gt 1 ] && echo "$p"
}

# the gadget-side timing probe and fast status client (lab/probe, built by build/vm/run.sh)
PROBE=/mnt/host/tools/probe

# edgevoice status as JSON (the appliance's control socket), or nothing. The lab polls it
# every half second; `edgevoice status -json` (which starts the appliance binary and reads
# its config) takes a second or more a call under TCG, so the probe asks the socket with
# the same request and prints the same object; the CLI is the fallback.
ev_status() {
	if [ -x "$PROBE" ]; then "$PROBE" status 2>/dev/null; else edgevoice status -json 2>/dev/null; fi
}
ev_state() { ev_status | jq -r '.appliance.state // empty' 2>/dev/null; }
ev_has_key() { ev_status | jq -e '.appliance.key != null' >/dev/null 2>&1; }
state_is() { [ "$(ev_state)" = "$1" ]; }

# --- gpio-sim lines -----------------------------------------------------------------------
# line_dir NAME: the sysfs directory of a gpio-sim line (value, pull)
line_dir() { echo "$GPIO_SIM_DEV/sim_gpio$(line_offset "$1")"; }
line_offset() {
	local i
	for i in "${!LAB_LINES[@]}"; do [ "${LAB_LINES[$i]}" = "$1" ] && echo "$i" && return; done
	return 1
}
# press NAME / release NAME: an active-low button to ground: pressed pulls the line down
press() { echo pull-down >"$(line_dir "$1")/pull"; }
release() { echo pull-up >"$(line_dir "$1")/pull"; }
line_value() { cat "$(line_dir "$1")/value"; }

# sample_led NAME SECS [GAP_MS]: sample the value a consumer drives on the line as fast as
# bash reads sysfs (1-3 kHz under TCG) and describe it as JSON. The LED engine dims by
# software PWM (100 Hz; brightness 0.5 by default), so a lit LED is a burst of short
# pulses: on-runs closer than GAP_MS (default 40) apart are merged into one burst
# ("envelope"); a slow blink is read with a wider GAP_MS (150: TCG stalls the PWM for
# more than 40 ms now and then, which split no-key's 1 s bursts). Fields: samples, hz,
# duty (time high), bursts, max_burst_ms, max_gap_ms (longest dark), edges, look:
#   off / on          no edge in the window, line low / high
#   blink-slow        bursts of 0.6-1.6 s with 0.6-1.6 s dark (no-key on a single LED)
#   flash             bursts of 30-300 ms, dark >= 1 s (offline's double flash)
#   dim               PWM pulses all the time (never dark 1 s, >= 3 edges/s), duty
#                     0.3 % to 30 % (idle, muted)
#   other             anything else
sample_led() {
	local f v prev=x now start end last_t on=0 n=0 edges=0 GAP_MS=${3:-40}
	local burst_start=-1 last_fall=-1 max_burst=0 max_gap=0 bursts=0 gap
	f="$(line_dir "$1")/value"
	start=${EPOCHREALTIME/./}
	end=$((start + $2 * 1000000))
	last_t=$start
	local first_rise=-1
	while :; do
		read -r v <"$f"
		now=${EPOCHREALTIME/./}
		n=$((n + 1))
		[ "$prev" = 1 ] && on=$((on + now - last_t))
		if [ "$v" != "$prev" ]; then
			[ "$prev" = x ] || edges=$((edges + 1))
			if [ "$v" = 1 ]; then
				# a rise: a new burst when the dark before it was long (or it is the first)
				if [ "$last_fall" -lt 0 ] || [ $(((now - last_fall) / 1000)) -ge $GAP_MS ]; then
					if [ "$last_fall" -ge 0 ]; then
						gap=$(((now - last_fall) / 1000))
						[ $gap -gt $max_gap ] && max_gap=$gap
						if [ "$burst_start" -ge 0 ]; then
							local b=$(((last_fall - burst_start) / 1000))
							[ $b -gt $max_burst ] && max_burst=$b
						fi
					fi
					burst_start=$now
					bursts=$((bursts + 1))
				fi
			elif [ "$prev" = 1 ]; then
				last_fall=$now
			elif [ "$prev" = x ]; then
				last_fall=$now # starts dark
			fi
			prev=$v
		fi
		last_t=$now
		[ "$now" -lt "$end" ] || break
	done
	# the open ends of the window count as partial runs
	if [ "$prev" = 1 ] && [ "$burst_start" -ge 0 ]; then
		local b=$(((now - burst_start) / 1000))
		[ $b -gt $max_burst ] && max_burst=$b
	elif [ "$prev" = 0 ] && [ "$last_fall" -ge 0 ]; then
		gap=$(((now - last_fall) / 1000))
		[ $gap -gt $max_gap ] && max_gap=$gap
		if [ "$burst_start" -ge 0 ]; then
			local b=$(((last_fall - burst_start) / 1000))
			[ $b -gt $max_burst ] && max_burst=$b
		fi
	fi
	jq -cn --argjson n "$n" --argjson span $((now - start)) --argjson on "$on" --arg last "$prev" \
		--argjson mb "$max_burst" --argjson mg "$max_gap" --argjson bursts "$bursts" --argjson edges "$edges" --argjson gapms $GAP_MS '
		($on / $span) as $duty |
		{samples: $n, hz: ($n / ($span / 1e6) | floor), duty: ($duty * 1000 | round / 1000),
		 bursts: $bursts, max_burst_ms: $mb, max_gap_ms: $mg, edges: $edges,
		 look: (if $edges == 0 then (if $last == "1" then "on" else "off" end)
		        elif $mb >= 600 and $mb <= 1600 and $mg >= 600 and $mg <= 1600 then "blink-slow"
		        elif $mb >= 30 and $mb <= 300 and $mg >= 1000 then "flash"
		        elif $mg < 1000 and $duty >= 0.003 and $duty < 0.3 and $edges >= ($span / 1e6 * 3) then "dim"
		        else "other" end)}'
}
