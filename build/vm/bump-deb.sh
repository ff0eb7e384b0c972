#!/usr/bin/env bash
# bump-deb.sh DEB OUTDIR — the lab's upgrade package (scenario 11): the same package
# repacked with a higher version (<version>+lab1, which dpkg orders after <version>) and a
# changed conffile (a comment appended to /etc/edgevoice/edgevoice.toml), so an upgrade
# over a locally edited config meets dpkg's conffile question. Prints the new .deb's path.
set -euo pipefail
deb=${1:?usage: bump-deb.sh DEB OUTDIR}
out=${2:?usage: bump-deb.sh DEB OUTDIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -R "$deb" "$tmp/pkg"
v=$(dpkg-deb -f "$deb" Version)
nv="$v+lab1"
sed -i "s/^Version: .*/Version: $nv/" "$tmp/pkg/DEBIAN/control"
conf=$tmp/pkg/etc/edgevoice/edgevoice.toml
[ -f "$conf" ] || {
	echo "bump-deb: $deb has no /etc/edgevoice/edgevoice.toml" >&2
	exit 1
}
printf '\n# (lab upgrade package %s: the maintainer changed this file)\n' "$nv" >>"$conf"
if [ -f "$tmp/pkg/DEBIAN/md5sums" ]; then
	(cd "$tmp/pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum) >"$tmp/pkg/DEBIAN/md5sums"
fi
mkdir -p "$out"
new=$out/$(dpkg-deb -f "$deb" Package)_${nv}_$(dpkg-deb -f "$deb" Architecture).deb
dpkg-deb --root-owner-group -Zgzip -z1 -b "$tmp/pkg" "$new" >/dev/null
echo "$new"
