// Package composecheck holds the repository's docker-compose.yml and
// Dockerfile to internal/infra/topology, the one description of what each step
// runs: its test loads the file with compose-go, exactly as docker compose
// does, and checks that `docker compose --profile stepN up --build` starts
// what the step needs, wired the way the native runner wires it. It needs
// no Docker.
//
// The subpackages run it for real: up is the end-to-end test of every
// step's profile on a Docker engine, devcontainer starts the tutorial's dev
// container (.devcontainer/) with the Dev Containers CLI and checks a
// traced request inside it, and dockerenv gets the machine ready
// for it (the engine, the compose and buildx plugins that ../docker pins,
// stand-ins for base images that cannot be pulled); cmd/dockerready runs
// dockerenv from `make deps`.
//
// It is a module of its own so that compose-go stays out of the tutorial's
// go.mod.
//
//	cd tools/composecheck && go test . ./dockerenv && go test -v ./up ./devcontainer
package composecheck
