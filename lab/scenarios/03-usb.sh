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
	note "host capture: $(grep -A3 'Capture' /proc/asound/card"$n"/stream0 2>/dev/null | grep -o 'Channels: [0-9]*' | head -1); playback: $(grep -A3 'Playback' /proc/asound/card"$n"/stream0 2>/dev/null | grep -o 'Channels: [0-9]*' | head -1)"
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
	# the gadget side streams only once the host side does (else EIO)
	sleep 2
	timeout 3 speaker-test -D "hw:CARD=$GADGET_CARD" -c 4 -r 48000 -F S16_LE -t sine -f 440 >/dev/null 2>"$OUT/usb-speaker.err"
	wait $rec
	local pk
	pk=$(peak_s16 /dev/shm/host-cap.raw 2>/dev/null)
	note "host capture of the gadget's sine: $(stat -c %s /dev/shm/host-cap.raw 2>/dev/null) bytes, peak $pk"
	[ "${pk:-0}" -gt 1000 ] || fail "the host's USB capture got no sine from the gadget side (peak ${pk:-none}; arecord: $(head -2 "$OUT/usb-arecord.err"); speaker-test: $(head -2 "$OUT/usb-speaker.err"))"
	# the host plays 2 ch, the gadget captures (start the gadget side after the host streams)
	timeout 4 speaker-test -D "hw:CARD=$USB_CARD" -c 2 -r 48000 -F S16_LE -t sine -f 440 >/dev/null 2>"$OUT/usb-speaker2.err" &
	local play=$!
	sleep 0.7
	arecord -q -D "hw:CARD=$GADGET_CARD" -c 2 -r 48000 -f S16_LE -t raw -d 2 /dev/shm/gadget-cap.raw 2>"$OUT/usb-arecord2.err"
	wait $play
	pk=$(peak_s16 /dev/shm/gadget-cap.raw 2>/dev/null)
	note "gadget capture of the host's sine: $(stat -c %s /dev/shm/gadget-cap.raw 2>/dev/null) bytes, peak $pk"
	[ "${pk:-0}" -gt 1000 ] || fail "the gadget side got no sine from the host's USB playback (peak ${pk:-none}; arecord: $(head -2 "$OUT/usb-arecord2.err"); speaker-test: $(head -2 "$OUT/usb-speaker2.err"))"
	end
}
