# The tutorial's two commands:
#   make run    run step 1 (make run STEP=7: step 7), no Docker needed
#   make test   run every test (what CI runs)

.PHONY: run test deps diff

# make run STEP=N is `go run ./cmd/tutorial run N`, built first so that its
# exit status and errors are its own (go run adds "exit status 2").
run:
	@case "$(STEP)" in 6|7) scripts/install-redis ;; esac
	@go build -o bin/tutorial ./cmd/tutorial
	@bin/tutorial run $(STEP)

# What the tests and the runner need: redis-server, chromium (the trace
# viewer's browser test), and Jaeger built once.
deps:
	@scripts/install-redis
	@scripts/install-chromium
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
