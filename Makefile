# The tutorial's two commands:
#   make run    run step 1 (make run STEP=7: step 7), no Docker needed
#   make test   run every test (what CI runs)
# and the workshop's two:
#   make exercise STEP=4              copy step 3 into _exercises/step4 to write step 4's lesson
#   make check STEP=4 DIR=_exercises/step4   check it against step 4's lesson, on a real trace

.PHONY: run test deps diff exercise check bench

# make run STEP=N is `go run ./cmd/tutorial run N`, built first so that its
# exit status and errors are its own (go run adds "exit status 2").
run:
	@case "$(STEP)" in 6|7|8|9|10|11) scripts/install-redis ;; esac
	@go build -o bin/tutorial ./cmd/tutorial
	@bin/tutorial run $(STEP)

# What the tests and the runner need: redis-server, chromium (the trace
# viewer's browser test), and Jaeger built once; for the docker compose
# tests, a Docker engine, compose and buildx, and stand-ins for the base
# images that no registry serves (tools/composecheck).
deps:
	@scripts/install-redis
	@scripts/install-chromium
	@go run ./cmd/buildjaeger >/dev/null
	@scripts/install-docker
	@cd tools/composecheck && go run ./cmd/dockerready

test: deps
	@unformatted=$$(gofmt -l $$(ls -d */ | grep -v '^_exercises/')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go test -timeout 15m ./... && scripts/fuzz
	cd tools/composecheck && go vet ./... && go test . ./dockerenv
	cd tools/composecheck && go test -v -timeout 60m ./up

# make diff FROM=6 TO=7: what lesson 7 adds to lesson 6 (TO=7 alone: to
# the step before), without the tests and READMEs; a file that moved shows
# as the lines that changed. The logic is in scripts/diff-steps.
diff:
	@scripts/diff-steps "$(FROM)" "$(TO)"

# make exercise STEP=N copies step N-1 into _exercises/stepN (git ignores
# it) and says what to do; RESET=1 throws the copy away and starts over.
exercise:
	@go build -o bin/workshop ./cmd/workshop
	@bin/workshop exercise $(if $(RESET),-reset) $(STEP)

# make check STEP=N DIR=path checks the code in path against step N's
# lesson: it runs it with Jaeger (built first if need be), the stand-in
# GitHub and Redis, and reads the trace back.
check:
	@case "$(STEP)" in 6|7|8|9|10|11) scripts/install-redis ;; esac
	@go build -o bin/workshop ./cmd/workshop
	@bin/workshop check $(STEP) $(DIR)

# make bench: what tracing costs step 7, and whether every span reaches
# Jaeger, on this machine (about 5 minutes; docs/benchmarks.md has figures).
bench: deps
	go run ./cmd/bench
	go test -run '^$$' -bench . -benchmem ./cmd/bench
