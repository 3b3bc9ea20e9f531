# Kyverno CLI: build, engine prerequisites and behaviour-change reports.
# Included by the top-level Makefile (-include mk/*.mk).
#
#   make kyverno-cli                         build/cache kubectl-kyverno (tools/kyverno)
#   make conformance ENGINE=kyverno          builds the CLI first, then the suite
#   make compare A=inprocess B=kyverno       behaviour-change report, $(ARTIFACTS)/compare.md
#   make compare A=kyverno B=/path/to/kubectl-kyverno
#   make compare A=inprocess B=admission     the in-process engine vs Kyverno's admission controller (make e2e)
#
# KYVERNO_CLI=/path uses an existing binary; KYVERNO_SRC=/path/to/checkout
# builds a local Kyverno checkout (both are read by tools/kyverno/build.sh
# and by the engine).

KYVERNO_BUILD := tools/kyverno/build.sh

.PHONY: kyverno-cli
kyverno-cli: ## Build the Kyverno CLI into .cache/bin (KYVERNO_CLI=path uses one, KYVERNO_SRC=checkout builds a fork)
	@nice -n 10 $(KYVERNO_BUILD) >/dev/null

# engine-prereqs builds what ENGINE needs before a suite run.
.PHONY: engine-prereqs
engine-prereqs: ## Build what ENGINE needs (the Kyverno CLI for ENGINE=kyverno)
ifeq ($(ENGINE),kyverno)
engine-prereqs: kyverno-cli
conformance: kyverno-cli
endif

# compare runs the suite once per side into $(ARTIFACTS)/compare/{a,b} and
# diffs the two results files. A side is an engine name (inprocess,
# kyverno) or the path of a kubectl-kyverno binary.
.PHONY: compare
compare: suite-bin ## Behaviour-change report between two engines or CLI builds: make compare A=inprocess B=kyverno
	@if [ -z "$(A)" ] || [ -z "$(B)" ]; then \
		echo "usage: make compare A=<engine name or kubectl-kyverno path> B=<...>"; exit 2; fi
	@set -euo pipefail; \
	side() { \
		local label=$$1 spec=$$2 dir=$(ARTIFACTS)/compare/$$1 engine cli=""; \
		if [ -f "$$spec" ]; then \
			[ -x "$$spec" ] || { echo "compare: $$label=$$spec is not executable"; return 1; }; \
			engine=kyverno; cli=$$(cd "$$(dirname "$$spec")" && pwd)/$$(basename "$$spec"); \
		else \
			engine=$$spec; \
			if [ "$$engine" = kyverno ]; then cli=$$(nice -n 10 $(KYVERNO_BUILD)); fi; \
		fi; \
		rm -rf "$$dir"; mkdir -p "$$dir"; \
		echo "==> compare $$label: ENGINE=$$engine$${cli:+ KYVERNO_CLI=$$cli} (results in $$dir)"; \
		local status=0; \
		if [ "$$engine" = admission ] || [ "$$engine" = background-scan ]; then \
			echo "    $$label: the scenarios through make e2e PROVIDER=$(or $(PROVIDER),local) (a real API server and Kyverno's controllers)"; \
			$(MAKE) --no-print-directory e2e PROVIDER=$(or $(PROVIDER),local) ARTIFACTS="$$dir" LABEL_FILTER='area:scenarios' \
				> "$$dir/suite.log" 2>&1 || status=$$?; \
		else \
		env ENGINE=$$engine ARTIFACTS=$$dir $${cli:+KYVERNO_CLI=$$cli} \
			$(GINKGO) $(GINKGO_FLAGS) $(if $(LABEL_FILTER),--label-filter='$(LABEL_FILTER)') $(SUITE_BIN) \
			> "$$dir/suite.log" 2>&1 || status=$$?; \
		fi; \
		if [ ! -f "$$dir/results-$$engine.json" ]; then \
			echo "compare: the $$label run wrote no $$dir/results-$$engine.json (exit $$status); last lines of $$dir/suite.log:"; \
			tail -n 30 "$$dir/suite.log"; return 1; \
		fi; \
		echo "    $$label: exit $$status, $$(grep -c '"outcome"' "$$dir/results-$$engine.json") specs"; \
		printf '%s\n' "$$dir/results-$$engine.json" > "$$dir/results.path"; \
		[ -n "$$cli" ] && printf '%s\n' "$$cli" > "$$dir/cli.path" || true; \
	}; \
	side a '$(A)'; side b '$(B)'; \
	name() { local n=$$1; [ -f "$$n" ] && n="$$n ($$("$$n" version 2>/dev/null | sed -n 's/^Version: //p'))"; echo "$$n"; }; \
	$(GO) run ./internal/cmd/conformance-report compare \
		-a "$$(cat $(ARTIFACTS)/compare/a/results.path)" -a-name "$$(name '$(A)')" \
		-b "$$(cat $(ARTIFACTS)/compare/b/results.path)" -b-name "$$(name '$(B)')" \
		-o $(ARTIFACTS)/compare.md
