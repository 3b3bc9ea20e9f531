# imagectx conformance harness. `make help` lists the targets.
# Other engineers' targets live in mk/<name>.mk (included at the end).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
GINKGO    ?= $(GO) tool ginkgo
ENGINE    ?= inprocess
ARTIFACTS ?= $(CURDIR)/_artifacts
# Ginkgo label filter for the suites, e.g. LABEL_FILTER='fault:missing && catch:on'.
LABEL_FILTER ?=
# Extra scenario folders, colon-separated (kept next to your Kyverno fork).
SCENARIOS ?=
# Ginkgo flags shared by the suite targets.
# No -p: the suite runs its evaluations concurrently in one process.
GINKGO_FLAGS ?= --randomize-all --fail-on-empty --keep-going --poll-progress-after=60s
# The suite is compiled once into the git-ignored cache and run precompiled:
# `go test -c` reuses the Go build cache's linked binary (3 s warm), where
# `ginkgo ./suites/...` relinks Kyverno's engine on every run (about 20 s).
SUITE_PKG := ./suites/conformance
SUITE_BIN_PINNED := $(CURDIR)/.cache/bin/conformance.test
SUITE_BIN := $(SUITE_BIN_PINNED)
SUITE_BIN_RACE := $(CURDIR)/.cache/bin/conformance-race.test
# KYVERNO_SRC=/path/to/kyverno links that checkout into the in-process engine
# in place of the pinned module (a go.work replace in the cache), so the
# suites judge the branch in process too; its binaries are kept apart.
# The go.work pins the checkout's own dependency versions
# (tools/kyverno/gowork.sh); binaries are keyed by the checkout's commit.
SUITE_GOWORK :=
ifneq ($(KYVERNO_SRC),)
ifeq ($(ENGINE),inprocess)
KYVERNO_SRC_KEY := $(shell git -C '$(KYVERNO_SRC)' rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
SUITE_GOWORK := $(CURDIR)/.cache/kyverno-src/$(KYVERNO_SRC_KEY).go.work
# -trimpath and no cgo, as tools/kyverno/build.sh builds the checkout's
# CLI: with the same dependency versions, Go's build cache shares the
# compiled packages (not for the race build, which needs cgo).
SRC_TRIMPATH := -trimpath
SRC_CGO := CGO_ENABLED=0
SRC_LDFLAGS := -X 'github.com/imagectx/conformance/engine/inprocess.linkedCheckout=$(KYVERNO_SRC) at $(shell git -C '$(KYVERNO_SRC)' rev-parse HEAD 2>/dev/null)'

SUITE_BIN := $(CURDIR)/.cache/bin/conformance-src-$(KYVERNO_SRC_KEY).test
SUITE_BIN_RACE := $(CURDIR)/.cache/bin/conformance-src-$(KYVERNO_SRC_KEY)-race.test
endif
endif
UNIT_PKGS  = $$($(GO) list ./... | grep -v -e /suites/ -e '/e2e$$')

export ENGINE ARTIFACTS SCENARIOS

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_.-]+:.*?## ' $(MAKEFILE_LIST) | sort -u | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.PHONY: lint
lint: ## gofmt (must list nothing) and go vet
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: suite-bin suite-bin-race suite-gowork
suite-bin: suite-gowork ## Compile the conformance suite into .cache/bin (cached by the Go build cache)
	@mkdir -p $(dir $(SUITE_BIN))
	@echo "==> compiling the conformance suite: Kyverno's engine is linked in$(if $(KYVERNO_SRC), from KYVERNO_SRC=$(KYVERNO_SRC)) (cold 4-11 min on 2 cores, then cached: 3 s)"
	$(SRC_CGO) GOWORK=$(if $(SUITE_GOWORK),$(SUITE_GOWORK),off) $(GO) test -c $(SRC_TRIMPATH) -ldflags="-s -w $(SRC_LDFLAGS)" -o $(SUITE_BIN) $(SUITE_PKG)

# suite-bin-path: the suite binary's path, last line (imagectx run).
.PHONY: suite-bin-path
suite-bin-path: suite-bin
	@echo '$(SUITE_BIN)'

suite-bin-race: suite-gowork
	@mkdir -p $(dir $(SUITE_BIN_RACE))
	@echo "==> compiling the conformance suite with the race detector$(if $(KYVERNO_SRC), from KYVERNO_SRC=$(KYVERNO_SRC)) (cold 5-13 min on 2 cores, then cached: 3 s)"
	GOWORK=$(if $(SUITE_GOWORK),$(SUITE_GOWORK),off) $(GO) test -c -race $(SRC_TRIMPATH) -ldflags="-s -w $(SRC_LDFLAGS)" -o $(SUITE_BIN_RACE) $(SUITE_PKG)

# suite-cover: the suite with coverage of COVERPKG (comma-separated import
# paths) into COVER_BIN; make mutants runs it once per source.
.PHONY: suite-cover
suite-cover: suite-gowork
	@test -n '$(COVERPKG)' -a -n '$(COVER_BIN)' || { echo "usage: make suite-cover COVERPKG=pkg,... COVER_BIN=path"; exit 2; }
	@mkdir -p $(dir $(COVER_BIN))
	$(SRC_CGO) GOWORK=$(if $(SUITE_GOWORK),$(SUITE_GOWORK),off) $(GO) test -c -cover -covermode=count -coverpkg=$(COVERPKG) $(SRC_TRIMPATH) -ldflags="-s -w $(SRC_LDFLAGS)" -o $(COVER_BIN) $(SUITE_PKG)

suite-gowork:
ifneq ($(SUITE_GOWORK),)
	@tools/kyverno/gowork.sh '$(KYVERNO_SRC)' $(SUITE_GOWORK) >/dev/null
	@echo "==> linking $(KYVERNO_SRC) ($(KYVERNO_SRC_KEY)) in place of github.com/kyverno/kyverno, its dependency versions pinned ($(SUITE_GOWORK))"
endif

.PHONY: test
test: suite-bin-race ## Unit tests (race) for all packages, then the suites on the default engine (race, parallel, randomized)
	$(GO) test -race $(UNIT_PKGS)
	@mkdir -p $(ARTIFACTS)
	ENGINE=inprocess $(GINKGO) $(GINKGO_FLAGS) \
		$(if $(LABEL_FILTER),--label-filter='$(LABEL_FILTER)') $(SUITE_BIN_RACE)

.PHONY: conformance
# The cluster engines run make e2e's scenario specs (imagectx run starts the
# cluster; PROVIDER and E2E_GINKGO_FLAGS as for make e2e); the others the
# precompiled conformance suite.
CLUSTER_ENGINE := $(filter admission background-scan,$(ENGINE))
conformance: $(if $(CLUSTER_ENGINE),,suite-bin) ## The whole scenario suite on ENGINE (default inprocess: Kyverno's engine in process; admission and background-scan start a cluster as make e2e does), then print a summary (engines, failing specs; make matrix prints the whole matrix)
	@$(GO) run ./internal/cmd/imagectx run -engine '$(ENGINE)' -artifacts '$(ARTIFACTS)' -ginkgo '$(GINKGO)' \
		$(if $(CLUSTER_ENGINE),-provider '$(PROVIDER)',-suite-bin '$(SUITE_BIN)') \
		$(if $(LABEL_FILTER),-label-filter '$(LABEL_FILTER)') -- $(if $(CLUSTER_ENGINE),$(E2E_GINKGO_FLAGS),$(GINKGO_FLAGS))

.PHONY: matrix
matrix: ## Print the conformance matrix from $(ARTIFACTS)/results-*.json (also written to conformance-matrix.md)
	@$(GO) run ./internal/cmd/imagectx matrix $(ARTIFACTS)

.PHONY: migration
migration: ## The migration report, ClusterPolicy beside its CEL translation per registry fault, from $(ARTIFACTS)/results-$(ENGINE).json (make conformance writes both)
	@test -f $(ARTIFACTS)/results-$(ENGINE).json || $(MAKE) --no-print-directory conformance
	$(GO) run ./internal/cmd/imagectx migration -results $(ARTIFACTS)/results-$(ENGINE).json -o $(ARTIFACTS)/migration.md scenarios $(subst :, ,$(SCENARIOS))

.PHONY: catalogue
catalogue: ## Regenerate docs/error-strings.md from the scenarios
	$(GO) run ./internal/cmd/imagectx catalogue -o docs/error-strings.md scenarios

.PHONY: schema
schema: ## Regenerate docs/scenario.schema.json and docs/scenario-fields.md (the scenario format's JSON Schema and field-by-field docs) from the Go types; go test ./internal/scenario/schema fails when they are stale
	$(GO) run ./internal/cmd/imagectx schema -o docs/scenario.schema.json -fields docs/scenario-fields.md

.PHONY: figures
figures: ## Render docs/figures.md from docs/figures.yaml; RECORD=<artifacts folder> NOTE=<what> first adds that run's figures (go test ./internal/figures fails when the page is stale)
	$(GO) run ./internal/cmd/imagectx figures $(if $(RECORD),-record '$(RECORD)' -note '$(NOTE)')

.PHONY: check-catalogue
check-catalogue: ## Fail when docs/error-strings.md is stale
	$(GO) run ./internal/cmd/imagectx catalogue -check -o docs/error-strings.md scenarios

-include mk/*.mk
