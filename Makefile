# The tutorial's two commands:
#   make run    run step 1 (make run STEP=7: step 7), no Docker needed
#   make test   run every test (what CI runs)
#   make setup  is this laptop ready? (installs nothing; make deps installs)
# and the workshop's two:
#   make exercise STEP=4              copy step 3 into _exercises/step4 to write step 4's lesson
#   make check STEP=4 DIR=_exercises/step4   check it against step 4's lesson, on a real trace

.PHONY: run test deps prereqs setup diff exercise check bench

# make run STEP=N is `go run ./cmd/tutorial run N`, built first so that its
# exit status and errors are its own (go run adds "exit status 2").
run:
	@case "$(STEP)" in 6|7|8|9|10|11) scripts/install-redis ;; esac
	@go build -o bin/tutorial ./cmd/tutorial
	@bin/tutorial run $(STEP)

# What the tests and the runner need: redis-server, a Chrome or Chromium
# (the trace viewer's browser test), and Jaeger built once; for the docker
# compose tests, a Docker engine, compose and buildx, and stand-ins for the
# base images that no registry serves (tools/composecheck); for the dev
# container's test, npm too (it installs @devcontainers/cli in the cache).
#
# make test installs nothing on your machine: for what is missing, the
# scripts print the command for your platform, and the tests that need it
# say NOT RUN. make deps installs it (apt-get, brew, sudo, starting
# Docker's engine); so does CI (CI=true), where nothing may be NOT RUN.
deps:
	@$(MAKE) --no-print-directory prereqs INSTALL=1

prereqs:
	@scripts/install-redis
	@scripts/install-chromium >/dev/null
	@go run ./cmd/buildjaeger >/dev/null
	@scripts/install-docker
	@cd tools/composecheck && go run ./cmd/dockerready

# The learner's machines: make test also builds and vets everything for
# macOS (Intel and Apple Silicon), and builds the runner for Windows, where
# it says to use WSL2. The tests that cannot run here say NOT RUN, and make
# test lists them at the end of go test (e2e.NotRun writes them to
# TUTORIAL_NOT_RUN).
test: prereqs
	@unformatted=$$(gofmt -l $$(ls -d */ | grep -v '^_exercises/')); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	GOOS=darwin GOARCH=amd64 go build ./... && GOOS=darwin GOARCH=amd64 go vet ./...
	GOOS=darwin GOARCH=arm64 go build ./... && GOOS=darwin GOARCH=arm64 go vet ./...
	GOOS=windows GOARCH=amd64 go build -o /dev/null ./cmd/tutorial && GOOS=windows GOARCH=amd64 go vet ./internal/infra/proc
	@echo "go test -timeout 30m ./..."; notrun=$$(mktemp); \
	TUTORIAL_NOT_RUN=$$notrun go test -timeout 30m ./...; status=$$?; \
	if [ -s "$$notrun" ]; then echo; echo "NOT RUN on this machine (make deps installs what they need):"; sort -u "$$notrun" | sed 's/^/  /'; echo; fi; \
	rm -f "$$notrun"; [ $$status = 0 ]
	scripts/fuzz
	cd tools/composecheck && go vet ./... && go test . ./dockerenv
	cd tools/composecheck && go test -v -timeout 60m ./up
	cd tools/composecheck && go test -v -timeout 30m ./devcontainer

# make setup: is this laptop ready? Run it at home the day before a
# workshop. It installs nothing: it says what is missing and how to
# install it on this platform, builds Jaeger and every step, and sends one
# traced request through step 3 (and step 7, with redis-server). The logic
# is in scripts/setup.
setup:
	@scripts/setup

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
# Jaeger, on this machine (about 8 minutes; docs/benchmarks.md has figures).
bench: prereqs
	go run ./cmd/bench
	go test -run '^$$' -bench . -benchmem ./cmd/bench
