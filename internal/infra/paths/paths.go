// Package paths finds the tutorial's clone and the cache directory that
// its builds share across clones and runs.
package paths

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Module is the tutorial's module path, which its root go.mod declares.
const Module = "github.com/tracing-tutorial/tutorial"

// Root walks up from dir to the tutorial's root: the directory whose
// go.mod declares Module. Tests run in their package's directory, the
// commands at the root.
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module "+Module+"\n") {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("%s is not in the tutorial's clone: cd into it first", dir)
		}
	}
}

// CacheDir returns the directory of what the tutorial builds once per
// machine (Jaeger) or per clone and step (the programs):
// $TUTORIAL_CACHE_DIR, or tracing-tutorial in the user's cache directory.
// Its error is os.UserCacheDir's.
func CacheDir() (string, error) {
	if dir := os.Getenv("TUTORIAL_CACHE_DIR"); dir != "" {
		return dir, nil
	}
	userCache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(userCache, "tracing-tutorial"), nil
}
