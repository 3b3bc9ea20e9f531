# Reference engine (engine/reference): tests and the benchmark.
# Included by the top-level Makefile (-include mk/*.mk).

.PHONY: test-reference
test-reference: ## Reference engine unit and semantics tests (race)
	nice -n 10 $(GO) test -race ./engine/reference/...

.PHONY: bench-reference
bench-reference: ## Reference engine benchmark (issue-14302 policy, engine vs loopback round trip)
	nice -n 10 $(GO) test ./engine/reference -run XXX -bench Issue14302 -benchtime 3000x -count 5
