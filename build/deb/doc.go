// Package deb holds no code: it is the home of the tests of the Debian packaging in this
// directory and of build/deploy.sh. They run the real maintainer scripts (preinst,
// postinst, postrm) and deploy.sh with fake commands (ssh, scp, deb-systemd-helper, ...)
// first on PATH and fake inputs (/proc/cpuinfo of ARMv6 and ARMv7 boards), so the
// ARMv6 refusal, the was-enabled logic, purge and the architecture picking are checked
// on any machine, without a board, root or systemd. The lab (make test-lab, scenario 11)
// runs the same scripts for real under systemd.
package deb
