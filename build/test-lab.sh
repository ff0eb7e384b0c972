#!/usr/bin/env bash
# test-lab.sh [run.sh options]: build the amd64 package from this tree (build/deb.sh amd64,
# checked by check-deb and lintian; a clean tree's package of the same version is reused)
# and run the VM lab with it
# (build/vm/run.sh: Debian bookworm under QEMU with gpio-sim and a UAC2 USB sound card,
# the package installed through apt; lab/README.md lists the scenarios). The report is
# dist/lab/report.json; the exit status is run.sh's (0 all passed, 1 a scenario failed,
# 2 the run broke). The guest installs the package, and scenario 11 upgrades it to the
# same files repacked as a newer version (build/vm/bump-deb.sh). Host packages:
# build/vm/install-deps.sh, once (build/install-deps.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean tree's package of this very version (an earlier test-lab or build/deb.sh amd64 on
# this commit built it) is used as it is; anything else is rebuilt.
gitver=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
deb=dist/edgevoice_$(build/debversion.sh "$gitver")_amd64.deb
if [[ $gitver == *-dirty || $gitver == dev || ! -f $deb ]]; then
	rm -f dist/edgevoice_*_amd64.deb
	build/deb.sh amd64
	deb=$(ls dist/edgevoice_*_amd64.deb)
else
	echo "test-lab: using $deb (built from this commit, clean tree)"
fi
# scenario 11's upgrade: the same package as <version>+lab1 with a changed conffile
rm -rf dist/lab/upgrade
upgrade=$(build/vm/bump-deb.sh "$deb" dist/lab/upgrade)
exec build/vm/run.sh "$@" "$deb" "$upgrade"
