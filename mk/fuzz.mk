# fuzz: bad input never crashes the harness. Included by the top-level
# Makefile (-include mk/*.mk); see README.md, "Start here".
#
#   make fuzz                    each target for 60 s, one after another
#   make fuzz FUZZTIME=5m        longer; FUZZTIME=100000x counts executions
#
# Three Go fuzz targets, each over the inputs users write: FuzzParse
# (internal/scenario, a scenario file), FuzzParseConfig (fakeregistry, a
# registry config) and FuzzStrip (engine/inprocess/catcherror, the policies
# whose catchError keys are removed before Kyverno reads them). Each runs
# for FUZZTIME; the first failure stops make, with the input written to
# the package's testdata/fuzz/<target>/ (commit it with the fix: plain
# `go test`, and so `make test`, replays that folder and the seeds).
#
# FUZZMINIMIZETIME bounds the minimizing of each new input: with Go's
# default (60 s) one several-KB scenario file stalls a 60 s run; a crasher
# is written whether or not its minimizing finishes. FuzzStrip links
# Kyverno: its first build takes minutes, and it runs slower (each
# execution strips a policy three times and decodes it twice).
#
# Go 1.26 can end a time-bounded run with a bare "context deadline
# exceeded" and no input written (golang/go#75804, fixed in Go 1.27): that
# is not a finding; run again, or count executions (FUZZTIME=100000x).

FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 1s
FUZZ_FLAGS = -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME)

.PHONY: fuzz
fuzz: ## Fuzz the scenario loader, the fake registry's config and the catchError strip, FUZZTIME each (60s)
	$(GO) test $(FUZZ_FLAGS) -fuzz '^FuzzParse$$' ./internal/scenario
	$(GO) test $(FUZZ_FLAGS) -fuzz '^FuzzParseConfig$$' ./fakeregistry
	$(GO) test $(FUZZ_FLAGS) -fuzz '^FuzzStrip$$' ./engine/inprocess/catcherror
