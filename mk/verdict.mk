# verdict: judge a Kyverno checkout at every site with one command.
# Included by the top-level Makefile (-include mk/*.mk); see README.md,
# "Gate a Kyverno branch".
#
#   make verdict KYVERNO_SRC=/path/to/kyverno [VERDICT=docs/verdicts/NAME.md]
#
# Builds what the checkout needs (its CLI, its controllers, its install
# manifest, rendered from its chart with Helm when the checkout has none,
# and the conformance suite with the checkout linked in place of the pinned
# module), then runs the whole specification in process (pinned and
# checkout), through the checkout's CLI and at admission (make e2e, local
# provider), each with REQUIRE_CATCHERROR=1, and writes one Markdown
# verdict. Everything is cached by the checkout's commit: a second run
# builds nothing. Exits 1 when a spec fails (after writing the verdict).

.PHONY: verdict
verdict: ## Judge a Kyverno checkout in process, through its CLI and at admission: make verdict KYVERNO_SRC=/path [VERDICT=out.md]
	$(GO) run ./internal/cmd/imagectx verdict -kyverno-src '$(KYVERNO_SRC)' -artifacts '$(ARTIFACTS)' $(if $(VERDICT),-o '$(VERDICT)')
