#!/usr/bin/env bash
# deb.sh ARCH...: build dist/edgevoice_<version>_<debarch>.deb for each ARCH with nfpm
# (build/deb/nfpm.yaml, a static config; nfpm pinned in build/tools/go.mod), then check it
# with build/check-deb.sh (file list, control fields, conffiles, lintian).
#
#   ARCH  arm64, armv7 (Debian armhf) or amd64 (x86-64 boards and the VM lab)
#
# The binaries are always rebuilt first (build/cross.sh; go's build cache makes that cheap
# when nothing changed), so a package never carries a binary older than its version says.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: build/deb.sh arm64|armv7|amd64..." >&2; exit 2; }

gitver=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
version=$(build/debversion.sh "$gitver")
epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)

for arch in "$@"; do
	case $arch in
	arm64) debarch=arm64 ;;
	armv7 | armhf) arch=armv7 debarch=armhf ;;
	amd64 | x86_64) arch=amd64 debarch=amd64 ;;
	*)
		echo "deb: unknown ARCH $arch (want arm64, armv7 or amd64)" >&2
		exit 2
		;;
	esac
	VERSION=$gitver build/cross.sh "$arch"
	bin=bin/linux-$arch

	# the newest glibc symbol version the binaries need (cgo links against glibc)
	glibc=$(objdump -T "$bin/edgevoice" "$bin/edgevoice-provisiond" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
	[ -n "$glibc" ] || { echo "deb: no GLIBC symbol versions in $bin (objdump -T)" >&2; exit 1; }

	work=dist/deb-$debarch
	rm -rf "$work"
	mkdir -p "$work"
	# Debian wants a changelog (gzip -9n: reproducible) and a copyright file in the doc dir.
	{
		echo "edgevoice ($version) unstable; urgency=medium"
		echo
		echo "  * Built from git $(git rev-parse --short HEAD 2>/dev/null || echo unknown) ($gitver)."
		echo
		echo " -- edgevoice maintainers <maintainers@edgevoice.dev>  $(date -R -d "@$epoch")"
	} | gzip -9n >"$work/changelog.gz"
	for m in edgevoice edgevoice-provisiond; do
		gzip -9n <"build/deb/$m.1" >"$work/$m.1.gz"
	done
	# edgevoice.toml(5): the template plus every key of the config structs (build/configman)
	go run ./build/configman -o "$work/edgevoice.toml.5" build/deb/edgevoice.toml.5.in
	gzip -9n "$work/edgevoice.toml.5"
	# the copyright file lists the modules linked into these binaries (their build info;
	# the module cache that built them has the license files, so this works offline)
	go run ./build/copyright -o "$work/copyright" "$bin/edgevoice" "$bin/edgevoice-provisiond"

	deb=dist/edgevoice_${version}_${debarch}.deb
	rm -f "$deb"
	DEB_ARCH=$debarch DEB_VERSION=$version GLIBC=$glibc BIN=$bin WORK=$work SOURCE_DATE_EPOCH=$epoch \
		go tool -modfile=build/tools/go.mod nfpm pkg --config build/deb/nfpm.yaml --packager deb --target "$deb" >/dev/null
	echo "deb: $deb ($(du -h "$deb" | cut -f1))"
	build/check-deb.sh "$deb"
done
