# edgevoice — build and test entry points. Targets stay short and call go directly;
# each area adds its own targets in build/mk/*.mk.
GO      ?= go
PKGS    ?= ./...
# evaluated once (not per recipe), so both .deb files of one `make deb` get the same version
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
endif
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin

.PHONY: all deps build test test-fast vet test-slow ci clean
all: build

deps:
	bash build/install-deps.sh

# build: bin/edgevoice (everything) and bin/edgevoice-provisiond, the key daemon alone
# (tag provisiond: no pion, malgo, libopus or periph), which
# edgevoice-provisioning.service runs so the long-lived daemon stays small (RSS).
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/edgevoice ./cmd/edgevoice
	$(GO) build -trimpath -tags provisiond -ldflags '$(LDFLAGS)' -o $(BIN)/edgevoice-provisiond ./cmd/edgevoice

vet:
	$(GO) vet $(PKGS)

# make test: vet + the fast unit tests under the race detector. Slow suites (soak,
# interop, cross-arch) are separate targets that CI also runs.
test: deps vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# the same without the race detector or the installer, for a quick edit loop
test-fast:
	$(GO) test -count=1 $(PKGS)

# slow suites: EDGEVOICE_SLOW=1 enables the tests that skip themselves by default
test-slow:
	EDGEVOICE_SLOW=1 $(GO) test -count=1 -timeout 40m $(PKGS)

clean:
	rm -rf $(BIN) dist

-include build/mk/*.mk
