# The two commands of the README's quick start, and a few for development.
.PHONY: run test setup e2e llm fmt lint

run:   ## set up, build, migrate, seed demo data, start server (:3000) and gateway (:8280)
	@bash scripts/run.sh

test:  ## set up, then every test: fmt, clippy, Rust tests (PostgreSQL, Redis), browser and client-compat tests
	@bash scripts/test.sh

setup: ## only install and start what is missing
	@bash scripts/setup.sh

e2e:   ## only the browser tests and the client-compatibility tests
	@bash scripts/e2e.sh

llm:   ## build and run the local LLM (llama-server + Qwen2.5-Coder 0.5B) for the AI features
	@bash scripts/llm.sh

fmt:
	cargo fmt --all
