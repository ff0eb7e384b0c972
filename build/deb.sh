#!/usr/bin/env bash
# deb.sh ARCH — build dist/edgevoice_<version>_<debarch>.deb with nfpm, then check it:
# the file list (dpkg-deb -c) against build/deb/contents.txt, and lintian (no errors).
#
#   ARCH  arm64 or armv7 (Debian armhf)
#
# The binary comes from build/cross.sh (built here when missing or older than the
# sources). nfpm is installed by build/install-deps.sh (go install, pinned version).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:?usage: build/deb.sh arm64|armv7}
case $arch in
arm64) debarch=arm64 ;;
armv7 | armhf) arch=armv7 debarch=armhf ;;
*)
	echo "deb: unknown ARCH $arch" >&2
	exit 2
	;;
esac

gitver=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
version=$(build/debversion.sh "$gitver")
bin=bin/edgevoice-linux-$arch
kbin=bin/edgevoice-provisiond-linux-$arch
if [ ! -x "$bin" ] || [ ! -x "$kbin" ] || [ -n "$(find cmd hw dsp rtc realtime emulator provisioning go.mod -newer "$bin" -name '*.go' -print -quit 2>/dev/null)" ]; then
	VERSION=$gitver build/cross.sh "$arch" "$bin"
fi

NFPM=${NFPM:-$(command -v nfpm || echo "$(go env GOPATH)/bin/nfpm")}
[ -x "$NFPM" ] || {
	echo "deb: nfpm not found; run build/install-deps.sh" >&2
	exit 1
}

# The newest glibc symbol version the binary needs (cgo links against glibc).
glibc=$(objdump -T "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
glibc=${glibc:-2.36}

work=dist/deb-$debarch
rm -rf "$work"
mkdir -p "$work"
# Debian wants a changelog (gzip -9n: reproducible) and a copyright file in the doc dir.
{
	echo "edgevoice ($version) unstable; urgency=medium"
	echo
	echo "  * Built from git $(git rev-parse --short HEAD 2>/dev/null || echo unknown) ($gitver)."
	echo
	echo " -- edgevoice maintainers <maintainers@edgevoice.dev>  $(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n >"$work/changelog.gz"
gzip -9n <build/deb/edgevoice.1 >"$work/edgevoice.1.gz"
gzip -9n <build/deb/edgevoice-provisiond.1 >"$work/edgevoice-provisiond.1.gz"

cat >"$work/nfpm.yaml" <<YAML
name: edgevoice
arch: $debarch
platform: linux
version: $version
version_schema: none
section: sound
priority: optional
maintainer: edgevoice maintainers <maintainers@edgevoice.dev>
homepage: https://github.com/edgevoice/edgevoice
license: Apache-2.0
description: |-
  push-to-talk voice appliance for Linux boards
  edgevoice turns a Raspberry-Pi-class board with a talk button, LEDs, a
  microphone array and a speaker into a voice appliance: it streams speech over
  WebRTC to a realtime speech-to-speech model (Azure OpenAI or OpenAI) and plays
  the spoken answer. A separate provisioning daemon fetches the short-lived keys,
  so long-lived credentials never reach the audio process.
depends:
  - libasound2
  - libopus0
  - libc6 (>= $glibc)
contents:
  - src: $bin
    dst: /usr/bin/edgevoice
    file_info: {mode: 0755}
  - src: $kbin
    dst: /usr/bin/edgevoice-provisiond
    file_info: {mode: 0755}
  - src: systemd/edgevoice.service
    dst: /lib/systemd/system/edgevoice.service
    file_info: {mode: 0644}
  - src: systemd/edgevoice-provisioning.service
    dst: /lib/systemd/system/edgevoice-provisioning.service
    file_info: {mode: 0644}
  - src: systemd/edgevoice.sysusers
    dst: /usr/lib/sysusers.d/edgevoice.conf
    file_info: {mode: 0644}
  - src: systemd/edgevoice.tmpfiles
    dst: /usr/lib/tmpfiles.d/edgevoice.conf
    file_info: {mode: 0644}
  - src: systemd/60-edgevoice.rules
    dst: /lib/udev/rules.d/60-edgevoice.rules
    file_info: {mode: 0644}
  - src: configs/edgevoice.toml
    dst: /etc/edgevoice/edgevoice.toml
    type: config|noreplace
    file_info: {mode: 0644}
  - src: systemd/edgevoice.default
    dst: /etc/default/edgevoice
    type: config|noreplace
    file_info: {mode: 0644}
  - src: README.md
    dst: /usr/share/doc/edgevoice/README.md
    file_info: {mode: 0644}
  - src: $work/edgevoice.1.gz
    dst: /usr/share/man/man1/edgevoice.1.gz
    file_info: {mode: 0644}
  - src: $work/edgevoice-provisiond.1.gz
    dst: /usr/share/man/man1/edgevoice-provisiond.1.gz
    file_info: {mode: 0644}
  - src: build/deb/copyright
    dst: /usr/share/doc/edgevoice/copyright
    file_info: {mode: 0644}
  - src: $work/changelog.gz
    dst: /usr/share/doc/edgevoice/changelog.gz
    file_info: {mode: 0644}
  - src: configs/dev.toml
    dst: /usr/share/doc/edgevoice/examples/dev.toml
    file_info: {mode: 0644}
  - src: configs/broker.toml
    dst: /usr/share/doc/edgevoice/examples/broker.toml
    file_info: {mode: 0644}
YAML
for f in configs/boards/*.toml; do
	[ -e "$f" ] || continue
	printf '  - src: %s\n    dst: /usr/share/doc/edgevoice/examples/boards/%s\n    file_info: {mode: 0644}\n' "$f" "$(basename "$f")" >>"$work/nfpm.yaml"
done
cat >>"$work/nfpm.yaml" <<YAML
scripts:
  postinstall: build/deb/postinst
  preremove: build/deb/prerm
  postremove: build/deb/postrm
YAML

deb=dist/edgevoice_${version}_${debarch}.deb
rm -f "$deb"
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) "$NFPM" pkg --config "$work/nfpm.yaml" --packager deb --target "$deb" >/dev/null
echo "deb: $deb ($(du -h "$deb" | cut -f1))"
build/check-deb.sh "$deb"
