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

# Fixed identities of the image's file systems (the same on every card: none is a secret;
# machine-id and the ssh host keys, which must differ, are made on the device at first boot).
DISK_ID=0x4564766f # "Edvo": PARTUUIDs 4564766f-01 (boot), 4564766f-02 (root)
ROOT_UUID=4564766f-6963-4520-8000-726f6f746673
ROOT_HASH_SEED=4564766f-6963-4520-8000-686173687365
BOOT_SERIAL=4564766F

# make_root_fs TREE IMG MIB WORKDIR: the ext4 root file system IMG (MIB MiB) from TREE with
# no mount, bit-for-bit the same for the same tree content and SOURCE_DATE_EPOCH.
make_root_fs() {
	local tree=$1 img=$2 mib=$3 work=$4 inodes
	: "${SOURCE_DATE_EPOCH:?make_root_fs needs SOURCE_DATE_EPOCH}"
	inodes=$(find "$tree" | wc -l)
	# every mtime from the commit, no later: also what changed after the caller's clamp (the
	# emptied /boot/firmware mount point was the one difference between two builds)
	find "$tree" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
	rm -f "$img"
	E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -F -t ext4 -L RASPIROOT -U $ROOT_UUID \
		-E root_owner=0:0,hash_seed=$ROOT_HASH_SEED,lazy_itable_init=0 \
		-N $((inodes * 2 + 16384)) -d "$tree" "$img" "${mib}M"
	# mke2fs -d (1.47.0) copies each file's ctime, which no one can set, and its atime, which
	# every read during the build moves (the chroot's programs, find, mke2fs itself): reset both
	(cd "$tree" && find . -printf '%P\n') | LC_ALL=C sort |
		awk -v t="$SOURCE_DATE_EPOCH" '{gsub(/"/, "\\\""); printf "sif \"/%s\" ctime @%s\nsif \"/%s\" atime @%s\n", $0, t, $0, t}' >"$work/ctime.cmd"
	E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH debugfs -w -f "$work/ctime.cmd" "$img" >/dev/null 2>"$work/ctime.err"
	if grep -v '^debugfs [0-9]' "$work/ctime.err" | grep -q .; then
		log "warning: debugfs could not reset some ctimes/atimes (the image will not be bit-for-bit reproducible): $(grep -v '^debugfs [0-9]' "$work/ctime.err" | head -3)"
	fi
	E2FSCK_TIME=$SOURCE_DATE_EPOCH E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH e2fsck -fy "$img" >"$work/e2fsck.out" 2>&1 || [ $? -le 1 ] || die "e2fsck of the new root file system: $(tail -5 "$work/e2fsck.out")"
}
