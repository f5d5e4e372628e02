# The README's commands and the documented gates. Every target installs what it needs.
.PHONY: acceptance contracts test bootstrap unit

acceptance: ## the whole acceptance suite, both modes, process backend; prints the report path
	bash scripts/acceptance.sh

test: ## every gate in order (what .ci/run runs)
	bash scripts/test.sh

bootstrap:
	bash scripts/bootstrap.sh

unit:
	bash scripts/bootstrap.sh && .venv/bin/python -m pytest tests

contracts: ## Pact gates: consumer tests + drift, scrub, provider verification, mutation proof (docs/contracts.md)
	BOOTSTRAP_NPM=0 bash scripts/bootstrap.sh && .venv/bin/python -m contracts gate
