# lib.sh — shell functions shared by build/image/*.sh (sourced, not run).

# log MSG...: a line on stderr with the calling script's name
log() { printf '%s: %s\n' "${prog:-image}" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

# ensure_binfmt: make the kernel run arm64 binaries through qemu-aarch64-static, which
# mmdebstrap needs to run the arm64 maintainer scripts. A HOST-WIDE change (binfmt_misc is a
# per-kernel table): done only when arm64 binaries do not already run, and said on stderr.
ensure_binfmt() {
	if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64; then
		return 0
	fi
	command -v update-binfmts >/dev/null || die "update-binfmts missing: run build/image/install-deps.sh (binfmt-support, qemu-user-static)"
	log "enabling binfmt_misc for qemu-aarch64 (a host-wide change: the kernel will run every arm64 binary through qemu-aarch64-static until reboot or 'update-binfmts --disable qemu-aarch64')"
	if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (needs root on the host, not in a container without it)"
	fi
	update-binfmts --enable qemu-aarch64 || die "update-binfmts --enable qemu-aarch64 failed"
	grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "qemu-aarch64 binfmt entry not enabled"
}

# debian_sources DIR: write DIR/debian.sources, this machine's Debian (deb.debian.org or
# other debian) apt stanzas with non-free-firmware added to the components (raspi-firmware
# and firmware-brcm80211 live there), and print its path.
debian_sources() {
	local out=$1/debian.sources f
	: >"$out"
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk -v RS= -v ORS='\n\n' '/URIs:[^\n]*debian/' "$f" |
			sed -E '/^Components:/{/non-free-firmware/!s/$/ non-free-firmware/}' >>"$out"
	done
	if [ -e /etc/apt/sources.list ]; then
		grep -E '^deb [^#]*debian' /etc/apt/sources.list |
			sed -E '/non-free-firmware/!s/$/ non-free-firmware/' >"$1/debian.list" || true
		if [ -s "$1/debian.list" ]; then
			# one-line format: convert to deb822 so one file is passed on
			while read -r _ uri suite comps; do
				printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$uri" "$suite" "$comps"
			done <"$1/debian.list" >>"$out"
		fi
		rm -f "$1/debian.list"
	fi
	[ -s "$out" ] || die "no Debian apt sources in /etc/apt (want deb.debian.org stanzas)"
	echo "$out"
}
