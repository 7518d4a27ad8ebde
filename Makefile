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

# run: DSR_SECRET_KEY (seals the links of stored mail) comes from the
# environment or, for development, from a key generated once into the
# git-ignored .dsrdesk-secret-key.
SECRET_KEY_FILE ?= .dsrdesk-secret-key
run: build
	@if [ -z "$$DSR_SECRET_KEY" ] && [ ! -s $(SECRET_KEY_FILE) ]; then \
		umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > $(SECRET_KEY_FILE); \
		echo "generated a development DSR_SECRET_KEY in $(SECRET_KEY_FILE)" >&2; \
	fi
	@[ -n "$$DSR_SECRET_KEY" ] || echo "warning: DSR_SECRET_KEY from $(SECRET_KEY_FILE), for development only; production needs its own key (openssl rand -hex 32)" >&2
	DSR_SECRET_KEY="$${DSR_SECRET_KEY:-$$(cat $(SECRET_KEY_FILE))}" ./bin/dsrdesk serve

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
