# Scenario 11: the package's life cycle, as Debian policy and dh_installsystemd's
# maintainer-script snippets have it. Run last (after stop-clean): it upgrades, removes
# and purges the package.
#   - an admin's `systemctl disable edgevoice` (and stop) survives an upgrade: the unit
#     stays disabled and is not started (deb-systemd-helper's was-enabled logic);
#   - an upgrade over a locally edited conffile, with a new maintainer version of it,
#     run non-interactively with the options `make deploy` uses
#     (-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold), does not
#     stop at the conffile question: the admin's file stays, the new one is put beside it
#     as .dpkg-dist;
#   - remove (dpkg --remove): both units stopped, their processes gone, the conffiles and the credential
#     kept, the package in state rc;
#   - purge (dpkg --purge): the conffiles gone (and dpkg's .dpkg-dist beside them), /var/lib state
#     removed, no enablement symlinks left, the system users kept.
DPKG_OPTS=(-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# apt_run ACTION ARGS...: apt-get non-interactively, stdin closed (a conffile prompt
# then fails instead of waiting), bounded; output in $OUT/lifecycle-ACTION.log
apt_run() {
	local action=$1
	shift
	DEBIAN_FRONTEND=noninteractive timeout 180 apt-get -y "${DPKG_OPTS[@]}" "$@" </dev/null >"$OUT/lifecycle-$action.log" 2>&1
}
pkg_status() { dpkg-query -W -f='${db:Status-Abbrev}${Version}' edgevoice 2>/dev/null; }
unit_procs() { pgrep -u edgevoice,edgevoice-keys -l 2>/dev/null | tr '\n' ' '; }

scenario_11_lifecycle() {
	begin 11-package-lifecycle
	local up
	up=$(ls /tmp/debs-upgrade/edgevoice_*.deb 2>/dev/null | head -1)
	if [ -z "$up" ]; then
		fail "no upgrade package given to the runner (build/test-lab.sh passes build/vm/bump-deb.sh's)"
		end
		return
	fi
	local v0 v1
	v0=$(dpkg-query -W -f='${Version}' edgevoice)
	v1=$(dpkg-deb -f "$up" Version)
	note "installed $v0, upgrade $v1"
	# the admin: disables (and stops) the appliance, edits the config
	systemctl disable --now edgevoice.service >/dev/null 2>&1
	systemctl start edgevoice-provisioning.service >/dev/null 2>&1
	echo "# lab: a local edit by the admin" >>/etc/edgevoice/edgevoice.toml
	local md5_local
	md5_local=$(md5sum </etc/edgevoice/edgevoice.toml)
	# upgrade
	local t0 rc
	t0=$(ms)
	apt_run upgrade install "$up"
	rc=$?
	extra_str upgrade_log "$(tail -12 "$OUT/lifecycle-upgrade.log")"
	if [ $rc -ne 0 ]; then
		fail "the upgrade to $v1 failed (exit $rc$([ $rc = 124 ] && echo ': timed out, a prompt?')): $(grep -i -E 'conffile|error|prompt' "$OUT/lifecycle-upgrade.log" | head -3 | tr '\n' ' ')"
	else
		note "upgrade to $v1 in $(($(ms) - t0)) ms, no prompt"
	fi
	[ "$(dpkg-query -W -f='${Version}' edgevoice)" = "$v1" ] || fail "after the upgrade edgevoice is $(pkg_status), want $v1 installed"
	local en act
	en=$(systemctl is-enabled edgevoice.service 2>&1)
	act=$(systemctl is-active edgevoice.service 2>&1)
	note "after the upgrade: edgevoice.service $en/$act; edgevoice-provisioning.service $(systemctl is-enabled edgevoice-provisioning.service 2>&1)/$(systemctl is-active edgevoice-provisioning.service 2>&1)"
	[ "$en" = disabled ] || fail "the admin's 'systemctl disable edgevoice' was undone by the upgrade: is-enabled says '$en' (the postinst must enable only units that were enabled: deb-systemd-helper was-enabled)"
	[ "$act" != active ] || fail "the disabled edgevoice.service was started by the upgrade"
	[ "$(md5sum </etc/edgevoice/edgevoice.toml)" = "$md5_local" ] || fail "the upgrade replaced the locally edited /etc/edgevoice/edgevoice.toml (want it kept: --force-confold)"
	[ -f /etc/edgevoice/edgevoice.toml.dpkg-dist ] || fail "no /etc/edgevoice/edgevoice.toml.dpkg-dist after an upgrade with a changed conffile over a local edit"
	# remove
	systemctl enable --now edgevoice.service >/dev/null 2>&1 # running units, so remove has something to stop
	wait_until 30 unit_running edgevoice-provisioning.service
	# remove and purge with dpkg (the same maintainer scripts as apt-get's; apt's
	# resolver costs 5 s a call under TCG)
	timeout 180 dpkg --remove edgevoice </dev/null >"$OUT/lifecycle-remove.log" 2>&1 || fail "dpkg --remove edgevoice failed: $(tail -3 "$OUT/lifecycle-remove.log" | tr '\n' ' ')"
	local u
	for u in edgevoice.service edgevoice-provisioning.service; do
		[ "$(systemctl is-active $u 2>&1)" != active ] || fail "$u is still active after remove"
	done
	sleep 1
	[ -z "$(unit_procs)" ] || fail "processes of the package's users are left after remove: $(unit_procs)"
	[[ "$(pkg_status)" == rc* ]] || fail "after remove edgevoice is '$(pkg_status)', want rc (config files kept)"
	[ -f /etc/edgevoice/edgevoice.toml ] || fail "remove deleted the conffile /etc/edgevoice/edgevoice.toml (only purge may)"
	[ -f /etc/edgevoice/credential ] || fail "remove deleted /etc/edgevoice/credential"
	note "after remove: $(pkg_status); /etc/edgevoice: $(ls /etc/edgevoice | tr '\n' ' ')"
	# purge
	timeout 180 dpkg --purge edgevoice </dev/null >"$OUT/lifecycle-purge.log" 2>&1 || fail "dpkg --purge edgevoice failed: $(tail -3 "$OUT/lifecycle-purge.log" | tr '\n' ' ')"
	[ -z "$(dpkg-query -W -f='${db:Status-Abbrev}' edgevoice 2>/dev/null | grep -v '^un')" ] || fail "after purge dpkg still knows edgevoice: $(pkg_status)"
	local f
	for f in /etc/edgevoice/edgevoice.toml /etc/default/edgevoice /etc/edgevoice/edgevoice.toml.dpkg-dist; do
		[ ! -e "$f" ] || fail "$f is left after purge"
	done
	for f in /var/lib/edgevoice /var/lib/edgevoice-keys; do
		[ ! -e "$f" ] || fail "the state directory $f is left after purge"
	done
	local links
	links=$(find /etc/systemd/system \( -name edgevoice.service -o -name edgevoice-provisioning.service \) 2>/dev/null | tr '\n' ' ')
	[ -z "$links" ] || fail "enablement or mask links left after purge: $links"
	for u in edgevoice edgevoice-keys; do id "$u" >/dev/null 2>&1 || fail "purge removed the system user $u (Debian policy: keep it)"; done
	note "after purge: /etc/edgevoice $([ -d /etc/edgevoice ] && echo "holds: $(ls -A /etc/edgevoice | tr '\n' ' ')" || echo gone); users kept: $(id -un edgevoice 2>/dev/null) $(id -un edgevoice-keys 2>/dev/null)"
	end
}
