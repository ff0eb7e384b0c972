#!/usr/bin/env bash
# test-aec-arm.sh: hw/aec's tests (the room's ERLE and double-talk bars, the reference line,
# the delay change, 0 allocations) built with cgo for arm64 and armhf against Debian's
# multiarch libspeexdsp and run under qemu-user, plus the CPU per 10 ms frame
# (BenchmarkProcess; under qemu the figure is the emulator's, not the board's).
# Work files: dist/test-aec-ARCH/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
for arch in ${ARCHES:-arm64 armhf}; do
	case $arch in
	arm64) goarch=arm64 goarm= cc=aarch64-linux-gnu-gcc triplet=aarch64-linux-gnu qemu=qemu-aarch64-static ;;
	armhf | armv7) goarch=arm goarm=7 cc=arm-linux-gnueabihf-gcc triplet=arm-linux-gnueabihf qemu=qemu-arm-static ;;
	*)
		echo "test-aec-arm: unknown arch $arch (want arm64 or armhf)" >&2
		exit 2
		;;
	esac
	command -v "$cc" >/dev/null && command -v "$qemu" >/dev/null || {
		echo "test-aec-arm: needs $cc and $qemu; run build/install-deps.sh" >&2
		exit 1
	}
	[ -f "/usr/lib/$triplet/pkgconfig/speexdsp.pc" ] || {
		echo "test-aec-arm: libspeexdsp-dev:${goarch/arm/armhf} missing; run build/install-deps.sh" >&2
		exit 1
	}
	out=$root/dist/test-aec-$arch
	mkdir -p "$out"
	rm -f "$out"/*.test
	env CGO_ENABLED=1 GOARCH=$goarch GOARM=$goarm CC=$cc \
		PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig PKG_CONFIG_PATH= \
		go test -tags "${TAGS:-nolibopusfile}" -c -o "$out/aec.test" ./hw/aec
	echo "test-aec-arm: $arch"
	# from the package's directory: the tests read the repo's speech clip by relative path
	(cd hw/aec && timeout 600 "$qemu" -L / "$out/aec.test" -test.count=1 -test.v -test.run . \
		-test.bench "Process|Path" -test.benchtime 300x) | grep -E '^(--- |ok|PASS|FAIL|Benchmark)|room_test|reference_test|path_test' || {
		echo "test-aec-arm: $arch failed" >&2
		exit 1
	}
done
