package paths

import (
	"os"
	"path/filepath"
	"testing"
)

// module makes dir a module's root: a go.mod that declares path.
func module(t *testing.T, dir, path string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+path+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRoot(t *testing.T) {
	root := t.TempDir()
	module(t, root, Module)
	module(t, filepath.Join(root, "tools"), "tools") // another module: not the root
	deep := filepath.Join(root, "step3", "gateway")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, deep, filepath.Join(root, "tools")} {
		if got, err := Root(dir); err != nil || got != root {
			t.Errorf("Root(%s) = %q, %v; want %q", dir, got, err, root)
		}
	}
	other := t.TempDir()
	module(t, other, "example.com/other")
	if got, err := Root(other); err == nil {
		t.Errorf("Root outside the tutorial = %q, want an error", got)
	}
}

// The tests themselves run inside the clone.
func TestRootOfThisClone(t *testing.T) {
	root, err := Root(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "infra", "paths", "paths.go")); err != nil {
		t.Errorf("Root = %s: %v", root, err)
	}
}

func TestCacheDir(t *testing.T) {
	t.Run("TUTORIAL_CACHE_DIR", func(t *testing.T) {
		t.Setenv("TUTORIAL_CACHE_DIR", "/cache")
		if got, err := CacheDir(); err != nil || got != "/cache" {
			t.Errorf("CacheDir = %q, %v; want /cache", got, err)
		}
	})
	t.Run("user cache", func(t *testing.T) {
		t.Setenv("TUTORIAL_CACHE_DIR", "")
		t.Setenv("XDG_CACHE_HOME", "/xdg")
		t.Setenv("HOME", "/home/learner") // where macOS looks
		userCache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := CacheDir(); err != nil || got != filepath.Join(userCache, "tracing-tutorial") {
			t.Errorf("CacheDir = %q, %v; want tracing-tutorial in %s", got, err, userCache)
		}
	})
}
