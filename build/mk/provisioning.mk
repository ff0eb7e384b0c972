# provisioning area: key providers, provisiond, the key socket and the reference broker.
.PHONY: test-provisioning bench-keys keys-demo

# make test-provisioning: the provisioning package and its subcommands under -race
test-provisioning:
	$(GO) test -race -count=1 ./provisioning/...
	$(GO) test -race -count=1 -run 'Provision|Broker|Keys' ./cmd/edgevoice

# make bench-keys: `get` latency on the key socket with prefetch (reports p50/p99 in µs)
bench-keys:
	$(GO) test -run '^$$' -bench 'BenchmarkKeySocketGet' -benchtime 1000x -count 1 ./provisioning/keyd

# make keys-demo: a provisiond + broker pair on loopback in front of the local emulator:
# a device token gets a key, a wrong token gets 401, `keys status`, idle RSS of provisiond.
KEYS_DEMO := $(BIN)/keys-demo
keys-demo: build
	@set -e; rm -rf $(KEYS_DEMO); mkdir -p $(KEYS_DEMO); cd $(KEYS_DEMO); EV=../edgevoice; pids=""; \
	trap 'rc=$$?; kill $$pids 2>/dev/null || true; wait 2>/dev/null || true; exit $$rc' EXIT; \
	printf 'test-api-key\n' > upstream.key; chmod 600 upstream.key; \
	$$EV emulator -listen 127.0.0.1:18443 > emulator.log 2>&1 & pids="$$pids $$!"; \
	$$EV broker -profile azure -deployment gpt-realtime -credential-file upstream.key -pin-session \
	  -mint-url http://127.0.0.1:18443/openai/v1/realtime/client_secrets -sdp-url http://127.0.0.1:18443/openai/v1/realtime/calls \
	  -listen 127.0.0.1:18080 -devices devices > broker.log 2>&1 & pids="$$pids $$!"; \
	$$EV broker add-device -devices devices kitchen > device.token 2>/dev/null; chmod 600 device.token; \
	printf 'evd_%s\n' "not-a-registered-device-token-0000000000000" > wrong.token; chmod 600 wrong.token; \
	sleep 1; echo "== check with the device token"; $$EV check -profile broker -broker-url http://127.0.0.1:18080 -credential-file device.token; \
	echo "== check with a wrong token"; ! $$EV check -profile broker -broker-url http://127.0.0.1:18080 -credential-file wrong.token; \
	../edgevoice-provisiond provisiond -profile broker -broker-url http://127.0.0.1:18080 -credential-file device.token \
	  -socket $$PWD/keys.sock -allow-users $$(id -u) > provisiond.log 2>&1 & ppid=$$!; pids="$$pids $$ppid"; \
	sleep 2; echo "== keys get"; $$EV keys -socket keys.sock get; \
	sleep 3; echo "== keys status (the refill runs 2 s after a hand-out)"; $$EV keys -socket keys.sock status; \
	echo "== provisiond idle memory (bin/edgevoice-provisiond, the key-daemon build the unit runs)"; \
	grep -E 'VmRSS|RssAnon|RssFile' /proc/$$ppid/status
ci-extra: bench-keys
