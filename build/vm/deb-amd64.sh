#!/usr/bin/env bash
# deb-amd64.sh [TREE] [OUTDIR] — a stop-gap that builds an amd64 edgevoice .deb for the VM
# lab from a git tree (default: this repository's HEAD) in a scratch clone, with the
# tree's own packaging (build/cross.sh + build/deb.sh), which today knows only arm64 and
# armhf: the clone's copies get an amd64 case (the host gcc and /usr/lib/x86_64-linux-gnu).
# Nothing in TREE is changed. Prints the .deb's path on the last line.
#
# Once the packaging builds amd64 itself, point build/vm/run.sh at that .deb instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=${1:-$(cd "$here/../.." && pwd)}
out=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/vm/deb}
mkdir -p "$out"
scratch=$(mktemp -d /tmp/edgevoice-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

git clone -q "$tree" "$scratch/src"
cd "$scratch/src"
# The clone has no tags when TREE has none: keep the version git describe gives in TREE.
gitver=$(git -C "$tree" describe --tags --always 2>/dev/null || echo dev)
sed -i 's/^arm64) goarch=arm64 goarm= cc=aarch64-linux-gnu-gcc triplet=aarch64-linux-gnu ;;$/&\namd64) goarch=amd64 goarm= cc=gcc triplet=x86_64-linux-gnu ;;/' build/cross.sh
sed -i 's/^arm64) debarch=arm64 ;;$/&\namd64) debarch=amd64 ;;/' build/deb.sh
grep -q '^amd64)' build/cross.sh && grep -q '^amd64)' build/deb.sh || {
	echo "deb-amd64: could not add an amd64 case to build/cross.sh or build/deb.sh (packaging changed?)" >&2
	exit 1
}
# deb.sh ends with build/check-deb.sh (file list, control fields, lintian); its verdict is
# shown but does not stop the lab, which tests what the package does once installed.
VERSION=$gitver build/deb.sh amd64 >&2 || echo "deb-amd64: warning: build/deb.sh or its checks failed (see above)" >&2
deb=$(ls -t dist/edgevoice_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || {
	echo "deb-amd64: no dist/edgevoice_*_amd64.deb was built" >&2
	exit 1
}
cp "$deb" "$out/"
echo "$out/$(basename "$deb")"
