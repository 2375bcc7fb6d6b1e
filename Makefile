# Lift. `make run` and `make test` are all a newcomer needs; `make help` lists the rest.

export GOTOOLCHAIN := local
# Pure Go everywhere: SQLite is modernc's, so no C compiler is needed and
# the binary is static.
export CGO_ENABLED ?= 0

WORKFLOWCHECK_VERSION := v0.6.0
GO_PACKAGES := ./...

.PHONY: help run test test-short test-race fuzz lint bench bench-temporal build prod-up prod-down docker clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Run everything in one process with the demo (lift dev: cmd/lift-dev --demo)
	go run ./cmd/lift-dev --demo $(ARGS)

test: ## Run the whole test suite (PostgreSQL tests need TEST_DATABASE_URL)
	go test -count=1 -timeout 20m $(GO_PACKAGES)

test-race: ## Run the tests under the race detector (every package but the embedded-server ones; needs gcc)
	CGO_ENABLED=1 go test -race -count=1 -timeout 20m $$(go list ./... | grep -v -e /internal/e2e -e /internal/devserver -e /internal/devstack -e /cmd/lift-dev -e /internal/bench)

test-short: ## Run the fast tests only (no embedded Temporal server)
	go test -count=1 -short $(GO_PACKAGES)

# Budgets are counts of executions, about 20 s each on a 2-core machine.
# A duration (-fuzztime 20s) races Go's fuzz coordinator at the deadline
# on a busy machine and fails with a bare "context deadline exceeded"
# and no crasher (go.dev/issue/75804, fixed in Go 1.27); a count has no
# deadline to race. FUZZTIME=30s (or 1000x) overrides every target.
fuzz: ## Run each fuzz target for a fixed number of inputs: events, imports, batches, the webhook, marketer text, conditions
	go test -run '^$$' -fuzz '^FuzzConditionMatch$$' -fuzztime $(or $(FUZZTIME),50000x) ./internal/campaign/
	go test -run '^$$' -fuzz '^FuzzEventParsing$$' -fuzztime $(or $(FUZZTIME),80000x) ./internal/app/
	go test -run '^$$' -fuzz '^FuzzImportRows$$' -fuzztime $(or $(FUZZTIME),50000x) ./internal/app/
	go test -run '^$$' -fuzz '^FuzzEventBatch$$' -fuzztime $(or $(FUZZTIME),30000x) ./api/
	go test -run '^$$' -fuzz '^FuzzSendGridWebhook$$' -fuzztime $(or $(FUZZTIME),30000x) ./api/
	go test -run '^$$' -fuzz '^FuzzMarketerText$$' -fuzztime $(or $(FUZZTIME),150000x) ./internal/email/

lint: ## go vet, gofmt and workflowcheck
	go vet $(GO_PACKAGES)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go run go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION) ./workflows/...

bench: ## Benchmarks, each against its baseline in the same run (rebuild, evaluation, report and import need TEST_DATABASE_URL)
	go test -run '^$$' -bench Render -cpu 1 -benchtime 2s ./internal/email/
	go test -run '^$$' -bench RecommendationRebuild -benchtime 3x -timeout 20m ./internal/app/
	go test -run '^$$' -bench Evaluation -benchtime 1x -timeout 30m ./internal/app/
	go test -run '^$$' -bench RecommendAtSend -timeout 30m ./internal/app/
	go test -run '^$$' -bench CampaignReport -benchtime 3x -timeout 20m ./models/
	go test -run '^$$' -bench ImportOrders -benchtime 1x -timeout 20m ./cmd/lift/

bench-temporal: ## Lift's Temporal costs and rates on the embedded stack, against raw SDK baselines in the same run (docs/performance.md)
	go run ./cmd/lift-dev bench $(ARGS)

build: ## Build bin/lift (production: api, worker, migrate) and bin/lift-dev (lift dev)
	go build -trimpath -o bin/lift ./cmd/lift
	go build -trimpath -o bin/lift-dev ./cmd/lift-dev

prod-up: ## The production topology without Docker: Temporal on PostgreSQL + UI, 2 workers, 2 APIs (8081, 8082)
	deploy/prod.sh up

prod-down: ## Stop what prod-up started
	deploy/prod.sh down

docker: ## Build the container image (needs a Docker engine)
	docker build -t lift:dev .

clean: ## Remove build output, the dev data dir and prod-up's
	rm -rf bin .lift .prod
