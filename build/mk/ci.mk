# ci-extra: the slower suites CI runs after `make test`. Areas append prerequisites
# with `ci-extra: <target>` in their own fragment.
.PHONY: ci-extra
ci-extra:
	@echo "ci-extra: done"

# the slow suites (EDGEVOICE_SLOW=1: rtc loss sweep 5/10/20 % and the 200-connect stall
# histogram, the 10 s paced-capture timing, the 1-hour resampler drift run); about 2 min
ci-extra: test-slow
