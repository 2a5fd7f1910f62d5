// Package dockerenv gets a machine ready for docker compose: it finds the
// Docker engine, installs the compose and buildx plugins at the versions
// tools/docker pins (built from the Go module proxy, once per machine) when
// the machine has none that work, and makes stand-ins for the base images
// that cannot be pulled. The compose test (../up) and `make deps` use it.
package dockerenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// Docker runs the docker command and returns its standard output, trimmed.
// Its error includes what docker wrote on standard error.
func Docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// ErrNoEngine means no Docker engine answers: docker is not installed, or
// its daemon is not running or not ours to use.
var ErrNoEngine = errors.New("no Docker engine answers")

// Engine returns the version of the Docker engine that answers
// ("20.10.24+dfsg1"), or an error wrapping ErrNoEngine that says why none does.
func Engine(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return "", fmt.Errorf("%w: the docker command is not installed", ErrNoEngine)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	version, err := Docker(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil || version == "" {
		return "", fmt.Errorf("%w: %v", ErrNoEngine, err)
	}
	return version, nil
}

// StartIntervalIgnored reports whether an engine of this version ignores a
// health check's start_interval (it needs Engine 25): such an engine checks
// a starting container only every interval.
func StartIntervalIgnored(engineVersion string) bool {
	major, _, ok := majorMinor(engineVersion)
	return ok && major < 25
}

var versionPattern = regexp.MustCompile(`v?(\d+)\.(\d+)`)

// majorMinor reads "v0.38.2", "5.6.0" or "20.10.24+dfsg1".
func majorMinor(version string) (major, minor int, ok bool) {
	m := versionPattern.FindStringSubmatch(version)
	if m == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, true
}

// atLeast reports whether version is at least major.minor.
func atLeast(version string, major, minor int) bool {
	ma, mi, ok := majorMinor(version)
	return ok && (ma > major || ma == major && mi >= minor)
}

// Root is the tutorial's clone, found from the working directory.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return paths.Root(wd)
}
