package jaeger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// jaegerModule is the module tools/go.mod pins; its cmd/jaeger is Jaeger v2.
const jaegerModule = "github.com/jaegertracing/jaeger"

// progressInterval is how often a long wait reports that it is still alive.
const progressInterval = 20 * time.Second

// Binary returns the path of a Jaeger built from the version tools/go.mod
// pins, building it first if no earlier run has.
//
// There is no download: the tutorial must work where only the Go module
// proxy is reachable, so Jaeger is built from source, once per machine. The
// binary lives in the user's cache directory, outside the clone, so a fresh
// clone reuses it. The first build takes 4 to 5 minutes on 2 cores; it
// reports progress to progress (nil for none) at least every 20 seconds.
func Binary(ctx context.Context, progress io.Writer) (string, error) {
	if progress == nil {
		progress = io.Discard
	}
	root, version, path, err := cached()
	if err != nil {
		return "", err
	}
	if exists(path) {
		return path, nil
	}

	// Several test binaries (one per package) may ask at the same moment;
	// only one of them builds, the others wait for it.
	unlock, err := lockDir(ctx, filepath.Dir(path), progress)
	if err != nil {
		return "", err
	}
	defer unlock()
	if exists(path) {
		return path, nil
	}
	if err := build(ctx, filepath.Join(root, "tools"), version, path, progress); err != nil {
		return "", err
	}
	return path, nil
}

// Cached returns where the Jaeger that tools/go.mod pins lives, and
// whether it is built yet.
func Cached() (path string, built bool, err error) {
	_, _, path, err = cached()
	return path, err == nil && exists(path), err
}

func cached() (root, version, path string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", "", "", err
	}
	if root, err = paths.Root(wd); err != nil {
		return "", "", "", err
	}
	if version, err = jaegerVersion(filepath.Join(root, "tools", "go.mod")); err != nil {
		return "", "", "", err
	}
	goSum, err := os.ReadFile(filepath.Join(root, "tools", "go.sum"))
	if err != nil {
		return "", "", "", err
	}
	path, err = binaryPath(buildKey(version, goSum))
	return root, version, path, err
}

// ldflags are the link flags of Jaeger's build.
const ldflags = "-s -w"

// buildKey names a build of Jaeger: its version, then a digest of what
// else decides the binary, every module's version and hash (tools/go.sum)
// and the link flags. A change to either builds anew, beside the old
// build; the version alone once kept a binary built with other modules
// (v1.75.0 with v1.76.0's collector, which would not start).
func buildKey(version string, goSum []byte) string {
	h := sha256.New()
	h.Write(goSum)
	h.Write([]byte("\x00ldflags=" + ldflags))
	return version + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// BuildLog is the log of a build in the background (`make run` of steps 1
// and 2 starts one), beside the binary at path.
func BuildLog(path string) string {
	return filepath.Join(filepath.Dir(path), "build.log")
}

// jaegerVersion reads the version of the Jaeger module that goModPath
// requires, in either the one-line or the block form of require.
func jaegerVersion(goModPath string) (string, error) {
	data, err := os.ReadFile(goModPath)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(data)) {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) == 2 && fields[0] == jaegerModule {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", goModPath, jaegerModule)
}

// binaryPath is where the Jaeger of a build key lives:
// $TUTORIAL_CACHE_DIR, or the user's cache directory/tracing-tutorial, then
// jaeger-<key>/jaeger.
func binaryPath(key string) (string, error) {
	cache, err := paths.CacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for Jaeger (set TUTORIAL_CACHE_DIR): %w", err)
	}
	return filepath.Join(cache, "jaeger-"+key, "jaeger"), nil
}

// lockDir takes an exclusive lock on dir/.lock, across processes. It polls
// rather than blocks so that ctx can cancel the wait and the wait can report
// progress.
func lockDir(ctx context.Context, dir string, progress io.Writer) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lockPath := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	lastReport := start
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// Closing the file releases the lock, and so does the
			// process dying: a crashed build never blocks the next one.
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", lockPath, err)
		}
		if lastReport == start || time.Since(lastReport) >= progressInterval {
			fmt.Fprintf(progress, "jaeger: another process is building Jaeger; waiting for it (%s so far, lock %s)%s\n",
				time.Since(start).Round(time.Second), lockPath, buildStatus(dir))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another process to build Jaeger: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildStatus is the last line of a build's log in dir: its progress, when
// the build runs in the background.
func buildStatus(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "build.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	last := strings.TrimPrefix(lines[len(lines)-1], "jaeger: ")
	if last == "" {
		return ""
	}
	return ": " + last
}

// build runs go build in the tools module and moves the result to path only
// once it is complete, so a half-written binary is never found.
func build(ctx context.Context, toolsDir, version, path string, progress io.Writer) error {
	fmt.Fprintf(progress, "jaeger: building Jaeger %s from source: first run only, about 5 minutes on 2 cores; cached at %s\n", version, path)
	tmp := path + ".tmp"
	// -s -w: no symbol table and no DWARF, which nobody here debugs Jaeger
	// with; the link is 3 s shorter (8 s to 5 s) and the binary 36 MB
	// smaller (121 MB to 85 MB).
	cmd := exec.CommandContext(ctx, "go", "build", "-v", "-ldflags="+ldflags, "-o", tmp, jaegerModule+"/cmd/jaeger")
	cmd.Dir = toolsDir
	// The compiler spends much of its time collecting garbage; with four
	// times the heap it collects less often. Measured on this 2-core
	// machine: Jaeger from an empty build cache in 270 s and 280 s with
	// GOGC=400, 333 s and 352 s with the default (100); a third of its
	// packages with `go build -a`, 169 s and 216 s. The cost: its largest
	// process (a compile or the link) peaks at 2.8 GB instead of 2.3 GB.
	if os.Getenv("GOGC") == "" {
		cmd.Env = append(os.Environ(), "GOGC=400")
	}
	// go build -v names each package on stderr as it compiles it, which
	// makes a progress count.
	output := &lineCounter{tail: proc.NewTail(8 << 10)}
	cmd.Stdout = output
	cmd.Stderr = output

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("building Jaeger: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ticker := time.NewTicker(progressInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			fmt.Fprintf(progress, "jaeger: still building Jaeger (%s, %d packages so far)\n",
				time.Since(start).Round(time.Second), output.Lines())
		case err := <-done:
			if err != nil {
				os.Remove(tmp)
				return fmt.Errorf("building Jaeger %s in %s: %w\n%s", version, toolsDir, err, output.tail.String())
			}
			if err := os.Rename(tmp, path); err != nil {
				return fmt.Errorf("installing Jaeger: %w", err)
			}
			fmt.Fprintf(progress, "jaeger: built Jaeger %s in %s (%d packages)\n",
				version, time.Since(start).Round(time.Second), output.Lines())
			return nil
		}
	}
}

// lineCounter counts the lines written to it and keeps their tail.
type lineCounter struct {
	mu    sync.Mutex
	lines int
	tail  *proc.Tail
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines += strings.Count(string(p), "\n")
	return c.tail.Write(p)
}

func (c *lineCounter) Lines() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
