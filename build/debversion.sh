#!/usr/bin/env bash
# debversion.sh GITVERSION — a Debian version from `git describe --tags --always --dirty`:
#   v1.2.3              -> 1.2.3
#   v1.2.3-4-gabc1234   -> 1.2.3+git4.abc1234
#   abc1234 (no tag)    -> 0.0~git<commits>.abc1234
#   ...-dirty           -> ...+dirty
set -euo pipefail
v=${1:?usage: debversion.sh GITVERSION}
suffix=""
case $v in *-dirty) v=${v%-dirty} suffix="+dirty" ;; esac
if [[ $v =~ ^v?([0-9][0-9A-Za-z.~+]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
	echo "${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}$suffix"
elif [[ $v =~ ^[0-9a-f]{7,40}$ ]]; then # no tag: an abbreviated commit hash (may start with a digit)
	n=$(git rev-list --count HEAD 2>/dev/null || echo 0)
	echo "0.0~git$n.$v$suffix"
elif [[ $v =~ ^v?([0-9][0-9A-Za-z.~+]*)$ ]]; then
	echo "${BASH_REMATCH[1]}$suffix"
else
	echo "0.0~$(echo "$v" | tr -c 'A-Za-z0-9.~+\n' '.')$suffix"
fi
