# e2e: Pod admission and policy reports with a real API server and the real
# Kyverno admission and reports controllers. Included by the top-level
# Makefile (-include mk/*.mk); see e2e/README.md.
#
#   make e2e                               PROVIDER: kind when a container engine
#                                          answers `docker info`, else local
#   make e2e PROVIDER=local                etcd + kube-apiserver + Kyverno as host processes
#   make e2e PROVIDER=existing KUBECONFIG=~/.kube/config E2E_WEBHOOK_TIMEOUT=10
#   make e2e LABEL_FILTER='fault:missing && catch:off'
#
# ARTIFACTS gets e2e-junit.xml, e2e.log, and logs/ (kube-apiserver, etcd, Kyverno)
# when a spec failed. E2E_REQUIRED=1 fails instead of skipping when the
# provider cannot run here; REQUIRE_CATCHERROR=1 fails the catchError specs
# on a Kyverno without the field. KYVERNO_SRC=/path/to/checkout runs a fork.

E2E_ENGINE   ?= docker
PROVIDER     ?= $(shell $(E2E_ENGINE) info >/dev/null 2>&1 && echo kind || echo local)
# Evaluations at once in the suite's one process (they mostly wait for
# webhooks and PolicyReports).
E2E_CONCURRENCY ?= 8
E2E_WEBHOOK_TIMEOUT ?= 5
E2E_GINKGO_FLAGS ?= --randomize-all --keep-going --poll-progress-after=120s --timeout=50m

export E2E_WEBHOOK_TIMEOUT E2E_CONCURRENCY

.PHONY: e2e e2e-build e2e-plan
e2e-plan: ## Say what make e2e would build for PROVIDER (nothing is built)
	@$(GO) run ./internal/cmd/imagectx e2e-build -dry-run -provider '$(PROVIDER)'

e2e-build: ## Build (or find cached) etcd, kube-apiserver and the Kyverno controllers
	@$(GO) run ./internal/cmd/imagectx e2e-build -provider '$(PROVIDER)'

e2e: e2e-build ## Admission and report specs against a real API server and Kyverno (PROVIDER=local|kind|existing, LABEL_FILTER, ARTIFACTS)
	$(GO) run ./internal/cmd/imagectx e2e -provider '$(PROVIDER)' -artifacts '$(ARTIFACTS)' -ginkgo '$(GINKGO)' \
		$(if $(LABEL_FILTER),-label-filter '$(LABEL_FILTER)') -- $(E2E_GINKGO_FLAGS)
