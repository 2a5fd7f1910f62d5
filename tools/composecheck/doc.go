// Package composecheck holds the repository's docker-compose.yml and
// Dockerfile to internal/topology, the one description of what each step
// runs. Docker cannot run here, so its test is the proof that
// `docker compose --profile stepN up --build` starts what the step needs,
// wired the way the native runner wires it.
//
// It is a module of its own so that compose-go, which the test uses to load
// the file exactly as docker compose does, stays out of the tutorial's go.mod.
//
//	cd tools/composecheck && go test ./...
package composecheck
