# Scenario 4: barge-in with the talk button during the answer, on the USB mic array and
# speaker. A turn is held 8 s (the emulator echoes it: an 8 s answer); soon after the
# answer is heard on the speaker, talk is pressed again (on a loaded machine "soon" can
# be 3-4 s under TCG: the long answer leaves room to see it cut). Asserts: the appliance goes
# back to listening, the emulator is told (response.cancel or output_audio_buffer.clear
# in its journal), the answer was playing at the press and is silent on the USB speaker
# from 1.5 s after it (the gadget-side probe's 100 ms peak levels), the LED is solid on
# (mic live) again, and the interrupting turn is answered.
# emu_log SINCE: the emulator's journal lines since SINCE
emu_log() { journalctl -b -u edgevoice-emulator.service --since "$1" -o cat --no-pager; }
# probe_lines FILE KEY: the values of KEY in the probe's JSON lines, one a line
probe_lines() { jq -r --arg k "$2" 'select(has($k)) | .[$k]' "$1" 2>/dev/null; }

scenario_4_barge_in() {
	begin 4-barge-in-usb
	if [ -z "$USB_CARD" ]; then
		fail "no USB sound card (setup-usb-audio failed)"
		end
		return
	fi
	use_usb_config || {
		end
		return
	}
	local pid since
	pid=$(main_pid edgevoice.service)
	speaker-test -D "plughw:CARD=$GADGET_CARD" -c 1 -r 48000 -t sine -f 440 -l 0 >/dev/null 2>"$OUT/barge-tone.err" &
	local tone=$!
	wait_until 30 pcm_running "$USB_CARD" p || note "the USB playback is not streaming before the turn"
	"$PROBE" record -D "hw:CARD=$GADGET_CARD" -c 2 -d 60s -levels 100ms >"$OUT/barge-rec.jsonl" 2>"$OUT/barge-rec.err" &
	local rec=$!
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	press GPIO17
	wait_until 30 state_is listening || fail "no listening state within 30 s of pressing talk: '$(ev_state)'"
	local t_l1 t_r1 t_speak t_barge t_l2 t_r2 t_idle
	t_l1=$(ms)
	sleep 8
	release GPIO17
	t_r1=$(ms)
	# the barge-in comes soon after the answer is heard on the USB speaker (the probe's
	# levels; the appliance's speaking state, polled, comes too late under TCG)
	# (jq 1.6's -e looks at the last input's result: slurp and ask any())
	heard_after() { jq -se --argjson t "$1" 'any(.[]; (.level_us // 0) > $t and .peak >= 3277)' "$OUT/barge-rec.jsonl" >/dev/null 2>&1; }
	if ! wait_until 30 heard_after $((t_r1 * 1000)); then
		fail "the answer was not heard on the USB speaker within 30 s of the release: state '$(ev_state)' (probe: $(tail -1 "$OUT/barge-rec.jsonl") $(head -2 "$OUT/barge-rec.err"))"
		kill $rec $tone 2>/dev/null
		wait $rec $tone 2>/dev/null
		end
		return
	fi
	t_speak=$(ms)
	sleep 0.5
	t_barge=$(ms)
	press GPIO17
	if wait_until 10 state_is listening; then
		t_l2=$(ms)
	else
		fail "the appliance did not go back to listening within 10 s of the barge-in press: '$(ev_state)'"
		t_l2=$(ms)
	fi
	local led
	led=$(sample_led GPIO27 1)
	extra led_after_barge_in "$led"
	[ "$(jq -r .look <<<"$led")" = on ] || fail "the LED was not solid on (mic live) in the interrupting turn: $led"
	sleep 1
	release GPIO17
	t_r2=$(ms)
	wait_until 30 state_is speaking || note "no speaking state seen for the interrupting turn (state '$(ev_state)')"
	wait_until 60 state_is idle || fail "the interrupting turn did not end in idle within 60 s: '$(ev_state)'"
	t_idle=$(ms)
	note "streams after the second turn: $(ev_status | jq -c '[.audio[]? | {role, state, overruns, underruns, device_errors, reopens}]'); session: $(ev_status | jq -c '.appliance.session // {} | {packets_received, packets_lost, concealed, playout_underruns, barge_ins, discarded_packets, read_errors}')"
	sleep 1
	kill $rec $tone 2>/dev/null
	wait $rec $tone 2>/dev/null
	# The sound on the USB speaker, from the probe's 100 ms peak levels (robust to a
	# dropout or a restart of the gadget's capture, which split or hide onsets):
	#   before: the loudest block in the 800 ms before the press (the answer was playing)
	#   after:  the loudest block from 1.5 s after the press until the second release or
	#           the answer's planned end, whichever is first (the answer must be gone;
	#           TCG: the appliance logs the press 0.1-0.4 s after it, the device's queue
	#           holds under 0.5 s)
	#   stop:   the last loud block before that window: when the sound stopped
	#   second: the loudest block after the second release (the new turn is answered)
	local lv first_on held=$((t_r1 - t_l1)) thr=3277
	lv=$(jq -sc '[.[] | select(.level_us) | [.level_us, .peak]]' "$OUT/barge-rec.jsonl" 2>/dev/null)
	first_on=$(jq -r --argjson t $((t_r1 * 1000)) --argjson thr $thr '[.[] | select(.[0] > $t and .[1] >= $thr) | .[0]] | first // empty' <<<"$lv")
	peak_in() { jq -r --argjson a "$1" --argjson b "$2" '[.[] | select(.[0] > $a and .[0] <= $b) | .[1]] | max // 0' <<<"$lv"; }
	if [ -z "$first_on" ]; then
		fail "the answer was never heard on the USB speaker (probe: $(tail -1 "$OUT/barge-rec.jsonl" 2>/dev/null) $(head -2 "$OUT/barge-rec.err"))"
	else
		local into=$((t_barge - first_on / 1000)) left w0 w1 before after stop second
		left=$((held - into))
		w0=$(((t_barge + 1500) * 1000))
		w1=$(((t_barge + left < t_r2 ? t_barge + left : t_r2) * 1000))
		before=$(peak_in $(((t_barge - 800) * 1000)) $((t_barge * 1000)))
		after=$(peak_in "$w0" "$w1")
		stop=$(jq -r --argjson a $((t_barge * 1000)) --argjson b "$w0" --argjson thr $thr '[.[] | select(.[0] > $a and .[0] <= $b and .[1] >= $thr) | .[0]] | max // empty' <<<"$lv")
		second=$(peak_in $((t_r2 * 1000)) 9e18)
		extra timing "$(jq -cn --argjson h $held --argjson i $into --argjson l $((t_l2 - t_barge)) --argjson s "${stop:-null}" --argjson t $((t_barge * 1000)) \
			'{turn_held_ms: $h, pressed_into_answer_ms: $i, sound_stopped_after_press_ms: (if $s == null then null else (($s - $t) / 1000 | round) end), barge_in_to_listening_polled_ms: $l}')"
		extra speaker_peaks "$(jq -cn --argjson b "$before" --argjson a "$after" --argjson s "$second" '{before_press: $b, from_1500ms_after: $a, second_answer: $s}')"
		note "pressed ${into} ms into the answer (the turn was held ${held} ms); speaker peak ${before} in the 800 ms before the press, ${after} from 1.5 s after it for $(((w1 - w0) / 1000)) ms$([ -n "$stop" ] && echo "; sound stopped $(((stop / 1000) - t_barge)) ms after the press"); second answer peak ${second}"
		if [ $((w1 - w0)) -lt 500000 ]; then
			fail "the barge-in press came too late to tell a cut: ${left} ms of the answer were left, the window after the press is $(((w1 - w0) / 1000)) ms"
		fi
		[ "$before" -ge $thr ] || fail "the answer was not playing when talk was pressed again (peak $before in the 800 ms before the press)"
		[ "$after" -lt $thr ] || fail "the answer went on after the barge-in press: peak $after from 1.5 s after the press"
		[ "$second" -ge $thr ] || fail "the interrupting turn's answer was not heard on the USB speaker (peak $second after its release)"
	fi
	# when the appliance acted on the press (its own log line, journald's timestamp)
	local t_log
	t_log=$(journalctl -b -u edgevoice.service --since "$since" -o json --no-pager | jq -r 'select(.MESSAGE | test("msg=barge-in( |$)")) | .__REALTIME_TIMESTAMP' | head -1)
	[ -z "$t_log" ] || note "the appliance logged the barge-in $((t_log / 1000 - t_barge)) ms after the press"
	local elog alog
	elog=$(emu_log "$since" | grep -E 'response cancelled by the client|output audio buffer cleared by the client' | cut -c1-200)
	alog=$(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | grep -E 'barge-in' | cut -c1-200)
	extra_str emulator_saw "$elog"
	if [ -n "$elog" ]; then note "emulator: $(head -2 <<<"$elog" | sed 's/.*msg=//' | tr '\n' ';')"; else
		fail "the emulator saw neither response.cancel nor output_audio_buffer.clear after the barge-in"
	fi
	[ -n "$alog" ] || fail "the appliance logged no barge-in"
	local states
	states=$(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | sed -n 's/.*msg=state .*to=\([a-z-]*\).*/\1/p' | tr '\n' ' ')
	extra_str states "$states"
	note "states: $states"
	[[ " $states " == *" speaking listening "* ]] || fail "the states '$states' lack speaking -> listening (the barge-in)"
	[ "$(prop edgevoice.service MainPID)" = "$pid" ] || fail "the appliance was restarted during the scenario (pid $pid -> $(prop edgevoice.service MainPID))"
	end
}
