# hookhost Makefile. `make help` lists the targets.
GO        ?= go
BIN       ?= bin/hookhost
DATA_DIR  ?= ./data
PKGS      ?= ./...

.DEFAULT_GOAL := help

## help: list the targets
.PHONY: help
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## /  /'

## build: build bin/hookhost
.PHONY: build
build:
	$(GO) build -o $(BIN) ./cmd/hookhost

## install: build and copy bin/hookhost to PREFIX/bin (default /usr/local; make install PREFIX=~/.local for your own)
PREFIX ?= /usr/local
.PHONY: install
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/hookhost

## plugins: build the example extension into $(PLUGINS_DIR) (default ./data/plugins)
PLUGINS_DIR ?= $(DATA_DIR)/plugins
.PHONY: plugins
plugins:
	mkdir -p $(PLUGINS_DIR)
	$(GO) build -o $(PLUGINS_DIR)/slugify ./plugins/examples/slugify

## generate: regenerate the extension protocol's Go code (needs protoc, see plugins/proto/gen.sh)
.PHONY: generate
generate:
	$(GO) generate ./plugins/proto

## docs: regenerate docs/reference.md from the engine's tables (a test fails when it is stale)
.PHONY: docs
docs:
	$(GO) run ./internal/gendocs -o docs/reference.md

## run: build and start the server on 127.0.0.1:8080 with SQLite in ./data and the example imported
.PHONY: run
run: build
	$(BIN) serve --data-dir $(DATA_DIR) --example

# RACE_SKIP: packages make test runs without the race detector: their
# tests mostly drive other processes built without it (the server binary,
# the load run), or take longer than make test's budget under it on a
# 2-core machine (host's in-process servers). make race runs them too.
RACE_SKIP ?= github.com/hookhost/hookhost/cmd/hookhost github.com/hookhost/hookhost/bench github.com/hookhost/hookhost/host

## test: vet, every test, then again with the race detector (but RACE_SKIP)
.PHONY: test
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 9m $(PKGS)
	$(GO) test -race -count=1 -timeout 9m $(filter-out $(RACE_SKIP),$(shell $(GO) list $(PKGS)))

## race: every test with the race detector (longer than make test)
.PHONY: race
race:
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## bench: Go benchmarks and the load run against a bare Fiber handler (bench/README.md; BENCHFLAGS adds flags, e.g. -cpuprofile-dir prof)
BENCHFLAGS ?=
.PHONY: bench
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(PKGS)
	$(GO) run ./bench -duration 5s -rounds 2 $(BENCHFLAGS)

## scale: the console at scale: 10,000 webhooks and 1,000,000 request records seeded into SQLite, the admin routes behind
##        every page timed (median of 5) and the pages checked in chromium; then PostgreSQL's routes when
##        HOOKHOST_TEST_POSTGRES is set. The tables go to SCALE_OUT (default /tmp/hookhost-scale). About 15 minutes.
SCALE_OUT ?= /tmp/hookhost-scale
.PHONY: scale
scale:
	mkdir -p $(SCALE_OUT)
	HOOKHOST_SCALE=1 HOOKHOST_SCALE_OUT=$(SCALE_OUT) $(GO) test -count=1 -v -timeout 60m -run '^TestScale_' ./host/console/
	@if [ -n "$$HOOKHOST_TEST_POSTGRES" ]; then \
	  HOOKHOST_SCALE=1 HOOKHOST_SCALE_DB=postgres HOOKHOST_SCALE_OUT=$(SCALE_OUT) $(GO) test -count=1 -v -timeout 60m -run '^TestScale_API$$' ./host/console/; \
	else echo "HOOKHOST_TEST_POSTGRES is unset: PostgreSQL not measured"; fi
	@cat $(SCALE_OUT)/*.md

## fuzz: run each fuzz target for FUZZTIME (default 60s); an input the fuzzer keeps is shrunk
##       for at most FUZZMINIMIZE tries (default 50x)
# Shrinking for the default minute instead ate whole runs of a slow target
# (FuzzReplacer: 1,284 executions in 60 s, 94,000 with 50x).
FUZZTIME ?= 60s
FUZZMINIMIZE ?= 50x
.PHONY: fuzz
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed -E 's/func (Fuzz[A-Za-z0-9_]*).*/\1/'); do \
	    echo "== $$spec $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$spec || exit 1; \
	  done; \
	done

## soak: the hostile-input suite against a real server for SOAKTIME (default 2m); prints its figures (make test runs one round)
SOAKTIME ?= 2m
.PHONY: soak
soak:
	HOOKHOST_SOAK=$(SOAKTIME) $(GO) test -count=1 -v -run '^TestHostile_Serve$$' -timeout 3h ./cmd/hookhost/

## oracles: re-record the Twig and Cerb oracles (testdata/twig, testdata/cerb), then rewrite both floors;
##          needs php-cli + php-twig and a running Cerb oracle in CERB_DIR (make oracle-cerb-up)
CERB_DIR       ?= /tmp/cerb-oracle
CERB_URL       ?= http://127.0.0.1:8765
ORACLE_SCRIPTS ?= /work/shared/oracle/cerb
.PHONY: oracles oracle-twig oracle-cerb oracle-floor oracle-test oracle-cerb-up
oracles: oracle-twig oracle-cerb oracle-floor

## oracle-twig: re-record testdata/twig from php-twig 3.5.1
oracle-twig:
	$(GO) run ./internal/oracle/twig

## oracle-cerb: re-record testdata/cerb from the Cerb 10.4.10 at CERB_URL (CERB_DIR: its directory)
oracle-cerb:
	@curl -s -o /dev/null "$(CERB_URL)/favicon.ico" || { echo "no Cerb at $(CERB_URL): make oracle-cerb-up CERB_MIRROR=<bare clone of cerb/cerb-release>"; exit 1; }
	CERB_DIR=$(CERB_DIR) CERB_URL=$(CERB_URL) $(GO) run ./internal/oracle/cerb -all

## oracle-floor: rewrite the known-differences lists from hookhost's current answers
oracle-floor:
	HOOKHOST_ORACLE_UPDATE=1 $(GO) test -count=1 -run '^TestTwigOracle$$' ./templates
	HOOKHOST_ORACLE_UPDATE=1 $(GO) test -count=1 -run '^TestCerbOracle$$' ./host

## oracle-test: only the oracle comparisons, with totals by area (no PHP needed)
oracle-test:
	@for t in TestTwigOracle:./templates TestCerbOracle:./host; do \
	  log=$$(mktemp); $(GO) test -count=1 -v -run "^$${t%%:*}$$" $${t#*:} > $$log 2>&1; s=$$?; \
	  grep -E 'oracle: |regression|^(ok|FAIL|---)' $$log; rm -f $$log; [ $$s -eq 0 ] || exit $$s; \
	done

## oracle-cerb-up: bring up the Cerb oracle in CERB_DIR; needs ORACLE_SCRIPTS (a directory holding the
##                 oracle's bootstrap.sh) and CERB_MIRROR (a bare clone of cerb/cerb-release)
oracle-cerb-up:
	@test -n "$(CERB_MIRROR)" || { echo "set CERB_MIRROR to a bare clone of github.com/cerb/cerb-release"; exit 1; }
	@test -f "$(ORACLE_SCRIPTS)/bootstrap.sh" || { echo "set ORACLE_SCRIPTS to the directory holding the Cerb oracle's bootstrap.sh (no $(ORACLE_SCRIPTS)/bootstrap.sh)"; exit 1; }
	mkdir -p $(CERB_DIR) && cp -r $(ORACLE_SCRIPTS)/. $(CERB_DIR) && chmod -R u+w $(CERB_DIR)
	CERB_DIR=$(CERB_DIR) CERB_MIRROR=$(CERB_MIRROR) bash $(CERB_DIR)/bootstrap.sh

## lint: gofmt check and go vet
.PHONY: lint
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); exit 1)
	$(GO) vet $(PKGS)

## verify: fail when a generated or hand-kept file is stale (protobuf code, openapi.json vs the routes, migrations of both databases, docs/reference.md, go.mod) or gofmt/vet complain
.PHONY: verify
verify: lint
	$(GO) mod tidy -diff
	./plugins/proto/verify.sh
	$(GO) test -count=1 -run 'TestOpenAPI|TestMigrations_InStep|TestReferenceIsCurrent' ./host/ ./internal/gendocs/

## fmt: gofmt every Go file
.PHONY: fmt
fmt:
	gofmt -w $$(git ls-files '*.go')

## tidy: go mod tidy
.PHONY: tidy
tidy:
	$(GO) mod tidy
