package jaeger

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestJaegerVersion(t *testing.T) {
	for _, tc := range []struct {
		name, gomod, want string
	}{
		{"block", "module m\n\nrequire (\n\tgithub.com/a/b v1.0.0 // indirect\n\tgithub.com/jaegertracing/jaeger v1.75.0 // indirect\n\tgithub.com/jaegertracing/jaeger-idl v0.6.0 // indirect\n)\n", "v1.75.0"},
		{"one line", "module m\n\nrequire github.com/jaegertracing/jaeger v1.2.3\n", "v1.2.3"},
		{"pseudo-version", "require github.com/jaegertracing/jaeger v1.77.1-0.20250101000000-abcdefabcdef\n", "v1.77.1-0.20250101000000-abcdefabcdef"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "go.mod")
			writeFile(t, path, tc.gomod)
			got, err := jaegerVersion(path)
			if err != nil || got != tc.want {
				t.Errorf("jaegerVersion = %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "go.mod")
	writeFile(t, path, "module m\n\nrequire github.com/jaegertracing/jaeger-idl v0.6.0\n")
	if got, err := jaegerVersion(path); err == nil {
		t.Errorf("jaegerVersion without jaeger = %q, want an error", got)
	}
}

// The real tools/go.mod must be readable, or every e2e test fails.
func TestJaegerVersionOfTools(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	gomod := filepath.Join(root, "tools", "go.mod")
	got, err := jaegerVersion(gomod)
	if err != nil {
		t.Fatal(err)
	}
	// A release, which names the cache directory and the download.
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(got) {
		t.Errorf("jaegerVersion of tools/go.mod = %q, want a release vX.Y.Z", got)
	}

	// The version in the jaeger module's require line, read here on its own.
	data, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	var required []string
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(line)
		if len(fields) > 0 && fields[0] == "require" {
			fields = fields[1:]
		}
		if len(fields) >= 2 && fields[0] == "github.com/jaegertracing/jaeger" {
			required = append(required, fields[1])
		}
	}
	if len(required) != 1 {
		t.Fatalf("tools/go.mod requires github.com/jaegertracing/jaeger %d times (%v), want once", len(required), required)
	}
	if got != required[0] {
		t.Errorf("jaegerVersion of tools/go.mod = %q, want %q from its require line", got, required[0])
	}
}

// Where the cache is comes from paths.CacheDir, tested there.
func TestBinaryPath(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", "/cache")
	got, err := binaryPath("v1.75.0-0123456789ab")
	if want := "/cache/jaeger-v1.75.0-0123456789ab/jaeger"; err != nil || got != want {
		t.Errorf("binaryPath = %q, %v; want %q", got, err, want)
	}
}

// TestBuildKey: a build is found again only for the same version and the
// same modules; a go.sum changed without a new Jaeger version is a new
// build, not the old binary.
func TestBuildKey(t *testing.T) {
	sum := []byte("github.com/jaegertracing/jaeger v1.75.0 h1:abc=\ngo.opentelemetry.io/collector/otelcol v0.139.0 h1:def=\n")
	key := buildKey("v1.75.0", sum)
	if !regexp.MustCompile(`^v1\.75\.0-[0-9a-f]{12}$`).MatchString(key) {
		t.Errorf("buildKey = %q, want v1.75.0-<12 hex digits>", key)
	}
	if again := buildKey("v1.75.0", sum); again != key {
		t.Errorf("buildKey is not stable: %q, then %q", key, again)
	}
	other := bytes.Replace(sum, []byte("v0.139.0"), []byte("v0.140.0"), 1)
	if buildKey("v1.75.0", other) == key {
		t.Errorf("buildKey(%q) is the same with another collector in go.sum", key)
	}
	if got := buildKey("v1.76.0", sum); !strings.HasPrefix(got, "v1.76.0-") {
		t.Errorf("buildKey for v1.76.0 = %q", got)
	}
}

func TestLockDirWaitsAndSaysSo(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	// A second locker (as if another test binary) waits, says so, and
	// gives up when its context ends.
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockDir(ctx, dir, &progress); err == nil {
		t.Fatal("second lock acquired while the first is held")
	}
	if !strings.Contains(progress.String(), "another process is building Jaeger") {
		t.Errorf("no progress while waiting, got %q", progress.String())
	}

	unlock()
	unlock2, err := lockDir(t.Context(), dir, nil)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestBuildFailureShowsGoOutput(t *testing.T) {
	// Never fetch: the build must fail at once.
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=readonly")
	tools := t.TempDir()
	writeFile(t, filepath.Join(tools, "go.mod"), "module tools\n\ngo 1.26\n")
	path := filepath.Join(t.TempDir(), "jaeger")
	var progress strings.Builder
	err := build(t.Context(), tools, "v0.0.0", path, &progress)
	if err == nil {
		t.Fatal("build without the Jaeger module succeeded")
	}
	if !strings.Contains(err.Error(), "github.com/jaegertracing/jaeger/cmd/jaeger") {
		t.Errorf("error lacks go's output: %v", err)
	}
	if !strings.HasPrefix(progress.String(), "jaeger: building Jaeger v0.0.0 from source: first run only") {
		t.Errorf("progress = %q", progress.String())
	}
	if exists(path) || exists(path+".tmp") {
		t.Error("failed build left a binary behind")
	}
}
