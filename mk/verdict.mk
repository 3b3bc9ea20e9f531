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

VERDICT_KEY = $(shell git -C '$(KYVERNO_SRC)' rev-parse --short=12 HEAD 2>/dev/null)
VERDICT_DIR = $(ARTIFACTS)/verdict-$(VERDICT_KEY)
VERDICT ?= $(VERDICT_DIR)/verdict.md

.PHONY: verdict
verdict: ## Judge a Kyverno checkout in process, through its CLI and at admission: make verdict KYVERNO_SRC=/path [VERDICT=out.md]
	@if [ -z "$(KYVERNO_SRC)" ] || [ -z "$(VERDICT_KEY)" ]; then \
		echo "usage: make verdict KYVERNO_SRC=/path/to/kyverno/checkout (a git checkout) [VERDICT=out.md]"; exit 2; fi
	@set +e -uo pipefail; dir='$(VERDICT_DIR)'; rm -rf "$$dir"; mkdir -p "$$dir"; \
	src=$$(cd '$(KYVERNO_SRC)' && pwd); commit=$$(git -C "$$src" rev-parse HEAD); subject=$$(git -C "$$src" log -1 --format=%s); \
	start=$$(date +%s); \
	step() { printf '==> verdict %s (+%ss): %s\n' "$${commit:0:12}" "$$(( $$(date +%s) - start ))" "$$*"; }; \
	step "judging $$src at $$commit ($$subject); reports in $$dir"; \
	step "build: the checkout's Kyverno CLI (cached by commit)"; \
	cli=$$(KYVERNO_SRC="$$src" nice -n 10 $(KYVERNO_BUILD) 2> >(grep -v '^go: downloading' >&2)) || { echo "verdict: the checkout's CLI does not build"; exit 1; }; \
	step "build: the checkout's admission and reports controllers and its install manifest"; \
	$(MAKE) --no-print-directory e2e-build PROVIDER=local KYVERNO_SRC="$$src" || { echo "verdict: the checkout's controllers do not build"; exit 1; }; \
	step "build: the conformance suite with the checkout linked in place of the pinned module"; \
	insuite=ok; $(MAKE) --no-print-directory suite-bin ENGINE=inprocess KYVERNO_SRC="$$src" > "$$dir/suite-build.log" 2>&1 || insuite=failed; \
	if [ $$insuite = failed ]; then echo "    the suite does not build with the checkout linked in (the in-process site is not run); last lines:"; tail -n 5 "$$dir/suite-build.log"; fi; \
	$(MAKE) --no-print-directory suite-bin KYVERNO_SRC= >/dev/null; \
	step "run: the pinned release in process (the baseline)"; \
	ENGINE=inprocess ARTIFACTS="$$dir/pinned" $(GINKGO) $(GINKGO_FLAGS) $(SUITE_BIN_PINNED) > "$$dir/pinned.log" 2>&1; \
	sites=(); notrun=(); \
	if [ $$insuite = ok ]; then \
		step "run: the checkout in process"; \
		$(MAKE) --no-print-directory conformance ENGINE=inprocess KYVERNO_SRC="$$src" REQUIRE_CATCHERROR=1 ARTIFACTS="$$dir/inprocess" > "$$dir/inprocess.log" 2>&1; \
		sites+=(-site "in process=$$dir/inprocess/results-inprocess.json"); \
	else notrun+=(-not-run "in process=$$dir/suite-build.log"); fi; \
	step "run: the checkout's CLI ($$cli)"; \
	$(MAKE) --no-print-directory conformance ENGINE=kyverno KYVERNO_CLI="$$cli" REQUIRE_CATCHERROR=1 ARTIFACTS="$$dir/cli" > "$$dir/cli.log" 2>&1; \
	sites+=(-site "CLI=$$dir/cli/results-kyverno.json"); \
	step "run: at admission and in a background scan (make e2e, local provider, the scenarios)"; \
	$(MAKE) --no-print-directory e2e PROVIDER=local KYVERNO_SRC="$$src" REQUIRE_CATCHERROR=1 LABEL_FILTER='area:scenarios' ARTIFACTS="$$dir/e2e" > "$$dir/e2e.log" 2>&1; \
	tail -n 2 "$$dir/e2e.log" | sed 's/^/    /'; \
	sites+=(-site "admission=$$dir/e2e/results-admission.json" -site "background scan=$$dir/e2e/results-background-scan.json"); \
	for s in "$$dir/inprocess/results-inprocess.json" "$$dir/cli/results-kyverno.json" "$$dir/e2e/results-admission.json" "$$dir/e2e/results-background-scan.json"; do \
		case " $${sites[*]} " in *"$$s"*) [ -f "$$s" ] || { echo "verdict: no $$s; see the log next to it"; exit 1; };; esac; done; \
	step "write the verdict"; \
	mkdir -p "$$(dirname '$(VERDICT)')"; \
	$(GO) run ./internal/cmd/conformance-report verdict -checkout "$$src" -commit "$$commit" -subject "$$subject" \
		-harness "$$(git rev-parse --short=12 HEAD)" -command "make verdict KYVERNO_SRC=$$src" \
		-pinned "$$dir/pinned/results-inprocess.json" -branch "in process" "$${sites[@]}" "$${notrun[@]}" -o '$(VERDICT)' \
		-mutants "$$(ls -t '$(ARTIFACTS)/mutants.json' docs/mutants.json 2>/dev/null | head -n 1)" || exit 1; \
	step "done"; \
	if grep -q '^\*\*No spec fails' '$(VERDICT)'; then echo "verdict: no spec fails ($(VERDICT))"; else echo "verdict: specs fail ($(VERDICT))"; exit 1; fi
