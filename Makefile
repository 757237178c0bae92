# syncer: the same targets on a laptop and in CI (.ci/run runs `make test`).
# `make` alone lists them. Tests need a PostgreSQL: scripts/db.sh finds or starts one
# (TEST_DATABASE_URL wins when set; see the script's header).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin/syncer
PKG       := ./cmd/syncer
ifeq ($(origin VERSION),undefined)
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
endif
LDFLAGS   := -X syncer/internal/version.Version=$(VERSION)
FUZZTIME  ?= 10s
CRASH_MESSAGES ?= 100000
CRASH_TIMEOUT  ?= 30m
SQLC_VERSION   ?= v1.31.1
SQLC      := bin/sqlc-$(SQLC_VERSION)
DB        := scripts/db.sh

# Go files to check with gofmt: all of them but those under dot-directories (.git, .data),
# bin/ and testdata/.
GOFILES = $(shell find . -path './.*' -prune -o -path ./bin -prune -o -name testdata -prune -o -type f -name '*.go' -print)
# The sqlc configuration, when the project has one.
SQLC_CONFIG = $(firstword $(wildcard sqlc.yaml sqlc.yml sqlc.json))

.PHONY: help build test test-short demo generate check-generated update-golden fmt fmt-check \
	vet lint bench fuzz crash-test db-url db-stop db-clean docker-build clean

help: ## List the targets
	@echo "Targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: VERSION=$(VERSION) FUZZTIME=$(FUZZTIME) CRASH_MESSAGES=$(CRASH_MESSAGES)"
	@echo "Tests use TEST_DATABASE_URL when set, else what scripts/db.sh finds or starts."

build: ## Build bin/syncer, stamped with VERSION
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) $(PKG)

test: vet fmt-check ## go vet, gofmt check, then every test with -race against PostgreSQL; screenshots go to test-output/
	url="$$($(DB) url test)"; mkdir -p test-output; \
	TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -artifacts -outputdir "$(CURDIR)/test-output" ./...

test-short: vet fmt-check ## Like test, with -short (skips the slow tests)
	url="$$($(DB) url test)"; \
	TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -short ./...

demo: build ## Build, then run `syncer demo` (simulators + a real sync) against PostgreSQL
	url="$$($(DB) url demo)"; \
	DATABASE_URL="$$url" ./$(BIN) demo

generate: $(if $(SQLC_CONFIG),$(SQLC)) ## Refresh generated code: go generate, then sqlc when sqlc.yaml exists
	$(GO) generate ./...
	$(if $(SQLC_CONFIG),./$(SQLC) generate -f $(SQLC_CONFIG))

# Compares the tree before and after `make generate`, so that it also works in a tree
# with uncommitted work.
check-generated: ## Fail when generated code is stale (make generate changes files)
	before="$$(git status --porcelain --untracked-files=all; git diff)"; \
	$(MAKE) --no-print-directory generate; \
	after="$$(git status --porcelain --untracked-files=all; git diff)"; \
	if [[ "$$before" != "$$after" ]]; then \
		echo "generated code is stale: run 'make generate' and commit the result" >&2; \
		git status --short >&2; \
		exit 1; \
	fi

# sqlc, pinned, built from source without cgo into bin/ (named for its version, so that a
# new SQLC_VERSION builds anew).
$(SQLC):
	mkdir -p bin
	tmp="$$(mktemp -d)"; \
	GOBIN="$$tmp" CGO_ENABLED=0 $(GO) install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION); \
	mv "$$tmp/sqlc" $@; \
	rmdir "$$tmp"

# Packages with golden files use internal/golden in their tests, which defines -update;
# only they get the flag (the others' test binaries would refuse a flag they do not define).
update-golden: ## Rewrite the golden files in testdata/ from the current output
	files="$$(grep -rl --include='*_test.go' --exclude-dir=.data --exclude-dir=.git \
		'"syncer/internal/golden"' . || true)"; \
	dirs="$$(for f in $$files; do dirname "$$f"; done | sort -u)"; \
	if [[ -z "$$dirs" ]]; then echo "no package uses internal/golden: nothing to refresh"; exit 0; fi; \
	url="$$($(DB) url test)"; \
	TEST_DATABASE_URL="$$url" $(GO) test -count=1 $$dirs -update

fmt: ## Format every Go file with gofmt
	$(if $(GOFILES),gofmt -w $(GOFILES),@echo "no Go files")

fmt-check: ## Fail when a Go file is not gofmt-formatted
	@echo "gofmt -l (Go files outside dot-directories, bin/ and testdata/)"
	@files="$$($(if $(GOFILES),gofmt -l $(GOFILES),true))"; \
	if [[ -n "$$files" ]]; then \
		echo "these files need gofmt (run 'make fmt'):" >&2; \
		echo "$$files" >&2; \
		exit 1; \
	fi

vet: ## go vet ./...
	$(GO) vet ./...

lint: fmt-check vet ## gofmt check, go vet, and golangci-lint when installed
	@if command -v golangci-lint >/dev/null 2>&1; then \
		echo "golangci-lint run ./..."; \
		golangci-lint run ./...; \
	else \
		echo "golangci-lint is not installed: skipped (https://golangci-lint.run/docs/welcome/install/)"; \
	fi

# BENCH_SIZES and BENCH_IMPORT_MB scale the table (see cmd/syncer/bench_table_test.go).
BENCH_SIZES     ?= 100000,1000000
BENCH_IMPORT_MB ?= 1024

bench: ## The go test benchmarks with -benchmem, then the end-to-end table into bench/results.md (about 10 minutes)
	url="$$($(DB) url test)"; \
	TEST_DATABASE_URL="$$url" $(GO) test -run '^$$' -bench . -benchmem ./... && \
	TEST_DATABASE_URL="$$url" SYNCER_BENCH_OUT="$(CURDIR)/bench/results.md" \
		SYNCER_BENCH_SIZES="$(BENCH_SIZES)" SYNCER_BENCH_IMPORT_MB="$(BENCH_IMPORT_MB)" \
		$(GO) test -count=1 -run '^TestBenchTable$$' -timeout 90m -v ./cmd/syncer/ | grep -v '^=== '; \
	echo "written: bench/results.md"

# `go test -fuzz` takes one target of one package at a time, so list them per package.
fuzz: ## Run every fuzz target for FUZZTIME (10s) each
	pkgs="$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)"; \
	n=0; \
	for pkg in $$pkgs; do \
		list="$$($(GO) test -list '^Fuzz' "$$pkg")"; \
		for target in $$(sed -n 's/^\(Fuzz[A-Za-z0-9_]*\)$$/\1/p' <<<"$$list"); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
			n=$$((n + 1)); \
		done; \
	done; \
	echo "fuzzed $$n targets"

crash-test: ## kill -9 a sync of CRASH_MESSAGES messages at four moments; the re-run must equal the simulator
	url="$$($(DB) url test)"; \
	TEST_DATABASE_URL="$$url" $(GO) test -race -count=1 -timeout $(CRASH_TIMEOUT) -run TestCrash -v \
		./cmd/syncer/ -crash-messages=$(CRASH_MESSAGES)

db-url: ## Print the test database URL (starting a throwaway PostgreSQL if needed)
	@$(DB) url test

db-stop: ## Stop the throwaway PostgreSQL (or compose service) that scripts/db.sh started
	$(DB) stop

db-clean: db-stop ## Stop it and delete its data (.data/)
	rm -rf .data

docker-build: ## Build the container image syncer:VERSION
	docker build --build-arg VERSION=$(VERSION) -t syncer:$(VERSION) .

clean: ## Remove build and test outputs (bin/, coverage files); keeps .data/
	rm -rf bin coverage* *.out *.test
