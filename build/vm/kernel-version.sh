#!/usr/bin/env bash
# kernel-version.sh — the guest kernel's ABI version (e.g. 6.1.0-37-amd64): the package
# linux-image-amd64 depends on in this machine's apt indexes. The rootfs installs exactly
# that linux-image-<version>, and the out-of-tree modules are built against the matching
# linux-headers-<version>, so the two cannot drift apart. EDGEVOICE_VM_KERNEL overrides it.
set -euo pipefail
if [ -n "${EDGEVOICE_VM_KERNEL:-}" ]; then
	echo "$EDGEVOICE_VM_KERNEL"
	exit 0
fi
dep=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | sort -V | tail -1)
if [ -z "$dep" ]; then
	echo "kernel-version: linux-image-amd64 not in the apt indexes (apt-get update?)" >&2
	exit 1
fi
echo "$dep"
