# goals-latency-cpu: issue 12's goals, measured on the USB mic array and speaker
# (lab/README.md, "Latency and CPU"). Not pass/fail on the figures (TCG makes them upper
# bounds): the scenario fails only when the measurement itself does not work.
#
# Mic -> RTP: during a held talk turn the gadget-side probe plays 6 tone bursts into the
# mic array and prints, per burst, the wall-clock instant its first frame leaves the
# gadget's ALSA buffer for the USB wire; the emulator (--onsets) prints the arrival time
# of the RTP packet in whose decoded audio the burst starts. RTP -> speaker: the emulator
# echoes the turn; it prints the time each answer packet carrying a burst onset was
# written (plus the onset's place in the packet), and the probe recording the speaker on
# the gadget side prints when the onset arrives from the USB wire. All clocks are the
# guest's CLOCK_REALTIME. CPU: utime+stime of `edgevoice run` over the turn (talk held,
# answer played; ALSA capture and playback streaming throughout) and over 3 s idle, as %
# of one core; RSS and peak RSS from /proc.

# cpu_ticks PID: utime + stime in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# emu_onsets SINCE DIR: "at_us offset_us" of the emulator's onset lines
emu_onsets() {
	emu_log "$1" | grep 'msg="audio onset"' | grep "dir=$2 " |
		sed -n 's/.*at_us=\([0-9]*\) offset_us=\([0-9]*\).*/\1 \2/p'
}
# match_latency FROMS TOS: pairs each time of FROMS (µs, one a line, in order) with the
# first time of TOS after it that is also 300 ms or more after the one paired before (a
# burst broken by a dropout shows twice; bursts are 600 ms apart); prints the differences
# in ms as a JSON array (pairs more than 10 s apart are left out: under a heavily loaded
# TCG host the simulated bus falls behind real time and a playback queue grows by seconds)
match_latency() {
	jq -cn --argjson a "$(jq -sc 'sort' <<<"$1")" --argjson b "$(jq -sc 'sort' <<<"$2")" '
		reduce $a[] as $t ({prev: -1e18, out: []};
			.prev as $p | ([$b[] | select(. >= $t and . >= $p + 300000)] | first) as $m |
			if $m == null or $m - $t >= 10000000 then . else {prev: $m, out: (.out + [($m - $t) / 100 | round / 10])} end) | .out'
}
stats_ms() { jq -c 'if length == 0 then {n: 0} else (sort as $s | {n: length, min: $s[0], median: $s[(length / 2 | floor)], max: $s[-1]}) end' <<<"$1"; }

scenario_goals() {
	local name=${1:-goals-latency-cpu} conf=${2:-}
	begin "$name"
	if [ -z "$USB_CARD" ]; then
		fail "no USB sound card (setup-usb-audio failed)"
		end
		return
	fi
	if [ -n "$conf" ]; then
		# another configuration of the same devices: installed for this scenario only
		install -m 0644 "$conf" /etc/edgevoice/edgevoice.toml
		USB_CONFIGURED=""
		systemctl restart edgevoice.service
		USB_CONFIGURED=1
		extra_str config "$(basename "$conf")"
	fi
	use_usb_config || {
		end
		return
	}
	local pid tck c0 c1 w0 w1 idle_pct
	pid=$(main_pid edgevoice.service)
	tck=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$pid")
	w0=$(ms)
	sleep 3
	c1=$(cpu_ticks "$pid")
	w1=$(ms)
	idle_pct=$(jq -n "($c1 - $c0) / $tck / (($w1 - $w0) / 1000) * 1000 | round / 10")
	wait_until 30 pcm_running "$USB_CARD" p || note "the USB playback is not streaming before the turn"
	wait_until 30 pcm_running "$USB_CARD" c || note "the USB capture is not streaming before the turn"
	note "host playback: $(grep -h -E '^(state|hw_ptr)' /proc/asound/"$USB_CARD"/pcm0p/sub0/status 2>/dev/null | tr '\n' ' ')"
	"$PROBE" record -D "hw:CARD=$GADGET_CARD" -c 2 -d 60s >"$OUT/$name-rec.jsonl" 2>"$OUT/$name-rec.err" &
	local rec=$! since
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	press GPIO17
	if ! wait_until 30 state_is listening; then
		fail "no listening state within 30 s of pressing talk: '$(ev_state)'"
		release GPIO17
		kill $rec 2>/dev/null
		wait $rec 2>/dev/null
		end
		return
	fi
	sleep 1 # the pre-roll of the connect is handed over before the live audio
	c0=$(cpu_ticks "$pid")
	w0=$(ms)
	if ! "$PROBE" play -D "hw:CARD=$GADGET_CARD" -c 4 -bursts 6 -every 600ms -len 150ms -lead 300ms >"$OUT/$name-play.jsonl" 2>"$OUT/$name-play.err"; then
		fail "the probe could not play into the USB mic: $(head -2 "$OUT/$name-play.err")"
	fi
	sleep 0.5
	release GPIO17
	wait_until 30 state_is speaking || note "no speaking state within 30 s of the release: '$(ev_state)'"
	wait_until 60 state_is idle || fail "the turn did not end in idle within 60 s: '$(ev_state)'"
	c1=$(cpu_ticks "$pid")
	w1=$(ms)
	sleep 1
	kill $rec 2>/dev/null
	wait $rec 2>/dev/null
	local turn_pct rss hwm ratio
	# the USB device's clock as the gadget side sees it (frames captured per wall second)
	ratio=$(jq -r 'select(.done) | .rate_ratio * 1000 | round / 1000' "$OUT/$name-rec.jsonl" 2>/dev/null)
	extra usb_clock_ratio "${ratio:-null}"
	turn_pct=$(jq -n "($c1 - $c0) / $tck / (($w1 - $w0) / 1000) * 1000 | round / 10")
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
	# latencies
	local played heard_in sent_out heard mic spk
	played=$(probe_lines "$OUT/$name-play.jsonl" onset_us)
	heard_in=$(emu_onsets "$since" in | awk '{print $1}')
	sent_out=$(emu_onsets "$since" out | awk '{printf "%.0f\n", $1 + $2}')
	heard=$(probe_lines "$OUT/$name-rec.jsonl" onset_us)
	mic=$(match_latency "$played" "$heard_in")
	spk=$(match_latency "$sent_out" "$heard")
	extra latency_mic_to_rtp_ms "$(jq -c --argjson all "$mic" '. + {all: $all, goal: 30}' <<<"$(stats_ms "$mic")")"
	extra latency_rtp_to_speaker_ms "$(jq -c --argjson all "$spk" '. + {all: $all, goal: 40}' <<<"$(stats_ms "$spk")")"
	extra cpu "$(jq -cn --argjson t "$turn_pct" --argjson i "$idle_pct" --argjson s $(((w1 - w0) / 1000)) --argjson r "${rss:-0}" --argjson h "${hwm:-0}" \
		'{turn_pct_of_one_core: $t, turn_window_s: $s, idle_pct_of_one_core: $i, rss_kib: $r, peak_rss_kib: $h, accel: "tcg (upper bounds)"}')"
	note "mic -> RTP: $(stats_ms "$mic") ms ($(wc -w <<<"$played") bursts played, $(wc -w <<<"$heard_in") onsets in at the emulator)"
	note "RTP -> speaker: $(stats_ms "$spk") ms ($(wc -w <<<"$sent_out") onsets sent by the emulator, $(wc -w <<<"$heard") heard on the speaker); the simulated USB bus carried audio at ${ratio:-?} of real time"
	note "edgevoice run: ${turn_pct}% of one core over the $(((w1 - w0) / 1000)) s turn, ${idle_pct}% idle; RSS ${rss} KiB (peak ${hwm} KiB)"
	[ "$(jq length <<<"$mic")" -ge 3 ] || fail "mic -> RTP: only $(jq length <<<"$mic") of 6 bursts were matched to an onset at the emulator (played: $(wc -w <<<"$played"), emulator onsets: $(wc -w <<<"$heard_in"); probe: $(head -2 "$OUT/$name-play.err"))"
	# The speaker side is a measurement, not a check of the product (3, 4 and 5 check that
	# answers are heard): the gadget-side recorder sometimes gets EIO as it starts and then
	# reads only zeros for the whole turn (seen once in three full runs, 2026-12-06; cause
	# open, NOTES.md). Then the figure is reported as not measured, with the probe's words.
	[ "$(jq length <<<"$spk")" -ge 1 ] || note "RTP -> speaker NOT MEASURED: $(jq length <<<"$spk") answer onsets were heard on the USB speaker (sent: $(wc -w <<<"$sent_out"), heard: $(wc -w <<<"$heard"); probe: $(tail -1 "$OUT/$name-rec.jsonl") $(head -2 "$OUT/$name-rec.err"))"
	end
}

# goals-lowlat (only when named: LAB_ARGS='-s "goals-lowlat"'): the same measurement with
# lab/edgevoice-usb-lowlat.toml, the lowest buffering the config allows (period 5 ms, 2 +
# 2 periods, jitter_depth 1, playout_delay 20ms): what the code adds when the buffers
# are not the larger part. The USB configuration is put back afterwards.
scenario_goals_lowlat() {
	scenario_goals goals-lowlat "$LAB/edgevoice-usb-lowlat.toml"
	USB_CONFIGURED=""
}
