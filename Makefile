# devloop: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
DEVLOOP   := $(BIN)/devloop
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/devloop-dev/devloop/internal/cli.version=$(VERSION)
ENV       := hack/env
# Every test target runs with the environment's variables exported.
WITH_ENV  := eval "$$($(ENV)/env.sh)" &&

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

# Static, without cgo: kustomize's plugin loader imports Go's plugin package,
# and with cgo that makes the linker export every symbol and keep every
# method: 93 MB instead of 67 MB, and more of it paged in.
.PHONY: build
build: ## Build bin/devloop
	CGO_ENABLED=0 $(GO) build -ldflags '$(LDFLAGS)' -o $(DEVLOOP) ./cmd/devloop

.PHONY: env-up
env-up: ## Install and start Docker, buildx, BuildKit, a registry and a Kubernetes cluster
	$(ENV)/up.sh

.PHONY: env-down
env-down: ## Stop everything env-up started (data roots and caches are kept)
	$(ENV)/down.sh

.PHONY: env
env: ## Print the export lines for the environment: eval "$(make -s env)"
	@$(ENV)/env.sh

.PHONY: unit
unit: ## Unit tests only (no daemons needed), with -race
	$(GO) test -short -race -count=1 ./...

.PHONY: integration
integration: build ## Integration and end-to-end tests against a running environment
	$(WITH_ENV) $(GO) test -race -count=1 -timeout 40m ./...

.PHONY: test
test: ## The whole suite: bring the environment up, run every test, tear it down
	hack/test.sh

# EXAMPLE=marvel deploys examples/marvel with its local-db profile instead.
EXAMPLE ?= notes

.PHONY: demo
demo: ## Bring up what is missing, build devloop, deploy examples/notes (EXAMPLE=marvel: examples/marvel) and show it
	EXAMPLE=$(EXAMPLE) hack/demo.sh

.PHONY: bench
bench: ## Measure the inner loop against baselines (BENCH_QUICK=1 for a short run)
	hack/bench.sh

.PHONY: soak
soak: build ## 300 edit cycles under devloop dev; RSS, fds and versions checked (DEVLOOP_SOAK_CYCLES=N)
	hack/soak.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 60s)
	hack/fuzz.sh $${FUZZTIME:-60s}

# golangci-lint, pinned; `make lint` installs it into bin/ (git-ignored) once.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

$(GOLANGCI_LINT):
	@mkdir -p $(BIN)
	GOBIN=$(abspath $(BIN))/.golangci-$(GOLANGCI_LINT_VERSION) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN)/.golangci-$(GOLANGCI_LINT_VERSION)/golangci-lint $@
	rmdir $(BIN)/.golangci-$(GOLANGCI_LINT_VERSION)

# deadcode (golang.org/x/tools), pinned: exported functions no main and no
# test reaches, which the unused linter cannot see.
DEADCODE_VERSION := v0.52.0
DEADCODE         := $(BIN)/deadcode-$(DEADCODE_VERSION)

$(DEADCODE):
	@mkdir -p $(BIN)
	GOBIN=$(abspath $(BIN))/.deadcode-$(DEADCODE_VERSION) $(GO) install golang.org/x/tools/cmd/deadcode@$(DEADCODE_VERSION)
	mv $(BIN)/.deadcode-$(DEADCODE_VERSION)/deadcode $@
	rmdir $(BIN)/.deadcode-$(DEADCODE_VERSION)

.PHONY: lint
lint: $(GOLANGCI_LINT) $(DEADCODE) ## gofmt, go vet, golangci-lint (.golangci.yml: errcheck, staticcheck, errorlint, revive, unparam, unused), deadcode, no development history
	hack/lint-history.sh
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GOLANGCI_LINT) run ./...
	@dead=$$($(DEADCODE) -test ./...); test -z "$$dead" || { echo "$$dead"; echo "deadcode: functions nothing calls (remove them)"; exit 1; }
