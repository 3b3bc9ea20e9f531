# mutants: how many broken builds of Kyverno's image-data code and of this
# project's contract packages the specification catches.
# Included by the top-level Makefile (-include mk/*.mk); see README.md.
#
#   make mutants MUTANTS=50              a seeded sample of 50 covered mutants (about 35 s each warm)
#   make mutants                         every covered mutant of the default files (resumes)
#   make mutants MUTANTS_LIVED=1         only the survivors (after new scenarios: which they kill)
#   make mutants KYVERNO_SRC=/src/kyverno MUTANTS_FILES=pkg/a.go,pkg/b.go MUTANTS_CONTRACT=
#
# Not part of .ci/run: the first suite build of a Kyverno copy takes minutes.

MUTANTS ?= 0
MUTANTS_SEED ?= 1
MUTANTS_TIMEOUT ?= 4m
MUTANTS_JOBS ?= 2
MUTANTS_LIVED ?=
MUTANTS_FILES ?=
MUTANTS_CONTRACT ?= default

.PHONY: mutants mutants-report
mutants-report: ## The mutation report from the results judged so far (judges nothing)
	$(GO) run ./internal/cmd/imagectx mutants -report -n $(MUTANTS) -seed $(MUTANTS_SEED) -o $(ARTIFACTS) \
		$(if $(KYVERNO_SRC),-src $(KYVERNO_SRC)) $(if $(MUTANTS_FILES),-files $(MUTANTS_FILES)) \
		$(if $(filter default,$(MUTANTS_CONTRACT)),,-contract '$(MUTANTS_CONTRACT)')

mutants: ## Mutation run over Kyverno's image-data files and the contract packages (MUTANTS=N samples N): kill rate in $(ARTIFACTS)/mutants.md
	$(GO) run ./internal/cmd/imagectx mutants -n $(MUTANTS) -seed $(MUTANTS_SEED) -timeout $(MUTANTS_TIMEOUT) -j $(MUTANTS_JOBS) $(if $(MUTANTS_LIVED),-lived) -o $(ARTIFACTS) \
		$(if $(KYVERNO_SRC),-src $(KYVERNO_SRC)) $(if $(MUTANTS_FILES),-files $(MUTANTS_FILES)) \
		$(if $(filter default,$(MUTANTS_CONTRACT)),,-contract '$(MUTANTS_CONTRACT)')
