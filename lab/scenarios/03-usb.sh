# USB audio: a USB Audio Class 2 gadget (libcomposite + usb_f_uac2 through configfs) on the
# ISO-capable dummy_hcd_iso, enumerated by snd-usb-audio as a real USB sound card: 4
# capture channels (the mic array as the host sees it: the gadget's p_*) and 2 playback
# channels (c_*), 48 kHz S16. The gadget side is the "UAC2Gadget" card: what it plays
# reaches the host's USB capture, what the host plays reaches its capture.
USB_GADGET=/sys/kernel/config/usb_gadget/lab
USB_CARD=""    # the host-side card id (snd-usb-audio)
GADGET_CARD="" # the gadget-side card id

usb_card() { awk '/USB-Audio/ && !/UAC2/ {print $1; exit}' /proc/asound/cards; }
have_usb_card() { [ -n "$(usb_card)" ]; }
# pcm_running CARD c|p: the card's first capture/playback substream is streaming (the
# gadget side must start only then, else its reads and writes time out with EIO; opening
# a stream takes seconds under TCG)
pcm_running() { grep -q 'state: RUNNING' /proc/asound/"$1"/pcm0"$2"/sub0/status 2>/dev/null; }

setup_usb_audio() {
	begin setup-usb-audio
	# insmod does not load dependencies: usbcore (snd-usb-audio's side) and udc-core first
	if ! modprobe -a usbcore udc-core libcomposite 2>"$OUT/usb.err" || ! insmod /mnt/host/modules/dummy_hcd_iso.ko 2>>"$OUT/usb.err" || ! modprobe usb_f_uac2 2>>"$OUT/usb.err"; then
		fail "loading libcomposite, dummy_hcd_iso.ko, usb_f_uac2: $(cat "$OUT/usb.err")"
		end
		return
	fi
	local g=$USB_GADGET f=$USB_GADGET/functions/uac2.mic
	mkdir -p "$g/strings/0x409" "$g/configs/c.1/strings/0x409" "$f"
	echo 0x1d6b >"$g/idVendor"
	echo 0x0104 >"$g/idProduct"
	echo edgevoice-lab >"$g/strings/0x409/manufacturer"
	echo "Lab Mic Array" >"$g/strings/0x409/product"
	echo 0001 >"$g/strings/0x409/serialnumber"
	echo uac2 >"$g/configs/c.1/strings/0x409/configuration"
	echo 0xf >"$f/p_chmask"
	echo 48000 >"$f/p_srate"
	echo 2 >"$f/p_ssize"
	echo 0x3 >"$f/c_chmask"
	echo 48000 >"$f/c_srate"
	echo 2 >"$f/c_ssize"
	ln -s "$f" "$g/configs/c.1/"
	local udc
	udc=$(ls /sys/class/udc | head -1)
	if [ -z "$udc" ]; then
		fail "no UDC in /sys/class/udc after loading dummy_hcd_iso"
		end
		return
	fi
	if ! echo "$udc" >"$g/UDC" 2>"$OUT/usb.err"; then
		fail "binding the UAC2 gadget to $udc: $(cat "$OUT/usb.err"); dmesg: $(dmesg | tail -3 | tr '\n' ' ')"
		end
		return
	fi
	if ! wait_until 30 have_usb_card; then
		fail "snd-usb-audio did not enumerate the gadget within 30 s: $(cat /proc/asound/cards | tr '\n' ' '); dmesg: $(dmesg | grep -i -E 'usb|uac' | tail -4 | tr '\n' ' ')"
		end
		return
	fi
	udevadm settle
	local n
	n=$(usb_card)
	USB_CARD=$(sed -n "s/^ *$n \[\([^ ]*\) *\].*/\1/p" /proc/asound/cards)
	GADGET_CARD=$(sed -n 's/^ *[0-9]* \[\([^ ]*\) *\].*UAC2.*/\1/p' /proc/asound/cards | head -1)
	note "UDC $udc; host card $USB_CARD (#$n), gadget card $GADGET_CARD; $(lsusb 2>/dev/null | grep -i 1d6b:0104)"
	note "host side: $(awk '/^(Playback|Capture):/{d=$1} /Channels:|Rates:|Format:/{printf "%s %s %s; ", d, $1, $2}' /proc/asound/card"$n"/stream0 2>/dev/null)"
	extra_str usb_card "$USB_CARD"
	end
}

# peak_s16 FILE: the peak absolute sample of a raw S16_LE file
peak_s16() { od -An -v -t d2 -w2 "$1" | awk '{v=$1<0?-$1:$1; if(v>m)m=v} END{print m+0}'; }

# usb-stream: the devices carry audio both ways through the real drivers: a tone played
# on the gadget side arrives in the host's 4-channel capture, and a tone the host plays
# arrives in the gadget's capture.
scenario_usb_stream() {
	begin usb-stream
	if [ -z "$USB_CARD" ]; then
		fail "no USB sound card (setup-usb-audio failed)"
		end
		return
	fi
	rm -f /dev/shm/host-cap.raw /dev/shm/gadget-cap.raw
	# host captures 4 ch while the gadget plays a 4-ch sine
	arecord -q -D "hw:CARD=$USB_CARD" -c 4 -r 48000 -f S16_LE -t raw -d 4 /dev/shm/host-cap.raw 2>"$OUT/usb-arecord.err" &
	local rec=$!
	wait_until 30 pcm_running "$USB_CARD" c || fail "the host's USB capture did not start streaming within 30 s: $(head -2 "$OUT/usb-arecord.err")"
	timeout 3 speaker-test -D "hw:CARD=$GADGET_CARD" -c 4 -r 48000 -F S16_LE -t sine -f 440 >/dev/null 2>"$OUT/usb-speaker.err"
	wait $rec
	local pk
	pk=$(peak_s16 /dev/shm/host-cap.raw 2>/dev/null)
	note "host capture of the gadget's sine: $(stat -c %s /dev/shm/host-cap.raw 2>/dev/null) bytes, peak $pk"
	[ "${pk:-0}" -gt 1000 ] || fail "the host's USB capture got no sine from the gadget side (peak ${pk:-none}; arecord: $(head -2 "$OUT/usb-arecord.err"); speaker-test: $(head -2 "$OUT/usb-speaker.err"))"
	# the host plays 2 ch, the gadget captures (start the gadget side after the host streams)
	timeout 20 speaker-test -D "hw:CARD=$USB_CARD" -c 2 -r 48000 -F S16_LE -t sine -f 440 >/dev/null 2>"$OUT/usb-speaker2.err" &
	local play=$!
	wait_until 30 pcm_running "$USB_CARD" p || fail "the host's USB playback did not start streaming within 30 s: $(head -2 "$OUT/usb-speaker2.err")"
	arecord -q -D "hw:CARD=$GADGET_CARD" -c 2 -r 48000 -f S16_LE -t raw -d 1 /dev/shm/gadget-cap.raw 2>"$OUT/usb-arecord2.err"
	kill $play 2>/dev/null
	wait $play
	pk=$(peak_s16 /dev/shm/gadget-cap.raw 2>/dev/null)
	note "gadget capture of the host's sine: $(stat -c %s /dev/shm/gadget-cap.raw 2>/dev/null) bytes, peak $pk"
	[ "${pk:-0}" -gt 1000 ] || fail "the gadget side got no sine from the host's USB playback (peak ${pk:-none}; arecord: $(head -2 "$OUT/usb-arecord2.err"); speaker-test: $(head -2 "$OUT/usb-speaker2.err"))"
	end
}

# use_usb_config: the appliance on the USB card (lab/edgevoice-usb.toml), idle with a key
USB_CONFIGURED=""
use_usb_config() {
	if [ -z "$USB_CONFIGURED" ]; then
		rm -f /etc/edgevoice/edgevoice.toml.d/*.toml # the whole config is this file (scenario 2 dropped in the README's)
		install -m 0644 "$LAB/edgevoice-usb.toml" /etc/edgevoice/edgevoice.toml
		systemctl reset-failed edgevoice.service 2>/dev/null
		systemctl restart edgevoice-provisioning.service edgevoice.service
		USB_CONFIGURED=1
	fi
	if ! wait_until 90 unit_running edgevoice.service || ! wait_until 60 ev_has_key || ! wait_until 30 state_is idle; then
		fail "the appliance on the USB devices is not idle with a key: $(ev_state) $(unit_desc edgevoice.service)
$(journal_tail edgevoice.service 8)"
		return 1
	fi
}

# audible_ms FILE CHANNELS: how long a raw S16_LE file is audible: 20 ms windows of the
# first channel with RMS above 300 (of 32768), times 20 ms; and the peak
audible() {
	od -An -v -t d2 -w$((2 * $2)) "$1" | awk -v w=960 '
		{ s = $1; if (s < 0) a = -s; else a = s; if (a > pk) pk = a; sum += s * s; n++
		  if (n == w) { if (sqrt(sum / w) > 300) on++; n = 0; sum = 0 } }
		END { printf "{\"audible_ms\":%d,\"peak\":%d}\n", on * 20, pk }'
}

# Scenario 3: a talk turn on the real devices. The appliance uses the USB card (4-ch
# capture, 2-ch playback); the gadget side plays a 440 Hz tone into the mic all along;
# talk (GPIO17) is held 2 s after listening starts and released; the emulator answers
# with the turn's own audio, which the gadget side records from the USB speaker. Asserts:
# the states went listening → thinking → speaking → idle, the reply is audible for about
# as long as the talk was held, the LED was solid on (mic live) while listening, and the
# journal has both transcripts.
scenario_3_talk_turn() {
	begin 3-talk-turn-usb
	if [ -z "$USB_CARD" ]; then
		fail "no USB sound card (setup-usb-audio failed)"
		end
		return
	fi
	use_usb_config || {
		end
		return
	}
	wait_until 30 pcm_running "$USB_CARD" c || fail "the appliance does not stream from the USB capture device"
	local pid
	pid=$(main_pid edgevoice.service)
	note "appliance pid $pid holds $(ls -l /proc/"$pid"/fd 2>/dev/null | grep -o '/dev/snd/pcm[^ ]*' | sort -u | tr '\n' ' ')"
	# the mic hears a tone; the speaker is recorded (gadget side, after the host streams)
	speaker-test -D "plughw:CARD=$GADGET_CARD" -c 1 -r 48000 -t sine -f 440 -l 0 >/dev/null 2>"$OUT/turn-tone.err" &
	local tone=$!
	wait_until 30 pcm_running "$USB_CARD" p || note "the USB playback is not streaming before the turn"
	rm -f /dev/shm/reply.raw
	arecord -q -D "hw:CARD=$GADGET_CARD" -c 2 -r 48000 -f S16_LE -t raw -d 20 /dev/shm/reply.raw 2>"$OUT/turn-rec.err" &
	local rec=$!
	local since t_press t_listen t_release led
	since=$(date '+%Y-%m-%d %H:%M:%S')
	sleep 1
	t_press=$(ms)
	press GPIO17
	if ! wait_until 30 state_is listening; then
		fail "no listening state within 30 s of pressing talk: '$(ev_state)' $(ev_status | jq -c '.appliance.session // {}')"
	fi
	t_listen=$(ms)
	led=$(sample_led GPIO27 1)
	sleep 1
	release GPIO17
	t_release=$(ms)
	extra led_listening "$led"
	[ "$(jq -r .look <<<"$led")" = on ] || fail "the LED was not solid on (mic live) while listening: $led"
	wait_until 30 state_is speaking || note "no speaking state seen within 30 s of the release (state '$(ev_state)')"
	wait_until 60 state_is idle || fail "not idle again within 60 s of the release: '$(ev_state)'"
	local t_idle
	t_idle=$(ms)
	sleep 1
	kill $rec $tone 2>/dev/null
	wait $rec $tone 2>/dev/null
	local held_ms=$((t_release - t_listen)) reply
	reply=$(audible /dev/shm/reply.raw 2)
	extra timing "$(jq -cn --argjson p $((t_listen - t_press)) --argjson h $held_ms --argjson r $((t_idle - t_release)) '{press_to_listening_ms: $p, talk_held_ms: $h, release_to_idle_ms: $r}')"
	extra reply "$reply"
	note "press -> listening $((t_listen - t_press)) ms, talk held $held_ms ms, release -> idle $((t_idle - t_release)) ms; reply recorded from the USB speaker: $reply ($(stat -c %s /dev/shm/reply.raw 2>/dev/null) bytes)"
	local aud
	aud=$(jq -r .audible_ms <<<"$reply")
	if [ "$aud" -lt $((held_ms / 2)) ] || [ "$aud" -gt $((held_ms * 2 + 1000)) ]; then
		fail "the reply from the USB speaker is audible for $aud ms, want about the $held_ms ms the talk button was held (the emulator echoes the turn) (arecord: $(head -2 "$OUT/turn-rec.err"))"
	fi
	local states
	states=$(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | sed -n 's/.*msg=state .*to=\([a-z-]*\).*/\1/p' | tr '\n' ' ')
	[ -n "$states" ] || states=$(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | grep -o 'state=[a-z-]*' | tr '\n' ' ')
	extra_str states "$states"
	note "states: $states"
	local want_seq="listening thinking speaking idle" rest=" $states " s
	for s in $want_seq; do
		if [[ "$rest" == *" $s "* ]]; then rest=" ${rest#* $s }"; else
			fail "the journal's state sequence '$states' lacks '$s' in the order $want_seq"
			break
		fi
	done
	local tr
	tr=$(journalctl -b -u edgevoice.service --since "$since" -o cat --no-pager | grep -E 'msg=(user|assistant)' | cut -c1-160)
	extra_str transcripts "$tr"
	grep -q 'msg=user' <<<"$tr" || fail "no user transcript in the journal (msg=user)"
	grep -q 'msg=assistant' <<<"$tr" || fail "no assistant transcript in the journal (msg=assistant)"
	end
}

# Scenario 5: USB unplug in mid-turn (the gadget's UDC unbound while talk is held): the
# appliance shows error (state and LED blink code), keeps running (same main process);
# re-plug (UDC bound again): the devices are reopened by name and the next turn works,
# with no restart.
scenario_5_usb_unplug() {
	begin 5-usb-unplug
	if [ -z "$USB_CARD" ]; then
		fail "no USB sound card (setup-usb-audio failed)"
		end
		return
	fi
	use_usb_config || {
		end
		return
	}
	local pid udc led
	pid=$(main_pid edgevoice.service)
	udc=$(cat "$USB_GADGET/UDC")
	press GPIO17
	wait_until 30 state_is listening || note "not listening 30 s after the press: '$(ev_state)'"
	sleep 1
	echo "" >"$USB_GADGET/UDC"
	local t_unplug
	t_unplug=$(ms)
	if wait_until 30 state_is error; then
		note "error state $(($(ms) - t_unplug)) ms after the unplug; audio faults: $(ev_status | jq -c '.appliance.audio_faults // []'); streams: $(ev_status | jq -c '[.audio[]? | {role, state, device_errors, reopens}]')"
	else
		fail "no error state within 30 s of unplugging the USB card: '$(ev_state)' (detail: $(ev_status | jq -r '.appliance.detail // empty'))"
	fi
	release GPIO17
	led=$(sample_led GPIO27 5)
	extra led_unplugged "$led"
	note "LED while unplugged: $led"
	case $(jq -r .look <<<"$led") in flash | other) ;; *) fail "the LED does not show the error blink code while the USB card is gone: $led" ;; esac
	[ "$(prop edgevoice.service MainPID)" = "$pid" ] || fail "the appliance was restarted after the unplug (pid $pid -> $(prop edgevoice.service MainPID))"
	unit_running edgevoice.service || fail "edgevoice.service is not running after the unplug: $(unit_desc edgevoice.service)"
	# re-plug
	echo "$udc" >"$USB_GADGET/UDC"
	local t_plug
	t_plug=$(ms)
	wait_until 30 have_usb_card || fail "the USB card did not come back within 30 s of re-binding the UDC"
	if wait_until 60 state_is idle; then
		note "idle again $(($(ms) - t_plug)) ms after the re-plug"
	else
		fail "not idle within 60 s of the re-plug: '$(ev_state)' (audio faults: $(ev_status | jq -c '.appliance.audio_faults // []'))
$(journal_tail edgevoice.service 6)"
	fi
	local fds
	fds=$(ls -l /proc/"$pid"/fd 2>/dev/null | grep -o '/dev/snd/pcm[^ ]*' | sort -u | tr '\n' ' ')
	note "after the re-plug the appliance holds: ${fds:-no PCM}; card $(usb_card); status audio faults: $(ev_status | jq -c '.appliance.audio_faults // []'); streams: $(ev_status | jq -c '[.audio[]? | {role, state, device_errors, reopens}]')"
	# the next turn
	if ! wait_until 30 pcm_running "$USB_CARD" c; then
		fail "the appliance does not stream from the re-plugged USB capture device (host capture: $(head -1 /proc/asound/"$USB_CARD"/pcm0c/sub0/status 2>/dev/null); it holds ${fds:-no PCM})"
		end
		return
	fi
	speaker-test -D "plughw:CARD=$GADGET_CARD" -c 1 -r 48000 -t sine -f 440 -l 0 >/dev/null 2>"$OUT/unplug-tone.err" &
	local tone=$!
	wait_until 30 pcm_running "$USB_CARD" p
	rm -f /dev/shm/reply2.raw
	# recorded until the turn is over (killed below; -d only bounds it): a fixed 20 s
	# ended before the answer on a loaded machine
	arecord -q -D "hw:CARD=$GADGET_CARD" -c 2 -r 48000 -f S16_LE -t raw -d 150 /dev/shm/reply2.raw 2>"$OUT/unplug-rec.err" &
	local rec=$!
	sleep 1
	press GPIO17
	wait_until 30 state_is listening || fail "after the re-plug, no listening state within 30 s of pressing talk: '$(ev_state)'"
	sleep 2
	release GPIO17
	wait_until 30 state_is speaking || note "no speaking state seen after the re-plug turn"
	wait_until 60 state_is idle || fail "the re-plug turn did not end in idle: '$(ev_state)'"
	sleep 1
	kill $rec $tone 2>/dev/null
	wait $rec $tone 2>/dev/null
	local reply
	reply=$(audible /dev/shm/reply2.raw 2)
	extra reply_after_replug "$reply"
	note "reply after the re-plug: $reply; streams after the turn: $(ev_status | jq -c '[.audio[]? | {role, state, overruns, underruns, device_errors, reopens}]'); session: $(ev_status | jq -c '.appliance.session // {} | {packets_received, packets_lost, concealed, playout_underruns, barge_ins, discarded_packets, read_errors}'); host playback: $(tr '\n' ' ' </proc/asound/"$USB_CARD"/pcm0p/sub0/status 2>/dev/null | cut -c1-160)"
	[ "$(jq -r .audible_ms <<<"$reply")" -ge 500 ] || fail "the turn after the re-plug has no audible reply on the USB speaker: $reply ($(($(stat -c %s /dev/shm/reply2.raw 2>/dev/null || echo 0) / 192)) ms recorded; arecord: $(head -c 300 "$OUT/unplug-rec.err"))"
	[ "$(prop edgevoice.service MainPID)" = "$pid" ] || fail "the appliance was restarted (pid $pid -> $(prop edgevoice.service MainPID)); the re-plug must not need a restart"
	end
}
