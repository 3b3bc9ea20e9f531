# fakeregistry: the in-process OCI registry with a fault layer. Included by the
# top-level Makefile (-include mk/*.mk); see fakeregistry/README.md.
#
#   make fakeregistry-test                  race tests (about 15 s; retry cases in parallel)
#   make fakeregistry-bench                 fault layer vs go-containerregistry's bare handler
#   make fakeregistry-serve                 serve FAKEREGISTRY_CONFIG until Ctrl-C
#   make fakeregistry-serve FAKEREGISTRY_CONFIG=my.yaml FAKEREGISTRY_LISTEN=0.0.0.0:5000

FAKEREGISTRY_CONFIG ?= fakeregistry/testdata/every-fault.yaml
FAKEREGISTRY_LISTEN ?= 127.0.0.1:0
FAKEREGISTRY_BENCH_COUNT ?= 5

.PHONY: fakeregistry-test fakeregistry-bench fakeregistry-serve
fakeregistry-test: ## Race tests of fakeregistry and cmd/fakeregistry (every fault pulled through ggcr remote)
	$(GO) test -race ./fakeregistry/...

fakeregistry-bench: ## Manifest GET benchmarks: fault layer vs ggcr's bare registry handler
	$(GO) test -run '^$$' -bench . -count $(FAKEREGISTRY_BENCH_COUNT) ./fakeregistry

fakeregistry-serve: ## Run cmd/fakeregistry on FAKEREGISTRY_CONFIG (prints host:port, Ctrl-C stops it)
	$(GO) run ./fakeregistry/cmd/fakeregistry --config $(FAKEREGISTRY_CONFIG) --listen $(FAKEREGISTRY_LISTEN)
