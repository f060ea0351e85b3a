# intake: the two commands a newcomer needs are `make run` and `make test`.
# Both install and start what they need (see README.md).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

LOCAL := infra/local
# Every cargo command sees the local stack's addresses (the environment wins).
WITH_ENV := . $(LOCAL)/env.sh &&
CARGO := cargo

SUPPLEMENTS ?= 48

.PHONY: help run test k8s bench soak build stack-up stack-down stack-status migrate topics check fmt lint prereqs fuzz fuzz-check deny audit rules

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

prereqs: ## Check Rust and install the Debian build tools
	@bash $(LOCAL)/prereqs.sh

run: prereqs stack-up build ## Start the stack and every service, run a generated load end to end, summarise
	@$(WITH_ENV) target/debug/intake migrate
	@$(WITH_ENV) target/debug/intake topics
	@$(WITH_ENV) bash $(LOCAL)/services.sh restart
	@$(WITH_ENV) target/debug/intake check
	@$(WITH_ENV) target/debug/intake-generate --supplements $(SUPPLEMENTS) --manifest target/generated/manifest.jsonl
	@echo
	@echo "Waiting for the worker and the receipt service to finish them..."
	@$(WITH_ENV) target/debug/intake status --wait 5m
	@$(WITH_ENV) target/debug/intake audit checkpoint
	@$(WITH_ENV) target/debug/intake audit verify
	@echo
	@echo "intake is running on the local stack. $(SUPPLEMENTS) generated supplements went through gateway,"
	@echo "worker and receipt service; the expected outcome of each is in target/generated/manifest.jsonl."
	@echo "Receipts: e-mails in .stack/smtp/mail (one .eml each; its .json has the DKIM verdict),"
	@echo "      Enter Finland notifications in .stack/eservice/notifications."
	@echo "Next: worker decisions in .stack/logs/intake-worker.log (one JSON line per supplement),"
	@echo "      records in PostgreSQL (psql \$$INTAKE_POSTGRES__URL: supplements, attachments, audit_log),"
	@echo "      events on the routed/triage/quarantine/receipts topics, refused files in the quarantine bucket."
	@echo
	@echo "Caseworkers' inbox: $${INTAKE_INBOX__PUBLIC_URL:-http://127.0.0.1:8790} (API: /api/v1, OpenAPI: /api/v1/openapi.json)"
	@echo "  Sign in with any local user below; the password of each is $${STACK_OIDC_PASSWORD:-local-password}."
	@$(WITH_ENV) python3 -c 'import json,sys; [print("  %-6s %-16s %s" % (u["sub"], ",".join(u["roles"]), ",".join(u["units"]) + (" (delegate of %s)" % u["delegate_of"] if u.get("delegate_of") else ""))) for u in json.load(open("$(LOCAL)/oidc/users.json"))]'
	@echo "Again: make run SUPPLEMENTS=500. Status: target/debug/intake status. Stop: make stack-down."

test: prereqs rules k8s stack-up ## Run every test (unit, schema, alert rules, manifests, and end-to-end on the real stack)
	@# End-to-end tests run the services' binaries as processes: build them first.
	@$(CARGO) build --workspace --bins --locked
	@$(WITH_ENV) $(CARGO) test --workspace --locked

rules: ## Check the Prometheus alert rules (promtool) and the metric names rules and dashboard use
	@promtool check config infra/prometheus/prometheus.yml
	@promtool check rules infra/prometheus/rules/*.yml
	@promtool test rules infra/prometheus/tests/*.yml
	@bash infra/check-metric-names.sh

k8s: ## Validate the Kubernetes manifests of infra/k8s offline (schemas and CRDs)
	@$(WITH_ENV) KUBERNETES_VALIDATE_VERSION=$${STACK_KUBERNETES_VALIDATE_VERSION} bash infra/k8s/check/check.sh

bench: prereqs stack-up ## Measure throughput and memory; figures go to target/bench/
	@$(CARGO) build --release --locked -p intake-gateway -p intake-worker -p intake-receipts -p intake-inbox
	@$(WITH_ENV) $(CARGO) bench --locked -p intake-tests

SOAK_EVENTS ?= 1000000
soak: prereqs stack-up build ## Broker soak: SOAK_EVENTS events, topic deletion, restarts; figures in target/soak/
	@$(WITH_ENV) target/debug/intake migrate
	@$(WITH_ENV) target/debug/intake topics
	@$(WITH_ENV) bash $(LOCAL)/services.sh restart
	@# The load and the probes are not what is measured: the debug build will do.
	@$(WITH_ENV) SOAK_EVENTS=$(SOAK_EVENTS) $(CARGO) bench --locked --profile dev -p intake-tests --bench broker_soak
	@echo "soak: the services still work afterwards: a few supplements end to end..."
	@$(WITH_ENV) target/debug/intake-generate --supplements 12 --manifest target/soak/manifest.jsonl
	@$(WITH_ENV) target/debug/intake status --wait 3m

build: ## Build every binary
	@$(CARGO) build --workspace --locked

stack-up: ## Install (once) and start PostgreSQL, Kafka (tansu), S3 (s3s-fs), clamd, SMTP
	@if [ "$${INTAKE_STACK:-local}" = external ]; then \
		echo "stack: INTAKE_STACK=external: using services that are already running"; \
	else bash $(LOCAL)/stack.sh up; fi

stack-down: ## Stop intake's services and everything the stack started
	@bash $(LOCAL)/stack.sh down

stack-status: ## Show what is running
	@bash $(LOCAL)/stack.sh status

migrate: ## Apply database migrations
	@$(WITH_ENV) $(CARGO) run --locked -q -p intake-cli -- migrate

topics: ## Create the Kafka topics of the catalogue
	@$(WITH_ENV) $(CARGO) run --locked -q -p intake-cli -- topics

check: ## Check every dependency answers
	@$(WITH_ENV) $(CARGO) run --locked -q -p intake-cli -- check

fmt: ## Format the code
	@$(CARGO) fmt --all

lint: fuzz-check deny ## rustfmt check, clippy with warnings as errors, fuzz targets build, cargo deny
	@$(CARGO) fmt --all --check
	@$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fuzz-check: ## The fuzz targets still compile (without libFuzzer's instrumentation)
	@CARGO_TARGET_DIR=target/fuzz-check $(CARGO) check --locked --manifest-path fuzz/Cargo.toml --bins

FUZZ_RUNS ?= 1000000
fuzz: ## Run every fuzz target FUZZ_RUNS times (needs cargo-fuzz), seeded from the generator
	@$(CARGO) run --locked -q --manifest-path fuzz/Cargo.toml --features seeds --bin seeds
	@cd fuzz && for t in mime_unpack mime_stream inspect_file pdf_inspect zip_expand html_text identifiers; do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t corpus/$$t -- -runs=$(FUZZ_RUNS) -rss_limit_mb=2048 -max_len=262144 \
			2>&1 | tee ../target/fuzz-$$t.log | grep -E '^(Done|==|SUMMARY)' || exit 1; \
	done

CARGO_DENY_VERSION := 0.20.2

deny: ## Licences, sources and duplicate versions of every dependency (cargo deny)
	@command -v cargo-deny >/dev/null && cargo-deny --version | grep -q $(CARGO_DENY_VERSION) || \
		$(CARGO) install --locked --quiet cargo-deny@$(CARGO_DENY_VERSION)
	@$(CARGO) deny --log-level error check bans licenses sources
	@$(CARGO) deny --log-level error --manifest-path fuzz/Cargo.toml check bans licenses sources

audit: ## Known vulnerabilities (RustSec advisories; needs access to GitHub)
	@$(CARGO) deny check advisories
