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

# compare: internal/cmd/imagectx runs each side into $(ARTIFACTS)/compare/{a,b}
# and writes $(ARTIFACTS)/compare.md. A side is an engine name (inprocess,
# kyverno; admission and background-scan through make e2e), the path of a
# kubectl-kyverno binary, or a results-<engine>.json of an earlier run.
.PHONY: compare
compare: ## Behaviour-change report between two engines, CLI builds or results files: make compare A=inprocess B=kyverno
	$(GO) run ./internal/cmd/imagectx compare -artifacts '$(ARTIFACTS)' -provider '$(or $(PROVIDER),local)' '$(A)' '$(B)'
