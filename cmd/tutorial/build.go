//go:build !windows

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/tracing-tutorial/tutorial/internal/paths"
	"github.com/tracing-tutorial/tutorial/internal/topology"
)

// binDir is where step's programs are built: in the cache, apart for each
// clone (root), so that the next run finds them there. go build -o leaves a
// binary alone when it is up to date (it compares build IDs), and then takes
// a fraction of a second instead of linking anew.
func binDir(root string, step topology.Step) (string, error) {
	cache, err := paths.CacheDir() // Jaeger's too
	if err != nil {
		return "", fmt.Errorf("no cache directory for the programs (set TUTORIAL_CACHE_DIR): %w", err)
	}
	clone := sha256.Sum256([]byte(root))
	return filepath.Join(cache, "programs", hex.EncodeToString(clone[:6]), step.Dir), nil
}
