# Scenario 4: barge-in with the talk button during the answer, on the USB mic array and
# speaker. A turn is held 4 s (the emulator echoes it: a 4 s answer); 1 s into the
# answer as heard on the speaker, talk is pressed again. Asserts: the appliance goes back to listening, the
# emulator is told (response.cancel or output_audio_buffer.clear in its journal), the
# answer stops on the USB speaker (the gadget-side probe times the end of the sound) well
# before its 4 s would have played, the LED is solid on (mic live) again, and the
# interrupting turn is answered.
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
	"$PROBE" record -D "hw:CARD=$GADGET_CARD" -c 2 -d 60s >"$OUT/barge-rec.jsonl" 2>"$OUT/barge-rec.err" &
	local rec=$!
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	press GPIO17
	wait_until 30 state_is listening || fail "no listening state within 30 s of pressing talk: '$(ev_state)'"
	local t_l1 t_r1 t_speak t_barge t_l2 t_r2 t_idle
	t_l1=$(ms)
	sleep 4
	release GPIO17
	t_r1=$(ms)
	# the barge-in comes 1 s into the answer as heard on the USB speaker (the probe's
	# onset line; polling `edgevoice status` takes 1-3 s under TCG, too coarse for this)
	# (jq 1.6's -e looks at the last input's result: slurp and ask any())
	heard_after() { jq -se --argjson t "$1" 'any(.[]; (.onset_us // 0) > $t)' "$OUT/barge-rec.jsonl" >/dev/null 2>&1; }
	if ! wait_until 30 heard_after $((t_r1 * 1000)); then
		fail "the answer was not heard on the USB speaker within 30 s of the release: state '$(ev_state)' (probe: $(tail -1 "$OUT/barge-rec.jsonl") $(head -2 "$OUT/barge-rec.err"))"
		kill $rec $tone 2>/dev/null
		wait $rec $tone 2>/dev/null
		end
		return
	fi
	t_speak=$(ms)
	sleep 1
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
	sleep 1
	kill $rec $tone 2>/dev/null
	wait $rec $tone 2>/dev/null
	# the sound on the USB speaker: segments (onset .. end) timed by the probe
	local segs
	segs=$(jq -sc '[.[] | select(has("onset_us") or has("end_us"))]' "$OUT/barge-rec.jsonl" 2>/dev/null)
	extra speaker_events_us "${segs:-[]}"
	local first_on first_end second_on
	first_on=$(jq -r --argjson t $((t_r1 * 1000)) '[.[] | select(.onset_us and .onset_us > $t) | .onset_us] | first // empty' <<<"$segs")
	first_end=$(jq -r --argjson t "${first_on:-0}" '[.[] | select(.end_us and .end_us > $t) | .end_us] | first // empty' <<<"$segs")
	second_on=$(jq -r --argjson t $((t_r2 * 1000)) '[.[] | select(.onset_us and .onset_us > $t) | .onset_us] | first // empty' <<<"$segs")
	local held=$((t_r1 - t_l1))
	if [ -z "$first_on" ]; then
		fail "the answer was never heard on the USB speaker (probe: $(tail -1 "$OUT/barge-rec.jsonl" 2>/dev/null) $(head -2 "$OUT/barge-rec.err"))"
	elif [ -z "$first_end" ]; then
		fail "the answer did not stop on the USB speaker after the barge-in"
	else
		local played=$(((first_end - first_on) / 1000)) after=$((first_end / 1000 - t_barge))
		extra timing "$(jq -cn --argjson h $held --argjson p $played --argjson a $after --argjson l $((t_l2 - t_barge)) \
			'{turn_held_ms: $h, answer_heard_ms: $p, sound_after_barge_in_ms: $a, barge_in_to_listening_polled_ms: $l}')"
		note "the answer was heard ${played} ms (the turn was held ${held} ms; pressed $((t_barge - first_on / 1000)) ms into it) and stopped ${after} ms after the barge-in press"
		# bounds: the press came with at least 1 s of the answer left (else this run
		# cannot tell a cut from the answer's end), and the sound stopped within 1.5 s of
		# it (TCG: the appliance logs the press 0.1-0.4 s after it, the device's queue
		# holds under 0.5 s)
		local left=$((held - (t_barge - first_on / 1000)))
		[ "$left" -ge 1000 ] || fail "the barge-in press came ${left} ms before the answer's end: too late to tell a cut (the answer was heard $((t_barge - first_on / 1000)) ms before it)"
		[ "$after" -le 1500 ] || fail "the answer went on ${after} ms after the barge-in press (want <= 1500 ms; ${left} ms of it were left)"
	fi
	[ -n "$second_on" ] || fail "the interrupting turn's answer was not heard on the USB speaker"
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
