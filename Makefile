# switchboard — the two commands a new machine needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/switchboard
BENCH   ?= .
ARGS    ?=

.PHONY: all build run test test-short test-crowded vet fmt lint staticcheck bench bench-micro faults fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/switchboard

## run: build and serve on the embedded SQLite default (sqlite:switchboard.db, 127.0.0.1:8080)
run: build
	./$(BIN) serve $(ARGS)

## test: the whole suite with the race detector. PostgreSQL tests run when
## SWITCHBOARD_TEST_DATABASE_URL or a local server on 127.0.0.1:5432 answers.
## The binary the end-to-end tests start is built once here and named by
## SWITCHBOARD_TEST_BINARY (without it each such package builds its own).
TEST_BIN := $(CURDIR)/bin/switchboard-test
test:
	$(GO) build -o $(TEST_BIN) ./cmd/switchboard
	SWITCHBOARD_TEST_BINARY=$(TEST_BIN) $(GO) test -race -count=1 -timeout 20m ./...

## test-short: the inner loop: every package without the race detector, and
## without the end-to-end tests (-short skips them)
test-short:
	$(GO) test -short -count=1 ./...

## test-crowded: make test while another process holds HOLD of PostgreSQL's
## connections (scripts/holdconns): the suite must fit in the default 100 with 60 taken
HOLD ?= 60
test-crowded:
	$(GO) build -o bin/holdconns ./scripts/holdconns
	@rm -f bin/holdconns.ready
	@./bin/holdconns -n $(HOLD) -ready bin/holdconns.ready & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; rm -f bin/holdconns.ready' EXIT; \
	for _ in $$(seq 1 60); do [ -e bin/holdconns.ready ] && break; kill -0 $$pid 2>/dev/null || exit 1; sleep 1; done; \
	[ -e bin/holdconns.ready ] || { echo "holdconns did not open $(HOLD) connections"; exit 1; }; \
	$(MAKE) test

vet:
	$(GO) vet ./...
	$(GO) vet -tags faults ./faults
	$(GO) vet -tags bench ./bench

## staticcheck: every package, the fault suite and the load benchmark included
staticcheck:
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags faults,bench ./faults ./bench

fmt:
	gofmt -w $$(git ls-files '*.go')

## lint: vet, a gofmt check, staticcheck (a Go tool of go.mod, so its version is pinned there), and
## openapi.yaml linted by Redocly CLI with the rules of redocly.yaml
## (npx installs the pinned version from the npm registry when it is not in npm's cache; needs node and npm)
REDOCLY ?= npx --yes @redocly/cli@2.77.0
lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --config redocly.yaml --format=stylish openapi.yaml

## bench: seeds PostgreSQL (1,000,000 offline messages and 1,000,000 messages; BENCH_SCALE=small: a small
## seed), starts the real binary, drives every scenario in a closed loop at 32 connections (req/s ÷ baseline,
## p50/p99, server CPU per request) and at a constant rate with vegeta, against the simplest raw pgx baseline
## (keyset page, raw write transaction, COPY) in the same run, sides alternating in rounds, plus Acquire on cases
## of 10 vs 10,000 messages, and writes the table to bench/results.md (issue 22's targets, pass/fail).
## BENCH_ARGS='-only Acquire -duration 20s' runs the matching scenarios alone (no table) with a longer run each;
## BENCH_ARGS='-only flood' runs the password floods alone and rewrites only their section of bench/results.md.
## BENCH_ARGS='-only events' runs the events section alone (writes with webhooks and live streams, commit to first
## byte, RSS with 1,000 streams; its own database, no seed) and rewrites only its section.
## The same scenarios also run on SQLite (a seeded file, baselines with database/sql and the store's SQLite driver):
## BENCH_ARGS='-backend sqlite' runs them alone, '-backend postgres' skips them (default: both).
## A full run also profiles serve under each hot route (SWITCHBOARD_CPU_PROFILE, pprof -top 10) and counts its
## instructions per request under callgrind (needs valgrind): BENCH_ARGS='-only profiles' or '-only instructions'
## runs one of them alone and rewrites only its section.
BENCH_SCALE ?= full
BENCH_ARGS ?=
bench:
	$(GO) test -tags bench -run TestBench -count=1 -timeout 150m -v ./bench -args -scale=$(BENCH_SCALE) $(BENCH_ARGS)

## bench-micro: the Go benchmarks: on PostgreSQL, REVE offline messages with 1,000,000 rows (SWITCHBOARD_BENCH_ROWS to change),
## HelpCrunch POST /v1/messages against a plain net/http + pgx baseline, CallGear uploads against COPY,
## Acquire mail over chat, the delivery worker, the API-key check, and what the rate limits (in-process and
## Redis) and Idempotency-Key add to POST /v1/messages
bench-micro:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime 3s -timeout 60m ./handlers/reve
	$(GO) test -run '^$$' -bench PostMessages -benchtime 30000x -timeout 20m ./handlers
	$(GO) test -run '^$$' -bench Upload -benchtime 50x -timeout 20m ./handlers
	$(GO) test -run '^$$' -bench AcquireAddMessage -benchtime 3000x -timeout 20m ./handlers
	$(GO) test -run '^$$' -bench Worker -benchtime 2000x -timeout 20m ./delivery
	$(GO) test -run '^$$' -bench . -benchmem ./auth
	$(GO) test -run '^$$' -bench 'Guards|Limits_ByCaller' -benchtime 20000x -timeout 20m ./handlers

## faults: the fault suite against the real binary: PostgreSQL stopped under load, SIGKILL under writes,
## slow clients and a connection flood, two replicas on one PostgreSQL and one Redis (needs PostgreSQL's server
## programs, the local PostgreSQL and Redis; runs initdb as the postgres user when run as root)
faults:
	$(GO) test -tags faults -count=1 -timeout 15m -v ./faults

## fuzz: runs every Go fuzz target for FUZZTIME each and keeps new corpus entries in testdata/fuzz
## (make test replays the committed corpus)
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

clean:
	rm -rf bin
