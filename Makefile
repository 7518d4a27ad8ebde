# DSR Desk. `make run` serves against the local PostgreSQL with mail captured
# in the database; `make test` runs every test against real PostgreSQL.

DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dsrdesk?sslmode=disable
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
DSR_CONFIG ?= examples/eu-saas.json
DSR_ADDR ?= :8080
GO ?= go

export DATABASE_URL DSR_CONFIG DSR_ADDR TEST_DATABASE_URL

.PHONY: build run test vet fmt bench migrate clean fuzz faults

build:
	$(GO) build -o bin/dsrdesk ./cmd/dsrdesk

run: build
	./bin/dsrdesk serve

migrate: build
	./bin/dsrdesk migrate

## test: the whole suite (unit, PostgreSQL, SMTP, browser). Needs a reachable
## PostgreSQL at TEST_DATABASE_URL and Chromium for the browser tests.
test:
	@scripts/check-postgres.sh "$(TEST_DATABASE_URL)"
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) test -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s
	@$(MAKE) --no-print-directory faults

## fuzz: a short run of every fuzz target (FUZZTIME each, default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./dsr/api -run '^$$' -fuzz '^FuzzAPIRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./dsr/api -run '^$$' -fuzz '^FuzzUploadTypeCheck$$' -fuzztime $(FUZZTIME)
	$(GO) test ./dsr/api -run '^$$' -fuzz '^FuzzMultipartForm$$' -fuzztime $(FUZZTIME)
	$(GO) test ./dsr -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME)

## faults: kill -9 under load, mail relay down, PostgreSQL restart (restarts
## the local cluster: run it alone, never beside other tests).
faults:
	$(GO) run ./cmd/dsrbench -faults

## bench: the full benchmark table (seeds 1,000,000 requests; about 10 minutes).
bench:
	$(GO) run ./cmd/dsrbench

clean:
	rm -rf bin
