# The tutorial's two commands:
#   make run    run step 1 against the stand-in GitHub
#   make test   run every test (what CI runs)

.PHONY: run test deps diff

run:
	@mkdir -p bin
	@go build -o bin/ ./cmd/fakegithub ./step1-monolith
	@echo "step 1 on http://127.0.0.1:8000/git/golang/go (stand-in GitHub: synthetic data); Ctrl-C stops"
	@trap 'kill 0' INT TERM EXIT; \
	  bin/fakegithub -addr 127.0.0.1:9090 & \
	  GITHUB_API_URL=http://127.0.0.1:9090/ HOST=127.0.0.1 bin/step1-monolith

# What the tests and the runner need: redis-server, and Jaeger built once.
deps:
	@scripts/install-redis
	@go run ./cmd/buildjaeger >/dev/null

test: deps
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go test -timeout 15m ./...
	cd tools/composecheck && go vet ./... && go test ./...

# make diff FROM=6 TO=7: what a lesson adds, without the import lines that
# differ only by the step's directory name, nor the tests and READMEs.
diff:
	@from=$$(ls -d step$(or $(FROM),1)-*/ | head -1); to=$$(ls -d step$(or $(TO),2)-*/ | head -1); \
	  diff -ruN -x '*_test.go' -x README.md -I '"github.com/tracing-tutorial/tutorial/step[0-9]' $$from $$to; true
