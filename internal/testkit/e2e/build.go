package e2e

import (
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var builds struct {
	mu sync.Mutex
	m  map[string]*builtBinary // by absolute package directory or import path
}

type builtBinary struct {
	once sync.Once
	path string // where go build writes it
	err  error
}

// Build compiles the program pkg, a directory relative to the test's
// working directory ("." or "./gateway") or an import path, and returns the
// binary's path. A package builds once per test binary, however many tests
// ask; Main deletes the binaries.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	dir := binDir(t)
	key, name := pkg, path.Base(pkg)
	if pkg == "." || pkg == ".." || strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../") {
		abs, err := filepath.Abs(pkg)
		if err != nil {
			t.Fatal(err)
		}
		key, name = abs, filepath.Base(abs)
	}

	builds.mu.Lock()
	if builds.m == nil {
		builds.m = map[string]*builtBinary{}
	}
	b, ok := builds.m[key]
	if !ok {
		// Each package gets its own directory: two may share a name.
		b = &builtBinary{path: filepath.Join(dir, fmt.Sprint(len(builds.m)), name)}
		builds.m[key] = b
	}
	builds.mu.Unlock()

	b.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		if output, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
		}
	})
	if b.err != nil {
		t.Fatalf("e2e: %v", b.err)
	}
	return b.path
}
