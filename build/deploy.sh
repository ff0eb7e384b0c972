#!/usr/bin/env bash
# deploy.sh HOST [DEBARCH] — build the .deb, copy it to HOST (user@board, ssh), install
# it, restart the units (when the board is configured) and show their status.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:?usage: build/deploy.sh user@board [arm64|armhf]}
debarch=${2:-arm64}
case $debarch in arm64) arch=arm64 ;; armhf | armv7) arch=armv7 debarch=armhf ;; *) echo "deploy: unknown arch $debarch" >&2; exit 2 ;; esac
build/deb.sh "$arch"
gitver=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
deb=dist/edgevoice_$(build/debversion.sh "$gitver")_${debarch}.deb
# The board must match: dpkg refuses a foreign architecture with a clear message.
scp "$deb" "$host:/tmp/"
ssh "$host" "set -e
	sudo apt-get install -y /tmp/$(basename "$deb")
	rm -f /tmp/$(basename "$deb")
	if [ -e /etc/edgevoice/credential ]; then sudo systemctl restart edgevoice-provisioning edgevoice; fi
	edgevoice version
	sudo edgevoice check-config -q /etc/edgevoice/edgevoice.toml && echo 'config: OK'
	systemctl --no-pager status edgevoice-provisioning edgevoice || true
	edgevoice status || true"
