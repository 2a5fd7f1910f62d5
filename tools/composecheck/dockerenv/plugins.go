package dockerenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// plugin is a docker CLI plugin that tools/docker/<name> pins.
type plugin struct {
	name       string // "compose": docker compose, the file docker-compose
	module     string // the Go module that tools/docker/<name>/go.mod requires
	pkg        string // its main package
	versionVar string // the variable that -ldflags -X sets to the version
	// The oldest version that works with our docker-compose.yml:
	// compose 2.20 reads healthcheck.start_interval; compose refuses
	// buildx older than 0.17.
	minMajor, minMinor int
	versionArgs        []string // docker <versionArgs> prints the version
}

var plugins = []plugin{
	{
		name: "compose", module: "github.com/docker/compose/v5", pkg: "github.com/docker/compose/v5/cmd",
		versionVar: "github.com/docker/compose/v5/internal.Version",
		minMajor:   2, minMinor: 20,
		versionArgs: []string{"compose", "version", "--short"},
	},
	{
		name: "buildx", module: "github.com/docker/buildx", pkg: "github.com/docker/buildx/cmd/buildx",
		versionVar: "github.com/docker/buildx/version.Version",
		minMajor:   0, minMinor: 17,
		versionArgs: []string{"buildx", "version"},
	},
}

// installed returns the version of the plugin that docker runs, if any.
func (p plugin) installed(ctx context.Context) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := Docker(ctx, p.versionArgs...)
	if err != nil {
		return "", false
	}
	// "5.6.0", or "github.com/docker/buildx v0.38.2 <commit>"
	fields := strings.Fields(out)
	for _, f := range fields {
		if versionPattern.MatchString(f) {
			return f, true
		}
	}
	return out, true
}

// ErrNotAsked is Plugins' error when a plugin is missing or too old and
// installing it was not asked for: outside CI (CI=true), and without
// INSTALL=1 (make deps), a learner's docker is left as it is.
var ErrNotAsked = errors.New("not installed: make deps installs it (CI does too)")

// Plugins makes sure docker compose and docker buildx work: a version that
// does is kept (a learner's Docker Desktop, say); otherwise, in CI or when
// asked (see ErrNotAsked), the version tools/docker pins is built from the
// Go module proxy into the cache (once per machine and version) and linked
// into the docker CLI's plugin directory. It returns a line per plugin
// saying which one docker runs.
func Plugins(ctx context.Context, progress io.Writer) ([]string, error) {
	if progress == nil {
		progress = io.Discard
	}
	root, err := Root()
	if err != nil {
		return nil, err
	}
	var report []string
	for _, p := range plugins {
		version, ok := p.installed(ctx)
		if ok && atLeast(version, p.minMajor, p.minMinor) {
			report = append(report, fmt.Sprintf("docker %s %s", p.name, version))
			continue
		}
		if os.Getenv("CI") != "true" && os.Getenv("INSTALL") != "1" {
			have := "no docker " + p.name
			if ok {
				have = fmt.Sprintf("docker %s %s is older than %d.%d, which our docker-compose.yml needs", p.name, version, p.minMajor, p.minMinor)
			}
			return report, fmt.Errorf("%s; docker %s %w: it builds the pinned version into ~/.docker/cli-plugins (or install Docker's own %s plugin)", have, p.name, ErrNotAsked, p.name)
		}
		path, pinned, err := p.build(ctx, root, progress)
		if err != nil {
			return report, err
		}
		link, err := p.install(path)
		if err != nil {
			if ok {
				err = fmt.Errorf("docker %s is %s, older than %d.%d, which our docker-compose.yml needs: %w", p.name, version, p.minMajor, p.minMinor, err)
			}
			return report, err
		}
		version, ok = p.installed(ctx)
		if !ok || !atLeast(version, p.minMajor, p.minMinor) {
			return report, fmt.Errorf("installed %s as %s, but docker %s reports version %q", path, link, p.name, version)
		}
		report = append(report, fmt.Sprintf("docker %s %s (built from the Go module proxy: %s, linked from %s)", p.name, pinned, path, link))
	}
	return report, nil
}

// PluginPath is where the cache keeps the plugin of that version.
func PluginPath(name, version string) (string, error) {
	cache, err := paths.CacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set TUTORIAL_CACHE_DIR): %w", err)
	}
	return filepath.Join(cache, "docker-"+name+"-"+version, "docker-"+name), nil
}

// build builds the pinned version into the cache unless it is there.
func (p plugin) build(ctx context.Context, root string, progress io.Writer) (path, version string, err error) {
	dir := filepath.Join(root, "tools", "docker", p.name)
	version, err = requiredVersion(filepath.Join(dir, "go.mod"), p.module)
	if err != nil {
		return "", "", err
	}
	path, err = PluginPath(p.name, version)
	if err != nil {
		return "", "", err
	}
	if exists(path) {
		return path, version, nil
	}
	unlock, err := lock(ctx, filepath.Dir(path))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	if exists(path) {
		return path, version, nil
	}
	fmt.Fprintf(progress, "dockerenv: building docker %s %s from the Go module proxy (first run only, a few minutes); cached at %s\n", p.name, version, path)
	start := time.Now()
	tmp := path + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X "+p.versionVar+"="+version, "-o", tmp, p.pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return "", "", fmt.Errorf("building docker %s %s in %s: %w\n%s", p.name, version, dir, err, tail(out, 4000))
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", err
	}
	fmt.Fprintf(progress, "dockerenv: built docker %s %s in %s\n", p.name, version, time.Since(start).Round(time.Second))
	return path, version, nil
}

// PluginDir is the docker CLI's own plugin directory:
// $DOCKER_CONFIG/cli-plugins, or ~/.docker/cli-plugins.
func PluginDir() (string, error) {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "cli-plugins"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".docker", "cli-plugins"), nil
}

// install links the plugin into the docker CLI's plugin directory. It
// replaces only a link of ours (into the cache, from an older pin), never a
// plugin someone else installed.
func (p plugin) install(path string) (string, error) {
	dir, err := PluginDir()
	if err != nil {
		return "", err
	}
	link := filepath.Join(dir, "docker-"+p.name)
	if target, err := os.Readlink(link); err == nil {
		cache, _ := paths.CacheDir()
		if !strings.HasPrefix(target, cache+string(filepath.Separator)) {
			return link, fmt.Errorf("%s links to %s, which is not ours: replace it with docker %s %d.%d or later, or remove it to let the tests install theirs", link, target, p.name, p.minMajor, p.minMinor)
		}
		if err := os.Remove(link); err != nil {
			return link, err
		}
	} else if _, err := os.Lstat(link); err == nil {
		return link, fmt.Errorf("%s is not ours: replace it with docker %s %d.%d or later, or remove it to let the tests install theirs", link, p.name, p.minMajor, p.minMinor)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return link, err
	}
	return link, os.Symlink(path, link)
}

// requiredVersion reads the version of module that goModPath requires.
func requiredVersion(goModPath, module string) (string, error) {
	data, err := os.ReadFile(goModPath)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) == 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", goModPath, module)
}

// lock takes an exclusive lock on dir/.lock, across processes: two test
// runs never build the same thing at once. The lock ends with the process.
func lock(ctx context.Context, dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another process to build in %s: %w", dir, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
