# ci-extra: the slower suites CI runs after `make test`. Areas append prerequisites
# with `ci-extra: <target>` in their own fragment.
.PHONY: ci-extra
ci-extra:
	@echo "ci-extra: done"
