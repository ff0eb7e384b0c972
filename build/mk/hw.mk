# hw area: buttons, LEDs, board, simulated board.
HW_PKGS := ./hw/board/... ./hw/button/... ./hw/led/... ./hw/sim/... ./hw/hwsmoketest/...

.PHONY: test-hw test-hw-gpiotest bench-hw fuzz-hw sim
test-hw:
	$(GO) vet $(HW_PKGS)
	$(GO) test -race -count=1 $(HW_PKGS)

# The button tests over periph's gpiotest.Pin (part of `make test` as well).
test-hw-gpiotest:
	$(GO) test -race -count=1 -run Gpiotest ./hw/button/

# LED engine cost (Step work, real engine CPU by getrusage, bare-timer baseline).
bench-hw:
	$(GO) test -run XXX -bench . -benchtime 1s ./hw/led/

fuzz-hw:
	$(GO) test -run XXX -fuzz FuzzDebounce -fuzztime 15s ./hw/button/

# the simulated board in this terminal (space = talk, m = mute, +/- volume, q = quit)
sim:
	$(GO) run ./cmd/edgevoice sim -config ""

