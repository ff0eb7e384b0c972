#!/usr/bin/env bash
# prefetch.sh: build (or find in the caches) the root filesystems the VM suites boot: the
# lab's amd64 system and its out-of-tree modules (build/vm/rootfs.sh, modules.sh) and the
# image's arm64 base tree (build/image/base.sh), at the lowest CPU and I/O priority.
# .ci/run starts it in the background at the beginning, so that a machine with empty
# caches builds them while lint and the Go suites run; with warm caches it ends in
# seconds. Its last line says how it ended.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
rc=0
for step in build/vm/rootfs.sh build/vm/modules.sh build/image/base.sh; do
	echo "prefetch: $step"
	nice -n 19 ionice -c 2 -n 7 "$step" || {
		rc=$?
		echo "prefetch: $step failed (exit $rc); the suite that needs it builds it again"
		break
	}
done
echo "prefetch: exit $rc after $(($(date +%s) - start)) s"
exit $rc
