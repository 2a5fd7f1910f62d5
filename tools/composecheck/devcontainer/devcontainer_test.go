// Package devcontainer builds and starts the tutorial's dev container
// (.devcontainer/) on a real Docker engine with the Dev Containers CLI
// (@devcontainers/cli, from npm), as VS Code and Codespaces do, and checks
// from inside it what a learner needs: Go, make, git, redis-server and
// Jaeger, the forwarded ports, and one traced request through step 3,
// read back from the image's Jaeger.
//
// Without an engine or npm it skips and says what it did not run, except
// in CI (CI=true), where that is a failure. `make test` runs it with -v.
package devcontainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/tools/composecheck/dockerenv"
)

const (
	// cliVersion is the Dev Containers CLI the test installs (npm view
	// @devcontainers/cli version).
	cliVersion = "0.89.0"
	// upTimeout bounds devcontainer up: the first build installs
	// redis-server with apt-get and runs go mod download.
	upTimeout = 10 * time.Minute
	// checkTimeout bounds make check inside the container: it builds the
	// workshop tool and step 3 from nothing.
	checkTimeout = 10 * time.Minute
	// buildCache is the volume that keeps the container's Go build cache
	// between runs of the test (docker volume rm it to start cold).
	buildCache = "tracing-tutorial-devcontainer-go-build"
)

// notRun skips outside CI and fails in CI, as the compose tests do.
func notRun(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, and %s: the dev container test must run in CI", why)
	}
	t.Skipf("NOT RUN: the dev container test (devcontainer up of .devcontainer/, Go, make, git, redis-server and Jaeger inside, the forwarded ports, a traced request through step 3), because %s", why)
}

func TestDevContainer(t *testing.T) {
	ctx := t.Context()
	engine, err := dockerenv.Engine(ctx)
	if err != nil {
		notRun(t, fmt.Sprintf("%v. Install or start Docker to run it", err))
	}
	if _, err := exec.LookPath("npm"); err != nil {
		notRun(t, "there is no npm, to install the Dev Containers CLI (@devcontainers/cli): install Node.js")
	}
	t.Logf("Docker Engine %s", engine)
	progress := logWriter{t}
	report, err := dockerenv.Plugins(ctx, progress)
	for _, line := range report {
		t.Log(line)
	}
	if errors.Is(err, dockerenv.ErrNotAsked) {
		notRun(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	images, err := dockerenv.BaseImages(ctx, progress)
	for _, image := range images {
		t.Log(image)
	}
	if err != nil {
		t.Fatal(err)
	}
	root, err := dockerenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	cli := installCLI(t)

	// A label of this run's own, so that the test neither finds nor
	// removes a dev container someone opened on this clone.
	id := "org.tracing-tutorial.devcontainer-test=" + strconv.FormatInt(time.Now().UnixNano(), 36)
	dc := &devcontainer{cli: cli, root: root, id: id}
	// The machine's module proxy and GOFLAGS (in a git worktree, the
	// container cannot see the repository: -buildvcs=false).
	for _, name := range []string{"GOPROXY", "GOFLAGS"} {
		if out, err := exec.Command("go", "env", name).Output(); err == nil && strings.TrimSpace(string(out)) != "" {
			dc.env = append(dc.env, name+"="+strings.TrimSpace(string(out)))
		}
	}

	start := time.Now()
	upCtx, cancel := context.WithTimeout(ctx, upTimeout)
	// Go's build cache in a volume that outlives the container, as a
	// learner's container keeps its own: the first make check builds
	// for minutes, the next ones in seconds.
	out, err := dc.run(upCtx, "up", "--workspace-folder", root, "--id-label", id, "--remove-existing-container",
		"--mount", "type=volume,source="+buildCache+",target=/root/.cache/go-build")
	cancel()
	up := time.Since(start)
	var result struct {
		Outcome, ContainerID, RemoteWorkspaceFolder string
	}
	if i := strings.LastIndex(out, "\n{"); i >= 0 {
		json.Unmarshal([]byte(out[i+1:]), &result)
	}
	if result.ContainerID != "" {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := dockerenv.Docker(ctx, "rm", "--force", "--volumes", result.ContainerID); err != nil {
				t.Errorf("removing the dev container: %v", err)
			}
		})
	}
	if err != nil || result.Outcome != "success" {
		t.Fatalf("devcontainer up: %v (outcome %q)\n%s", err, result.Outcome, tail(out, 60))
	}
	t.Logf("devcontainer up (build, start, postCreateCommand): %s", up.Round(100*time.Millisecond))

	// What VS Code and Codespaces read: the gateway's and Jaeger UI's
	// ports forwarded.
	t.Run("forwardPorts", func(t *testing.T) {
		out, err := dc.run(ctx, "read-configuration", "--workspace-folder", root)
		if err != nil {
			t.Fatalf("devcontainer read-configuration: %v\n%s", err, out)
		}
		var config struct {
			Configuration struct{ ForwardPorts []any }
		}
		if i := strings.Index(out, "{"); i < 0 || json.Unmarshal([]byte(out[i:]), &config) != nil {
			t.Fatalf("devcontainer read-configuration said no JSON:\n%s", out)
		}
		for _, port := range []float64{8000, 16686} {
			if !slices.Contains(config.Configuration.ForwardPorts, any(port)) {
				t.Errorf("forwardPorts = %v, want %v in it", config.Configuration.ForwardPorts, port)
			}
		}
	})

	// The tools, each asked for its version from inside the container.
	for _, tc := range []struct {
		command []string
		want    string
	}{
		{[]string{"go", "version"}, "go version go1.26"},
		{[]string{"make", "--version"}, "GNU Make"},
		{[]string{"git", "--version"}, "git version"},
		{[]string{"redis-server", "--version"}, "Redis server v="},
		{[]string{"sh", "-c", `echo "$JAEGER_BINARY"; command -v jaeger`}, "/usr/local/bin/jaeger\n/usr/local/bin/jaeger"},
		{[]string{"jaeger", "--help"}, "jaeger"},
	} {
		t.Run(tc.command[0], func(t *testing.T) {
			out, err := dc.exec(ctx, tc.command...)
			if err != nil || !strings.Contains(out, tc.want) {
				t.Errorf("%s in the dev container: %v, want %q in:\n%s", strings.Join(tc.command, " "), err, tc.want, tail(out, 20))
			}
		})
	}

	// What a learner does first: step 3's lesson, checked on a real
	// trace read back from the image's Jaeger, not one built from source.
	t.Run("make check STEP=3", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		start := time.Now()
		out, err := dc.exec(ctx, "make", "check", "STEP=3", "DIR=step3-adding-jaeger")
		if err != nil || !strings.Contains(out, "PASS") {
			t.Fatalf("make check STEP=3 DIR=step3-adding-jaeger in the dev container: %v\n%s", err, tail(out, 40))
		}
		// A source build says so, and leaves Jaeger in the cache.
		built, _ := dc.exec(ctx, "sh", "-c", `ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/tracing-tutorial/jaeger-* 2>/dev/null || true`)
		if strings.Contains(out, "building Jaeger") || strings.Contains(built, "jaeger-") {
			t.Errorf("make check built Jaeger from source instead of using the image's (JAEGER_BINARY):\n%s\n%s", tail(out, 40), built)
		}
		t.Logf("make check STEP=3 in the dev container: %s\n%s", time.Since(start).Round(100*time.Millisecond), tail(out, 12))
	})
	t.Logf("dev container test: %s in all (devcontainer up %s), Engine %s", time.Since(start).Round(time.Second), up.Round(time.Second), engine)
}

// installCLI installs the Dev Containers CLI once per machine, in the
// tutorial's cache directory (not in the clone), and returns its path.
func installCLI(t *testing.T) string {
	cache, err := paths.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(cache, "devcontainers-cli-"+cliVersion)
	cli := filepath.Join(prefix, "node_modules", ".bin", "devcontainer")
	if _, err := os.Stat(cli); err == nil {
		return cli
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "@devcontainers/cli@"+cliVersion).CombinedOutput()
	if err != nil {
		t.Fatalf("npm install @devcontainers/cli@%s: %v\n%s", cliVersion, err, out)
	}
	t.Logf("installed @devcontainers/cli %s in %s", cliVersion, prefix)
	return cli
}

type devcontainer struct {
	cli, root, id string
	env           []string // name=value, for the commands run inside
}

// run runs the CLI and returns what it wrote (the result is its last line).
func (d *devcontainer) run(ctx context.Context, args ...string) (string, error) {
	for _, kv := range d.env {
		if args[0] == "up" {
			args = append(args, "--remote-env", kv)
		}
	}
	cmd := exec.CommandContext(ctx, d.cli, args...)
	cmd.Dir = d.root
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return string(out), err
}

// exec runs a command in the dev container, as the integrated terminal
// does.
func (d *devcontainer) exec(ctx context.Context, command ...string) (string, error) {
	args := []string{"exec", "--workspace-folder", d.root, "--id-label", d.id}
	for _, kv := range d.env {
		args = append(args, "--remote-env", kv)
	}
	return d.run(ctx, append(args, command...)...)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
