# Setup: the simulated devices and the package. Each step is recorded as a scenario
# ("setup-…") so a broken lab shows as such, not as a product fault.

# The gpio-sim chip: line names as periph's gpioioctl registers them (the pin names the
# board configs use). Offsets: 0 talk, 1 mute, 2 LED, 3-5 spare.
LAB_LINES=(GPIO17 GPIO22 GPIO27 GPIO5 GPIO6 GPIO13)
GPIO_SIM_DEV=""

setup_devices() {
	begin setup-devices
	local cfg=/sys/kernel/config/gpio-sim/lab i
	if ! insmod /mnt/host/modules/gpio-sim-oot.ko 2>"$OUT/insmod.err"; then
		fail "insmod gpio-sim-oot.ko: $(cat "$OUT/insmod.err")"
		end
		return
	fi
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	mkdir -p "$cfg/bank0"
	echo lab-gpio >"$cfg/bank0/label"
	echo ${#LAB_LINES[@]} >"$cfg/bank0/num_lines"
	for i in "${!LAB_LINES[@]}"; do
		mkdir -p "$cfg/bank0/line$i"
		echo "${LAB_LINES[$i]}" >"$cfg/bank0/line$i/name"
	done
	echo 1 >"$cfg/live"
	local chip
	chip=$(cat "$cfg/bank0/chip_name" 2>/dev/null)
	GPIO_SIM_DEV=$(ls -d /sys/devices/platform/"$(cat "$cfg/dev_name")"/"$chip" 2>/dev/null)
	if [ -z "$chip" ] || [ ! -d "$GPIO_SIM_DEV" ]; then
		fail "gpio-sim chip not live (chip_name '$chip', dev_name '$(cat "$cfg/dev_name" 2>/dev/null)')"
		end
		return
	fi
	# buttons up (not pressed): the lines idle at pull-down
	release GPIO17
	release GPIO22
	udevadm settle
	note "gpio-sim $chip: $(gpioinfo "$chip" | grep -c '"GPIO') named lines; /dev/$chip $(stat -c '%U:%G %a' "/dev/$chip")"
	extra_str gpiochip "$chip"
	if ! modprobe snd-aloop 2>"$OUT/aloop.err"; then
		fail "modprobe snd-aloop: $(cat "$OUT/aloop.err")"
	else
		udevadm settle
		aplay -l 2>/dev/null | grep -q Loopback || fail "snd-aloop loaded but aplay -l shows no Loopback card"
		note "snd-aloop: $(aplay -l 2>/dev/null | grep -c '^card.*Loopback') playback devices"
	fi
	end
}

setup_install() {
	begin setup-install
	# The lowest version of each package is installed now; newer versions of the same
	# package (the runner was given an upgrade) wait in /tmp/debs-upgrade for scenario 11.
	mkdir -p /tmp/debs /tmp/debs-upgrade
	local d p v
	declare -A low=()
	for d in /mnt/host/debs/*.deb; do
		p=$(dpkg-deb -f "$d" Package)
		v=$(dpkg-deb -f "$d" Version)
		if [ -z "${low[$p]:-}" ] || dpkg --compare-versions "$v" lt "$(dpkg-deb -f "${low[$p]}" Version)"; then
			low[$p]=$d
		fi
	done
	for d in /mnt/host/debs/*.deb; do
		p=$(dpkg-deb -f "$d" Package)
		if [ "${low[$p]}" = "$d" ]; then cp "$d" /tmp/debs/; else cp "$d" /tmp/debs-upgrade/; fi
	done
	local t0
	t0=$(ms)
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/debs/*.deb >"$OUT/install.log" 2>&1; then
		fail "apt-get install of $(ls /tmp/debs | tr '\n' ' ')failed: $(tail -5 "$OUT/install.log")"
		end
		return
	fi
	note "apt-get install took $(($(ms) - t0)) ms; edgevoice $(dpkg-query -W -f='${Version}' edgevoice)"
	local u
	for u in edgevoice edgevoice-keys; do id "$u" >/dev/null 2>&1 || fail "user $u missing after install (sysusers)"; done
	id -nG edgevoice | grep -qw gpio || fail "user edgevoice is not in group gpio: $(id -nG edgevoice)"
	id -nG edgevoice | grep -qw audio || fail "user edgevoice is not in group audio: $(id -nG edgevoice)"
	local g
	g=$(stat -c '%G %a' /dev/"$(basename "$GPIO_SIM_DEV")" 2>/dev/null)
	[ "$g" = "gpio 660" ] || fail "/dev/$(basename "$GPIO_SIM_DEV") is '$g' after install, want 'gpio 660' (60-edgevoice.rules)"
	for u in edgevoice edgevoice-provisioning; do
		[ "$(systemctl is-enabled $u 2>/dev/null)" = enabled ] || fail "$u.service is $(systemctl is-enabled $u 2>&1) after install, want enabled"
	done
	extra_str postinst "$(sed -n '/^Setting up edgevoice/,$p' "$OUT/install.log" | head -8)"
	# the lab's backend, its own unit
	cp "$LAB/edgevoice-emulator.service" /etc/systemd/system/
	systemctl daemon-reload
	systemctl enable --now edgevoice-emulator.service >/dev/null 2>&1
	wait_until 30 unit_running edgevoice-emulator.service || fail "the lab's emulator unit did not start: $(unit_desc edgevoice-emulator.service)"
	end
}
