#!/usr/bin/env bash
# check-deb.sh DEB — the package lists exactly the expected files (build/deb/contents.txt
# plus the board examples under configs/boards/), has the expected control fields and
# conffiles, and lintian reports no errors.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:?usage: build/check-deb.sh DEB}

want=$(mktemp)
got=$(mktemp)
trap 'rm -f "$want" "$got"' EXIT
{
	cat build/deb/contents.txt
	for f in configs/boards/*.toml; do
		if [ -e "$f" ]; then echo "./usr/share/doc/edgevoice/examples/boards/$(basename "$f")"; fi
	done
} | sort >"$want"
# files only (directories are implied), as paths
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sort >"$got"
if ! diff -u "$want" "$got"; then
	echo "check-deb: $deb: file list differs from build/deb/contents.txt (- expected, + in the package)" >&2
	exit 1
fi
fail=0
check() { # field expected
	v=$(dpkg-deb -f "$deb" "$1")
	if [ "$v" != "$2" ]; then
		echo "check-deb: $deb: $1 is \"$v\", want \"$2\"" >&2
		fail=1
	fi
}
check Package edgevoice
dep=$(dpkg-deb -f "$deb" Depends)
case "$dep" in "libasound2, libopus0, libspeexdsp1, libc6 (>= "*")") ;; *)
	echo "check-deb: $deb: Depends is \"$dep\", want libasound2, libopus0, libspeexdsp1 and libc6" >&2
	fail=1
	;;
esac
conf=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | sort | tr '\n' ' ')
[ "$conf" = "/etc/default/edgevoice /etc/edgevoice/edgevoice.toml " ] || {
	echo "check-deb: conffiles are \"$conf\"" >&2
	fail=1
}
dpkg-deb -c "$deb" | awk '$1 ~ /^d/ && $6=="./etc/edgevoice/edgevoice.toml.d/" {f=1} END {exit !f}' || {
	echo "check-deb: $deb lacks the drop-in directory /etc/edgevoice/edgevoice.toml.d/" >&2
	fail=1
}
mode=$(dpkg-deb -c "$deb" | awk '$6=="./usr/bin/edgevoice" {print $1}')
[ "$mode" = "-rwxr-xr-x" ] || {
	echo "check-deb: /usr/bin/edgevoice has mode $mode" >&2
	fail=1
}
[ $fail = 0 ] || exit 1
echo "check-deb: $deb: $(wc -l <"$got") files as expected, Depends and conffiles OK"

if command -v lintian >/dev/null; then
	# --fail-on error: warnings are shown but only errors fail the build.
	# copyright-file-contains-full-apache-2-license: build/copyright keeps a module's
	# third-party listing whole (modernc.org/sqlite's LICENSE-3RD-PARTY.md, reviewed and
	# pinned in build/copyright/license.go, embeds one component's Apache-2.0 text)
	# rather than editing it; Debian would prefer a pointer to common-licenses there.
	out=$(lintian --fail-on error --suppress-tags copyright-file-contains-full-apache-2-license \
		--tag-display-limit 0 "$deb" 2>&1) && rc=0 || rc=$?
	[ -n "$out" ] && echo "$out"
	if [ $rc -ne 0 ]; then
		echo "check-deb: lintian found errors in $deb" >&2
		exit 1
	fi
	echo "check-deb: lintian: no errors ($(printf '%s\n' "$out" | grep -c '^W:' || true) warnings)"
else
	echo "check-deb: lintian not installed; run build/install-deps.sh" >&2
	exit 1
fi
