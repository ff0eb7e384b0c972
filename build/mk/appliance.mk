# appliance area: cross builds, packaging, deploy, cross-arch tests, the demo and the
# simulated appliance. The logic lives in build/*.sh; targets only call them.
.PHONY: arm64 armv7 cross deb deb-arm64 deb-armhf deploy test-arm demo run configs size

# make arm64 / make armv7: bin/edgevoice-linux-ARCH (cgo, Debian cross compilers, multiarch libopus)
arm64:
	VERSION=$(VERSION) build/cross.sh arm64
armv7:
	VERSION=$(VERSION) build/cross.sh armv7
cross: arm64 armv7

# make deb: dist/edgevoice_<version>_arm64.deb and _armhf.deb, each checked (dpkg-deb -c
# against build/deb/contents.txt, control fields, conffiles, lintian with no errors)
deb: deb-arm64 deb-armhf
deb-arm64: deps
	VERSION=$(VERSION) build/deb.sh arm64
deb-armhf: deps
	VERSION=$(VERSION) build/deb.sh armv7

# make deploy HOST=user@board [DEB_ARCH=arm64|armhf]: copy the .deb, install, restart, show status
DEB_ARCH ?= arm64
deploy:
	@test -n "$(HOST)" || { echo "usage: make deploy HOST=user@board [DEB_ARCH=arm64|armhf]" >&2; exit 2; }
	VERSION=$(VERSION) build/deploy.sh $(HOST) $(DEB_ARCH)

# make test-arm: cgo-free test binaries and a cgo smoke test (version, demo) under qemu
test-arm: deps
	build/test-arm.sh

# make demo: one full talk turn on a simulated board against the local emulator
demo: deps build
	$(BIN)/edgevoice demo -out $(BIN)/demo-reply.wav

# make run: the interactive simulated appliance (terminal talk key, emulator)
run: build
	$(BIN)/edgevoice run -config configs/dev.toml -emulator

# make configs: regenerate configs/edgevoice.toml from the config section structs
configs:
	$(GO) test -count=1 -run 'TestExampleConfig$$' ./cmd/edgevoice -update

# make size: the stripped arm64 binary size (goal: at most 20 MB)
size: arm64
	@ls -l bin/edgevoice-linux-arm64 | awk '{printf "arm64 stripped: %.1f MB (%d bytes)\n", $$5/1e6, $$5}'

ci-extra: test-arm deb
