// Command dockerready gets this machine ready for docker compose and its
// test (tools/composecheck/up): it checks that a Docker engine answers,
// installs the compose and buildx plugins that tools/docker pins when docker
// has none that work, and makes stand-ins for the pinned base images that
// cannot be pulled. `make deps` runs it, so that the slow first run shows
// its progress instead of hiding inside a test.
//
// Without an engine it says so and exits 0, unless CI=true: CI must run
// the compose tests, so there it exits 1. It installs compose and buildx
// only in CI or when asked (make deps sets INSTALL=1); otherwise it says
// what is missing, and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/tracing-tutorial/tutorial/tools/composecheck/dockerenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "dockerready:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	engine, err := dockerenv.Engine(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			return fmt.Errorf("%w; CI must run the docker compose tests (scripts/install-docker installs and starts one)", err)
		}
		fmt.Fprintf(os.Stderr, "dockerready: %v: the docker compose tests will be skipped (install Docker to run them)\n", err)
		return nil
	}
	fmt.Fprintf(os.Stderr, "dockerready: Docker Engine %s\n", engine)
	if dockerenv.StartIntervalIgnored(engine) {
		fmt.Fprintf(os.Stderr, "dockerready: Engine %s is older than 25: it ignores healthcheck.start_interval\n", engine)
	}
	report, err := dockerenv.Plugins(ctx, os.Stderr)
	for _, line := range report {
		fmt.Fprintln(os.Stderr, "dockerready:", line)
	}
	if errors.Is(err, dockerenv.ErrNotAsked) {
		fmt.Fprintf(os.Stderr, "dockerready: %v; the docker compose tests will say NOT RUN\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	images, err := dockerenv.BaseImages(ctx, os.Stderr)
	for _, image := range images {
		fmt.Fprintln(os.Stderr, "dockerready:", image)
	}
	return err
}
