#!/usr/bin/env bash
# modules.sh — build (or reuse) the out-of-tree kernel modules the lab loads into Debian's
# kernel, which leaves them out or cripples them: gpio-sim (simulated GPIO chips with named
# lines, plus the irq_sim helper it needs) and dummy_hcd_iso (dummy_hcd with isochronous
# endpoints, so a USB Audio Class 2 gadget binds; build/vm/kmod/dummy_hcd_iso.py). Sources
# come from linux-source-6.1 (/usr/src), the build runs against
# linux-headers-<guest kernel> (build/vm/install-deps.sh installs both).
#
#   build/vm/modules.sh        # prints the directory holding gpio-sim-oot.ko and dummy_hcd_iso.ko
#
# Cached under $EDGEVOICE_VM_CACHE/modules-<kernel>-<hash> (the hash covers this script
# and the source tarball's package version): a module is tied to the guest kernel's exact
# ABI, so a new kernel version gets a new build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${EDGEVOICE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgevoice/vm}
kver=$("$here/kernel-version.sh")
kdir=/usr/src/linux-headers-$kver
tarball=/usr/src/linux-source-6.1.tar.xz
[ -d "$kdir" ] || {
	echo "modules: $kdir missing; run build/vm/install-deps.sh" >&2
	exit 1
}
[ -f "$tarball" ] || {
	echo "modules: $tarball missing; run build/vm/install-deps.sh" >&2
	exit 1
}
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$({
	cat "$0" "$here/kmod/dummy_hcd_iso.py"
	echo "$srcver"
} | sha256sum | cut -c1-12)
dir=$cache/modules-$kver-$key
if [ -f "$dir/ok" ]; then
	echo "modules: cached $dir" >&2
	echo "$dir"
	exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/modules-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
echo "modules: extracting gpio-sim and dummy_hcd sources from linux-source-6.1 $srcver (about 20 s)" >&2
tar -C "$tmp" -xJf "$tarball" --strip-components=1 \
	linux-source-6.1/drivers/gpio/gpio-sim.c linux-source-6.1/drivers/gpio/gpiolib.h \
	linux-source-6.1/kernel/irq/irq_sim.c linux-source-6.1/drivers/usb/gadget/udc/dummy_hcd.c

# gpio-sim: gpio-sim.c + irq_sim.c in one module. 6.1 does not export irq_to_desc(), which
# irq_sim's work function uses only to call handle_simple_irq on the descriptor;
# generic_handle_irq(irq) does the same through exported API.
mkdir -p "$tmp/gpio-sim"
cp "$tmp/drivers/gpio/gpio-sim.c" "$tmp/drivers/gpio/gpiolib.h" "$tmp/kernel/irq/irq_sim.c" "$tmp/gpio-sim/"
sed -i 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' "$tmp/gpio-sim/irq_sim.c"
grep -q 'generic_handle_irq(irqnum);' "$tmp/gpio-sim/irq_sim.c" || {
	echo "modules: irq_sim.c changed upstream; the irq_to_desc patch no longer applies" >&2
	exit 1
}
printf 'obj-m := gpio-sim-oot.o\ngpio-sim-oot-y := gpio-sim.o irq_sim.o\n' >"$tmp/gpio-sim/Kbuild"
echo "modules: building gpio-sim-oot.ko against $kver" >&2
make -s -C "$kdir" M="$tmp/gpio-sim" modules >&2

# dummy_hcd_iso: dummy_hcd.c with ISO endpoints served (a distinct module name, so it is
# never confused with Debian's dummy_hcd.ko, which must not be loaded beside it).
mkdir -p "$tmp/dummy_hcd"
python3 "$here/kmod/dummy_hcd_iso.py" "$tmp/drivers/usb/gadget/udc/dummy_hcd.c" "$tmp/dummy_hcd/dummy_hcd_iso.c"
printf 'obj-m := dummy_hcd_iso.o\n' >"$tmp/dummy_hcd/Kbuild"
echo "modules: building dummy_hcd_iso.ko against $kver" >&2
make -s -C "$kdir" M="$tmp/dummy_hcd" modules >&2

mkdir -p "$tmp/out"
cp "$tmp/gpio-sim/gpio-sim-oot.ko" "$tmp/dummy_hcd/dummy_hcd_iso.ko" "$tmp/out/"
echo "$kver" >"$tmp/out/kernel-version"
touch "$tmp/out/ok"
rm -rf "$dir"
mv "$tmp/out" "$dir"
echo "modules: built $dir in $(($(date +%s) - t0)) s" >&2
echo "$dir"
