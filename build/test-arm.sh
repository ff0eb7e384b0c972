#!/usr/bin/env bash
# test-arm.sh — cross-arch tests under qemu-user (binfmt_misc is not mounted here, so
# every ARM binary is started through the emulator explicitly):
#   1. the test binaries of every cgo-free package, built with CGO_ENABLED=0 for arm64 and
#      armv7 and run under qemu-aarch64-static / qemu-arm-static (correctness only);
#   2. a cgo smoke test of the real arm64 and armv7 binaries (malgo + libopus, from
#      build/cross.sh): `edgevoice version` and `edgevoice-provisiond version` (each must
#      print VERSION, the one stamped in), and `edgevoice demo` (a full turn against the
#      emulator).
# ARCHES="arm64 armv7" and PKGS (default: all cgo-free packages with tests) narrow it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# the version cross.sh stamps in; both binaries must report it (a wrong -X path leaves "dev")
export VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
arches=${ARCHES:-arm64 armv7}
out=$root/dist/test-arm
mkdir -p "$out"

# Packages that need cgo: those with cgo files of their own, those that do not build
# without cgo, and those depending (also through their tests) on one of them. The
# dependencies are listed with CGO_ENABLED=0, as the packages are built here, so a
# package that reaches libopus only through a file with a !cgo stand-in (the emulator:
# without cgo it refuses WebSocket calls) runs. go list -test names a package's test
# variants "P [P.test]", "P_test [P.test]" (the external test package) and "P.test"
# (the test main): all count as P, so a dependency of P's external tests marks P too.
declare -A cgo=()
pkgof() { local k=${1%% *}; k=${k%_test}; echo "${k%.test}"; }
while IFS='|' read -r p n; do
	[ "$n" != 0 ] && cgo[$(pkgof "$p")]=1
done < <(go list -e -f '{{.ImportPath}}|{{len .CgoFiles}}' ./...)
mapfile -t lines < <(CGO_ENABLED=0 go list -e -test -f '{{.ImportPath}}|{{if or .Error .DepsErrors}}1{{else}}0{{end}}|{{join .Deps " "}}' ./...)
for l in "${lines[@]}"; do
	IFS='|' read -r p n _ <<<"$l"
	[ "$n" = 1 ] && cgo[$(pkgof "$p")]=1
done
for l in "${lines[@]}"; do
	IFS='|' read -r p _ deps <<<"$l"
	for d in $deps; do
		if [ -n "${cgo[$d]:-}" ] || [[ $d == github.com/gen2brain/malgo* ]] || [[ $d == gopkg.in/hraban/opus.v2* ]]; then
			cgo[$(pkgof "$p")]=1
			break
		fi
	done
done
mapfile -t withtests < <(go list -e -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ${PKGS:-./...})
pkgs=()
skipped=()
for p in "${withtests[@]}"; do
	if [ -n "${cgo[$p]:-}" ]; then skipped+=("${p#github.com/edgevoice/edgevoice/}"); else pkgs+=("$p"); fi
done
echo "test-arm: ${#pkgs[@]} cgo-free packages with tests; cgo (covered by the smoke test): ${skipped[*]:-none}"

# Tests that cannot run under qemu-user here: TestKeySocketPeerOtherUser re-execs its own
# test binary (as another user), which needs binfmt_misc to start an ARM binary (not
# mounted); emulator's TestBargeIn compares packet counts against real-time pacing, which
# emulation on a loaded machine does not keep (timing under qemu means nothing; it runs
# natively in make test); tools/mcp's TestStdio starts its own test binary as the stdio
# MCP server, which needs binfmt_misc the same way.
QEMU_SKIP=${QEMU_SKIP:-'^(TestKeySocketPeerOtherUser|TestBargeIn|TestStdio)$'}

fail=0
for arch in $arches; do
	case $arch in
	arm64) goarch=arm64 goarm= qemu=qemu-aarch64-static triplet=aarch64-linux-gnu ;;
	armv7) goarch=arm goarm=7 qemu=qemu-arm-static triplet=arm-linux-gnueabihf ;;
	*)
		echo "test-arm: unknown arch $arch" >&2
		exit 2
		;;
	esac
	command -v $qemu >/dev/null || {
		echo "test-arm: $qemu not found; run build/install-deps.sh" >&2
		exit 1
	}
	for p in "${pkgs[@]}"; do
		rel=${p#github.com/edgevoice/edgevoice}
		rel=${rel#/}
		name=$(echo "${rel:-root}" | tr / _)
		bin=$out/$arch-$name.test
		if ! CGO_ENABLED=0 GOARCH=$goarch GOARM=$goarm go test -c -o "$bin" "$p" 2>"$out/$arch-$name.build.log"; then
			echo "FAIL  $arch $rel (build)"
			sed 's/^/      /' "$out/$arch-$name.build.log"
			fail=1
			continue
		fi
		[ -x "$bin" ] || continue # no test files after all
		start=$(date +%s)
		if (cd "./$rel" && EDGEVOICE_QEMU=1 timeout 1200 $qemu "$bin" -test.short -test.count=1 -test.timeout=19m -test.skip "$QEMU_SKIP" >"$out/$arch-$name.log" 2>&1); then
			echo "ok    $arch $rel ($(($(date +%s) - start))s)"
		else
			echo "FAIL  $arch $rel"
			tail -30 "$out/$arch-$name.log" | sed 's/^/      /'
			fail=1
		fi
	done

	# cgo smoke test of the real binary, dynamic libs from multiarch (-L /).
	build/cross.sh "$arch" >/dev/null
	bin=bin/linux-$arch/edgevoice
	if v=$(timeout 120 $qemu -L / "$bin" version 2>&1) && [[ $v == *" $VERSION" ]]; then
		echo "ok    $arch edgevoice version: $v"
	else
		echo "FAIL  $arch edgevoice version: \"$v\", want it to end in \" $VERSION\""
		fail=1
	fi
	# the key daemon from the same cross.sh run: its own commands, not the appliance's
	kbin=bin/linux-$arch/edgevoice-provisiond
	if v=$(timeout 120 $qemu -L / "$kbin" version 2>&1) && [[ $v == *" $VERSION" ]] && kh=$(timeout 60 $qemu -L / "$kbin" help 2>&1 || true) &&
		grep -q '^  provisiond ' <<<"$kh" && ! grep -q '^  run ' <<<"$kh"; then
		echo "ok    $arch edgevoice-provisiond version: $v"
	else
		echo "FAIL  $arch edgevoice-provisiond: version \"$v\" (want it to end in \" $VERSION\") or its commands are not the key daemon's"
		fail=1
	fi
	start=$(date +%s)
	if timeout 300 $qemu -L / "$bin" demo -out "$out/$arch-reply.wav" >"$out/$arch-demo.log" 2>&1; then
		echo "ok    $arch edgevoice demo ($(($(date +%s) - start))s under qemu)"
		sed 's/^/      /' "$out/$arch-demo.log" | tail -20
	else
		echo "FAIL  $arch edgevoice demo"
		tail -30 "$out/$arch-demo.log" | sed 's/^/      /'
		fail=1
	fi
done
[ $fail = 0 ] && echo "test-arm: PASS" || {
	echo "test-arm: FAIL" >&2
	exit 1
}
