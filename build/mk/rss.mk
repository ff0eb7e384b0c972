# RSS of `edgevoice run` against the issue-7 goals (idle <= 30 MB, streaming <= 45 MB;
# MB = 10^6 bytes), measured natively from /proc. Not part of ci-extra.
.PHONY: rss-run

RSS_DIR        := $(BIN)/rss-run
RSS_IDLE_MB    ?= 30
RSS_STREAM_MB  ?= 45
RSS_IDLE_SECS  ?= 5
RSS_TALK_SECS  ?= 4
RSS_TURNS      ?= 2

# make rss-run: bin/edgevoice emulator (own process, free loopback port) -> the key daemon
# bin/edgevoice-provisiond (broker profile) -> bin/edgevoice run (simulated board, a
# ~100 s speech WAV as the mic, a WAV file as the speaker, loopback-only WebRTC). The talk
# key is pressed through script(1)'s pty (the simulated board's terminal: space toggles).
# Reads VmRSS/RssAnon/RssFile of the run process idle (max over RSS_IDLE_SECS after the
# first key) and streaming (max over RSS_TURNS talk turns: RSS_TALK_SECS of uplink, then
# the spoken reply), prints VmHWM and the SIGTERM->exit time, and fails if over a goal.
rss-run: build
	@set -e; rm -rf $(RSS_DIR); mkdir -p $(RSS_DIR); D=$$(cd $(RSS_DIR) && pwd); EV=$$PWD/$(BIN)/edgevoice; \
	command -v script >/dev/null || { echo "rss-run: needs script(1) (util-linux) to press the talk key" >&2; exit 2; }; \
	epid=; provpid=; spid=; rpid=; \
	trap 'rc=$$?; exec 3>&- || true; [ -n "$$rpid" ] || rpid=$$(cat /proc/$$spid/task/$$spid/children 2>/dev/null || true); \
	  if [ -n "$$rpid" ]; then kill $$rpid 2>/dev/null || true; i=0; while [ -e /proc/$${rpid%% *} ] && [ $$i -lt 30 ]; do sleep 0.1; i=$$((i+1)); done; fi; \
	  for p in $$spid $$provpid $$epid; do kill $$p 2>/dev/null || true; done; wait 2>/dev/null || true; exit $$rc' EXIT; \
	trap 'exit 130' INT TERM HUP; \
	printf 'rss-run-device-token\n' > $$D/device.token; chmod 600 $$D/device.token; \
	q=cmd/edgevoice/assets/question.wav; \
	{ head -c 40 $$q; printf '\377\377\377\377'; i=0; while [ $$i -lt 40 ]; do tail -c +45 $$q; i=$$((i+1)); done; } > $$D/mic.wav; \
	{ echo '[appliance]'; echo "control_socket = \"$$D/control.sock\""; echo 'log_format = "text"'; \
	  echo '[board]'; echo 'kind = "sim"'; \
	  echo '[audio]'; echo "input_file = \"$$D/mic.wav\""; echo 'pace_files = true'; echo "output_file = \"$$D/reply.wav\""; \
	  echo '[provisioning]'; echo "socket = \"$$D/keys.sock\""; \
	  echo '[rtc]'; echo 'loopback_candidates = true'; echo 'interfaces = ["lo"]'; echo 'allow_ips = ["127.0.0.0/8"]'; } > $$D/run.toml; \
	$$EV emulator -listen 127.0.0.1:0 -device-token rss-run-device-token > $$D/emulator.out 2> $$D/emulator.log & epid=$$!; \
	url=; i=0; while [ -z "$$url" ]; do \
	  url=$$(sed -n 's/^edgevoice emulator on \(http:[^ ]*\) .*/\1/p' $$D/emulator.out); \
	  i=$$((i+1)); [ $$i -le 100 ] || { echo "rss-run: the emulator did not start" >&2; cat $$D/emulator.log >&2; exit 1; }; \
	  [ -n "$$url" ] || sleep 0.1; done; \
	$(BIN)/edgevoice-provisiond provisiond -config "" -profile broker -broker-url $$url -credential-file $$D/device.token \
	  -socket $$D/keys.sock -allow-users $$(id -u) > $$D/provisiond.log 2>&1 & provpid=$$!; \
	mkfifo $$D/keys; \
	script -qfec "exec '$$EV' run -config '$$D/run.toml' 2>'$$D/run.log'" /dev/null < $$D/keys > $$D/terminal.out 2>&1 & spid=$$!; \
	exec 3> $$D/keys; \
	st() { $$EV status -socket $$D/control.sock -json 2>/dev/null | tr -d ' \n' || true; }; \
	waitfor() { i=0; until st | grep -q "$$1"; do i=$$((i+1)); \
	  [ $$i -le 300 ] || { echo "rss-run: no $$2 within 30 s" >&2; tail -20 $$D/run.log >&2; exit 1; }; sleep 0.1; done; }; \
	waitfor '"appliance":{"state":"idle".*"key":{' "idle state with a key"; \
	rpid=$$(st | sed -n 's/.*"pid":\([0-9]*\).*/\1/p'); [ -n "$$rpid" ] && [ -r /proc/$$rpid/status ] || { echo "rss-run: no pid from edgevoice status" >&2; exit 1; }; \
	i=0; until grep -q 'keys: space' $$D/terminal.out; do i=$$((i+1)); [ $$i -le 100 ] || { echo "rss-run: no terminal" >&2; exit 1; }; sleep 0.1; done; \
	rss=; sample() { cur=$$(awk '/^(VmRSS|RssAnon|RssFile):/{printf "%s ", $$2}' /proc/$$rpid/status); \
	  if [ -z "$$rss" ] || [ $${cur%% *} -gt $${rss%% *} ]; then rss=$$cur; fi; }; \
	mb() { awk -v k=$$1 'BEGIN{printf "%.1f MB", k*1024/1e6}'; }; \
	show() { l=$$1; set -- $$2; printf '%-10s VmRSS %s  (RssAnon %s, RssFile %s)' "$$l" "$$(mb $$1)" "$$(mb $$2)" "$$(mb $$3)"; }; \
	i=0; while [ $$i -lt $(RSS_IDLE_SECS) ]; do sleep 1; sample; i=$$((i+1)); done; idle=$$rss; \
	rss=; n=0; t=0; while [ $$t -lt $(RSS_TURNS) ]; do t=$$((t+1)); \
	  printf ' ' >&3; waitfor '"appliance":{"state":"listening".*"session":{"state":"connected"' "listening on a connected session (turn $$t)"; \
	  i=0; while [ $$i -lt $$(($(RSS_TALK_SECS)*2)) ]; do sleep 0.5; sample; n=$$((n+1)); i=$$((i+1)); done; \
	  printf ' ' >&3; waitfor '"appliance":{"state":"speaking"' "a spoken reply (turn $$t)"; \
	  i=0; while [ $$i -lt 40 ] && st | grep -q '"appliance":{"state":"speaking"'; do sample; n=$$((n+1)); i=$$((i+1)); sleep 0.25; done; \
	done; stream=$$rss; \
	turns=$$(st | sed -n 's/.*"turns":\([0-9]*\).*/\1/p'); \
	hwm=$$(awk '/^VmHWM:/{print $$2}' /proc/$$rpid/status); \
	echo "== edgevoice run (pid $$rpid): sim board, WAV mic/speaker, keys from edgevoice-provisiond, emulator in its own process"; \
	rc=0; lim() { awk -v mb=$$1 'BEGIN{printf "%d", mb*1e6/1024}'; }; \
	show idle "$$idle"; if [ $${idle%% *} -le $$(lim $(RSS_IDLE_MB)) ]; then echo "  goal <= $(RSS_IDLE_MB) MB: ok"; else echo "  goal <= $(RSS_IDLE_MB) MB: OVER"; rc=1; fi; \
	show streaming "$$stream"; if [ $${stream%% *} -le $$(lim $(RSS_STREAM_MB)) ]; then echo "  goal <= $(RSS_STREAM_MB) MB: ok"; else echo "  goal <= $(RSS_STREAM_MB) MB: OVER"; rc=1; fi; \
	echo "           (idle: max of $(RSS_IDLE_SECS) samples; streaming: max of $$n samples over $$turns talk turns)"; \
	echo "peak       VmHWM $$(mb $$hwm) (whole run, start-up included)"; \
	echo "== edgevoice status after the turns (the emulator runs as its own process)"; $$EV status -socket $$D/control.sock || true; \
	echo "== state changes (run.log)"; grep 'msg=state' $$D/run.log | sed 's/.* from=/  from=/' | head -30 || true; \
	t0=$$(date +%s%N); kill -TERM $$rpid; i=0; while kill -0 $$rpid 2>/dev/null; do i=$$((i+1)); [ $$i -le 500 ] || break; sleep 0.01; done; \
	t1=$$(date +%s%N); if kill -0 $$rpid 2>/dev/null; then echo "rss-run: run still running 5 s after SIGTERM" >&2; rc=1; else rpid=; fi; \
	echo "SIGTERM -> exit: $$(( (t1-t0)/1000000 )) ms"; \
	grep -q 'msg=stopped' $$D/run.log || { echo "rss-run: run did not log a clean stop:" >&2; tail -5 $$D/run.log >&2; rc=1; }; \
	exit $$rc
