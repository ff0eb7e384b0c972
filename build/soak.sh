#!/usr/bin/env bash
# make soak [SOAK_DURATION=1h]: talk turns through the control socket against the local
# emulator for SOAK_DURATION with a fault every 10th turn (internal/soak); prints a
# summary table (turns, answered, reported, RSS, goroutines) and fails on a stuck or lost
# turn, RSS outside ±3 MB of its value after 10 turns, or growing goroutines. Built
# without the race detector (its shadow memory would swamp the RSS check).
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${SOAK_DURATION:-1h}
echo "soak: $dur of turns against the emulator (internal/soak)"
EDGEVOICE_SOAK=$dur exec ${GO:-go} test -tags "${TAGS:-nolibopusfile}" -count=1 -timeout 0 -v -run '^TestSoak$' ./internal/soak/
